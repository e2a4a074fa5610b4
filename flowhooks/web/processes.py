"""``flowhooks serve --processes N``: N serving processes on one port, under gunicorn.

gunicorn's master binds the port and forks N workers; it replaces a worker that dies
(or stops answering its heartbeat for ``TIMEOUT_SECONDS``), on SIGHUP re-reads the
config and replaces every worker gracefully (the new ones start before the old ones
stop), and on SIGTERM or SIGINT stops them all within
``[server] graceful_timeout_seconds``. Each worker is aiohttp's uvloop worker serving
the app through flowhooks' own ``Serving`` (the slow-client guards, JSON errors), as a
single-process ``serve`` does. Only PostgreSQL is shared between processes; the config
check refuses N > 1 on SQLite.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from aiohttp import web
from aiohttp.worker import GunicornUVLoopWebWorker
from gunicorn.app.base import BaseApplication

from flowhooks import logs, settings
from flowhooks.errors import ConfigError
from flowhooks.process import settle_heap_at_startup
from flowhooks.web import keys as appkeys
from flowhooks.web.app import create_app
from flowhooks.web.serving import Serving

log = logging.getLogger("flowhooks.processes")
TIMEOUT_SECONDS = 30  # a worker silent this long (a stuck loop) is killed and replaced
DRAIN_SECONDS = 2.0  # a stopping worker's kept-alive clients are moved to the others

# gunicorn's own lines (worker started, exited, replaced) in the service's JSON shape
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "flowhooks.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
    "root": {"level": "INFO", "handlers": []},
}


class Worker(GunicornUVLoopWebWorker):
    """One serving process: the app on the master's socket, until gunicorn stops it."""

    async def _run(self) -> None:
        app = self.wsgi
        serving = Serving(app, app[appkeys.SETTINGS].server, DRAIN_SECONDS)
        sock = self.sockets[0]  # one bound address
        await serving.start("", 0, sock=getattr(sock, "sock", sock))
        self.booted = True  # the arbiter now counts a later exit as a death, not a boot error
        pid = os.getpid()
        try:
            while self.alive:
                self.notify()  # the heartbeat the master watches
                if pid == os.getpid() and self.ppid != os.getppid():
                    self.alive = False  # the master is gone
                else:
                    await self._wait_next_notify()
        finally:
            # in-flight requests finish, kept-alive clients move on; the resources close
            await serving.close()


class Master(BaseApplication):  # type: ignore[misc]
    """gunicorn's application: the config is read at start and again at each SIGHUP."""

    def __init__(
        self, config_path: str | None, host: str | None, port: int | None, processes: int | None
    ) -> None:
        self.config_path = config_path
        self.host = host
        self.port = port
        self.processes = processes
        self.conf: settings.Settings | None = None
        super().__init__()

    def load_config(self) -> None:
        try:
            conf = settings.load(self.config_path)
            problems = settings.processes_problems(conf, self.count(conf))
            if problems:
                raise ConfigError([f"{conf.source}: {p}" for p in problems])
        except ConfigError:
            if self.conf is None:
                raise  # at start: reported by the CLI, nothing runs
            log.error("the config is not valid; the running one is kept (flowhooks check-config)")
            return
        self.conf = conf
        host = self.host or conf.server.host
        port = self.port if self.port is not None else conf.server.port
        self.cfg.set("bind", [f"{host}:{port}"])
        self.cfg.set("workers", self.count(conf))
        self.cfg.set("worker_class", f"{__name__}.Worker")
        self.cfg.set("graceful_timeout", conf.server.graceful_timeout_seconds)
        self.cfg.set("timeout", TIMEOUT_SECONDS)
        self.cfg.set("backlog", 1024)
        self.cfg.set("proc_name", "flowhooks")
        self.cfg.set("logconfig_dict", LOGGING)
        self.cfg.set("loglevel", conf.server.log_level.lower())

    def count(self, conf: settings.Settings) -> int:
        return self.processes if self.processes is not None else conf.server.processes

    def load(self) -> web.Application:
        """In each new worker (forked from the master): the app of the master's config."""
        conf = self.conf  # read and checked by the master at start or at its last SIGHUP
        assert conf is not None
        logs.configure(conf.server.log_level)
        app = create_app(conf)
        app.on_startup.append(settle_heap_at_startup)
        return app
