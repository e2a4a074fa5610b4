"""A throwaway PostgreSQL 15 cluster for the test session.

initdb in a temp dir, run as a non-root user (``postgres`` when the suite runs as
root), a free port on 127.0.0.1; stopped and removed at the end. Tests run it with
fsync off (fast, and a test never survives a power cut); benchmarks with
``durable=True``: fsync, synchronous_commit and full-page writes on, as production runs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("FLOWHOOKS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def missing_reason() -> str | None:
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"PostgreSQL binary {PG_BIN / tool} not found (set FLOWHOOKS_PG_BIN)"
    return None


@dataclass
class Cluster:
    root: Path
    port: int
    run_as: dict[str, Any]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, timeout=120, **self.run_as
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    @classmethod
    def start(cls, durable: bool = False) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="flowhooks-pg-"))
        run_as: dict[str, Any] = {}
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
            run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        cluster = cls(root, free_port(), run_as)
        data = root / "data"
        cluster._run(
            PG_BIN / "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        options = f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=300"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        cluster._run(
            PG_BIN / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w", "start"
        )
        return cluster

    def stop(self) -> None:
        try:
            self._run(PG_BIN / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
