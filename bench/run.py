"""Benchmarks: flowhooks methods against a bare aiohttp JSON endpoint in the same run.

Usage: python bench/run.py [--seconds S] [--only PREFIX]   (``make bench`` runs them all)
Servers run as separate processes on 127.0.0.1; the load generator is bounded in
count and time. Results go to stdout as a Markdown table and to bench/out/*.json.
Besides throughput, each server's CPU time over a fixed count of requests gives its CPU
microseconds a request: on a noisy machine the stable figure. PostgreSQL runs durable
(fsync and synchronous_commit on), as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import deliveries, dispatch, links, loadgen, mixed
from tests.pg import Cluster

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NOW = "2019-12-07T10:00:00+05:30"
ROUNDS = 3
OPEN_RATE = 1000.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(argv: list[str], port: int) -> Iterator[int]:
    """A server process on ``port``; yields its pid."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        asyncio.run(loadgen.wait_ready(port))
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def bare_server(port: int) -> list[str]:
    return [sys.executable, str(HERE / "bare_server.py"), "--port", str(port)]


def flowhooks_server(port: int, config: Path, processes: int = 1) -> list[str]:
    argv = [str(BIN / "flowhooks"), "serve", "--config", str(config), "--port", str(port)]
    return argv + (["--processes", str(processes)] if processes > 1 else [])


CPU_REQUESTS = 10_000  # a fixed count, so the CPU figure does not depend on throughput


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants, living or exited
    (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, and cutime, cstime: the CPU of children that exited (a
            # PostgreSQL backend whose connection closed) stays counted
            total += sum(int(f) for f in fields[11:15]) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def cpu_own_seconds(pid: int) -> float:
    """User + system CPU time of one process alone, without its children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def cpu_per_request(pids: list[int], port: int, requests: list[bytes]) -> list[float]:
    """Each process tree's CPU microseconds a request over CPU_REQUESTS closed-loop
    requests to ``port`` (the server's, and the database's when given)."""
    return cpu_of([functools.partial(cpu_seconds, pid) for pid in pids], port, requests)


def cpu_of(samplers: list[Callable[[], float]], port: int, requests: list[bytes]) -> list[float]:
    """Each sampler's CPU microseconds a request over CPU_REQUESTS closed-loop requests."""
    before = [sample() for sample in samplers]
    done = uvloop.run(
        loadgen.run(port, requests, connections=32, seconds=120, max_requests=CPU_REQUESTS)
    )
    return [
        round((sample() - b) / max(1, done.requests) * 1e6, 1)
        for sample, b in zip(samplers, before, strict=True)
    ]


PG_PIDS: dict[str, int] = {}  # the benchmark cluster's postmaster, for its CPU time


def closed_loop(port: int, requests: list[bytes], seconds: float) -> loadgen.Result:
    return uvloop.run(loadgen.run(port, requests, connections=32, seconds=seconds))


def median_run(runs: list[loadgen.Result]) -> loadgen.Result:
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def open_loop(port: int, requests: list[bytes], seconds: float) -> dict[str, float]:
    return uvloop.run(
        loadgen.run(port, requests, connections=32, seconds=seconds, rate=OPEN_RATE)
    ).summary()


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def envelopes(method: str, variants: list[dict[str, str]]) -> list[bytes]:
    out = []
    for keys in variants:
        doc = {"method": method, "keys": [{"name": k, "value": v} for k, v in keys.items()]}
        out.append(loadgen.build_request("/webhook", orjson.dumps(doc), {"X-Flowhooks-Now": NOW}))
    return out


def bench_method(name: str, bench: Bench, seconds: float, config: Path) -> dict[str, object]:
    """Both servers up at once; closed-loop runs alternate bare/flowhooks ROUNDS times and
    the medians are compared, so a noisy moment does not decide the ratio."""
    say(f"{name}:")
    requests = bench.requests()
    bare_port, ours_port, google_port = free_port(), free_port(), free_port()
    with contextlib.ExitStack() as stack:
        if bench.google_delay is not None:
            google = links.google_server(google_port, bench.google_delay)
            stack.enter_context(server(google, google_port))
            links.point_translate_at(config, google_port)
        bare_pid = stack.enter_context(server(bare_server(bare_port), bare_port))
        ours_pid = stack.enter_context(
            server(flowhooks_server(ours_port, config, bench.processes), ours_port)
        )
        if bench.prepare is not None:
            say("  flowhooks: preparing ...")
            bench.prepare(links.storage_url(config))
        if bench.seed is not None:
            say("  flowhooks: seeding ...")
            seed = bench.seed()
            done = uvloop.run(loadgen.run(ours_port, seed, 4, seconds=60, max_requests=len(seed)))
            assert done.errors == 0 and done.requests == len(seed), "seeding failed"
        for port in (bare_port, ours_port):  # warm-up
            uvloop.run(loadgen.run(port, requests[:64], connections=32, seconds=1.0))
        bare_runs, our_runs = [], []
        for round_ in range(ROUNDS):
            say(f"  round {round_ + 1}/{ROUNDS}: bare, then flowhooks, {seconds}s each ...")
            bare_runs.append(closed_loop(bare_port, requests, seconds))
            our_runs.append(closed_loop(ours_port, requests, seconds))
        say(f"  CPU time over {CPU_REQUESTS} requests each ...")
        [bare_cpu] = cpu_per_request([bare_pid], bare_port, requests)
        db_pids = [PG_PIDS["postgresql"]] if bench.database == "postgresql" else []
        ours_cpu, *db_cpu = cpu_per_request([ours_pid, *db_pids], ours_port, requests)
        cpu = {"bare": bare_cpu, "flowhooks": ours_cpu, "database": db_cpu[0] if db_cpu else None}
        say(f"  open loop at {OPEN_RATE:.0f} req/s ...")
        bare = {
            "closed": median_run(bare_runs).summary(),
            "open": open_loop(bare_port, requests, seconds),
        }
        ours = {
            "closed": median_run(our_runs).summary(),
            "open": open_loop(ours_port, requests, seconds),
        }
    errors = sum(r.errors for r in our_runs)
    ratio = ours["closed"]["rps"] / bare["closed"]["rps"]
    return {
        "name": name,
        "bare": bare,
        "flowhooks": ours,
        "ratio": round(ratio, 3),
        "cpu_us_per_request": cpu,
        "errors": errors,
    }


def validate_repeated() -> list[bytes]:
    """Eight envelopes a flow might send, over and over (the verdict memo answers most)."""
    pairs = [
        ("25-12-2019", "11:00"),
        ("tomorrow", "10:30"),
        ("09122019", "1030"),
        ("9 december", "7 pm"),
        ("today", ""),
        ("monday", "5 pm"),
        ("15-02-2020", ""),
        ("0812", "9"),
    ]
    keys = [{"$flow.key.inputDate": d, "$flow.key.inputTime": t} for d, t in pairs]
    return envelopes("validateDateTime", keys)


def validate_distinct() -> list[bytes]:
    """40,320 different (date, time) pairs: the memo never answers within a run."""
    keys = [
        {"$flow.key.inputDate": f"{d:02d}-01-2020", "$flow.key.inputTime": f"{h:02d}:{m:02d}"}
        for d in range(1, 29)
        for h in range(24)
        for m in range(60)
    ]
    return envelopes("validateDateTime", keys)


def _numbers(count: int = 200) -> list[str]:
    return [f"+9199797{i:05d}" for i in range(count)]


def prefs_fetch() -> list[bytes]:
    """fetchUserPreferences for 200 callers who each have three preferences stored."""
    keys = [{"$flow.key.contactNumber": n} for n in _numbers()]
    return envelopes("fetchUserPreferences", keys)


def prefs_seed() -> list[bytes]:
    keys = [
        {
            "contactNumber": n,
            "$user.key.lang": "hi",
            "$user.key.tier": "gold",
            "$user.key.n": str(i),
        }
        for i, n in enumerate(_numbers())
    ]
    return envelopes("updateUserPreferences", keys)


def prefs_update() -> list[bytes]:
    """updateUserPreferences of 200 callers, two keys each, new values every time."""
    numbers = _numbers()
    keys = [
        {"contactNumber": numbers[i % 200], "$user.key.lang": "hi en ta".split()[i % 3]}
        | {"$user.key.n": str(i)}
        for i in range(2000)
    ]
    return envelopes("updateUserPreferences", keys)


AGENT_DIDS = 50  # 50 DIDs of four agents each ([[agents]] of the bench config)


def bench_agents() -> str:
    return "".join(
        f'\n[[agents]]\nclient = "bench"\ncli = "+9198{d:04d}{a:04d}"\nname = "Agent {a}"'
        f'\ndid = "+91806800{d:04d}"\n'
        for d in range(AGENT_DIDS)
        for a in range(4)
    )


def allocate_agent() -> list[bytes]:
    """allocateAgent over 50 DIDs: every request hands out an agent (a checked update)."""
    keys = [{"did": f"+91806800{d:04d}", "clientID": "bench"} for d in range(AGENT_DIDS)]
    return envelopes("allocateAgent", keys)


def create_outbound() -> list[bytes]:
    """createOutbound for 40,000 different numbers: every request schedules a call."""
    keys = [
        {
            "$flow.syskey.apiVersion": "1.0",
            "$flow.syskey.securityID": "b" * 64,
            "$flow.syskey.flowID": "bench001",
            "$flow.syskey.clientID": "bench",
            "$flow.syskey.contactNumbers": f"98{i:08d}",
        }
        for i in range(40_000)
    ]
    return envelopes("createOutbound", keys)


def pullreport() -> list[bytes]:
    """pullreport with a dozen keys a flow collects: every request stores a report."""
    keys = [
        {
            "clientID": "bench",
            "cli": f"98{i:08d}",
            "callId": f"call-{i}",
            "status": "ANSWER",
            "disposition": "interested",
            "duration": str(i % 300),
            "$user.key.language": "hi",
        }
        for i in range(20_000)
    ]
    return envelopes("pullreport", keys)


@dataclass(frozen=True)
class Bench:
    requests: Callable[[], list[bytes]]
    database: str = "sqlite"  # sqlite | postgresql
    seed: Callable[[], list[bytes]] | None = None
    prepare: Callable[[str], None] | None = None  # (storage url) once the server migrated it
    google_delay: float | None = None  # a fake Cloud Translation answering after this long
    processes: int = 1  # flowhooks serve --processes


BENCHES: dict[str, Bench] = {
    "validateDateTime (repeated inputs)": Bench(validate_repeated),
    "validateDateTime (distinct inputs)": Bench(validate_distinct),
    "fetchUserPreferences (SQLite)": Bench(prefs_fetch, "sqlite", prefs_seed),
    "fetchUserPreferences (PostgreSQL)": Bench(prefs_fetch, "postgresql", prefs_seed),
    "fetchUserPreferences (PostgreSQL, 2 processes)": Bench(
        prefs_fetch, "postgresql", prefs_seed, processes=2
    ),
    "updateUserPreferences (SQLite)": Bench(prefs_update, "sqlite"),
    "updateUserPreferences (PostgreSQL)": Bench(prefs_update, "postgresql"),
    "allocateAgent (SQLite)": Bench(allocate_agent, "sqlite"),
    "allocateAgent (PostgreSQL)": Bench(allocate_agent, "postgresql"),
    "createOutbound (SQLite)": Bench(create_outbound, "sqlite"),
    "createOutbound (PostgreSQL)": Bench(create_outbound, "postgresql"),
    "createOutbound (PostgreSQL, 2 processes)": Bench(create_outbound, "postgresql", processes=2),
    "pullreport (SQLite)": Bench(pullreport, "sqlite"),
    "redirect GET /s/{code} (SQLite)": Bench(links.redirects, "sqlite", None, links.seed_links),
    "redirect GET /s/{code} (PostgreSQL)": Bench(
        links.redirects, "postgresql", None, links.seed_links
    ),
    "shortURL (SQLite)": Bench(links.short_urls, "sqlite"),
    "shortURL (PostgreSQL)": Bench(links.short_urls, "postgresql"),
    "speechprocessing (rules, default set)": Bench(links.speech),
    "speechprocessing (rules, distinct texts)": Bench(links.speech_distinct),
    "translateText (warm cache)": Bench(
        links.translations, "sqlite", links.translations, google_delay=0.0
    ),
}


# -- tracing on against tracing off (issue 26) ------------------------------------------

TRACE_ROUNDS = 5  # a few % apart, on a shared machine: more alternations than ROUNDS
TRACE_PAIRS = 10  # rounds of closed-loop runs, each half --seconds: off and on side by side
TRACE_BENCHES: dict[str, Callable[[], list[bytes]]] = {
    "validateDateTime (repeated inputs)": validate_repeated,
    "createOutbound": create_outbound,
}


def traces_database(kind: str, url: str, out: Path, label: str) -> str:
    """A fresh database for one server of the pair."""
    if kind == "sqlite":
        path = out / f"traces-{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"

    async def create() -> str:
        import asyncpg

        name = f"traces_{label}_{os.urandom(3).hex()}"
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return f"{url.rsplit('/', 1)[0]}/{name}"

    return asyncio.run(create())


def traces_config(out: Path, storage_url: str, label: str, enabled: bool) -> Path:
    text = (HERE / "bench.toml").read_text().replace("sqlite:///var/bench.db", storage_url)
    text += bench_agents() + f"\n[traces]\nenabled = {str(enabled).lower()}\n"
    path = out / f"bench-traces-{label}.toml"
    path.write_text(text)
    return path


def trace_counts(port: int) -> dict[str, float]:
    """The traces server's written and dropped counters (a drop would flatter it)."""

    async def scrape() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = (await reader.read()).decode()
        writer.close()
        return text

    found = {"written": 0.0, "dropped": 0.0}
    for line in asyncio.run(scrape()).splitlines():
        for key in found:
            if line.startswith(f"flowhooks_traces_{key}_total "):
                found[key] = float(line.split()[-1])
    return found


def bench_trace_pair(
    name: str, requests: list[bytes], kind: str, url: str, seconds: float, out: Path
) -> dict[str, object]:
    """bare, flowhooks with tracing off and with tracing on (each on its own fresh
    database), side by side; TRACE_PAIRS rounds of closed-loop runs, off and on next to
    each other (in turn first); on/off is the median of the rounds' ratios."""
    say(f"{name}:")
    servers = {}
    ports = {"bare": free_port(), "off": free_port(), "on": free_port()}
    with contextlib.ExitStack() as stack:
        servers["bare"] = stack.enter_context(server(bare_server(ports["bare"]), ports["bare"]))
        for label in ("off", "on"):
            config = traces_config(
                out, traces_database(kind, url, out, label), label, label == "on"
            )
            argv = flowhooks_server(ports[label], config)
            servers[label] = stack.enter_context(server(argv, ports[label]))
        for port in ports.values():  # warm-up
            uvloop.run(loadgen.run(port, requests[:64], connections=32, seconds=1.0))
        runs: dict[str, list[loadgen.Result]] = {label: [] for label in ports}
        short = seconds / 2
        for round_ in range(TRACE_PAIRS):  # off and on next to each other, in turn first
            order = ("bare", "off", "on") if round_ % 2 == 0 else ("bare", "on", "off")
            say(f"  round {round_ + 1}/{TRACE_PAIRS}: {', '.join(order)}, {short}s each")
            for label in order:
                runs[label].append(closed_loop(ports[label], requests, short))
        say(f"  CPU time over {CPU_REQUESTS} requests each, {TRACE_ROUNDS} alternating rounds ...")
        samples: dict[str, list[float]] = {}
        for _ in range(TRACE_ROUNDS):  # alternating, like the rounds: the machine's load moves
            for label, port in ports.items():
                pid = servers[label]
                samplers = [
                    functools.partial(cpu_seconds, pid),
                    functools.partial(cpu_own_seconds, pid),
                ]
                if kind == "postgresql" and label != "bare":
                    samplers.append(functools.partial(cpu_seconds, PG_PIDS["postgresql"]))
                ours, serving, *theirs = cpu_of(samplers, port, requests)
                # the server with its children (the traces writer process); alone; PostgreSQL
                for key, value in (
                    (label, ours),
                    (f"serving_{label}", serving),
                    (f"writer_{label}", round(ours - serving, 1)),
                    *((f"postgresql_{label}", v) for v in theirs),
                ):
                    samples.setdefault(key, []).append(value)
        cpu = {key: statistics.median(values) for key, values in samples.items()}
        counts = trace_counts(ports["on"])
    medians = {label: median_run(r).summary() for label, r in runs.items()}
    return {
        "name": name,
        "rps": {label: m["rps"] for label, m in medians.items()},
        "p99_ms": {label: m["p99_ms"] for label, m in medians.items()},
        # the median of each round's on/off: the machine's speed drifts between rounds
        # (other tenants of the host), not within a pair of neighbouring runs
        "on_vs_off": round(
            statistics.median(
                on.rps / off.rps for on, off in zip(runs["on"], runs["off"], strict=True)
            ),
            3,
        ),
        "off_vs_bare": round(medians["off"]["rps"] / medians["bare"]["rps"], 3),
        "rounds_rps": {label: [round(r.rps) for r in rs] for label, rs in runs.items()},
        "cpu_us_per_request": cpu,
        "cpu_samples": samples,
        "traces": counts,
        "errors": sum(r.errors for label in ("off", "on") for r in runs[label]),
    }


def trace_table(results: list[dict[str, object]]) -> str:
    rows = [
        "| benchmark | bare req/s | tracing off req/s | tracing on req/s | on/off | off/bare"
        " | p99 ms off | p99 ms on | CPU µs/req bare | off | on | on: serving process"
        " | on: writer process | PostgreSQL off | on | traces written | dropped | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rps, p99, cpu, n = r["rps"], r["p99_ms"], r["cpu_us_per_request"], r["traces"]
        rows.append(
            f"| {r['name']} | {rps['bare']} | {rps['off']} | {rps['on']} | {r['on_vs_off']}"  # type: ignore[index]
            f" | {r['off_vs_bare']} | {p99['off']} | {p99['on']} | {cpu['bare']} | {cpu['off']}"  # type: ignore[index]
            f" | {cpu['on']} | {cpu['serving_on']} | {cpu['writer_on']}"  # type: ignore[index]
            f" | {cpu.get('postgresql_off', '—')} | {cpu.get('postgresql_on', '—')}"  # type: ignore[attr-defined]
            f" | {int(n['written'])} | {int(n['dropped'])} | {r['errors']} |"  # type: ignore[index]
        )
    return "\n".join(rows)


def run_traces(
    urls: dict[str, str], seconds: float, out: Path, only: str = ""
) -> list[dict[str, object]]:
    """The pairs whose name starts with ``only`` (all when empty)."""
    results = []
    for kind in ("sqlite", "postgresql"):
        label = "SQLite" if kind == "sqlite" else "PostgreSQL"
        for name, requests in TRACE_BENCHES.items():
            if f"{name} ({label})".startswith(only):
                pair = bench_trace_pair(
                    f"{name} ({label})", requests(), kind, urls[kind], seconds, out
                )
                results.append(pair)
    return results


def table(results: list[dict[str, object]]) -> str:
    rows = [
        "| benchmark | bare req/s | flowhooks req/s | ratio | p50 ms (closed) | p99 ms (closed)"
        " | max ms (closed) | p50 ms @1000/s | p99 ms @1000/s | CPU µs/req bare | CPU µs/req ours"
        " | CPU µs/req PostgreSQL | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b, f = r["bare"], r["flowhooks"]
        rows.append(
            f"| {r['name']} | {b['closed']['rps']} | {f['closed']['rps']} | {r['ratio']}"  # type: ignore[index]
            f" | {f['closed']['p50_ms']} | {f['closed']['p99_ms']} | {f['closed']['max_ms']}"  # type: ignore[index]
            f" | {f['open']['p50_ms']} | {f['open']['p99_ms']}"  # type: ignore[index]
            f" | {r['cpu_us_per_request']['bare']} | {r['cpu_us_per_request']['flowhooks']}"  # type: ignore[index]
            f" | {r['cpu_us_per_request']['database'] or '—'}"  # type: ignore[index]
            f" | {r['errors']} |"
        )
    return "\n".join(rows)


def dispatch_table(results: dict[str, dict[str, object]]) -> str:
    rows = [
        "| dispatch | calls | dialed | duplicates | offered/s | achieved/s | lag p50 ms"
        " | lag p99 ms | lag max ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        rows.append(
            f"| {name} | {r['calls']} | {r['dialed']} | {r['duplicates']} | {r['rate_offered']}"
            f" | {r['rate_achieved']} | {r['lag_p50_ms']} | {r['lag_p99_ms']} | {r['lag_max_ms']} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--only", metavar="PREFIX", help="run the benchmarks whose name starts so")
    args = parser.parse_args()
    (HERE.parent / "var").mkdir(exist_ok=True)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    results = []
    chosen = {n: b for n, b in BENCHES.items() if not args.only or n.startswith(args.only)}
    want_dispatch = not args.only or "dispatch".startswith(args.only) or args.only == "dispatch"
    want_traces = not args.only or args.only.startswith("traces")  # "traces:NAME": one pair
    kinds = {b.database for b in chosen.values()} | (
        {"sqlite", "postgresql"} if want_dispatch or want_traces else set()
    )
    dispatched: dict[str, dict[str, object]] = {}
    with databases(kinds) as urls:
        for name, bench in chosen.items():
            config = write_config(out, urls[bench.database])
            results.append(bench_method(name, bench, args.seconds, config))
            slug = "".join(c if c.isalnum() else "_" for c in name).strip("_")
            (out / f"{slug}.json").write_text(json.dumps(results[-1], indent=2))
        if want_dispatch:
            for kind in ("sqlite", "postgresql"):
                say(f"dispatch at 200 calls/s on {kind} ...")
                Path(f"{out}/dispatch.db").unlink(missing_ok=True)
                fresh = (
                    uvloop.run(dispatch.fresh_database(urls[kind]))
                    if kind == "postgresql"
                    else f"sqlite:///{out}/dispatch.db"
                )
                dispatched[kind] = uvloop.run(dispatch.run(fresh, out, seconds=args.seconds * 2))
            (out / "dispatch.json").write_text(json.dumps(dispatched, indent=2))
        if not args.only or args.only.startswith("translate"):
            latency = translate_latency(out, urls["sqlite"], args.seconds)
            (out / "translate_latency.json").write_text(json.dumps(latency, indent=2))
            print("translateText, 100 req/s, backend 50 ms:", json.dumps(latency))
        if not args.only or args.only == "mixed":
            mixed_load = run_mixed(out, urls["sqlite"], args.seconds)
            (out / "mixed.json").write_text(json.dumps(mixed_load, indent=2))
            print(json.dumps(mixed_load, indent=2))
        if want_traces:
            traced = run_traces(urls, args.seconds, out, (args.only or "traces")[7:])
            (out / "traces.json").write_text(json.dumps(traced, indent=2))
            print(trace_table(traced))
        if not args.only or args.only in ("deliveries", "fairness"):
            webhooks = run_deliveries(out, only_fairness=args.only == "fairness")
            (out / "deliveries.json").write_text(json.dumps(webhooks, indent=2))
            print(json.dumps(webhooks, indent=2))
    if results:
        print(table(results))
    if dispatched:
        print(dispatch_table(dispatched))


def translate_latency(out: Path, storage_url: str, seconds: float) -> dict[str, float]:
    """translateText at 100 req/s, every request a cache miss, the backend taking 50 ms."""
    say("translateText at 100 req/s with a 50 ms backend ...")
    config = write_config(out, storage_url)
    ours_port, google_port = free_port(), free_port()
    with server(links.google_server(google_port, 0.05), google_port):
        links.point_translate_at(config, google_port)
        with server(flowhooks_server(ours_port, config), ours_port):
            requests = links.distinct_translations()
            warm = requests[-50:]
            uvloop.run(loadgen.run(ours_port, warm, connections=8, seconds=2.0, rate=50))
            done = uvloop.run(
                loadgen.run(ours_port, requests, connections=32, seconds=seconds * 2, rate=100)
            )
    return done.summary()


def run_mixed(out: Path, storage_url: str, seconds: float) -> dict[str, object]:
    """validateDateTime at 500 req/s, alone and beside four maximum-size createOutbound."""
    say("mixed load: validateDateTime beside big createOutbound requests ...")
    config = write_config(out, storage_url)
    port = free_port()
    with server(flowhooks_server(port, config), port):
        return uvloop.run(mixed.run(port, seconds * 2))


def run_deliveries(out: Path, only_fairness: bool = False) -> dict[str, object]:
    """Webhooks on fresh SQLite files: throughput, lag at 200/s, CSV export of 100,000,
    a healthy receiver beside 4 and 20 that hang (issue 22)."""
    found: dict[str, object] = {}
    for name, job in (
        ("throughput", lambda url: deliveries.throughput(url, out)),
        ("throughput_stored_endpoint", lambda url: deliveries.throughput(url, out, stored=True)),
        ("lag_at_200_per_s", lambda url: deliveries.lag(url, out, free_port())),
        ("csv_export", lambda url: deliveries.csv_export(url, out, free_port())),
        ("fairness_4_hanging", lambda url: deliveries.fairness(url, out, hanging_clients=2)),
        ("fairness_20_hanging", lambda url: deliveries.fairness(url, out, hanging_clients=10)),
    ):
        if only_fairness and not name.startswith("fairness"):
            continue
        say(f"deliveries: {name} ...")
        path = out / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        found[name] = uvloop.run(job(f"sqlite:///{path}"))
    return found


@contextmanager
def databases(kinds: set[str]) -> Iterator[dict[str, str]]:
    """A fresh SQLite file, and a throwaway PostgreSQL cluster when asked for."""
    sqlite_path = HERE.parent / "var" / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    urls = {"sqlite": f"sqlite:///{sqlite_path}"}
    if "postgresql" not in kinds:
        yield urls
        return
    say("starting a throwaway PostgreSQL cluster ...")
    cluster = Cluster.start(durable=True)
    try:
        urls["postgresql"] = cluster.url + "/postgres"
        pidfile = cluster.root / "data" / "postmaster.pid"
        PG_PIDS["postgresql"] = int(pidfile.read_text().split()[0])
        yield urls
    finally:
        cluster.stop()


def write_config(out: Path, storage_url: str) -> Path:
    text = (HERE / "bench.toml").read_text().replace("sqlite:///var/bench.db", storage_url)
    text += bench_agents()
    path = out / "bench-run.toml"
    path.write_text(text)
    return path


if __name__ == "__main__":
    main()
