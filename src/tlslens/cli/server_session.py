"""One connection of ``tlslens server``: the handshake, then echo (or, with ``--www``, one HTTP answer),
then close_notify, and one log line.

A connection never holds the server longer than the client keeps it busy: the handshake must complete
within ``HANDSHAKE_TIMEOUT``; after it, a client that sends nothing for ``--idle-timeout`` seconds (and
one that reads nothing of what we send for as long) is closed. With ``--www`` the whole request must
come within ``--idle-timeout`` of the handshake, however the client spaces its bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import tlslens.aio
from tlslens.adapters import UnexpectedEOF
from tlslens.adapters.aio import STREAM_LIMIT
from tlslens.cli.common import echo_err, format_address
from tlslens.cli.events import Watch
from tlslens.cli.failure import READ_SIZE, SessionFailed, describe_tls_error, face_closes, plain
from tlslens.cli.www import WwwResponder, client_auth_mode, client_certificate_page
from tlslens.config import ServerConfig
from tlslens.connection import ServerConnection
from tlslens.credentials import shown_identity
from tlslens.errors import TLSError
from tlslens.events import HandshakeCompleted
from tlslens.trace import Tracer
from tlslens.wire.enums import ProtocolVersion

T = TypeVar("T")

HANDSHAKE_TIMEOUT = 30.0
"""A client that has not finished its handshake by then is dropped."""

IDLE_TIMEOUT = 60.0
"""``--idle-timeout``'s default."""


class _Idle(Exception):
    """The client kept the connection idle past ``--idle-timeout``: closed, with this note."""


@dataclass
class ServerSettings:
    config: ServerConfig
    www: bool = False
    pha: bool = False  # --pha: GET /auth asks for a client certificate after the handshake
    make_tracer: Callable[[str], Tracer | None] = lambda label: None
    log: Callable[[str], None] = echo_err
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    key_update: bool = False  # KeyUpdate(update_requested) after the client's first application data
    idle_timeout: float = IDLE_TIMEOUT
    """Seconds a connection may go without a byte from the client (or without it reading ours); with
    ``www``, the time allowed for the whole request after the handshake. 0: no limit."""
    max_connections: int | None = None
    """Connections served at once (None: ``listener.default_max_connections()``)."""


@dataclass
class _Outcome:
    completed: HandshakeCompleted | None = None
    handshake_ms: float | None = None
    failure: str | None = None
    status: int = 0
    asked_client_cert: bool = False  # a CertificateRequest went out (so "client_cert=none" says something)
    notes: list[str] = field(default_factory=list)


def _peer_name(writer: asyncio.StreamWriter) -> str:
    return _address_text(writer.get_extra_info("peername"))


def _address_text(peer: object) -> str:
    """A peer address as the log names it (``format_address``; an address without a colon is no IPv6
    one, so it needs no parsing)."""
    if not isinstance(peer, tuple):
        return str(peer)
    host, port = peer[0], peer[1]
    return f"{host}:{port}" if ":" not in host else format_address(host, port)


@dataclass
class _Connection:
    """One accepted client: its streams once TLS is up, and its event hook."""

    watch: Watch
    outcome: _Outcome
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: ServerSettings, conn: _Connection
) -> None:
    try:
        try:
            conn.reader, conn.writer = await tlslens.aio.start_tls(
                reader,
                writer,
                config=settings.config,
                ssl_handshake_timeout=settings.handshake_timeout,
                trace=conn.watch.tracer is not None,
                on_event=conn.watch,
            )
        except BaseException as exc:
            if not face_closes(exc):
                writer.close()
            raise
    except TimeoutError:
        raise SessionFailed(
            f"timeout: no complete handshake within {settings.handshake_timeout:g} s"
        ) from None
    except UnexpectedEOF:
        raise SessionFailed(
            "the client closed the connection during the handshake, without an alert"
        ) from None
    except TLSError as exc:
        conn.watch.failed(exc)
        raise describe_tls_error(exc, "client") from exc


async def _serve(settings: ServerSettings, conn: _Connection, started: float) -> None:
    """Echo, or answer one HTTP request, until the client closes (or --www has answered)."""
    reader, writer, outcome = conn.reader, conn.writer, conn.outcome
    assert reader is not None and writer is not None
    completed: HandshakeCompleted = writer.get_extra_info("tlslens")
    outcome.completed = completed
    outcome.handshake_ms = (time.perf_counter() - started) * 1000
    early = conn.watch.early_data  # 0-RTT data comes first on the stream, once the handshake is done
    if early:
        outcome.notes.append(f"{early} bytes of 0-RTT data")
    client_auth = client_auth_mode(settings.config)
    outcome.asked_client_cert = client_auth is not None and not completed.resumed
    www = (
        WwwResponder(completed, early_data=bool(early), client_auth=client_auth, pha=settings.pha)
        if settings.www
        else None
    )
    key_update = settings.key_update
    idle = settings.idle_timeout or None
    loop = asyncio.get_running_loop()
    request_deadline = loop.time() + idle if idle is not None and www is not None else None
    try:
        while True:
            wait = idle if request_deadline is None else request_deadline - loop.time()
            try:
                data = await _within(reader.read(READ_SIZE), wait, _idle_note(settings, www))
            except TLSError as exc:
                conn.watch.failed(exc)
                raise describe_tls_error(exc, "client") from exc
            if not data:
                break
            if key_update:  # --key-update: once, after the first application data
                key_update = False
                _update_keys(writer, completed, outcome, "--key-update")
            if www is None:
                writer.write(data)
            else:
                response = www.feed(data)
                if www.wants_client_certificate:  # GET /auth with --pha
                    try:
                        response = await client_certificate_page(www, writer, outcome.notes)
                    except TLSError as exc:
                        conn.watch.failed(exc)
                        raise describe_tls_error(exc, "client") from exc
                if www.done and www.key_update:  # GET /keyupdate: the answer comes under the new keys
                    _update_keys(writer, completed, outcome, "GET /keyupdate")
                writer.write(response)
                if www.done:
                    outcome.status = www.status
                    return
            note = f"closed: the client read nothing for {settings.idle_timeout:g} s (--idle-timeout)"
            await _within(writer.drain(), idle, note)
    except _Idle as idle_close:
        outcome.notes.append(str(idle_close))
        return
    if conn.watch.closed_cleanly is False:
        outcome.notes.append("client closed TCP without close_notify")


def _idle_note(settings: ServerSettings, www: WwwResponder | None) -> str:
    if www is not None:
        return f"closed: no whole request within {settings.idle_timeout:g} s (--idle-timeout)"
    return f"closed: nothing received for {settings.idle_timeout:g} s (--idle-timeout)"


async def _within(step: Coroutine[Any, Any, T], seconds: float | None, note: str) -> T:
    """``step``, unless it takes more than ``seconds`` (None: no limit): then ``_Idle(note)``. The step
    runs in this task, under a deadline (no task of its own); with no time left it does not run."""
    if seconds is None:
        return await step
    if seconds <= 0:
        step.close()
        raise _Idle(note)
    try:
        async with asyncio.timeout(seconds):
            return await step
    except TimeoutError:
        raise _Idle(note) from None


def _update_keys(
    writer: asyncio.StreamWriter, completed: HandshakeCompleted, outcome: _Outcome, why: str
) -> None:
    """KeyUpdate(update_requested): our keys change, and the client must change its own (TLS 1.3;
    TLS 1.2 has no KeyUpdate, and tlslens refuses renegotiation)."""
    if completed.version != ProtocolVersion.TLS1_3:
        outcome.notes.append(f"no KeyUpdate for {why}: {completed.version.label} has none")
        return
    tlslens.aio.update_keys(writer, request_peer=True)
    outcome.notes.append(f"sent KeyUpdate(update_requested) for {why}")


async def _close(conn: _Connection) -> None:
    """close_notify, then a bounded wait while the client takes it and closes too."""
    writer = conn.writer
    if writer is None:
        return
    if not writer.transport.is_closing():
        conn.watch.closing()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


def _log_line(peer: str, outcome: _Outcome, elapsed_ms: float, writer: asyncio.StreamWriter | None) -> str:
    c = outcome.completed
    if outcome.failure is not None:
        when = (
            f"handshake {outcome.handshake_ms:.1f} ms" if outcome.handshake_ms is not None else "no handshake"
        )
        return f"{peer} failed: {outcome.failure} ({when}; after {elapsed_ms:.1f} ms)"
    assert c is not None and outcome.handshake_ms is not None and writer is not None
    group = c.group.iana_name if c.group is not None else "psk"
    parts = [f"{peer} ok {c.version.label} {c.cipher_suite.name} {group}"]
    if c.resumed:
        parts.append("resumed" + (" with 0-RTT" if c.early_data_accepted else ""))
    if c.alpn_protocol:
        parts.append(f"alpn={c.alpn_protocol}")
    if c.server_name:
        parts.append(f"sni={c.server_name}")
    if c.peer_certificates:
        parts.append(f"client_cert={c.peer_certificates[0].subject.rfc4514_string()}")
    elif outcome.asked_client_cert:
        parts.append("client_cert=none")
    if c.psk_identity is not None:
        parts.append(f"psk={shown_identity(c.psk_identity)}")
    if outcome.status:
        parts.append(f"http={outcome.status}")
    bytes_in, bytes_out = writer.get_extra_info("bytes_received"), writer.get_extra_info("bytes_sent")
    text = (
        " ".join(parts) + f"; handshake {outcome.handshake_ms:.1f} ms; {bytes_in} bytes in, {bytes_out} out"
    )
    return text + "".join(f"; {n}" for n in outcome.notes)


_counter = itertools.count(1)


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: ServerSettings
) -> None:
    """Serve one TCP connection, given as a plain stream pair, to the end; never raises (except
    cancellation at shutdown)."""
    peer = _peer_name(writer)
    number = next(_counter)
    conn = _Connection(Watch(settings.make_tracer(f"#{number} {peer}")), _Outcome())
    await _session(peer, settings, conn, lambda: _handshake(reader, writer, settings, conn))


async def handle_socket(sock: socket.socket, settings: ServerSettings) -> None:
    """Serve one accepted TCP socket to the end, as ``handle_client`` does, with TLS on the socket from
    the start: no plaintext stream pair is made first to be taken over. A socket that cannot be put on
    the event loop is closed without a word (the client left before it was served)."""
    loop = asyncio.get_running_loop()
    try:
        peer = _address_text(sock.getpeername())
    except OSError:
        peer = str(None)  # as the transport reports it: no peername
    number = next(_counter)
    conn = _Connection(Watch(settings.make_tracer(f"#{number} {peer}")), _Outcome())
    reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    app_protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    try:
        tls = tlslens.aio.TLSProtocol(
            ServerConnection(settings.config, trace=conn.watch.tracer is not None),
            app_protocol,
            handshake_timeout=settings.handshake_timeout,
            on_event=conn.watch,
            loop=loop,
        )
        await loop.connect_accepted_socket(lambda: tls, sock)
    except OSError:
        sock.close()
        return
    await _session(peer, settings, conn, lambda: _tls_up(tls, reader, app_protocol, settings, conn))


async def _tls_up(
    tls: tlslens.aio.TLSProtocol,
    reader: asyncio.StreamReader,
    app_protocol: asyncio.StreamReaderProtocol,
    settings: ServerSettings,
    conn: _Connection,
) -> None:
    """The handshake of ``handle_socket``'s connection, failures worded as ``_handshake`` words them."""
    try:
        try:
            await tls.handshake_done
        except BaseException:
            if not tls.closing:  # cancelled: a failed handshake is already closing politely
                tls.abort()
            del tls  # the exception's traceback holds this frame: it must not hold the connection
            raise
    except TimeoutError:
        raise SessionFailed(
            f"timeout: no complete handshake within {settings.handshake_timeout:g} s"
        ) from None
    except UnexpectedEOF:
        raise SessionFailed(
            "the client closed the connection during the handshake, without an alert"
        ) from None
    except TLSError as exc:
        conn.watch.failed(exc)
        raise describe_tls_error(exc, "client") from exc
    conn.reader = reader
    conn.writer = asyncio.StreamWriter(tls.transport, app_protocol, reader, asyncio.get_running_loop())


async def _session(
    peer: str, settings: ServerSettings, conn: _Connection, handshake: Callable[[], Awaitable[None]]
) -> None:
    started = time.perf_counter()
    conn.watch.note("TCP accepted", f"from {peer}")
    outcome = conn.outcome
    try:
        await handshake()
        await _serve(settings, conn, started)
    except SessionFailed as exc:
        outcome.failure = exc.reason + "".join(f"; {d.strip()}" for d in exc.details)
    except OSError as exc:
        outcome.failure = f"connection lost: {exc.strerror or exc}"
    except TLSError as exc:  # e.g. the engine refusing to send on a connection that just failed
        outcome.failure = plain(exc)
    except asyncio.CancelledError:
        outcome.failure = "server shutting down"  # close_notify follows: a clean close, not a truncation
        raise
    except Exception as exc:  # a bug must not stop the server: log it with the connection
        outcome.failure = f"internal error: {exc!r}"
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await _close(conn)
        conn.watch.finish()
        settings.log(_log_line(peer, outcome, (time.perf_counter() - started) * 1000, conn.writer))
