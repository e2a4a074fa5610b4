"""Many regular expressions searched at once, fast: a keyword index in front of them.

A naive alternation of the ~3,800 crawler patterns costs milliseconds an agent. Almost
every pattern needs some literal text to match (``Googlebot/``, ``crawl``); those
literals go into one Aho-Corasick automaton (``ahocorasick-rs``), and only the patterns
whose keyword occurs in the (lower-cased) agent are tried. A pattern with no literal of
``MIN_KEYWORD`` characters is tried on every agent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import product

# re's own parser reads a pattern's structure (the same module since Python 3.11)
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Protocol

import ahocorasick_rs

MIN_KEYWORD = 3  # shorter literals ("go", "ai") occur in every agent
MAX_ALTERNATIVES = 64  # exact strings kept for a node ("ba[rz]" is 2); more: not exact
MAX_KEYWORDS = 1000  # a pattern needing one of more literals than this is always tried
_SMALL_CLASS = 4  # [Bb], [ _]: expanded into alternatives; larger classes end a literal


class Searcher(Protocol):
    def search(self, text: str, /) -> object: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern of one list: ``text`` picks the text it is searched in (e.g. stripped)."""

    source: str
    pattern: str
    flags: int = 0
    text: str = "agent"
    wrap: str = "{}"  # the regex searched is wrap.format(pattern) (a list's own framing)


@dataclass(slots=True)
class _Info:
    exact: set[str] | None  # every string the node matches, when few
    required: set[str] | None  # one of these occurs in every match (None: nothing known)


def _score(options: set[str] | None) -> tuple[int, int]:
    if not options:
        return (0, 0)
    return (min(len(s) for s in options), -len(options))


def _better(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    return a if _score(a) >= _score(b) else b


def _as_required(info: _Info) -> set[str] | None:
    if info.exact is not None and all(info.exact):
        return _better(set(info.exact), info.required)
    return info.required


def _sequence(items: Sequence[tuple[object, object]]) -> _Info:
    best: set[str] | None = None
    run: set[str] | None = {""}  # the exact strings of the latest unbroken stretch
    whole = True  # no stretch has ended: ``run`` is the sequence's exact set
    for op, arg in items:
        info = _node(op, arg)
        best = _better(best, info.required)
        if info.exact is not None and run is not None:
            joined = {a + b for a, b in product(run, info.exact)}
            if len(joined) <= MAX_ALTERNATIVES:
                run = joined
                continue
        if run is not None and all(run):
            best = _better(best, run)
        run, whole = (set(info.exact) if info.exact is not None else None), False
    if run is not None and all(run):
        best = _better(best, run)
    return _Info(run if whole else None, best)


def _branch(alternatives: Iterable[Sequence[tuple[object, object]]]) -> _Info:
    exact: set[str] | None = set()
    required: set[str] | None = set()
    for alternative in alternatives:
        info = _sequence(alternative)
        exact = None if exact is None or info.exact is None else exact | info.exact
        need = _as_required(info)
        required = None if required is None or not need else required | need
    if exact is not None and len(exact) > MAX_ALTERNATIVES:
        exact = None
    if required is not None and len(required) > MAX_KEYWORDS:
        required = None
    return _Info(exact, required)


def _char_class(items: Sequence[tuple[object, object]]) -> _Info:
    chars: set[str] = set()
    for op, arg in items:
        if op is not sre.LITERAL or not isinstance(arg, int):
            return _Info(None, None)
        chars.add(chr(arg).lower())
    return _Info(chars if len(chars) <= _SMALL_CLASS else None, None)


def _node(op: object, arg: object) -> _Info:
    if op is sre.LITERAL and isinstance(arg, int):
        return _Info({chr(arg).lower()}, None)
    if op is sre.IN and isinstance(arg, list):
        return _char_class(arg)
    if op is sre.SUBPATTERN and isinstance(arg, tuple):
        return _sequence(arg[-1])
    if op is sre.ATOMIC_GROUP and isinstance(arg, sre_parse.SubPattern):
        return _sequence(arg)
    if op is sre.BRANCH and isinstance(arg, tuple):
        return _branch(arg[1])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and isinstance(arg, tuple):
        low, _high, body = arg
        inner = _sequence(body)
        if low == 0:
            return _Info(None, None)
        return _Info(None, _as_required(inner))
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _Info({""}, None)  # zero width: adds no text, needs none we rely on
    return _Info(None, None)


_LITERAL = re.compile(r"(?:[^.^$*+?{}\[\]\\|()]|\\[/.\- ])*")  # "Googlebot\/": most patterns
_UNESCAPE = re.compile(r"\\(.)")


def keywords(pattern: str, flags: int = 0) -> set[str] | None:
    """Lower-cased literals one of which is in every text ``pattern`` matches (or None)."""
    if _LITERAL.fullmatch(pattern):  # performance: skips re's parser for 9 patterns in 10
        word = _UNESCAPE.sub(r"\1", pattern).lower()
        return {word} if len(word) >= MIN_KEYWORD else None
    # lookbehinds read as lookaheads: both add no text, and re parses only fixed-width ones
    readable = pattern.replace("(?<!", "(?!").replace("(?<=", "(?=")
    try:
        tree = sre_parse.parse(readable, flags)
    except (re.error, RecursionError, OverflowError):
        return None
    need = _as_required(_sequence(list(tree)))
    if not need or min(len(s) for s in need) < MIN_KEYWORD:
        return None
    return {word for word in need if not any(w != word and w in word for w in need)}


def compile_any(patterns: Sequence[str], flags: int) -> Searcher:
    """One alternation; ``regex`` where ``re`` cannot (a variable-width lookbehind)."""
    joined = "|".join(f"(?:{p})" for p in patterns)
    try:
        return re.compile(joined, flags)
    except re.error:
        import regex  # performance: 40 ms to import, and one Matomo pattern needs it

        found: Searcher = regex.compile(joined, flags)
        return found


def alternatives(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|`` (outside groups and classes)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1  # the escaped character is skipped
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 1 if pattern.startswith("^", i + 1) else 0
            i += 1 if pattern.startswith("]", i + 1) else 0  # a leading "]" is literal
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


_Key = tuple[str, int, str, str]  # source, flags, text, wrap
# a leading "[a-z0-9_-]*" adds nothing to a search but makes it quadratic (60 ms an agent)
_LEADING_STAR = re.compile(r"^(?:\[(?:\\.|[^\]\\])+\]|\\[wdsWDS]|\.)\*(?![?+])")


class KeywordIndex:
    """Does any rule match? Rules are tried only when one of their keywords occurs.

    A rule ``A|B|C`` is indexed as three (Matomo's "Generic Bot" rule has 110): only
    the branch whose keyword occurs is tried.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        groups: dict[tuple[str, _Key], list[str]] = {}
        always: dict[_Key, list[str]] = {}
        for rule in rules:
            key = (rule.source, rule.flags, rule.text, rule.wrap)
            for branch in alternatives(rule.pattern):
                if rule.wrap == "{}":
                    branch = _LEADING_STAR.sub("", branch, count=1)
                need = keywords(branch, rule.flags)
                if need is None:
                    always.setdefault(key, []).append(branch)
                for word in need or ():
                    groups.setdefault((word, key), []).append(branch)
        words = sorted({word for word, _key in groups})
        slot = {word: i for i, word in enumerate(words)}
        self._by_word: list[list[tuple[_Key, list[str]]]] = [[] for _ in words]
        for (word, key), branches in groups.items():
            self._by_word[slot[word]].append((key, branches))
        self._compiled: dict[tuple[int, int], Searcher] = {}
        self._automaton = ahocorasick_rs.AhoCorasick(words) if words else None
        self.always = [(key, _compile(key, branches)) for key, branches in always.items()]
        self.keyword_count = len(words)
        self.unindexed = sum(len(b) for b in always.values())

    def candidates(self, lowered: str) -> list[int]:
        """The keywords (slots) that occur in ``lowered``."""
        if self._automaton is None:
            return []
        return sorted({m[0] for m in self._automaton.find_matches_as_indexes(lowered, True)})

    def match(self, lowered: str, texts: Callable[[str], str]) -> str | None:
        """The source of the first rule that matches (``texts(kind)`` gives each text)."""
        for key, pattern in self.always:
            if pattern.search(texts(key[2])):
                return key[0]
        later = []  # rules on a derived text (one costing a substitution) go last
        for word in self.candidates(lowered):
            for j, (key, branches) in enumerate(self._by_word[word]):
                if key[2] != "agent":
                    later.append((word, j, key, branches))
                elif self._compiled_for(word, j, key, branches).search(texts("agent")):
                    return key[0]
        for word, j, key, branches in later:
            if self._compiled_for(word, j, key, branches).search(texts(key[2])):
                return key[0]
        return None

    def _compiled_for(self, word: int, j: int, key: _Key, branches: list[str]) -> Searcher:
        compiled = self._compiled.get((word, j))
        if compiled is None:  # compiled on first use: most groups are never needed
            compiled = self._compiled[(word, j)] = _compile(key, branches)
        return compiled


def _compile(key: _Key, branches: Sequence[str]) -> Searcher:
    _source, flags, _text, wrap = key
    return compile_any([wrap.format("|".join(f"(?:{b})" for b in branches))], flags)
