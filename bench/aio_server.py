"""Server rows: a stack's asyncio face serving loopback clients in the same event loop, wall-clock.

Each connection is a handshake, one byte from the server, close; the figures are connections per second
and the client's handshake latency (connect to handshake complete), p50 and p99, the best of a few rounds
with the stacks alternating.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from common import Faces
from harness import Bench
from report import Row, Target


@dataclass
class ServerRun:
    connections_per_second: float
    p50_ms: float
    p99_ms: float


async def serve_and_connect(faces: Faces, connections: int, concurrency: int) -> ServerRun:
    """A server that sends one byte and closes; ``concurrency`` clients each connecting in a loop
    until ``connections`` handshakes are done. Latency: connect to handshake complete (client)."""
    start_server, open_connection = faces

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"k")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    latencies: list[float] = []
    todo = connections

    async def client() -> None:
        nonlocal todo
        while todo > 0:
            todo -= 1
            start = time.perf_counter()
            reader, writer = await open_connection("127.0.0.1", port)
            latencies.append(time.perf_counter() - start)
            if await reader.read(1) != b"k":
                raise RuntimeError("the server's byte did not arrive")
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async with server:
        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return ServerRun(
        connections / elapsed,
        statistics.median(latencies) * 1e3,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
    )


def _faster(best: ServerRun | None, run: ServerRun) -> ServerRun:
    return run if best is None or run.connections_per_second > best.connections_per_second else best


@dataclass(frozen=True)
class Served:
    """Three rows: connections/s (``key``, with the target) and the handshake latency p50 and p99
    (``key`` + " p50" / " p99"). Each side's measurement returns its asyncio face."""

    key: str
    label: str
    tlslens: Callable[[Bench], Faces]
    openssl: Callable[[Bench], Faces]
    target: Target | None = None

    def measure(self, bench: Bench) -> list[Row]:
        budget = bench.budget
        n, connections = budget.asyncio_concurrency, budget.asyncio_connections

        def one_run(faces: Faces) -> ServerRun:
            return asyncio.run(serve_and_connect(faces, connections, n))

        def serving(faces: Faces) -> Callable[[Bench], ServerRun]:
            return lambda _: one_run(faces)

        theirs = self.openssl(bench)
        face, failure = bench.ours(self.key, self.tlslens)
        runs: dict[str, ServerRun] = {}
        for _ in range(budget.asyncio_rounds):  # best of a few rounds, the stacks alternating
            runs["openssl"] = _faster(runs.get("openssl"), one_run(theirs))
            if face is not None:  # a face that cannot serve fails on its own side
                run, failure = bench.ours(self.key, serving(face))
                if run is None:
                    face = None
                    runs.pop("tlslens", None)
                else:
                    runs["tlslens"] = _faster(runs.get("tlslens"), run)
        ours, theirs_run = runs.get("tlslens"), runs["openssl"]
        note = failure or f"{connections} connections: handshake, 1 byte, close"
        return [
            Row(
                self.key,
                f"{self.label}, {n} clients",
                "conn/s",
                ours.connections_per_second if ours else None,
                theirs_run.connections_per_second,
                note,
                target=self.target,
            ),
            Row(
                f"{self.key} p50",
                "  handshake latency p50",
                "ms",
                ours.p50_ms if ours else None,
                theirs_run.p50_ms,
            ),
            Row(
                f"{self.key} p99",
                "  handshake latency p99",
                "ms",
                ours.p99_ms if ours else None,
                theirs_run.p99_ms,
            ),
        ]
