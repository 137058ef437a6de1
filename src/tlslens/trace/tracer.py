"""The Tracer: engine events in, timed trace entries and diagram rows out, handed to a sink.

A face that traces creates its connection with ``trace=True`` and passes every list of events it gets
(from ``receive_data``, ``pending_events()``, or ``exc.events`` after a failure) to ``Tracer.feed``.
Things only the face knows (TCP connected, we sent close_notify, we sent a fatal alert) come in through
``note`` and ``sent_alert``. ``finish()`` draws the round-trip diagram. Times are measured from the
tracer's start with a monotonic clock, in the face: the engine owns no clock.

When tracing is off the face creates no Tracer and the engine no trace events, so it costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tlslens.credentials import shown_identity
from tlslens.events import (
    AlertReceived,
    ClientCertificateRefused,
    ClientCertificateVerified,
    ConnectionClosed,
    DataReceived,
    DecisionMade,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    KeyUpdated,
    MessageReceived,
    MessageSent,
    RecordReceived,
    RecordSent,
    SecretDerived,
    SessionTicketReceived,
)
from tlslens.trace.describe import Value, describe_message, enum_name, message_summary, message_title
from tlslens.wire.enums import AlertDescription, AlertLevel, ContentType
from tlslens.wire.extensions import SupportedVersionsServerHello
from tlslens.wire.messages import Certificate, ClientHello, CompressedCertificate, EndOfEarlyData, ServerHello
from tlslens.wire.messages12 import ChangeCipherSpec

Role = Literal["client", "server"]
Direction = Literal["sent", "received", "local"]


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One line of the trace (plus its decoded fields, for messages and the handshake result)."""

    t: float  # seconds since the tracer started
    side: Role  # whose trace this is
    direction: Direction
    kind: str  # record, message, secret, decision, event, data, alert, note
    title: str
    detail: str = ""
    fields: dict[str, Value] | None = None


@dataclass(frozen=True, slots=True)
class DiagramRow:
    """One arrow of the round-trip diagram."""

    t: float
    sender: Role
    label: str  # "ClientHello", "{Finished}", "[Application Data]"...
    detail: str = ""


class Sink(Protocol):
    def entry(self, entry: TraceEntry, label: str) -> None: ...

    def diagram(self, rows: list[DiagramRow], side: Role, label: str) -> None: ...


def _record_title(ctype: ContentType, protected: bool, inner: ContentType | None) -> str:
    name = enum_name(ctype)
    if protected and inner is not None and inner != ctype:
        return f"record {name} (inner: {enum_name(inner)})"
    return f"record {name}"


@dataclass(slots=True)
class Tracer:
    """Turns one connection's events into trace entries for ``sink``; ``label`` tells connections apart."""

    sink: Sink
    role: Role
    label: str = ""
    clock: Callable[[], float] = time.perf_counter
    start: float | None = None
    kinds: frozenset[str] | None = None
    """Only these entry kinds reach the sink (None = all); the demo uses it to show the server's decisions."""
    rows: list[DiagramRow] = field(default_factory=list)
    _complete: bool = False
    _tls12: bool = False  # the ServerHello chose TLS 1.2: messages are protected after each CCS
    _ccs: set[str] = field(default_factory=set)  # the roles whose ChangeCipherSpec was seen
    _compressed: bool = False  # a CompressedCertificate came in: the Certificate after it was inside it

    def __post_init__(self) -> None:
        if self.start is None:
            self.start = self.clock()

    @property
    def peer(self) -> Role:
        return "server" if self.role == "client" else "client"

    def now(self) -> float:
        assert self.start is not None
        return self.clock() - self.start

    def _emit(
        self,
        t: float,
        direction: Direction,
        kind: str,
        title: str,
        detail: str = "",
        fields: dict[str, Value] | None = None,
    ) -> None:
        if self.kinds is None or kind in self.kinds:
            self.sink.entry(TraceEntry(t, self.role, direction, kind, title, detail, fields), self.label)

    def _row(self, t: float, sender: Role, label: str, detail: str = "", size: int = 0) -> None:
        if size and self.rows:
            last = self.rows[-1]
            if last.sender == sender and last.label == label:  # merge a burst of data records
                total = int(last.detail.split()[0]) + size
                self.rows[-1] = DiagramRow(last.t, sender, label, f"{total} bytes")
                return
        self.rows.append(DiagramRow(t, sender, label, f"{size} bytes" if size else detail))

    # --- input --------------------------------------------------------------------------------------

    def feed(self, events: Iterable[Event]) -> None:
        t = self.now()
        for event in events:
            self._event(t, event)

    def note(self, title: str, detail: str = "", direction: Direction = "local") -> None:
        """Something the face did or saw that the engine does not report (TCP connect, errors)."""
        self._emit(self.now(), direction, "note", title, detail)

    def sent_alert(self, description: AlertDescription) -> None:
        """We queued an alert (close_notify on close(), or the fatal alert of a RemoteProtocolError)."""
        t = self.now()
        name = enum_name(description)
        closing = description == AlertDescription.CLOSE_NOTIFY
        level = AlertLevel.WARNING if closing else AlertLevel.FATAL
        kind = "note" if closing else "alert"
        self._emit(t, "sent", kind, f"alert {name}", f"{enum_name(level)} ({int(description)})")
        self._row(t, self.role, name)

    def finish(self) -> None:
        """The connection is over: draw the diagram."""
        if self.kinds is None or "diagram" in self.kinds:
            self.sink.diagram(list(self.rows), self.role, self.label)

    # --- events -------------------------------------------------------------------------------------

    def _message(self, t: float, event: MessageSent | MessageReceived) -> None:
        msg = event.message
        title = message_title(msg)
        sent = isinstance(event, MessageSent)
        if not sent and isinstance(msg, Certificate) and self._compressed:
            # RFC 8879: the engine reports what it inflated; on the wire (and in the diagram) it was
            # the CompressedCertificate just before.
            self._compressed = False
            self._emit(
                t,
                "received",
                "message",
                f"{title} (inflated)",
                f"{len(event.raw)} bytes",
                describe_message(msg),
            )
            return
        self._compressed = not sent and isinstance(msg, CompressedCertificate)
        self._emit(
            t,
            "sent" if sent else "received",
            "message",
            title,
            f"{len(event.raw)} bytes",
            describe_message(msg),
        )
        sender = self.role if sent else self.peer
        if isinstance(msg, ServerHello) and msg.extension(SupportedVersionsServerHello) is None:
            self._tls12 = True
        if isinstance(msg, ChangeCipherSpec):
            self._ccs.add(sender)
            label = title
        elif isinstance(msg, ClientHello | ServerHello):
            label = title
        elif self._tls12:  # plaintext until the sender's ChangeCipherSpec, then under the session keys
            label = f"[{title}]" if sender in self._ccs else title
        elif isinstance(msg, EndOfEarlyData):
            label = f"({title})"  # RFC 8446 §2: ( ) for messages under the early traffic key
        elif self._complete:
            label = f"[{title}]"
        else:
            label = "{" + title + "}"
        self._row(t, sender, label, message_summary(msg))

    def _event(self, t: float, event: Event) -> None:
        match event:
            case MessageSent() | MessageReceived():
                self._message(t, event)
            case RecordSent() | RecordReceived():
                sent = isinstance(event, RecordSent)
                protected = ", encrypted" if event.protected else ""
                title = _record_title(event.content_type, event.protected, event.inner_type)
                self._emit(
                    t, "sent" if sent else "received", "record", title, f"{event.length} bytes{protected}"
                )
                if sent and event.inner_type == ContentType.APPLICATION_DATA and event.length:
                    label = "[Application Data]" if self._complete else "(Application Data)"
                    self._row(t, self.role, label, size=event.length)
            case SecretDerived():
                self._emit(t, "local", "secret", event.label, "derived")
            case DecisionMade():
                self._emit(t, "local", "decision", event.topic, event.text)
            case HandshakeCompleted():
                self._complete = True
                self._emit(t, "local", "event", "handshake complete", "", handshake_fields(event))
            case DataReceived() | EarlyDataReceived():
                early = isinstance(event, EarlyDataReceived)
                self._emit(
                    t,
                    "received",
                    "data",
                    "early data" if early else "application data",
                    f"{len(event.data)} bytes",
                )
                self._row(
                    t,
                    self.peer,
                    "(Application Data)" if early else "[Application Data]",
                    size=len(event.data),
                )
            case KeyUpdated():
                requested = " (peer asked us to update too)" if event.update_requested else ""
                self._emit(t, "local", "event", "keys updated", f"{event.direction}{requested}")
            case AlertReceived():
                name = enum_name(event.description)
                self._emit(
                    t,
                    "received",
                    "alert",
                    f"alert {name}",
                    f"{enum_name(event.level)} ({int(event.description)})",
                )
                self._row(t, self.peer, name)
            case ConnectionClosed():
                if event.clean:
                    self._emit(t, "received", "note", "alert close_notify", "the peer will send nothing more")
                    self._row(t, self.peer, "close_notify")
                else:
                    self._emit(t, "received", "note", "EOF", "the peer closed TCP without close_notify")
                    self._row(t, self.peer, "EOF (no close_notify)")
            case SessionTicketReceived():
                self._emit(t, "local", "event", "session ticket", "kept for resumption")
            case ClientCertificateVerified():
                subject = event.certificates[0].subject.rfc4514_string()
                detail = f"{subject} ({enum_name(event.signature_scheme)}), context {event.context.hex()}"
                self._emit(t, "local", "event", "client certificate verified", detail)
            case ClientCertificateRefused():
                self._emit(t, "local", "event", "client certificate refused", event.reason)
            case _:
                self._emit(t, "local", "event", type(event).__name__)


def handshake_fields(event: HandshakeCompleted) -> dict[str, Value]:
    fields: dict[str, Value] = {
        "version": enum_name(event.version),
        "cipher_suite": enum_name(event.cipher_suite),
        "group": enum_name(event.group) if event.group is not None else None,
        "signature_scheme": enum_name(event.signature_scheme) if event.signature_scheme is not None else None,
        "alpn": event.alpn_protocol,
        "server_name": event.server_name,
        "peer_certificates": len(event.peer_certificates),
        "resumed": event.resumed,
        "early_data_accepted": event.early_data_accepted,
    }
    if event.extended_master_secret is not None:  # (TLS 1.2 only)
        fields["extended_master_secret"] = event.extended_master_secret
    if event.ocsp is not None:  # (a client that asked for a staple)
        fields["ocsp"] = event.ocsp.status
    if event.psk_identity is not None:  # authenticated by an external PSK
        fields["psk_identity"] = shown_identity(event.psk_identity)
    if event.post_handshake_auth:  # (server) the client may be asked for a certificate later
        fields["post_handshake_auth"] = True
    return fields
