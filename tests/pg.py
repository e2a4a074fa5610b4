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
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
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
    options: str = ""
    frozen: list[int] = field(default_factory=list)

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
        cluster.options = options
        cluster.resume()
        return cluster

    @property
    def data(self) -> Path:
        return self.root / "data"

    def resume(self, *settings: str, wait: bool = True) -> None:
        """Start the server (again), with extra ``name=value`` settings."""
        options = " ".join([self.options, *(f"-c {s}" for s in settings)])
        mode = "-w" if wait else "-W"
        self._run(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-o",
            options,
            "-l",
            self.root / "log",
            mode,
            "start",
        )

    def halt(self) -> None:
        """Stop the server, keeping its data (fast shutdown: sessions get 57P01)."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        found = [postmaster]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                    found.append(int(entry.name))
        return found

    def freeze(self) -> None:
        """SIGSTOP every process of the server: it hangs instead of refusing, as behind
        a network black hole or a stalled disk (the kernel still accepts connections)."""
        self.frozen = self.pids()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen = []

    def enter_recovery(self) -> None:
        """Restart as a standby that takes no connections (hot_standby off): every
        connection is refused with 57P03, as in the seconds of a crash recovery or a
        failover."""
        self.halt()
        signal_file = self.data / "standby.signal"
        signal_file.touch()
        if self.run_as:
            os.chown(signal_file, self.run_as["user"], self.run_as["group"])
        seen = len(self.log_text())
        self.resume("hot_standby=off", wait=False)  # never "ready": pg_ctl would wait
        deadline = time.monotonic() + 60
        while "consistent recovery state reached" not in self.log_text()[seen:]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby did not start:\n{self.log_text()[seen:]}")
            time.sleep(0.05)

    def leave_recovery(self) -> None:
        self.halt()
        (self.data / "standby.signal").unlink()
        self.resume()

    def log_text(self) -> str:
        try:
            return (self.root / "log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            self._run(PG_BIN / "pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
