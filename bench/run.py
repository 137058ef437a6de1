#!/usr/bin/env python3
"""tlslens against Python's ``ssl`` (OpenSSL), side by side in one run, with the ratio tlslens/OpenSSL.

Both stacks do the same work in the same process: X25519, an ECDSA P-256 leaf under an intermediate
(the client verifies the chain and the host name on both), TLS 1.3 only. ``ssl`` runs through
``SSLObject`` + ``MemoryBIO`` (both ends in memory), or through asyncio's own TLS for the server figure.

  full handshake       ClientHello to both ends complete (AES-128-GCM), handshakes/s
  HRR handshake        the client's first share (P-256) is not the server's group (X25519)
  resumed handshake    a ticket from an earlier connection (psk_dhe_ke)
  bulk                 MB/s (10^6 bytes) of application data one way through a connected pair: each write
                       is sealed by one end and opened by the other, 16 KiB and 1 KiB writes, every suite
                       both stacks have (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305)
  asyncio server       loopback, N concurrent clients in the same event loop; each connection is a
                       handshake, one byte from the server, close; connections/s and handshake latency
  memory               per idle established connection, both ends (client + server objects, N pairs):
                       RSS delta and tracemalloc (which cannot see OpenSSL's C allocations: for ssl it
                       reports only the Python wrappers, so the RSS figure is the one the target uses)
  primitive floor      the ``cryptography`` calls a full handshake cannot avoid, timed alone; printed
                       as floor / tlslens full handshake

In-memory timings are the best of many short batches in CPU seconds, the two stacks' batches
interleaved: the minimum is what the code costs, averages mostly measure other processes. The asyncio
figures are wall-clock (loopback I/O in one event loop). ``ssl`` has no API for TLS 1.3 cipher suites or
groups, so they are set on its SSL_CTX through ctypes (checked after each handshake).

Run: python bench/run.py [--quick | --smoke] [--json]
     --quick about one minute, default a few minutes, --smoke one iteration of each (for the tests)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cryptography
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import tlslens
from tlslens.certgen import ThrowawayPki, make_pki
from tlslens.events import DataReceived, HandshakeCompleted, SessionTicketReceived

Step = Callable[[], None]

SUITES = {  # tlslens / IANA name -> what the report calls it
    "TLS_AES_128_GCM_SHA256": "AES-128-GCM",
    "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
    "TLS_CHACHA20_POLY1305_SHA256": "ChaCha20",
}
HANDSHAKE_SUITE = "TLS_AES_128_GCM_SHA256"
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
MEMORY_PAIRS = 200

# Targets: (row key, comparison, bound). Ratios are tlslens/OpenSSL except memory (tlslens/ssl bytes,
# lower is better) and the floor fraction (floor / tlslens full handshake).
TARGETS: dict[str, tuple[str, float]] = {
    "full": (">=", 1.5),
    "resumed": (">=", 1.2),
    "bulk AES-128-GCM 16 KiB": (">=", 1.0),
    "bulk ChaCha20 16 KiB": (">=", 1.0),
    "asyncio": (">=", 1.0),
    "memory RSS": ("<=", 2.0),
    "floor": (">=", 0.6),
}


@dataclass(frozen=True)
class Budget:
    """How long each measurement runs."""

    seconds: float  # per handshake row (shared by the two stacks)
    bulk_seconds: float  # per bulk row
    batch: int  # handshakes per timed batch
    asyncio_connections: int
    asyncio_concurrency: int
    asyncio_rounds: int
    memory_pairs: int
    smoke: bool = False


BUDGETS = {
    "default": Budget(20.0, 5.0, 20, 2000, 50, 3, MEMORY_PAIRS),
    "quick": Budget(8.0, 2.0, 20, 600, 50, 2, MEMORY_PAIRS),
    "smoke": Budget(0.0, 0.0, 1, 4, 2, 1, 3, smoke=True),
}


# --- timing -----------------------------------------------------------------------------------------


def race(steps: dict[str, Step], batch: int, seconds: float) -> dict[str, float]:
    """Run each step ``batch`` times per timed batch, the steps' batches interleaved, for about
    ``seconds`` in total; return the best seconds per call of each step.

    Batches are timed in CPU seconds of this process: the steps are single-threaded and never wait,
    so that is their wall time on a quiet machine, and other processes on a busy one do not count."""
    for step in steps.values():  # warm up (caches, lazy imports, branch predictors)
        for _ in range(min(batch, 5)):
            step()
    best = dict.fromkeys(steps, float("inf"))
    deadline = time.perf_counter() + seconds
    cpu = time.process_time
    while True:
        for name, step in steps.items():
            start = cpu()
            for _ in range(batch):
                step()
            best[name] = min(best[name], (cpu() - start) / batch)
        if time.perf_counter() >= deadline:
            return best


# --- the shared setup -------------------------------------------------------------------------------


@dataclass
class Env:
    pki: ThrowawayPki
    folder: Path
    chain_pem: Path = field(init=False)
    key_pem: Path = field(init=False)
    root_pem: Path = field(init=False)

    def __post_init__(self) -> None:
        pem = serialization.Encoding.PEM
        self.chain_pem = self.folder / "chain.pem"
        self.chain_pem.write_bytes(b"".join(c.public_bytes(pem) for c in self.pki.chain))
        self.key_pem = self.folder / "key.pem"
        self.key_pem.write_bytes(
            self.pki.leaf.private_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.root_pem = self.folder / "root.pem"
        self.root_pem.write_bytes(self.pki.root.certificate.public_bytes(pem))


@contextlib.contextmanager
def environment() -> Iterator[Env]:
    with tempfile.TemporaryDirectory(prefix="tlslens-bench-") as folder:
        yield Env(make_pki(("localhost",)), Path(folder))


# --- tlslens ----------------------------------------------------------------------------------------


class Tlslens:
    """tlslens connection pairs over the same PKI."""

    name = "tlslens"

    def __init__(self, env: Env) -> None:
        self.env = env

    def server_config(self, suite: str = HANDSHAKE_SUITE, groups: tuple[str, ...] = ("x25519",)) -> Any:
        pki = self.env.pki
        return tlslens.ServerConfig(
            certificate_chain=pki.chain,
            private_key=pki.leaf.private_key,
            groups=list(groups),
            cipher_suites=[suite],
        )

    def client_config(
        self,
        suite: str = HANDSHAKE_SUITE,
        groups: tuple[str, ...] = ("x25519",),
        key_share_groups: tuple[str, ...] | None = None,
    ) -> Any:
        return tlslens.ClientConfig(
            trust_anchors=[self.env.pki.root.certificate],
            groups=list(groups),
            key_share_groups=None if key_share_groups is None else list(key_share_groups),
            cipher_suites=[suite],
        )

    @staticmethod
    def handshake(ccfg: Any, scfg: Any, session: Any = None) -> tuple[Any, Any]:
        """One complete handshake; NewSessionTickets, if the server sends any, reach the client."""
        if session is None:
            c = tlslens.ClientConnection(ccfg, "localhost")
        else:
            c = tlslens.ClientConnection(ccfg, "localhost", session=session)
        s = tlslens.ServerConnection(scfg)
        s.receive_data(c.data_to_send())
        c.receive_data(s.data_to_send())
        s.receive_data(c.data_to_send())
        tickets = s.data_to_send()
        if tickets:
            c.receive_data(tickets)
        return c, s

    def full(self) -> Step:
        ccfg, scfg = self.client_config(), self.server_config()
        c, s = self.handshake(ccfg, scfg)
        assert c.handshake_complete and s.handshake_complete
        return lambda: self.handshake(ccfg, scfg)  # type: ignore[return-value]

    def hrr(self) -> Step:
        ccfg = self.client_config(groups=("secp256r1", "x25519"), key_share_groups=("secp256r1",))
        scfg = self.server_config(groups=("x25519",))
        c = tlslens.ClientConnection(ccfg, "localhost")
        s = tlslens.ServerConnection(scfg)
        s.receive_data(c.data_to_send())
        assert s.data_to_send()[11:43] == HRR_RANDOM, "expected a HelloRetryRequest"
        return lambda: self.handshake(ccfg, scfg)  # type: ignore[return-value]

    def resumed(self) -> tuple[Step | None, int, str]:
        """Resumed handshakes (psk_dhe_ke) offering one ticket again and again, as the ssl side does.

        Returns the step (None if tlslens cannot resume), the NewSessionTickets the server sends after
        a resumed handshake (ssl is set to match), and a note."""
        try:
            from tlslens.session import SessionCache
        except ImportError:
            return None, 0, "n/a: resumption not implemented yet"
        try:
            cache = SessionCache()
            ccfg, scfg = self.client_config(), self.server_config()
            self.handshake(dataclasses.replace(ccfg, session_cache=cache), scfg)  # a full one: tickets
            session = cache.take("localhost", (), time.time())
            if session is None:
                return None, 0, "n/a: the server sent no ticket"
            c = tlslens.ClientConnection(ccfg, "localhost", session=session)
            s = tlslens.ServerConnection(scfg)
            s.receive_data(c.data_to_send())
            events = c.receive_data(s.data_to_send())
            s.receive_data(c.data_to_send())
            events += c.receive_data(s.data_to_send())
            if not any(isinstance(e, HandshakeCompleted) and e.resumed for e in events):
                return None, 0, "n/a: tlslens did not resume"
            tickets = sum(isinstance(e, SessionTicketReceived) for e in events)
        except Exception as exc:  # resumption still being built: report, do not fail the run
            return None, 0, f"n/a: resumption failed ({type(exc).__name__}: {exc})"
        note = f"one ticket offered again and again; {tickets} NewSessionTicket(s) after each, both stacks"
        return (lambda: self.handshake(ccfg, scfg, session)), tickets, note  # type: ignore[return-value]

    def tickets_per_handshake(self) -> int:
        """NewSessionTickets a default server sends after a full handshake (ssl is set to match)."""
        ccfg, scfg = self.client_config(), self.server_config()
        c = tlslens.ClientConnection(ccfg, "localhost")
        s = tlslens.ServerConnection(scfg)
        s.receive_data(c.data_to_send())
        c.receive_data(s.data_to_send())
        s.receive_data(c.data_to_send())
        events = c.receive_data(s.data_to_send()) if not c.closed else []
        return sum(isinstance(e, SessionTicketReceived) for e in events)

    def bulk(self, suite: str, size: int) -> Step:
        c, s = self.handshake(self.client_config(suite), self.server_config(suite))
        data = os.urandom(size)
        send, pull, receive = c.send_data, c.data_to_send, s.receive_data
        send(data)
        (event,) = receive(pull())
        assert isinstance(event, DataReceived) and event.data == data

        def step() -> None:
            send(data)
            receive(pull())

        return step

    def idle_pair(self, ccfg: Any, scfg: Any) -> tuple[Any, Any]:
        return self.handshake(ccfg, scfg)


# --- ssl (OpenSSL) ----------------------------------------------------------------------------------


class _LibSsl:
    """The few SSL_CTX calls Python's ssl module lacks, on the very libssl it is linked with."""

    SSL_CTRL_SET_GROUPS_LIST = 92

    def __init__(self) -> None:
        import _ssl

        lib = ctypes.CDLL(_ssl.__file__)  # dlsym on it also finds libssl's symbols
        lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
        lib.SSL_CTX_ctrl.restype = ctypes.c_long
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        self.lib = lib

    def _ctx(self, context: ssl.SSLContext) -> int:
        # PySSLContext starts with PyObject_HEAD followed by the SSL_CTX pointer; check it is one.
        pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
        if not pointer or self.lib.SSL_CTX_get_options(pointer) != int(context.options):
            raise RuntimeError("cannot find the SSL_CTX behind ssl.SSLContext on this Python")
        return pointer

    def configure(self, context: ssl.SSLContext, suite: str, groups: str) -> None:
        ctx = self._ctx(context)
        if self.lib.SSL_CTX_set_ciphersuites(ctx, suite.encode()) != 1:
            raise RuntimeError(f"OpenSSL refused cipher suite {suite}")
        if self.lib.SSL_CTX_ctrl(ctx, self.SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode()) != 1:
            raise RuntimeError(f"OpenSSL refused groups {groups}")


class Ssl:
    """ssl.SSLObject pairs over MemoryBIOs, both ends in this process."""

    name = "OpenSSL"

    def __init__(self, env: Env, tickets: int) -> None:
        self.env = env
        self.tickets = tickets  # NewSessionTickets per full handshake, as tlslens sends
        self.libssl = _LibSsl()

    def server_context(self, suite: str = HANDSHAKE_SUITE, groups: str = "X25519", tickets: int = 0) -> Any:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(self.env.chain_pem, self.env.key_pem)
        ctx.num_tickets = tickets
        self.libssl.configure(ctx, suite, groups)
        return ctx

    def client_context(self, suite: str = HANDSHAKE_SUITE, groups: str = "X25519") -> Any:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(self.env.root_pem)
        self.libssl.configure(ctx, suite, groups)
        return ctx

    @staticmethod
    def handshake(
        cctx: ssl.SSLContext, sctx: ssl.SSLContext, *, tickets: bool, session: Any = None
    ) -> tuple[ssl.SSLObject, ssl.SSLObject]:
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = cctx.wrap_bio(c_in, c_out, server_hostname="localhost", session=session)
        s = sctx.wrap_bio(s_in, s_out, server_side=True)
        with contextlib.suppress(ssl.SSLWantReadError):
            c.do_handshake()  # ClientHello
        s_in.write(c_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            s.do_handshake()  # ServerHello ... Finished (or HelloRetryRequest)
        c_in.write(s_out.read())
        while True:
            try:
                c.do_handshake()
                break
            except ssl.SSLWantReadError:  # after a HelloRetryRequest
                s_in.write(c_out.read())
                with contextlib.suppress(ssl.SSLWantReadError):
                    s.do_handshake()
                c_in.write(s_out.read())
        s_in.write(c_out.read())
        s.do_handshake()
        if tickets:  # the client takes the NewSessionTickets, as a real client would
            c_in.write(s_out.read())
            with contextlib.suppress(ssl.SSLWantReadError):
                c.read(1)
        return c, s

    def full(self) -> Step:
        cctx, sctx = self.client_context(), self.server_context(tickets=self.tickets)
        c, _ = self.handshake(cctx, sctx, tickets=self.tickets > 0)
        assert c.cipher()[0] == HANDSHAKE_SUITE and c.version() == "TLSv1.3", c.cipher()
        return lambda: self.handshake(cctx, sctx, tickets=self.tickets > 0)  # type: ignore[return-value]

    def hrr(self) -> Step:
        cctx = self.client_context(groups="P-256:X25519")
        sctx = self.server_context(groups="X25519", tickets=self.tickets)
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = cctx.wrap_bio(c_in, c_out, server_hostname="localhost")
        s = sctx.wrap_bio(s_in, s_out, server_side=True)
        with contextlib.suppress(ssl.SSLWantReadError):
            c.do_handshake()
        s_in.write(c_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            s.do_handshake()
        assert s_out.read()[11:43] == HRR_RANDOM, "expected a HelloRetryRequest"
        return lambda: self.handshake(cctx, sctx, tickets=self.tickets > 0)  # type: ignore[return-value]

    def resumed(self, tickets: int) -> Step:
        """Resumed handshakes offering one session again and again; ``tickets`` after each."""
        cctx, sctx = self.client_context(), self.server_context(tickets=1)
        c, _ = self.handshake(cctx, sctx, tickets=True)
        session = c.session
        assert session is not None and session.has_ticket
        sctx.num_tickets = tickets
        c, _ = self.handshake(cctx, sctx, tickets=tickets > 0, session=session)
        assert c.session_reused, "OpenSSL did not resume"
        return lambda: self.handshake(cctx, sctx, tickets=tickets > 0, session=session)  # type: ignore[return-value]

    def bulk(self, suite: str, size: int) -> Step:
        cctx, sctx = self.client_context(suite), self.server_context(suite)
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = cctx.wrap_bio(c_in, c_out, server_hostname="localhost")
        s = sctx.wrap_bio(s_in, s_out, server_side=True)
        for _ in range(3):
            for end in (c, s):
                with contextlib.suppress(ssl.SSLWantReadError):
                    end.do_handshake()
                s_in.write(c_out.read())
                c_in.write(s_out.read())
        assert c.cipher()[0] == suite == s.cipher()[0], c.cipher()
        data = os.urandom(size)
        write, pull, push, read = c.write, c_out.read, s_in.write, s.read
        write(data)
        push(pull())
        assert read(size) == data

        def step() -> None:
            write(data)
            push(pull())
            read(size)

        return step

    def idle_pair(self, cctx: Any, sctx: Any) -> tuple[Any, Any]:
        return self.handshake(cctx, sctx, tickets=self.tickets > 0)


# --- asyncio ----------------------------------------------------------------------------------------


@dataclass
class ServerRun:
    connections_per_second: float
    p50_ms: float
    p99_ms: float


async def _serve_and_connect(
    start_server: Callable[..., Any],
    open_connection: Callable[..., Any],
    connections: int,
    concurrency: int,
) -> ServerRun:
    """A server that sends one byte and closes; ``concurrency`` clients each connecting in a loop
    until ``connections`` handshakes are done. Latency: connect to handshake complete (client)."""

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
            assert await reader.read(1) == b"k"
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


def tlslens_aio(stack: Tlslens) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """(start_server, open_connection) for tlslens' asyncio face, or None while it does not exist."""
    try:
        aio = tlslens.aio
    except (ImportError, AttributeError):
        return None
    scfg, ccfg = stack.server_config(), stack.client_config()

    def start_server(handle: Any, host: str, port: int) -> Any:
        return aio.start_server(handle, host, port, config=scfg)

    def open_connection(host: str, port: int) -> Any:
        return aio.open_connection(host, port, config=ccfg, server_name="localhost")

    return start_server, open_connection


def ssl_aio(stack: Ssl) -> tuple[Callable[..., Any], Callable[..., Any]]:
    sctx, cctx = stack.server_context(tickets=stack.tickets), stack.client_context()

    def start_server(handle: Any, host: str, port: int) -> Any:
        return asyncio.start_server(handle, host, port, ssl=sctx)

    def open_connection(host: str, port: int) -> Any:
        return asyncio.open_connection(host, port, ssl=cctx, server_hostname="localhost")

    return start_server, open_connection


# --- memory (in a fresh process per stack, so freed memory of other rows cannot hide growth) --------


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_worker(stack_name: str, pairs: int) -> dict[str, float]:
    """Per pair of idle established connections: RSS delta, then (a second batch) tracemalloc."""
    with environment() as env:
        tl = Tlslens(env)
        stack: Tlslens | Ssl = tl if stack_name == "tlslens" else Ssl(env, tl.tickets_per_handshake())
        if isinstance(stack, Tlslens):
            ccfg, scfg = stack.client_config(), stack.server_config()
        else:
            ccfg, scfg = stack.client_context(), stack.server_context(tickets=stack.tickets)
        for _ in range(20):  # warm up: lazy imports, caches, the allocator's first arenas
            stack.idle_pair(ccfg, scfg)
        kept: list[Any] = []
        gc.collect()
        before = _rss()
        kept += [stack.idle_pair(ccfg, scfg) for _ in range(pairs)]
        gc.collect()
        rss = (_rss() - before) / pairs
        tracemalloc.start()
        gc.collect()
        traced_before = tracemalloc.get_traced_memory()[0]
        kept += [stack.idle_pair(ccfg, scfg) for _ in range(pairs)]
        gc.collect()
        traced = (tracemalloc.get_traced_memory()[0] - traced_before) / pairs
        tracemalloc.stop()
        return {"rss": rss, "traced": traced}


def measure_memory(pairs: int) -> dict[str, dict[str, float]]:
    out = {}
    for name in ("tlslens", "ssl"):
        result = subprocess.run(
            [sys.executable, __file__, "--memory-worker", name, "--pairs", str(pairs)],
            check=True,
            capture_output=True,
            text=True,
        )
        out[name] = json.loads(result.stdout)
    return out


# --- the primitive floor ----------------------------------------------------------------------------


def floor_calls(env: Env) -> dict[str, tuple[int, Step]]:
    """The ``cryptography`` calls one full handshake (both ends) cannot avoid: name -> (count, call).

    Key schedule HMACs per end: handshake secret (extract), client and server handshake traffic
    secrets, "derived", master secret (extract), client and server application traffic secrets, key and
    IV for four traffic secrets, two finished keys and two Finished MACs: 19. Early Secret and its
    "derived" secret are constants for a full handshake. Exporter and resumption secrets are left out.
    The chain verifier checks two signatures (intermediate over leaf, root over intermediate); the
    client checks the CertificateVerify: three ECDSA verifications. AEAD: the server's encrypted flight
    (one record: EncryptedExtensions..Finished) and the client's Finished, each sealed and opened, with
    the AEAD object for each handshake key made once per end.
    """
    pki = env.pki
    leaf, intermediate, root = pki.leaf.certificate, pki.intermediate.certificate, pki.root.certificate
    ecdsa = ec.ECDSA(hashes.SHA256())
    cv_content = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + os.urandom(32)
    signature = pki.leaf.private_key.sign(cv_content, ecdsa)  # type: ignore[call-arg, union-attr]
    leaf_key, intermediate_key, root_key = leaf.public_key(), intermediate.public_key(), root.public_key()
    peer = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    sha256 = hashes.SHA256()
    secret, message = os.urandom(32), os.urandom(48)
    key, nonce, aad = os.urandom(16), os.urandom(12), b"\x17\x03\x03\x04\x00"
    flight, finished = os.urandom(1000), os.urandom(37)
    sealed_flight = AESGCM(key).encrypt(nonce, flight, aad)
    sealed_finished = AESGCM(key).encrypt(nonce, finished, aad)

    def x25519_pair() -> None:  # one end: key pair, public bytes out, peer share in, exchange
        private = x25519.X25519PrivateKey.generate()
        private.public_key().public_bytes_raw()
        private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))

    def hmac_sha256() -> None:
        mac = hmac.HMAC(secret, sha256)
        mac.update(message)
        mac.finalize()

    def aead() -> None:  # both records, sealed by their sender and opened by their receiver
        AESGCM(key).encrypt(nonce, flight, aad)
        AESGCM(key).decrypt(nonce, sealed_flight, aad)
        AESGCM(key).encrypt(nonce, finished, aad)
        AESGCM(key).decrypt(nonce, sealed_finished, aad)

    return {
        "X25519 key pair + exchange": (2, x25519_pair),
        "ECDSA P-256 sign (CertificateVerify)": (
            1,
            lambda: pki.leaf.private_key.sign(cv_content, ecdsa),  # type: ignore[call-arg, union-attr]
        ),
        "ECDSA P-256 verify (CertificateVerify)": (1, lambda: leaf_key.verify(signature, cv_content, ecdsa)),  # type: ignore[call-arg, union-attr]
        "ECDSA P-256 verify (leaf, by intermediate)": (
            1,
            lambda: intermediate_key.verify(leaf.signature, leaf.tbs_certificate_bytes, ecdsa),  # type: ignore[call-arg, union-attr]
        ),
        "ECDSA P-256 verify (intermediate, by root)": (
            1,
            lambda: root_key.verify(intermediate.signature, intermediate.tbs_certificate_bytes, ecdsa),  # type: ignore[call-arg, union-attr]
        ),
        "HMAC-SHA256 (key schedule)": (38, hmac_sha256),
        "AES-128-GCM handshake records": (1, aead),
    }


def measure_floor(env: Env, seconds: float) -> tuple[float, dict[str, float]]:
    calls = floor_calls(env)
    per_call = race({name: call for name, (_, call) in calls.items()}, 50, seconds)
    parts = {name: calls[name][0] * per_call[name] for name in calls}
    return sum(parts.values()), parts


# --- the report -------------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    unit: str
    tlslens: float | None
    openssl: float | None
    note: str = ""
    fraction: float | None = None  # shown as the ratio when the row compares with something else

    @property
    def ratio(self) -> float | None:
        if self.fraction is not None:
            return self.fraction
        if self.tlslens is None or self.openssl is None or not self.openssl:
            return None
        return self.tlslens / self.openssl

    def verdict(self) -> tuple[str, str]:
        target = TARGETS.get(self.key)
        if target is None:
            return "", ""
        op, bound = target
        text = f"{op} {bound:g}"
        if self.ratio is None:
            return text, "n/a"
        met = self.ratio >= bound if op == ">=" else self.ratio <= bound
        return text, "met" if met else "MISSED"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value:.2f}"
    if unit == "us":
        return f"{value:.0f}"
    return f"{value:,.0f}"


def render(rows: list[Row], header: dict[str, Any]) -> str:
    lines = [
        f"tlslens {tlslens.__version__} vs {header['openssl']} (Python {header['python']}, "
        f"cryptography {header['cryptography']}, {header['cpus']} CPUs, mode {header['mode']})",
        "",
    ]
    cols = ("", "unit", "tlslens", "OpenSSL", "ratio", "target", "")
    table = [cols]
    for row in rows:
        target, status = row.verdict()
        ratio = "n/a" if row.ratio is None else f"{row.ratio:.2f}"
        table.append(
            (
                row.label,
                row.unit,
                _fmt(row.tlslens, row.unit),
                _fmt(row.openssl, row.unit),
                ratio,
                target,
                status,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    for i, r in enumerate(table):
        lines.append(
            "  ".join(
                cell.ljust(widths[j]) if j in (0, 1) else cell.rjust(widths[j]) for j, cell in enumerate(r)
            ).rstrip()
        )
        if i == 0:
            lines.append("-" * len(lines[-1]))
    notes = [f"  {row.label}: {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def run(budget: Budget, mode: str, progress: Callable[[str], None]) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    extra: dict[str, Any] = {}
    with environment() as env:
        tl = Tlslens(env)
        tickets = tl.tickets_per_handshake()
        ossl = Ssl(env, tickets)
        ticket_note = f"{tickets} NewSessionTicket(s) per handshake on both stacks"

        progress("full handshake")
        best = race({"tlslens": tl.full(), "ssl": ossl.full()}, budget.batch, budget.seconds)
        full_tlslens, full_ssl = best["tlslens"], best["ssl"]
        rows.append(Row("full", "full handshake", "hs/s", 1 / best["tlslens"], 1 / best["ssl"], ticket_note))

        progress("HRR handshake")
        best = race({"tlslens": tl.hrr(), "ssl": ossl.hrr()}, budget.batch, budget.seconds / 2)
        rows.append(Row("hrr", "HRR handshake", "hs/s", 1 / best["tlslens"], 1 / best["ssl"]))

        progress("resumed handshake")
        ours, resumed_tickets, resumed_note = tl.resumed()
        theirs = ossl.resumed(resumed_tickets if ours is not None else 1)
        steps = {"ssl": theirs} if ours is None else {"tlslens": ours, "ssl": theirs}
        best = race(steps, budget.batch, budget.seconds / 2)
        rows.append(
            Row(
                "resumed",
                "resumed handshake",
                "hs/s",
                1 / best["tlslens"] if "tlslens" in best else None,
                1 / best["ssl"],
                resumed_note,
            )
        )

        for suite, short in SUITES.items():
            for size in (16384, 1024):
                label = f"bulk {short} {size // 1024} KiB"
                progress(label)
                best = race(
                    {"tlslens": tl.bulk(suite, size), "ssl": ossl.bulk(suite, size)},
                    64 if not budget.smoke else 1,
                    budget.bulk_seconds,
                )
                rows.append(Row(label, label, "MB/s", size / best["tlslens"] / 1e6, size / best["ssl"] / 1e6))

        progress("asyncio server")
        faces = {"ssl": ssl_aio(ossl)}
        ours_aio = tlslens_aio(tl)
        if ours_aio is not None:
            faces["tlslens"] = ours_aio
        runs: dict[str, ServerRun] = {}
        for _ in range(budget.asyncio_rounds):  # best of a few rounds, the stacks alternating
            for name, (start_server, open_connection) in faces.items():
                result = asyncio.run(
                    _serve_and_connect(
                        start_server, open_connection, budget.asyncio_connections, budget.asyncio_concurrency
                    )
                )
                if name not in runs or result.connections_per_second > runs[name].connections_per_second:
                    runs[name] = result
        n = budget.asyncio_concurrency
        aio_note = "" if ours_aio is not None else "n/a: tlslens.aio not available yet"
        ours_run, ssl_run = runs.get("tlslens"), runs["ssl"]
        rows.append(
            Row(
                "asyncio",
                f"asyncio server, {n} clients",
                "conn/s",
                ours_run.connections_per_second if ours_run else None,
                ssl_run.connections_per_second,
                aio_note or f"{budget.asyncio_connections} connections: handshake, 1 byte, close",
            )
        )
        rows.append(
            Row("asyncio p50", "  handshake latency p50", "ms", ours_run and ours_run.p50_ms, ssl_run.p50_ms)
        )
        rows.append(
            Row("asyncio p99", "  handshake latency p99", "ms", ours_run and ours_run.p99_ms, ssl_run.p99_ms)
        )

        progress("memory")
        memory = measure_memory(budget.memory_pairs)
        rows.append(
            Row(
                "memory RSS",
                "memory per idle connection pair, RSS",
                "bytes",
                memory["tlslens"]["rss"],
                memory["ssl"]["rss"],
                f"{budget.memory_pairs} client+server pairs, fresh process per stack",
            )
        )
        rows.append(
            Row(
                "memory traced",
                "  tracemalloc (ssl: Python objects only)",
                "bytes",
                memory["tlslens"]["traced"],
                memory["ssl"]["traced"],
                "tracemalloc cannot see OpenSSL's C allocations; the RSS row is the comparable one",
            )
        )

        progress("primitive floor")
        floor, parts = measure_floor(env, max(budget.seconds / 3, 0.0))
        rows.append(
            Row(
                "floor",
                f"full handshake time; ratio = floor {floor * 1e6:.0f} us / tlslens",
                "us",
                full_tlslens * 1e6,
                full_ssl * 1e6,
                f"floor {floor * 1e6:.0f} us ({1 / floor:,.0f} hs/s): "
                + ", ".join(f"{k} {v * 1e6:.0f}" for k, v in parts.items()),
                fraction=floor / full_tlslens,
            )
        )
        extra["floor_parts_us"] = {k: v * 1e6 for k, v in parts.items()}
    return rows, extra


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="about one minute")
    speed.add_argument(
        "--smoke", action="store_true", help="one iteration of each (keeps the script working)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--memory-worker", choices=("tlslens", "ssl"), help=argparse.SUPPRESS)
    parser.add_argument("--pairs", type=int, default=MEMORY_PAIRS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        print(json.dumps(memory_worker(args.memory_worker, args.pairs)))
        return
    mode = "smoke" if args.smoke else "quick" if args.quick else "default"
    budget = BUDGETS[mode]

    def progress(what: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"  measuring {what}...", file=sys.stderr, flush=True)

    header = {
        "openssl": ssl.OPENSSL_VERSION,
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "cpus": os.cpu_count(),
        "mode": mode,
    }
    started = time.perf_counter()
    rows, extra = run(budget, mode, progress)
    header["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        out = {
            **header,
            "rows": [
                {
                    "key": r.key,
                    "label": r.label.strip(),
                    "unit": r.unit,
                    "tlslens": r.tlslens,
                    "openssl": r.openssl,
                    "ratio": r.ratio,
                    "target": r.verdict()[0] or None,
                    "status": r.verdict()[1] or None,
                    "note": r.note or None,
                }
                for r in rows
            ],
            **extra,
        }
        print(json.dumps(out, indent=2))
    else:
        print(render(rows, header))
        print(f"\n({header['seconds']} s; python bench/run.py{' --' + mode if mode != 'default' else ''})")


if __name__ == "__main__":
    main()
