#!/usr/bin/env python3
"""Servers under load: four TLS servers, each in a process of its own, and many clients in another.

  tlslens server     ``tlslens server --www`` (the CLI: its page, its log line per connection)
  tlslens asyncio    ``tlslens.aio.start_server`` answering one small HTTP response per connection
  ssl asyncio        the same server on ``asyncio.start_server(ssl=SSLContext)`` (the reference ratios)
  openssl s_server   ``openssl s_server -www`` (one connection at a time, in C)

The load: ``--clients`` concurrent clients (Python ``ssl`` on asyncio, in separate processes, so they
do not share the server's CPU), each making ``--per-client`` connections one after another: a full
TLS 1.3 handshake (no session offered, AES-128-GCM, X25519, the chain verified), one HTTP GET, the
reply read to the end, close. Every server has the same P-256 chain and sends its default two tickets.

Per server: CPU per connection (the server process's utime + stime from /proc, before and after the
load, over the connections served), connections per second over the load's wall time, and the clients'
handshake latency (connect to handshake complete) p50 and p99; ratios are against the ssl asyncio
server (for CPU per connection lower is better, for the rest higher). A few connections warm each
server up first (imports, caches), outside the figures. The client processes' own CPU per connection is
shown too: when the clients use most of a core, they are the bottleneck, not the server.

Run: python bench/load.py [--quick] [--json] [--servers a,b,...]
The figures come from ``measure_servers`` (a bench row can call it) or ``Loaded`` (rows.py can list it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import resource
import select
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import HANDSHAKE_SUITE, SERVER_NAME, Env, environment  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from libssl import LibSsl  # noqa: E402
from report import Row, Target, at_least, at_most  # noqa: E402

SERVERS = {
    "cli": "tlslens server --www",
    "aio": "tlslens asyncio",
    "ssl": "ssl asyncio",
    "openssl": "openssl s_server -www",
}
REFERENCE = "ssl"
"""The server the ratios compare with."""

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
)
CONNECTION_TIMEOUT = 30.0  # a client's connection: handshake, request, reply, close
STARTUP_TIMEOUT = 20.0
SETTLE = 0.3  # seconds after the load before the server's CPU is read (closes still in flight)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the servers ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (/proc/PID/stat: utime, stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_command(kind: str, env: Env) -> tuple[list[str], int | None]:
    """The command line of a server, and its port when it is chosen here (None: it prints it)."""
    chain, key = str(env.chain_pem), str(env.key_pem)
    if kind == "cli":
        return [
            sys.executable,
            "-m",
            "tlslens",
            "server",
            "--www",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--cert",
            chain,
            "--key",
            key,
        ], None
    if kind in ("aio", "ssl"):
        return [sys.executable, __file__, "--serve", kind, chain, key], None
    pem = serialization.Encoding.PEM
    leaf, intermediate = env.folder / "leaf.pem", env.folder / "intermediate.pem"
    leaf.write_bytes(env.pki.leaf.certificate.public_bytes(pem))
    intermediate.write_bytes(env.pki.intermediate.certificate.public_bytes(pem))
    port = _free_port()
    return [
        "openssl",
        "s_server",
        "-www",
        "-quiet",
        "-accept",
        f"127.0.0.1:{port}",
        "-cert",
        str(leaf),
        "-cert_chain",
        str(intermediate),
        "-key",
        key,
    ], port


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, port: int | None, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        if port is None:
            found = re.search(r"listening on [0-9.]+:(\d+)", log.read_text())
            if found:
                return int(found.group(1))
        else:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return port
        time.sleep(0.05)
    raise RuntimeError(f"the server did not listen within {timeout:g} s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's PID, then SIGKILL if it lingers."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5.0)


@contextlib.contextmanager
def start_server(kind: str, env: Env, timeout: float = STARTUP_TIMEOUT) -> Iterator[tuple[int, int]]:
    """Start server ``kind`` on 127.0.0.1; yields (its PID, its port); stops it by its PID."""
    command, port = _server_command(kind, env)
    log = env.folder / f"{kind}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        yield proc.pid, _wait_ready(proc, log, port, timeout)
    finally:
        _stop(proc)


async def _serve(kind: str, chain: str, key: str) -> None:
    """``--serve aio|ssl``: the asyncio server, one small HTTP response per connection, until SIGTERM."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECTION_TIMEOUT)
            writer.write(RESPONSE)
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server: asyncio.Server
    if kind == "ssl":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key)
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context, backlog=socket.SOMAXCONN)
    else:
        import tlslens
        from tlslens.aio import start_server as tls_start_server

        config = tlslens.ServerConfig(
            certificate_chain=x509.load_pem_x509_certificates(Path(chain).read_bytes()),
            private_key=serialization.load_pem_private_key(Path(key).read_bytes(), None),  # type: ignore[arg-type]
        )
        server = await tls_start_server(handle, "127.0.0.1", 0, config=config, backlog=socket.SOMAXCONN)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", file=sys.stderr, flush=True)
    async with server:
        await stop.wait()


# --- the clients ---------------------------------------------------------------------------------------


@dataclass
class ClientResult:
    connections: int
    failures: int
    wall_seconds: float
    p50_ms: float
    p99_ms: float
    client_cpu_seconds: float
    first_failure: str = ""


def run_clients(
    port: int, env: Env, clients: int, per_client: int, processes: int, timeout: float
) -> ClientResult:
    """``clients`` concurrent clients over ``processes`` processes, ``per_client`` connections each;
    the processes start together once all are ready."""
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--client", str(port), str(env.root_pem), str(n), str(per_client)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for n in shares
    ]
    try:
        for proc in procs:  # each says "ready" once its contexts are made
            assert proc.stdout is not None
            if _readline(proc.stdout, 30.0) != b"ready\n":
                raise RuntimeError("a client process did not start")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        reports = []
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            reports.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5.0)
    latencies = sorted(x for r in reports for x in r["latencies"])
    if not latencies:
        first = next((r["first_failure"] for r in reports if r["first_failure"]), "")
        raise RuntimeError(f"no connection succeeded: {first}")
    return ClientResult(
        len(latencies),
        sum(r["failures"] for r in reports),
        max(r["end"] for r in reports) - min(r["start"] for r in reports),
        statistics.median(latencies) * 1e3,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        sum(r["cpu"] for r in reports),
        next((r["first_failure"] for r in reports if r["first_failure"]), ""),
    )


def _readline(stream: Any, timeout: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else b""


def _client_context(root: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    context.load_verify_locations(root)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    LibSsl().configure(context, HANDSHAKE_SUITE, "X25519")
    return context


async def _load(port: int, root: str, clients: int, per_client: int) -> dict[str, Any]:
    """``--client``: the clients of one process; waits for "go" on stdin, reports JSON."""
    context = _client_context(root)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failures: list[str] = []

    async def connection() -> float:
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1",
            port,
            ssl=context,
            server_hostname=SERVER_NAME,
            ssl_handshake_timeout=CONNECTION_TIMEOUT,
        )
        latency = time.perf_counter() - start
        try:
            tls = writer.get_extra_info("ssl_object")
            if tls.version() != "TLSv1.3" or tls.session_reused:
                raise RuntimeError(f"not a full TLS 1.3 handshake: {tls.version()}")
            writer.write(REQUEST)
            reply = await reader.read()
            if not reply.startswith(b"HTTP/1."):
                raise RuntimeError(f"not an HTTP reply: {reply[:40]!r}")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        return latency

    async def client() -> None:
        for _ in range(per_client):
            try:
                latencies.append(await asyncio.wait_for(connection(), CONNECTION_TIMEOUT))
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    used = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
    await asyncio.gather(*(client() for _ in range(clients)))
    end = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime
    first = failures[0] if failures else ""
    return {
        "start": start,
        "end": end,
        "latencies": latencies,
        "failures": len(failures),
        "first_failure": first,
        "cpu": cpu,
    }


# --- measuring -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadBudget:
    clients: int = 200
    per_client: int = 5
    client_processes: int = 2
    warm_up: int = 20
    rounds: int = 1


BUDGETS = {
    "default": LoadBudget(rounds=3),
    "quick": LoadBudget(per_client=2, warm_up=10, rounds=2),
    "smoke": LoadBudget(clients=4, per_client=1, client_processes=1, warm_up=1),
}


@dataclass
class LoadRun:
    """One server's figures under the load."""

    server: str
    connections: int
    failures: int
    cpu_ms_per_connection: float  # the server process, user + system
    connections_per_second: float
    p50_ms: float
    p99_ms: float
    client_cpu_ms_per_connection: float  # all client processes together
    wall_seconds: float
    first_failure: str = ""


def _run_one(kind: str, env: Env, budget: LoadBudget) -> LoadRun:
    with start_server(kind, env, STARTUP_TIMEOUT) as (pid, port):
        run_clients(port, env, 1, budget.warm_up, 1, timeout=60.0)  # warm-up, not measured
        before = cpu_seconds(pid)
        result: ClientResult = run_clients(
            port, env, budget.clients, budget.per_client, budget.client_processes, timeout=300.0
        )
        time.sleep(SETTLE)
        used = cpu_seconds(pid) - before
    done = max(1, result.connections)
    return LoadRun(
        kind,
        result.connections,
        result.failures,
        used / done * 1e3,
        result.connections / result.wall_seconds if result.wall_seconds else 0.0,
        result.p50_ms,
        result.p99_ms,
        result.client_cpu_seconds / done * 1e3,
        result.wall_seconds,
        result.first_failure,
    )


def _better(best: LoadRun | None, run: LoadRun) -> LoadRun:
    """The best of two rounds: the fewer CPU seconds per connection, and the figures of the faster
    round (connections/s, latency)."""
    if best is None:
        return run
    faster = run if run.connections_per_second > best.connections_per_second else best
    cpu = min(best.cpu_ms_per_connection, run.cpu_ms_per_connection)
    return dataclasses.replace(faster, cpu_ms_per_connection=cpu)


def measure_servers(
    env: Env, budget: LoadBudget = BUDGETS["default"], servers: tuple[str, ...] = tuple(SERVERS)
) -> dict[str, LoadRun]:
    """Each server of ``servers`` (keys of ``SERVERS``) under the load; the best of ``budget.rounds``
    rounds (``_better``), the servers alternating within a round."""
    best: dict[str, LoadRun | None] = dict.fromkeys(servers)
    for _ in range(budget.rounds):
        for kind in servers:
            best[kind] = _better(best[kind], _run_one(kind, env, budget))
    return {kind: run for kind, run in best.items() if run is not None}


def _ratio(ours: float, reference: float) -> str:
    return f"{ours / reference:.2f}" if reference else "-"


def render(runs: dict[str, LoadRun], budget: LoadBudget) -> str:
    ref = runs.get(REFERENCE)
    head = (
        "server",
        "conns",
        "fail",
        "CPU ms/conn",
        "x ssl",
        "conn/s",
        "x ssl",
        "p50 ms",
        "p99 ms",
        "client CPU ms/conn",
    )
    table = [head]
    for kind, r in runs.items():
        cpu_ratio = _ratio(r.cpu_ms_per_connection, ref.cpu_ms_per_connection if ref else 0.0)
        rate_ratio = _ratio(r.connections_per_second, ref.connections_per_second if ref else 0.0)
        table.append(
            (
                SERVERS[kind],
                str(r.connections),
                str(r.failures),
                f"{r.cpu_ms_per_connection:.2f}",
                cpu_ratio,
                f"{r.connections_per_second:.0f}",
                rate_ratio,
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.client_cpu_ms_per_connection:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = []
    for i, row in enumerate(table):
        lines.append(
            "  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(row))
        )
        if i == 0:
            lines.append("-" * len(lines[-1]))
    lines.append("")
    lines.append(
        f"{budget.clients} clients in {budget.client_processes} process(es), {budget.per_client} connections"
        f" each: TLS 1.3 full handshake ({HANDSHAKE_SUITE}, x25519, chain verified), GET, read, close"
    )
    lines += [f"  {SERVERS[k]}: first failure: {r.first_failure}" for k, r in runs.items() if r.failures]
    return "\n".join(lines)


@dataclass(frozen=True)
class Loaded:
    """For rows.py: the tlslens CLI server and asyncio face under load, each against the ssl asyncio
    server (the "openssl" column): CPU per connection (target <= 1) and connections/s (target >= 1)."""

    key: str = "load"
    label: str = "server under load"
    budget: LoadBudget | None = None

    def measure(self, bench: Any) -> list[Row]:
        """Rounds of the ssl server (the reference: its failure fails the run), then each tlslens server
        through ``bench.ours`` (a failure is n/a with its reason, or fails a strict run); the servers
        alternate within a round, and each keeps its best round (``_better``): one round alone moves
        by ±20% on a shared machine."""
        budget = self.budget or BUDGETS[bench.budget.load]
        one = dataclasses.replace(budget, rounds=1)
        ref: LoadRun | None = None
        best: dict[str, LoadRun | None] = {"cli": None, "aio": None}
        failures: dict[str, str] = {}
        for _ in range(budget.rounds):
            ref = _better(ref, measure_servers(bench.env, one, (REFERENCE,))[REFERENCE])
            for kind in best:
                if kind in failures:
                    continue
                run, failure = bench.ours(
                    f"{self.key} {kind}", lambda b, k=kind: measure_servers(b.env, one, (k,))[k]
                )
                if run is None:
                    failures[kind] = failure
                else:
                    best[kind] = _better(best[kind], run)
        assert ref is not None
        rows: list[Row] = []
        for kind, run in best.items():
            note = failures.get(kind) or (
                f"{budget.clients} clients x {budget.per_client} connections, best of {budget.rounds}"
                " rounds, against ssl on asyncio"
            )
            cpu = run.cpu_ms_per_connection if run else None
            rate = run.connections_per_second if run else None
            rows.append(
                _row(
                    f"{self.key} {kind} cpu",
                    f"under load, {SERVERS[kind]}: CPU per connection",
                    "ms",
                    cpu,
                    ref.cpu_ms_per_connection,
                    at_most(1.0),
                    note,
                )
            )
            rows.append(
                _row(
                    f"{self.key} {kind} rate",
                    "  connections/s",
                    "conn/s",
                    rate,
                    ref.connections_per_second,
                    at_least(1.0),
                )
            )
        return rows


def _row(
    key: str, label: str, unit: str, ours: float | None, theirs: float, target: Target, note: str = ""
) -> Row:
    return Row(key, label, unit, ours, theirs, note, target=target)


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:  # a server process of this benchmark
        asyncio.run(_serve(*sys.argv[2:5]))
        return
    if sys.argv[1:2] == ["--client"]:  # a client process
        port, root, clients, per_client = sys.argv[2:6]
        report = asyncio.run(_load(int(port), root, int(clients), int(per_client)))
        print(json.dumps(report), flush=True)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="2 connections per client instead of 5")
    speed.add_argument("--smoke", action="store_true", help="a handful of connections (keeps it working)")
    parser.add_argument("--servers", help=f"comma-separated, of: {','.join(SERVERS)} (default: all)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 200)")
    parser.add_argument("--per-client", type=int, help="connections per client, in sequence")
    parser.add_argument("--client-processes", type=int, help="processes the clients are spread over")
    parser.add_argument("--rounds", type=int, help="best of this many rounds (default 1)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "default"
    budget = BUDGETS[mode]
    changes = {
        name: value
        for name in ("clients", "per_client", "client_processes", "rounds")
        if (value := getattr(args, name)) is not None
    }
    if changes:
        budget = LoadBudget(**{**asdict(budget), **changes})
    servers = tuple(SERVERS) if not args.servers else tuple(s.strip() for s in args.servers.split(","))
    unknown = [s for s in servers if s not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; choose among {list(SERVERS)}")
    started = time.perf_counter()
    with environment() as env:
        runs = measure_servers(env, budget, servers)
    seconds = round(time.perf_counter() - started, 1)
    if args.json:
        header = {"python": sys.version.split()[0], "openssl": ssl.OPENSSL_VERSION, "cpus": os.cpu_count()}
        print(
            json.dumps(
                {
                    **header,
                    "mode": mode,
                    "budget": asdict(budget),
                    "seconds": seconds,
                    "servers": {k: asdict(r) for k, r in runs.items()},
                },
                indent=2,
            )
        )
    else:
        print(render(runs, budget))
        print(f"\n({seconds} s; {os.cpu_count()} CPUs; {ssl.OPENSSL_VERSION})")


__all__ = ["BUDGETS", "LoadBudget", "LoadRun", "Loaded", "measure_servers", "render"]

if __name__ == "__main__":
    main()
