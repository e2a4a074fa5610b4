"""The command line: serve | worker | replay | methods | check-config | db."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from flowhooks import __version__, logs, replay, settings
from flowhooks.clock import clock_from
from flowhooks.errors import ConfigError, RegistryError, StorageUnavailable
from flowhooks.integrations.http import client_session
from flowhooks.methods.loader import load_registry
from flowhooks.outbound.service import Outbound
from flowhooks.process import deadlines, settle_heap, settle_heap_at_startup, start_storage
from flowhooks.storage import Storage, migrations
from flowhooks.web.app import create_app
from flowhooks.web.meta import describe
from flowhooks.web.serving import serve_until_signalled
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
    for warning in settings.warnings(conf):
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
    if args.url:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            sender = replay.HttpSender(session, args.url, args.token)
            _, failed = await replay.replay(files, sender, sys.stdout, args.record)
    else:
        conf = settings.load(args.config)
        logs.configure("WARNING")
        async with replay.in_process(conf) as engine_sender:
            _, failed = await replay.replay(files, engine_sender, sys.stdout, args.record)
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


async def _db(args: argparse.Namespace) -> int:
    conf = settings.load(args.config)
    storage = Storage.open(conf.storage.url, deadlines=deadlines(conf.storage))
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
    p.set_defaults(func=cmd_replay)

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
