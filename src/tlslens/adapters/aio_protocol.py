"""``TLSProtocol``: the asyncio protocol that owns the raw transport and the engine.

It is built the way asyncio's own TLS is: ``TLSProtocol`` is the raw transport's protocol, and hands
the application protocol a ``TLSTransport`` (in ``aio_transport``) of its own. The application
protocol (a ``StreamReaderProtocol``, or any ``asyncio.Protocol``) is connected only once the
handshake is complete. Flow control passes through: when the raw transport's write buffer fills, the
application is paused; when the application pauses reading, the raw transport stops reading.
Closing, after close_notify or a fatal alert, shuts down the write side and drains what the peer
still sends, within ``FLUSH_TIMEOUT``, ``DRAIN_TIMEOUT`` and ``DRAIN_LIMIT``. ``extra_info`` answers
the ``get_extra_info`` names listed in ``tlslens.adapters.aio``.

The event hook gets every event the engine reports, in the engine's order and before the protocol acts
on them: those of ``receive_data``, those queued outside it (with ``trace=True``, the trace of what we
sent, handed over as soon as it is written), and, when ``receive_data`` fails, the events of that call
before the failure (``TLSError.events``), before the failure is reported.

A lost connection is freed by reference counting alone: once ``connection_lost`` has run, the protocol
refers to the application's transport only weakly (the transport refers to it), and the tlslens frames
in a failure's traceback have their locals cleared (``release_frames``), since the engine keeps its
failure and those frames hold the engine.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, cast

from tlslens.adapters._common import (
    DRAIN_LIMIT,
    DRAIN_TIMEOUT,
    FLUSH_TIMEOUT,
    EventHook,
    UnexpectedEOF,
    cipher_name,
    handshake_eof,
    release_frames,
    send_chunks,
    version_name,
)
from tlslens.adapters.aio_transport import TLSTransport, logger
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import TLSError
from tlslens.events import (
    ClientCertificateRefused,
    ClientCertificateVerified,
    ConnectionClosed,
    DataReceived,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    SessionTicketReceived,
)

HANDSHAKE_TIMEOUT = 60.0
"""Seconds a handshake may take when no ``ssl_handshake_timeout`` is given (asyncio's own default)."""

__all__ = ["HANDSHAKE_TIMEOUT", "TLSProtocol"]


class TLSProtocol(asyncio.Protocol):
    """Owns the raw transport and the engine; drives the application protocol through ``TLSTransport``.

    ``handshake_done`` resolves when the handshake completes (or fails, with the engine's error).
    """

    def __init__(
        self,
        connection: ClientConnection | ServerConnection,
        app_protocol: asyncio.Protocol,
        *,
        handshake_timeout: float | None = None,
        on_event: EventHook | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._conn = connection
        self.app_protocol = app_protocol
        self._app_transport: TLSTransport | None = TLSTransport(self)
        self._app_transport_ref: weakref.ref[TLSTransport] | None = None  # once the connection is lost
        self._raw: asyncio.Transport | None = None
        self._handshake_timeout = HANDSHAKE_TIMEOUT if handshake_timeout is None else handshake_timeout
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._on_event = on_event
        self.handshake_done: asyncio.Future[HandshakeCompleted] = self._loop.create_future()
        self._handshake: HandshakeCompleted | None = None
        self._session: object | None = None
        self._app_connected = False  # app_protocol.connection_made was called
        self._app_lost = False  # ... and connection_lost too
        self._app_reading = True
        self._app_write_paused = False
        self._raw_write_paused = False
        self._held: list[bytes] = []  # decrypted data held while the application paused reading
        self._held_eof = False
        self._error: BaseException | None = None
        self._closing = False  # shutting down: our last bytes are written, we drain and close
        self._peer_eof = False
        self._drained = 0
        self._drain_timer: asyncio.TimerHandle | None = None
        self._flush_deadline = 0.0
        self._was_pending = False
        self.bytes_received = 0  # TLS bytes, as they came from and went to the raw transport
        self.bytes_sent = 0
        self._pha_waiters: dict[
            bytes, asyncio.Future[ClientCertificateVerified | ClientCertificateRefused]
        ] = {}
        self.plain: object = None
        """What ``start_tls`` took over (the plaintext stream pair), held until the connection is lost:
        a ``StreamWriter`` that is collected closes its transport, which is now ours."""

    # --- what TLSTransport asks -------------------------------------------------------------------

    @property
    def raw_transport(self) -> asyncio.Transport:
        if self._raw is None:
            raise RuntimeError("not connected")
        return self._raw

    @property
    def failed(self) -> bool:
        return self._error is not None

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def app_reading(self) -> bool:
        return self._app_reading and not self._closing

    @property
    def transport(self) -> TLSTransport:
        transport = self._app_transport
        if transport is None:  # lost: the transport is the application's, if it still holds it
            transport = self._app_transport_ref() if self._app_transport_ref is not None else None
            if transport is None:
                transport = TLSTransport(self)
                self._app_transport_ref = weakref.ref(transport)
        return transport

    def extra_info(self, name: str, default: Any) -> Any:
        hs = self._handshake
        if name == "tlslens":
            return hs
        if name == "tlslens_connection":
            return self._conn
        if name == "session":
            return self._session
        if name == "bytes_received":
            return self.bytes_received
        if name == "bytes_sent":
            return self.bytes_sent
        if name in ("version", "cipher", "alpn_protocol", "peercert_chain", "server_name"):
            if hs is None:
                return default
            if name == "version":
                return version_name(hs)
            if name == "cipher":
                return cipher_name(hs)
            if name == "alpn_protocol":
                return hs.alpn_protocol
            if name == "peercert_chain":
                return hs.peer_certificates
            return hs.server_name
        if name == "sslcontext":  # not Python's ssl: lets StreamReaderProtocol keep half-closed streams
            return None
        if self._raw is None:
            return default
        return self._raw.get_extra_info(name, default)

    def send_application_data(self, data: bytes | bytearray | memoryview) -> None:
        for chunk in send_chunks(data):
            self._conn.send_data(chunk)
            self._write_out()

    def update_keys(self, request_peer: bool) -> None:
        self._conn.update_keys(request_peer=request_peer)
        self._write_out()

    def request_client_certificate(
        self,
    ) -> asyncio.Future[ClientCertificateVerified | ClientCertificateRefused]:
        """Server: a post-handshake CertificateRequest; the future resolves with the client's answer
        (or fails with the connection)."""
        if not isinstance(self._conn, ServerConnection):
            raise TypeError("only a server asks for a client certificate")
        context = self._conn.request_client_certificate()
        self._write_out()
        waiter = self._pha_waiters[context] = self._loop.create_future()
        return waiter

    def send_close_notify(self, *, shutdown: bool) -> None:
        if self._conn.handshake_complete and self._error is None:
            self._conn.close()
            self._write_out()
        if shutdown:
            self._write_eof_raw()

    def close_from_app(self) -> None:
        self.send_close_notify(shutdown=False)
        self._shutdown_and_drain()

    def abort(self) -> None:
        self._closing = True
        if self._raw is not None:
            self._raw.abort()

    def pause_app_reading(self) -> None:
        if not self._app_reading:
            return
        self._app_reading = False
        if self._raw is not None and not self._closing:
            self._raw.pause_reading()

    def resume_app_reading(self) -> None:
        if self._app_reading:
            return
        self._app_reading = True
        if self._held or self._held_eof:
            # Like a socket transport, resume now and deliver later: a StreamReader resumes reading
            # just before it starts waiting, and data handed over inside resume_reading() would wake
            # nobody.
            self._loop.call_soon(self._release_held)
        elif self._raw is not None and not self._closing:
            self._raw.resume_reading()

    # --- asyncio.Protocol: the raw transport's side -----------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport: asyncio's own, or another loop's (uvloop's are not asyncio.Transport subclasses)
        self._raw = cast(asyncio.Transport, transport)
        if self._handshake_timeout > 0:
            self._handshake_timer = self._loop.call_later(self._handshake_timeout, self._handshake_timed_out)
        self._write_out()  # the ClientHello (a server has nothing yet)

    def data_received(self, data: bytes) -> None:
        if self._closing or self._error is not None:
            self._discard(len(data))
            return
        self.bytes_received += len(data)
        try:
            events = self._conn.receive_data(data)
        except TLSError as exc:
            self._hook(exc.events)  # what happened before the failure, then the failure
            self._write_out()  # the alert, if the engine queued one
            self._fail(exc)
            return
        self._hook(events)
        self._write_out()
        self._dispatch(events)

    def eof_received(self) -> bool:
        self._peer_eof = True
        if self._closing:
            self._close_raw()
            return True
        if self._error is None:
            events = self._conn.receive_data(b"")
            self._hook(events)
            self._dispatch(events)
        return True  # we close when the application (or a failure) says so

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        self._raw_write_paused = False
        error = self._error or exc
        self.plain = None
        self._fail_waiters(error)
        if not self.handshake_done.done():
            self.handshake_done.set_exception(error or handshake_eof(clean=False))
            self.handshake_done.exception()  # retrieved: open_connection may be gone (timeout)
        if self._app_connected and not self._app_lost:
            self._app_lost = True
            self.app_protocol.connection_lost(error if isinstance(error, Exception) else None)
        # Nothing but the application may keep us alive now, and we keep nothing that refers back to us
        # (no cycle waits for the garbage collector): the application's transport refers to us, so we
        # refer to it only weakly, and the frames in a failure's traceback hold no connection.
        for failure in (self._error, exc):
            if failure is not None:
                release_frames(failure)
        if self._app_transport is not None:
            self._app_transport_ref = weakref.ref(self._app_transport)
            self._app_transport = None

    def pause_writing(self) -> None:
        self._raw_write_paused = True
        if self._app_connected and not self._app_write_paused:
            self._app_write_paused = True
            self.app_protocol.pause_writing()

    def resume_writing(self) -> None:
        self._raw_write_paused = False
        if self._app_connected and self._app_write_paused:
            self._app_write_paused = False
            self.app_protocol.resume_writing()

    # --- inside -----------------------------------------------------------------------------------

    def _write_out(self) -> None:
        out = self._conn.data_to_send()
        self._hook(self._conn.pending_events())
        if out and self._raw is not None and not self._raw.is_closing():
            self.bytes_sent += len(out)
            self._raw.write(out)

    def _hook(self, events: list[Event]) -> None:
        if self._on_event is not None:
            for event in events:
                self._on_event(event)

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, DataReceived | EarlyDataReceived):
                self._deliver(event.data)
            elif isinstance(event, HandshakeCompleted):
                self._handshake_completed(event)
            elif isinstance(event, ConnectionClosed):
                if not self._conn.handshake_complete:
                    self._fail(handshake_eof(event.clean))
                    return
                self._fail_waiters(EOFError("the client closed its side before it answered"))
                self._deliver_eof()
            elif isinstance(event, SessionTicketReceived):
                self._session = event.session
            elif isinstance(event, ClientCertificateVerified | ClientCertificateRefused):
                waiter = self._pha_waiters.pop(event.context, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(event)

    def _handshake_completed(self, event: HandshakeCompleted) -> None:
        self._handshake = event
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        self._app_connected = True
        self.app_protocol.connection_made(self.transport)
        if self._raw_write_paused and not self._app_write_paused:
            self._app_write_paused = True
            self.app_protocol.pause_writing()
        held, self._held = self._held, []  # 0-RTT data that came before the handshake completed
        for data in held:
            self._deliver(data)
        if not self.handshake_done.done():
            self.handshake_done.set_result(event)

    def _deliver(self, data: bytes) -> None:
        if self._held or not self._app_connected or not self._app_reading:
            self._held.append(data)
        elif not self._app_lost and not self.transport.is_closing():
            self.app_protocol.data_received(data)

    def _release_held(self) -> None:
        """Hand the application what was held while it paused reading, then read on."""
        while self._held and self._app_reading and not self._app_lost:
            self.app_protocol.data_received(self._held.pop(0))
        if not self._app_reading or self._held:
            return  # paused again: the next resume_reading() continues
        if self._held_eof:
            self._held_eof = False
            self._deliver_eof()
        if self._raw is not None and not self._closing and self._app_reading:
            self._raw.resume_reading()

    def _deliver_eof(self) -> None:
        if not self._app_reading or self._held:
            self._held_eof = True
            return
        if self._app_lost or self._closing:
            return
        keep_open = self.app_protocol.eof_received()
        if not keep_open:
            self.transport.close()

    def _fail(self, exc: BaseException) -> None:
        """The engine (or the peer, by closing early) ended the connection: report it, then close
        after our alert (already written, if any) has a chance to arrive."""
        if self._error is not None:
            return
        self._error = exc
        self._fail_waiters(exc)
        if not self.handshake_done.done():
            self.handshake_done.set_exception(exc)
            self.handshake_done.exception()  # retrieved here; open_connection raises its own copy
            if isinstance(self._conn, ServerConnection):
                peer = self._raw.get_extra_info("peername") if self._raw is not None else None
                level = logging.INFO if isinstance(exc, UnexpectedEOF) else logging.WARNING
                logger.log(level, "TLS handshake with %s failed: %s: %s", peer, type(exc).__name__, exc)
        self._shutdown_and_drain()

    def _fail_waiters(self, error: BaseException | None) -> None:
        """Requests for a client certificate that will never be answered."""
        waiters, self._pha_waiters = self._pha_waiters, {}
        for waiter in waiters.values():
            if not waiter.done():
                waiter.set_exception(error or ConnectionResetError("the connection closed before the answer"))

    def _handshake_timed_out(self) -> None:
        self._handshake_timer = None
        if self._conn.handshake_complete:
            return
        error = TimeoutError(f"TLS handshake did not complete in {self._handshake_timeout} seconds")
        self._error = error
        if not self.handshake_done.done():
            self.handshake_done.set_exception(error)
            self.handshake_done.exception()
        if isinstance(self._conn, ServerConnection):
            logger.warning("TLS handshake timed out")
        self.abort()

    def _shutdown_and_drain(self) -> None:
        """Our last bytes are queued: shut down the write side once they are out, read and discard
        until the peer's EOF, then close. The wait is bounded: FLUSH_TIMEOUT for a peer to take our
        last bytes, then DRAIN_TIMEOUT and DRAIN_LIMIT for its EOF."""
        if self._closing:
            return
        self._closing = True
        raw = self._raw
        if raw is None or raw.is_closing():
            return
        if self._peer_eof:
            raw.close()  # nothing more can arrive; close() still flushes what we wrote
            return
        if not self._write_eof_raw():  # asyncio shuts the socket down after its buffer is written
            return
        raw.resume_reading()
        self._flush_deadline = self._loop.time() + FLUSH_TIMEOUT
        self._drain_timer = self._loop.call_later(DRAIN_TIMEOUT, self._drain_check)

    def _write_eof_raw(self) -> bool:
        """Shut down the raw write side; False if the connection turned out to be gone already (the
        peer closed completely and answered our last bytes with a reset)."""
        raw = self._raw
        if raw is None or raw.is_closing():
            return False
        try:
            if raw.can_write_eof():
                raw.write_eof()
        except OSError:
            raw.abort()
            return False
        return True

    def _drain_check(self) -> None:
        self._drain_timer = None
        raw = self._raw
        if raw is None or raw.is_closing():
            return
        pending = raw.get_write_buffer_size()
        if pending and self._loop.time() < self._flush_deadline:
            self._was_pending = True  # a slow reader is still taking our last bytes
        elif not pending and self._was_pending:
            self._was_pending = False  # just written out: give the peer its time to answer with EOF
        elif pending:
            raw.abort()  # the peer stopped reading; what is left cannot get through
            return
        else:
            raw.close()
            return
        self._drain_timer = self._loop.call_later(DRAIN_TIMEOUT, self._drain_check)

    def _discard(self, n: int) -> None:
        self._drained += n
        if self._drained > DRAIN_LIMIT and self._raw is not None:
            self._raw.close()  # stop reading: enough waiting for a peer that keeps talking

    def _close_raw(self) -> None:
        """The peer's EOF came while closing: close (asyncio writes out what is buffered first)."""
        if self._raw is not None and not self._raw.is_closing():
            self._raw.close()

    def _cancel_timers(self) -> None:
        for timer in (self._handshake_timer, self._drain_timer):
            if timer is not None:
                timer.cancel()
        self._handshake_timer = self._drain_timer = None
