"""A small HTTP/1.1 keep-alive load generator for 127.0.0.1 only, bounded in count and time.

Closed loop: N connections each send the next request when the last answer arrived
(throughput). Open loop: requests start on a fixed schedule spread over the
connections (latency at a given rate, free of coordinated omission within a connection).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000

    def summary(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.pct(50), 3),
            "p99_ms": round(self.pct(99), 3),
            "max_ms": round(max(self.latencies) * 1000, 3) if self.latencies else 0,
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 3) if self.latencies else 0,
        }


def build_request(
    path: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST"
) -> bytes:
    sized = ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {LOOPBACK}",
        *(sized if method == "POST" else []),
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    port: int,
    requests: Sequence[bytes],
    result: Result,
    deadline: float,
    budget: list[int],
    pace: Callable[[], float] | None,
) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        while budget[0] > 0:
            start = time.perf_counter()
            if pace is not None:
                due = pace()
                if due > start:
                    await asyncio.sleep(due - start)
                start = due  # latency counts from when the request was due
            if time.perf_counter() >= deadline:
                return
            budget[0] -= 1
            writer.write(requests[budget[0] % len(requests)])
            status = await _read_response(reader)
            result.latencies.append(time.perf_counter() - start)
            result.requests += 1
            if status not in (200, 302):  # 302: the redirector's answer
                result.errors += 1
    finally:
        writer.close()


async def run(
    port: int,
    request: bytes | Sequence[bytes],
    connections: int = 32,
    seconds: float = 5.0,
    max_requests: int = 200_000,
    rate: float | None = None,
) -> Result:
    """Closed loop when ``rate`` is None, else open loop at ``rate`` requests/s overall."""
    requests = [request] if isinstance(request, bytes) else list(request)
    result = Result(0, 0, 0.0, [])
    budget = [max_requests]
    t0 = time.perf_counter()
    deadline = t0 + seconds
    pace = None
    if rate:
        tick = [0]

        def pace() -> float:
            tick[0] += 1
            return t0 + tick[0] / rate

    await asyncio.gather(
        *(_connection(port, requests, result, deadline, budget, pace) for _ in range(connections))
    )
    result.seconds = time.perf_counter() - t0
    return result


async def wait_ready(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection(LOOPBACK, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout}s")
