"""The scanner's sockets: one probe = one TCP connection, one ClientHello, the answer, close.

This module and ``scan.fullhs`` (complete handshakes, HTTP, AIA downloads) are the only parts of the
scanner that do I/O. ``Prober`` is what the enumeration strategies are handed: it bounds how many
connections one host sees at once (a semaphore per target), times out each probe as a whole (never a
fixed sleep: a probe ends as soon as the answer is complete), and counts probes and their time per
check for the report.

Every connection of a scan, hello-only probes and complete handshakes alike, takes the target's
``Route`` (``Prober.open_plain``): TCP to the address resolved once, or an HTTP CONNECT tunnel through a
proxy (``tlslens.adapters.proxy``; the proxy resolves the name), then, with ``starttls``, the protocol's
plaintext dialogue up to "start TLS now" (``tlslens.adapters.starttls``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from tlslens.adapters.proxy import Proxy
from tlslens.adapters.starttls import StartTLSError, connect
from tlslens.scan.flight import FlightReader, ServerAnswer
from tlslens.scan.hellos import HelloSpec, encode_hello

__all__ = ["CheckStats", "Prober", "Route", "Target", "TargetError", "resolve"]

READ_SIZE = 65536
T = TypeVar("T")


class TargetError(Exception):
    """The target cannot be scanned at all (name does not resolve, nothing listens, not TLS)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One host:port to scan, resolved once."""

    host: str
    port: int
    address: str
    """The IP address every probe connects to (resolved once, so all probes see the same server); through
    a proxy, the host name the CONNECT requests name (the proxy resolves it)."""
    server_name: str | None
    """SNI to send (None for an IP address target without --servername)."""

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Route:
    """How every connection of a scan reaches the server: ``proxy`` (HTTP CONNECT) or TCP, then the
    ``starttls`` protocol's dialogue (smtp, imap, ...: ``tlslens.adapters.starttls.PROTOCOLS``)."""

    starttls: str | None = None
    proxy: Proxy | None = None

    def describe(self) -> str:
        parts = []
        if self.proxy is not None:
            parts.append(f"through the proxy {self.proxy.address}")
        if self.starttls is not None:
            parts.append(f"after STARTTLS ({self.starttls})")
        return " ".join(parts)


async def resolve(host: str, port: int, timeout: float) -> str:
    """The first address ``host`` resolves to (IPv4 preferred), or TargetError."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise TargetError(f"{host}: name resolution timed out") from None
    except OSError as exc:
        raise TargetError(f"{host}: {exc.strerror or exc}") from None
    if not infos:
        raise TargetError(f"{host}: no address")
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0])


@dataclass(slots=True)
class CheckStats:
    """Probes one check made and the time they took (summed over probes; ``wall`` is set by the
    runner around the whole check)."""

    probes: int = 0
    probe_seconds: float = 0.0
    wall: float = 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "probes": self.probes,
            "seconds": round(self.wall, 4),
            "probe_seconds": round(self.probe_seconds, 4),
        }


@dataclass(slots=True)
class Prober:
    """Sends probes to one target, at most ``connections`` at a time."""

    target: Target
    timeout: float = 5.0
    connections: int = 5
    route: Route = field(default_factory=Route)
    stats: dict[str, CheckStats] = field(default_factory=dict)
    _semaphore: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        self._semaphore = asyncio.Semaphore(self.connections)

    def stats_for(self, check: str) -> CheckStats:
        return self.stats.setdefault(check, CheckStats())

    @property
    def probes(self) -> int:
        return sum(s.probes for s in self.stats.values())

    @contextlib.asynccontextmanager
    async def slot(self, check: str) -> AsyncIterator[None]:
        """Hold one of the target's connection slots (for probes made elsewhere: full handshakes)."""
        assert self._semaphore is not None
        async with self._semaphore:
            start = time.perf_counter()
            try:
                yield
            finally:
                stats = self.stats_for(check)
                stats.probes += 1
                stats.probe_seconds += time.perf_counter() - start

    async def timed(self, check: str, work: Awaitable[T]) -> T:
        """Await ``work``, keeping the longest wall time it took as ``check``'s (checks overlap)."""
        start = time.perf_counter()
        try:
            return await work
        finally:
            stats = self.stats_for(check)
            stats.wall = max(stats.wall, time.perf_counter() - start)

    async def open_plain(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection ready for a ClientHello, by the target's route. Raises ``OSError`` (``ProxyError``
        among them) or ``StartTLSError``; the caller bounds it in time."""
        t = self.target
        return await connect(
            t.address,
            t.port,
            starttls=self.route.starttls,
            proxy=self.route.proxy,
            server_name=t.server_name or t.host,
        )

    async def hello(self, spec: HelloSpec, check: str) -> ServerAnswer:
        """Send the ClientHello ``spec`` describes and read the answer."""
        return await self.raw(encode_hello(spec), check)

    async def raw(self, payload: bytes, check: str) -> ServerAnswer:
        """Send ``payload`` on a fresh connection and read the answer (a FlightReader decides when it is
        complete)."""
        async with self.slot(check):
            start = time.perf_counter()
            answer = await self._exchange(payload)
            return answer.with_elapsed(time.perf_counter() - start)

    async def _exchange(self, payload: bytes) -> ServerAnswer:
        flight = FlightReader()
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await self.open_plain()
                writer.write(payload)
                while True:
                    data = await reader.read(READ_SIZE)
                    if flight.feed(data):
                        break
        except StartTLSError as exc:
            return ServerAnswer("refused", error=f"STARTTLS {exc}")
        except TimeoutError:
            if writer is None:
                what = "connection" if self.route.starttls is None else f"{self.route.starttls} dialogue"
                return ServerAnswer("refused", error=f"{what} timed out after {self.timeout:g} s")
            return ServerAnswer("timeout", error=f"no complete answer within {self.timeout:g} s")
        except ConnectionRefusedError:
            return ServerAnswer("refused", error="connection refused")
        except ConnectionResetError:
            return flight.eof()
        except OSError as exc:
            if writer is None:
                return ServerAnswer("refused", error=exc.strerror or str(exc))
            return flight.eof()
        finally:
            if writer is not None:
                writer.transport.abort()
        answer = flight.answer
        assert answer is not None
        return answer
