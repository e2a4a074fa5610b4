"""Caches are bounded in entries and in bytes (issue 13)."""

from flowhooks.memo import BoundedCache
from flowhooks.speech import normalize as speech_normalize


def test_entries_and_bytes_both_bound_the_cache() -> None:
    cache: BoundedCache[str, str] = BoundedCache(3, 1000, lambda k, v: len(k) + len(v))
    for i in range(5):
        cache.put(f"k{i}", "v")
    assert len(cache) == 3 and cache.get("k0") is None and cache.get("k4") == "v"
    cache = BoundedCache(100, 1000, lambda k, v: len(k) + len(v))
    for i in range(20):
        cache.put(f"k{i:02d}", "x" * 97)  # 100 bytes each
    assert len(cache) == 10 and cache.bytes == 1000
    assert cache.get("k09") is None and cache.get("k19") is not None


def test_an_entry_over_a_tenth_of_the_budget_is_not_kept() -> None:
    cache: BoundedCache[str, str] = BoundedCache(100, 1000, lambda k, v: len(v))
    cache.put("big", "x" * 101)
    assert cache.get("big") is None and cache.bytes == 0


def test_recently_read_entries_stay() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2, 1000, lambda k, v: 1)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_long_speech_texts_are_not_memoised() -> None:
    speech_normalize._normalize.cache_clear()
    long_text = "nine " * 100
    assert speech_normalize.normalize(long_text) == speech_normalize.normalize(long_text)
    assert speech_normalize._normalize.cache_info().currsize == 0
    speech_normalize.normalize("nine eight")
    assert speech_normalize._normalize.cache_info().currsize == 1
