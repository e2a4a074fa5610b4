"""Who opened a link (issue 23): accuracy per source, generalisation, start-up and speed.

    .venv/bin/python bench/useragents.py [--agents FILE]

FILE is a TSV of ``expected<TAB>source<TAB>agent`` (default: the committed sample,
tests/fixtures/useragents/agents.tsv, plus previewers.tsv). Prints Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowhooks.links import crawlerlists, useragents
from flowhooks.links.prefilter import compile_any

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "useragents"
LIST_OF = {"crawler-user-agents": "crawler-user-agents", "matomo-bots": "matomo"}
LIST_OF["crawlerdetect"] = "crawlerdetect"


def read(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            expected, source, agent = line.split("\t")[:3]
            rows.append((expected, source, agent))
    return rows


def default_rows() -> list[tuple[str, str, str]]:
    previewers = [
        ("previewer", "documented previewers", line.split("\t")[0])
        for line in (FIXTURES / "previewers.tsv").read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    return read(FIXTURES / "agents.tsv") + previewers


def pct(hits: int, total: int) -> str:
    return f"{100 * hits / total:.2f} % ({hits}/{total})"


def accuracy(rows: list[tuple[str, str, str]]) -> str:
    by_source: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for expected, source, agent in rows:
        by_source[source].append((expected, agent))
    one = {s: useragents.Lists((s,)) for s in crawlerlists.SOURCES}
    union = useragents.lists()
    out = [
        "| source | agents | ours | plain union (no exclusions) | before (30 markers) |",
        "|---|---|---|---|---|",
    ]
    old = _old_is_bot()
    for source, cases in by_source.items():
        want_bot = cases[0][0] != "person"
        ours = sum(
            (useragents.classify(a) is not useragents.Visitor.PERSON) == want_bot for _e, a in cases
        )
        if cases[0][0] == "previewer":
            ours = sum(useragents.classify(a) is useragents.Visitor.PREVIEWER for _e, a in cases)
        plain = sum(
            (union.crawler(a, exclude_people=False) is not None) == want_bot for _e, a in cases
        )
        before = sum(old(a) == want_bot for _e, a in cases)
        out.append(
            f"| {source} | {len(cases)} | {pct(ours, len(cases))} | "
            f"{pct(plain, len(cases))} | {pct(before, len(cases))} |"
        )
    out += [
        "",
        "Each list alone, and the other two lists together, on each list's own test "
        "agents (what a crawler no list has yet would meet):",
        "",
        "| test agents of | " + " | ".join(crawlerlists.SOURCES) + " | the other two |",
        "|---|" + "---|" * (len(crawlerlists.SOURCES) + 1),
    ]
    for source, listed in LIST_OF.items():
        agents = [a for _e, a in by_source.get(source, [])]
        if not agents:
            continue
        cells = [
            pct(sum(one[s].crawler(a) is not None for a in agents), len(agents))
            for s in crawlerlists.SOURCES
        ]
        others = useragents.Lists(tuple(s for s in crawlerlists.SOURCES if s != listed))
        cells.append(pct(sum(others.crawler(a) is not None for a in agents), len(agents)))
        out.append(f"| {source} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _old_is_bot() -> Callable[[str], bool]:
    """The hand-written list of 30 markers this replaced (for the 'before' column)."""
    markers = (
        "whatsapp",
        "facebookexternalhit",
        "facebookcatalog",
        "meta-externalagent",
        "slackbot",
        "slack-imgproxy",
        "twitterbot",
        "telegrambot",
        "discordbot",
        "linkedinbot",
        "skypeuripreview",
        "applebot",
        "googlebot",
        "google-inspectiontool",
        "adsbot-google",
        "bingbot",
        "bingpreview",
        "yandexbot",
        "baiduspider",
        "duckduckbot",
        "curl/",
        "wget/",
        "python-requests",
        "python-urllib",
        "python-httpx",
        "aiohttp/",
        "go-http-client",
        "okhttp",
        "java/",
        "headlesschrome",
    )
    import re

    generic = re.compile(r"bot[/;]|\bbot\b|\+https?://|crawler|spider|preview")

    def is_bot(agent: str) -> bool:
        ua = agent[:512].lower()
        return any(m in ua for m in markers) or generic.search(ua) is not None

    return is_bot


def startup() -> str:
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from flowhooks.links import useragents\n"
        "t1 = time.perf_counter(); lists = useragents.lists(); t2 = time.perf_counter()\n"
        "print(f'{(t1 - t0) * 1000:.0f} {(t2 - t1) * 1000:.0f} {lists.index.keyword_count}')\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(5)
    ]
    imports = statistics.median(float(r[0]) for r in runs)
    loads = statistics.median(float(r[1]) for r in runs)
    return (
        f"start-up (median of 5 fresh processes): import {imports:.0f} ms, reading the "
        f"three lists and building the index {loads:.0f} ms; {runs[0][2]} keywords"
    )


def speed(rows: list[tuple[str, str, str]]) -> str:
    agents = list(dict.fromkeys(a for _e, _s, a in rows))
    classify = useragents._classify.__wrapped__  # uncached: every call is a new agent
    for agent in agents:  # the first pass also compiles the groups it needs (once a process)
        classify(agent)
    times = []
    for agent in agents:
        start = time.perf_counter_ns()
        classify(agent)
        times.append(time.perf_counter_ns() - start)
    times.sort()
    useragents.classify(agents[0])
    cached = []
    for _ in range(20000):
        start = time.perf_counter_ns()
        useragents.classify(agents[0])
        cached.append(time.perf_counter_ns() - start)
    plain = [
        compile_any(
            [crawlerlists.MATOMO_BOUNDARY.format(r) for r in crawlerlists.matomo_regexes()], 2
        ),
        compile_any([r.pattern for r in crawlerlists.crawler_user_agents()], 0),
        compile_any([r.pattern for r in crawlerlists.crawlerdetect()], 2),
    ]
    naive = []
    for agent in agents[::20]:
        start = time.perf_counter_ns()
        any(p.search(agent) for p in plain)
        naive.append(time.perf_counter_ns() - start)
    q = lambda xs, f: xs[int(len(xs) * f)] / 1000  # noqa: E731
    return (
        f"a new agent ({len(agents)} distinct): median **{q(times, 0.5):.1f} µs**, "
        f"p90 {q(times, 0.9):.1f} µs, p99 {q(times, 0.99):.1f} µs; a repeated agent "
        f"(cached) {statistics.median(cached) / 1000:.2f} µs; the naive alternation of "
        f"every pattern: median {statistics.median(naive) / 1000:.0f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=Path, help="a TSV instead of the committed sample")
    args = parser.parse_args()
    rows = read(args.agents) if args.agents else default_rows()
    print(startup())
    print()
    print(accuracy(rows))
    print()
    print(speed(rows))


if __name__ == "__main__":
    main()
