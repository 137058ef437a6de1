"""One TCP connection (plain asyncio streams) driving one sans-I/O engine connection.

The command line does its own networking on the engine, rather than through ``tlslens.aio``, so that
the trace events stay in reach: every list of events the engine returns goes to the tracer first.

Closing follows the rule that lets a peer actually read our last alert: after close_notify or a fatal
alert we flush, shut down our write side, and read (and drop) what the peer still sends, bounded in
time and bytes, before closing the socket. Closing with unread bytes would make the kernel send a RST,
which can destroy the alert before the peer reads it.
"""

from __future__ import annotations

import asyncio
import contextlib

from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import CertificateError, FatalAlert, RemoteProtocolError, TLSError
from tlslens.events import Event, RecordSent
from tlslens.trace import Tracer
from tlslens.wire.enums import AlertDescription, ContentType

READ_SIZE = 65536
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20

_ALERT_HINTS = {
    AlertDescription.HANDSHAKE_FAILURE: "usually no cipher suite, group or signature scheme in common",
    AlertDescription.PROTOCOL_VERSION: "the peer does not accept TLS 1.3",
    AlertDescription.INSUFFICIENT_SECURITY: "the peer wants stronger parameters than we offered",
    AlertDescription.NO_APPLICATION_PROTOCOL: "no ALPN protocol in common",
    AlertDescription.UNRECOGNIZED_NAME: "the server has no certificate for that name",
    AlertDescription.CERTIFICATE_REQUIRED: "the server requires a client certificate (--cert/--key)",
    AlertDescription.BAD_CERTIFICATE: "the peer refused our certificate",
    AlertDescription.UNKNOWN_CA: "the peer does not trust the CA of our certificate",
    AlertDescription.CERTIFICATE_EXPIRED: "the peer says our certificate has expired",
    AlertDescription.DECRYPT_ERROR: "a signature or Finished did not verify",
    AlertDescription.ILLEGAL_PARAMETER: "the peer found a field it cannot accept",
}


class SessionFailed(Exception):
    """A connection failed. ``str(exc)`` is the one-line reason; ``details`` more lines (findings)."""

    def __init__(self, reason: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def _plain(exc: BaseException) -> str:
    return str(exc).removeprefix("tls: ")


def describe_tls_error(exc: TLSError, peer: str) -> SessionFailed:
    """The reason a TLS error ended a connection, in one line naming what happened."""
    if isinstance(exc, FatalAlert):
        name = exc.description.name.lower()
        hint = _ALERT_HINTS.get(exc.description)
        more = f": {hint}" if hint else ""
        return SessionFailed(f"alert received: the {peer} sent {name} ({int(exc.description)}){more}")
    if isinstance(exc, CertificateError):
        reason = f"certificate problem: {_plain(exc)}"
        details = []
        for f in exc.findings:
            code, message, fix = (getattr(f, a, None) for a in ("code", "message", "fix"))
            if code and message and str(message).lower() not in reason.lower():
                details.append(f"  {code}: {message}")
            if fix:
                details.append(f"  fix: {fix}")
        return SessionFailed(reason, tuple(details))
    if isinstance(exc, RemoteProtocolError):
        return SessionFailed(f"{_plain(exc)} (sent alert {exc.alert.name.lower()})")
    return SessionFailed(_plain(exc))


class Link:
    """Moves bytes between an asyncio stream pair and an engine connection; traces what happens."""

    def __init__(
        self,
        conn: ClientConnection | ServerConnection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tracer: Tracer | None,
        peer: str,
    ) -> None:
        self.conn = conn
        self.reader = reader
        self.writer = writer
        self.tracer = tracer
        self.peer = peer  # "server" or "client": who is on the other end, for messages
        self.bytes_in = 0
        self.bytes_out = 0
        self.local_closed = False

    def trace_pending(self) -> None:
        """Trace what the engine queued outside receive_data (the ClientHello, our sends)."""
        if self.tracer is not None:
            pending = getattr(self.conn, "pending_events", None)
            if pending is not None:
                self.tracer.feed(pending())

    def write_pending(self) -> None:
        """Hand what the engine queued to the transport, without waiting for it to drain."""
        self.trace_pending()
        data = self.conn.data_to_send()
        if data:
            self.bytes_out += len(data)
            self.writer.write(data)

    async def send_pending(self) -> None:
        self.write_pending()
        await self.writer.drain()

    async def read(self) -> list[Event]:
        """Read once from TCP and feed it to the engine (b"" = EOF). A TLS failure is flushed (our
        alert goes out), traced, and raised as SessionFailed."""
        try:
            data = await self.reader.read(READ_SIZE)
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise SessionFailed(f"the {self.peer} reset the connection ({exc.strerror or exc})") from None
        self.bytes_in += len(data)
        try:
            events = self.conn.receive_data(data)
        except (RemoteProtocolError, FatalAlert) as exc:
            if self.tracer is not None:
                self._trace_failure(exc)
            with contextlib.suppress(OSError):
                await self.send_pending()
            raise describe_tls_error(exc, self.peer) from exc
        if self.tracer is not None:
            self.tracer.feed(events)
        return events

    def _trace_failure(self, exc: RemoteProtocolError | FatalAlert) -> None:
        """The events up to the failure, then our alert (before the record that carries it)."""
        assert self.tracer is not None
        events: list[Event] = list(getattr(exc, "events", []))
        if not isinstance(exc, RemoteProtocolError):
            self.tracer.feed(events)
            return
        last = events[-1] if events else None
        carrier = isinstance(last, RecordSent) and last.content_type == ContentType.ALERT
        self.tracer.feed(events[:-1] if carrier else events)
        self.tracer.note("failed", _plain(exc))
        self.tracer.sent_alert(exc.alert)
        if carrier and last is not None:
            self.tracer.feed([last])

    def close_notify(self) -> None:
        """Queue close_notify (once); the caller sends it with send_pending()."""
        if self.local_closed or self.conn.closed:
            return
        self.local_closed = True
        self.trace_pending()  # what was queued before (echoed data) comes first in the trace too
        self.conn.close()
        if self.tracer is not None:
            self.tracer.sent_alert(AlertDescription.CLOSE_NOTIFY)

    async def shutdown(self) -> None:
        """Flush; after our close_notify or fatal alert half-close and drain the peer's bytes (bounded);
        close. Never raises."""
        writer = self.writer
        try:
            with contextlib.suppress(OSError, TLSError):
                await self.send_pending()
            if self.local_closed or self.conn.closed:  # we sent close_notify or a fatal alert
                with contextlib.suppress(OSError):
                    if writer.can_write_eof() and not writer.is_closing():
                        writer.write_eof()
                await self._drain_peer()
        finally:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _drain_peer(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        drained = 0
        while drained < LINGER_BYTES:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                data = await asyncio.wait_for(self.reader.read(READ_SIZE), remaining)
            except (OSError, TimeoutError):
                return
            if not data:
                return
            drained += len(data)
