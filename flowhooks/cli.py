"""The command line: serve | worker | replay | traces | methods | check-config | db."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import orjson
from tqdm import tqdm

from flowhooks import __version__, logs, replay, settings
from flowhooks.clients import Clients
from flowhooks.clock import clock_from
from flowhooks.errors import ConfigError, RegistryError, StorageUnavailable
from flowhooks.integrations.http import client_session
from flowhooks.methods.loader import load_registry
from flowhooks.outbound.service import Outbound
from flowhooks.process import settle_heap, settle_heap_at_startup, start_storage
from flowhooks.storage import Storage, migrations
from flowhooks.traces import search
from flowhooks.web.app import create_app
from flowhooks.web.client_api import BadParameter
from flowhooks.web.meta import describe
from flowhooks.web.serving import serve_until_signalled
from flowhooks.web.traces import export_limit, selection_of
from flowhooks.workers.runtime import delivery_runtime, outbound_runtime


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="TOML config (default: $FLOWHOOKS_CONFIG, else config/flowhooks.toml if present)",
    )


def cmd_serve(args: argparse.Namespace) -> int:
    conf = settings.load(args.config)
    logs.configure(conf.server.log_level)
    host = args.host or conf.server.host
    port = args.port if args.port is not None else conf.server.port
    processes = args.processes if args.processes is not None else conf.server.processes
    problems = settings.processes_problems(conf, processes)
    if processes < 1:
        problems = ["server.processes: must be at least 1"]
    if problems:
        raise ConfigError([f"{conf.source}: {p} (--processes {processes})" for p in problems])
    if processes > 1:
        from flowhooks.web.processes import Master  # gunicorn: only for several processes

        print(
            f"flowhooks {__version__} serving on http://{host}:{port} with {processes}"
            f" processes ({conf.source})",
            flush=True,
        )
        Master(args.config, args.host, args.port, args.processes).run()
        return 0
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app = create_app(conf)
    app.on_startup.append(settle_heap_at_startup)
    print(f"flowhooks {__version__} serving on http://{host}:{port} ({conf.source})", flush=True)
    try:
        loop.run_until_complete(serve_until_signalled(app, conf.server, host, port))
    finally:
        loop.close()
    return 0


async def _worker(conf: settings.Settings) -> int:
    clock = clock_from(conf.testing.clock_start)
    calendars = settings.build_calendars(conf)
    calendars.warm(clock.now())
    storage = await start_storage(conf, clock.now())
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    for warning in settings.warnings(conf):
        print(warning, file=sys.stderr)
    planner = settings.build_planner(conf)
    outbound = Outbound(conf, storage, calendars, planner, clock)
    try:
        async with (
            client_session() as http,
            outbound_runtime(conf, outbound, http, clock) as dispatcher,
            delivery_runtime(conf, outbound, http, clock),
        ):
            print(
                f"flowhooks worker {dispatcher.owner} dispatching and delivering ({conf.source})",
                flush=True,
            )
            await stop.wait()
    finally:
        await storage.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    conf = settings.load(args.config)
    logs.configure(conf.server.log_level)
    try:
        import uvloop

        return uvloop.run(_worker(conf))
    except ImportError:  # pragma: no cover
        return asyncio.run(_worker(conf))


def cmd_check_config(args: argparse.Namespace) -> int:
    conf = settings.load(args.config)
    for warning in settings.warnings(conf) + settings.console_warnings(conf):
        print(f"warning: {warning}")
    print(
        f"{conf.source}: OK ({len(conf.calendars)} calendars, {len(conf.clients)} clients,"
        f" {len(conf.agents)} agents)"
    )
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    registry = load_registry()
    if args.json:
        print(json.dumps([describe(h) for h in registry.values()], indent=2))
        return 0
    for handler in registry.values():
        print(f"{handler.method}  ({handler.source})  {handler.description}")
        for item in describe(handler)["inputs"]:
            need = "required" if item["required"] else "optional"
            print(f"    in   {item['name']:<16} {need:<9} {item['description']}")
        for item in describe(handler)["outputs"]:
            print(f"    out  {item['name']:<28} {item['description']}")
    return 0


async def _replay(args: argparse.Namespace) -> int:
    files = [replay.CaseFile.read(Path(p)) for p in args.cases]
    given = replay.given_secrets(args.secret)
    if args.url:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            sender = replay.HttpSender(session, args.url, args.token)
            _, failed = await replay.replay(files, sender, sys.stdout, args.record, given)
    else:
        conf = settings.load(args.config)
        logs.configure("WARNING")
        secrets = replay.config_secrets(conf)
        async with replay.in_process(conf) as engine_sender:
            _, failed = await replay.replay(
                files, engine_sender, sys.stdout, args.record, given, secrets
            )
    return 1 if failed else 0


def cmd_replay(args: argparse.Namespace) -> int:
    if bool(args.url) == bool(args.config):
        print("flowhooks replay: give exactly one of --url or --config", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_replay(args))
    except (OSError, ValueError) as exc:
        print(f"flowhooks replay: {exc}", file=sys.stderr)
        return 2


TRACE_FILTERS = {  # option -> the query parameter of GET /api/v1/traces/export
    "cli": "cli",
    "method": "method",
    "status": "status",
    "error_code": "errorCode",
    "call_key": "callKey",
    "since": "from",
    "until": "to",
    "limit": "limit",
}


async def _traces_export(args: argparse.Namespace) -> int:
    conf = settings.load(args.config)
    query = {p: str(v) for o, p in TRACE_FILTERS.items() if (v := getattr(args, o)) is not None}
    try:
        sel = selection_of(query, args.client, Clients(conf.clients), load_registry())
        limit = export_limit(query)
    except BadParameter as exc:
        option = next(o for o, p in TRACE_FILTERS.items() if p == exc.name)
        flag = {"since": "--from", "until": "--to"}.get(option, "--" + option.replace("_", "-"))
        what = exc.message.removeprefix(f"{exc.name}: ")  # the flag names it, not "from"
        print(f"flowhooks traces export: {flag}: {what}", file=sys.stderr)
        return 2
    storage = Storage.open(conf.storage.url)
    out = sys.stdout if args.output == "-" else Path(args.output).open("w", encoding="utf-8")
    try:
        total = await search.count(storage, sel)
        total = total if limit is None else min(total, limit)
        written = 0
        with tqdm(total=total, unit=" traces", file=sys.stderr, disable=args.quiet) as bar:
            async for read, cases in search.cases(storage, sel, limit):
                out.write("".join(orjson.dumps(c).decode() + "\n" for c in cases))
                written += len(cases)
                bar.update(read)
    except StorageUnavailable as exc:
        print(f"flowhooks traces export: {exc.message}", file=sys.stderr)
        return 2
    finally:
        if out is not sys.stdout:
            out.close()
        await storage.close()
    print(f"{written} replay cases of {total} traces", file=sys.stderr)
    return 0


def cmd_traces(args: argparse.Namespace) -> int:
    return asyncio.run(_traces_export(args))


async def _db(args: argparse.Namespace) -> int:
    conf = settings.load(args.config)
    storage = Storage.open(conf.storage.url)
    try:
        if args.action == "upgrade":
            before = await migrations.current_version(storage)
            print(f"database at version {before}; latest is {migrations.LATEST}", flush=True)
            applied = await migrations.upgrade(
                storage,
                lambda line: print(line, flush=True),
                clock_from(conf.testing.clock_start).now(),
            )
            print(f"applied {len(applied)} migration(s); now at version {migrations.LATEST}")
        else:
            print(
                f"version {await migrations.current_version(storage)} (latest {migrations.LATEST})"
            )
    except StorageUnavailable as exc:
        print(f"flowhooks db: {exc.message}", file=sys.stderr)
        return 2
    finally:
        await storage.close()
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    return asyncio.run(_db(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowhooks", description="The helper service IVR flows call mid-call."
    )
    parser.add_argument("--version", action="version", version=f"flowhooks {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the HTTP service", description="Run the HTTP service.")
    _config_arg(p)
    p.add_argument("--host", help="override [server] host")
    p.add_argument("--port", type=int, help="override [server] port")
    p.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="override [server] processes: N serving processes on one port (PostgreSQL only);"
        " SIGHUP reloads the config and replaces them gracefully",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "worker",
        help="run only the dispatcher (no HTTP)",
        description="Run the outbound dispatcher alone; several may share one PostgreSQL.",
    )
    _config_arg(p)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser(
        "replay",
        help="replay recorded envelopes and check the answers",
        description="Send recorded cases (JSON, a list, or JSONL) and check the answers."
        " Prints a line per case and 'N passed, M failed'; exits 1 on any failure.",
    )
    p.add_argument("cases", nargs="+", metavar="CASES", help="case files")
    p.add_argument("--url", help="a running flowhooks (e.g. http://127.0.0.1:8080/webhook)")
    p.add_argument("--config", metavar="FILE", help="run the service in-process with this config")
    p.add_argument("--token", help="bearer token for --url when [server] token is set")
    p.add_argument("--record", action="store_true", help="write the answers back as expectations")
    p.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fill a secret recorded as *** (e.g. securityID=...); repeatable. With --config"
        " the config's own (security_id, cust_token, [translate] api_key, bot token) fill"
        " the rest; a case still missing one is reported SKIP",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser(
        "traces",
        help="export flow traces as replay cases",
        description="Flow traces from the database of a config.",
    )
    tsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = tsub.add_parser(
        "export",
        help="write a client's traces as JSONL replay cases",
        description="Write a client's traces (oldest first) as JSONL replay cases, the"
        " filters as GET /api/v1/traces/export takes them; a progress bar on stderr."
        " Replay them with: flowhooks replay FILE --config NEW.toml",
    )
    _config_arg(e)
    e.add_argument("--client", required=True, help="whose traces ([clients.NAME])")
    e.add_argument("--cli", help="the caller's number, any format")
    e.add_argument("--method", help="a method name (any case)")
    e.add_argument("--status", help="SUCCESS or FAILED")
    e.add_argument("--error-code", help="an errorCode, e.g. NO_VALID_SLOT")
    e.add_argument("--call-key", help="a call's key ([traces] call_keys)")
    e.add_argument("--from", dest="since", metavar="TIME", help="ISO 8601 with offset, inclusive")
    e.add_argument("--to", dest="until", metavar="TIME", help="ISO 8601 with offset, exclusive")
    e.add_argument("--limit", type=int, help="at most this many traces")
    e.add_argument("-o", "--output", default="-", metavar="FILE", help="default: stdout")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_traces)

    p = sub.add_parser("methods", help="list registered methods", description="List methods.")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser(
        "check-config",
        help="validate a config and exit",
        description="Validate the config completely; every error names its TOML path.",
    )
    _config_arg(p)
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser(
        "db",
        help="database schema: upgrade | current",
        description="Apply schema migrations (also done at every start) or show the version.",
    )
    p.add_argument("action", choices=["upgrade", "current"], help="what to do")
    _config_arg(p)
    p.set_defaults(func=cmd_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print("flowhooks: the config is not valid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except RegistryError as exc:
        print(f"flowhooks: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
