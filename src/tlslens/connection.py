"""ClientConnection / ServerConnection: the sans-I/O facade (bytes in, events out, bytes to send).

    conn.receive_data(bytes) -> list[Event]    b"" means the transport reached EOF
    conn.send_data(bytes)                      application data (after the handshake)
    conn.update_keys(request_peer=False)       KeyUpdate
    conn.close()                               close_notify (our side only: TLS 1.3 half-close)
    conn.data_to_send() -> bytes               what to write to the transport

The connection owns the record layer and drives one handshake state machine (``handshake/``), which
acts on it only through the ``Output`` methods below. ``receive_data`` raises only
``RemoteProtocolError`` subclasses (with their alert already queued) and ``FatalAlert``.
"""

from __future__ import annotations

import contextlib

from tlslens.config import ClientConfig, ServerConfig
from tlslens.crypto.key_schedule import export_keying_material
from tlslens.crypto.suites import Tls13Suite
from tlslens.early_data import EarlyDataGate
from tlslens.errors import (
    BadRecordMac,
    DecodeError,
    FatalAlert,
    LocalProtocolError,
    RemoteProtocolError,
    TLSError,
    UnexpectedMessage,
)
from tlslens.events import (
    AlertReceived,
    ConnectionClosed,
    DataReceived,
    DecisionMade,
    EarlyDataReceived,
    Event,
    MessageReceived,
    MessageSent,
    RecordReceived,
    RecordSent,
    SecretDerived,
)
from tlslens.handshake.common import State
from tlslens.handshake.traffic import ClientTraffic, ServerTraffic
from tlslens.keylog import format_line
from tlslens.record.deframer import Record
from tlslens.record.layer import RecordLayer
from tlslens.record.protection import MAX_CONSECUTIVE_EMPTY_RECORDS
from tlslens.session.cache import Session
from tlslens.wire.enums import AlertDescription, AlertLevel, ContentType, KeyUpdateRequest
from tlslens.wire.messages import HandshakeMessage, KeyUpdate, decode_handshake, encode_handshake

_HANDSHAKE = ContentType.HANDSHAKE.value
_APPLICATION_DATA = ContentType.APPLICATION_DATA.value
_CCS = ContentType.CHANGE_CIPHER_SPEC.value
_ALERT = ContentType.ALERT.value

MAX_KEY_UPDATES_WITHOUT_DATA = 32
"""KeyUpdates in a row without application data before we call it a flood."""


class _Connection:
    """What both roles share: the record layer, the Output seam, closing and failing."""

    _state: State
    _role = "CLIENT"  # key log label prefixes
    _peer_role = "SERVER"

    def __init__(self, config: ClientConfig | ServerConfig, *, trace: bool) -> None:
        self._config = config
        self._tracing = trace
        self._events: list[Event] = []
        self._records = RecordLayer()
        self._read_generation = 0  # KeyUpdates so far, for the key log's *_TRAFFIC_SECRET_N labels
        self._write_generation = 0
        self._failed: TLSError | None = None
        self._peer_closed = False
        self._local_closed = False
        self._handshake_complete = False
        self._peer_finished = False  # change_cipher_spec is tolerated until the peer's Finished
        self._ccs_count = 0
        self._early = EarlyDataGate()  # server: 0-RTT accepted up to a budget, or skipped
        self._key_updates = 0
        self.client_random = b""  # set by the handshake; keys the key log lines

    # --- public API ---------------------------------------------------------------------------------

    @property
    def handshake_complete(self) -> bool:
        return self._handshake_complete

    @property
    def closed(self) -> bool:
        """True once both directions are closed, or the connection failed."""
        return self._failed is not None or (self._peer_closed and self._local_closed)

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Process bytes from the peer (b"" = EOF) and return what happened since the last call.

        With ``trace=True`` that includes the trace of what we sent meanwhile (the ClientHello queued by
        the constructor, records sealed by send_data...); ``pending_events()`` takes those without
        waiting for peer bytes."""
        if self._failed is not None:
            raise LocalProtocolError("the connection has already failed") from self._failed
        # Events queued since the last call (the ClientHello's trace, our own sends) come first.
        events = self._events
        try:
            if not data:
                self._eof()
            elif self._peer_closed:  # RFC 8446 §6.1: data after close_notify is ignored
                pass
            elif self._handshake_complete and not self._tracing:
                self._receive_traffic(data, events)
            else:
                for record in self._records.deframer.feed(data):
                    self._record(record)
                    if self._peer_closed:
                        break
            self._flush()
        except RemoteProtocolError as exc:
            self._fail(exc, send_alert=True)
            exc.events = events
            raise
        except FatalAlert as exc:
            self._fail(exc, send_alert=False)
            exc.events = events
            raise
        finally:
            self._events = []
        return events

    def send_data(self, data: bytes | bytearray | memoryview) -> None:
        """Queue application data (split into records as needed)."""
        sealer = self._records.sealer
        if not self._handshake_complete or sealer is None:
            raise LocalProtocolError("application data can only be sent after the handshake")
        if self._local_closed or self._failed is not None:
            raise LocalProtocolError("the connection is closed for sending")
        if sealer.needs_key_update:  # RFC 8446 §5.5: a new key well before the AEAD's limit
            self._send_key_update(request_peer=False)
        if data:
            self.send_early_data(data)  # the same sealing, under whatever key is current

    def update_keys(self, request_peer: bool = False) -> None:
        """Send KeyUpdate and switch to the next write key (RFC 8446 §4.6.3); with ``request_peer`` the
        peer is asked to update its keys too."""
        if not self._handshake_complete or self._local_closed or self._failed is not None:
            raise LocalProtocolError("keys can only be updated on an established, open connection")
        self._send_key_update(request_peer)
        self._flush()

    def export_keying_material(self, label: bytes | str, context: bytes = b"", length: int = 32) -> bytes:
        """TLS-Exporter(label, context, length) of RFC 8446 §7.5 (as RFC 5705 keying material, e.g. for
        channel binding): both ends of one connection get the same bytes, nobody else can."""
        state = self._state
        if not isinstance(state, ClientTraffic | ServerTraffic):
            raise LocalProtocolError("keying material can only be exported after the handshake")
        raw_label = label.encode("ascii") if isinstance(label, str) else label
        return export_keying_material(state.suite, state.exporter_secret, raw_label, context, length)

    def close(self) -> None:
        """Send close_notify: we will send nothing more. The peer may still send until it closes too."""
        if self._local_closed or self._failed is not None:
            return
        self._send_alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)
        self._local_closed = True

    def pending_events(self) -> list[Event]:
        """Events queued outside receive_data (trace of what we sent); clears them."""
        self._flush()
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        self._flush()
        return self._records.take_output()

    # --- Output: what the handshake state machine may do ---------------------------------------------

    @property
    def tracing(self) -> bool:
        return self._tracing

    def send(self, message: HandshakeMessage) -> bytes:
        raw = encode_handshake(message)
        self.send_raw(message, raw)
        return raw

    def send_raw(self, message: HandshakeMessage, raw: bytes) -> None:
        """Queue handshake bytes as they are (a seam for tests that send malformed messages)."""
        self._records.queue_handshake(raw)
        if self._tracing:
            self._events.append(MessageSent(message, raw))

    def send_change_cipher_spec(self) -> None:
        self._flush()
        self._records.send_change_cipher_spec()
        if self._tracing:
            self._events.append(RecordSent(ContentType.CHANGE_CIPHER_SPEC, 1, False))

    def set_read_key(self, suite: Tls13Suite, secret: bytes, label: str | None) -> None:
        self._records.set_read_key(suite, secret)
        if label:
            self.keylog(label, secret)

    def set_write_key(self, suite: Tls13Suite, secret: bytes, label: str | None) -> None:
        self._flush()
        self._records.set_write_key(suite, secret)
        if label:
            self.keylog(label, secret)

    def drop_write_key(self) -> None:
        self._flush()
        self._records.drop_write_key()

    def update_read_key(self) -> None:
        self._read_generation += 1
        self.set_read_key(
            *self._records.next_read_secret(), f"{self._peer_role}_TRAFFIC_SECRET_{self._read_generation}"
        )

    def update_write_key(self) -> None:
        self._write_generation += 1
        self.set_write_key(
            *self._records.next_write_secret(), f"{self._role}_TRAFFIC_SECRET_{self._write_generation}"
        )

    def set_own_record_size_limit(self, limit: int) -> None:
        self._records.set_own_record_size_limit(limit)

    def set_peer_record_size_limit(self, limit: int) -> None:
        self._records.set_peer_record_size_limit(limit)

    def keylog(self, label: str, secret: bytes) -> None:
        callback = self._config.keylog
        if callback is not None:
            callback(format_line(label, self.client_random, secret))
        if self._tracing:
            self._events.append(SecretDerived(label))

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def decide(self, topic: str, text: str) -> None:
        if self._tracing:
            self._events.append(DecisionMade(topic, text))

    def set_client_random(self, client_random: bytes) -> None:
        self.client_random = client_random

    def send_early_data(self, data: bytes | bytearray | memoryview) -> None:
        self._records.seal_application_data(data)
        if self._tracing:
            self._events.append(
                RecordSent(ContentType.APPLICATION_DATA, len(data), True, ContentType.APPLICATION_DATA)
            )

    def accept_early_data(self, limit: int) -> None:
        self._early.accept(limit)

    def end_early_data(self) -> None:
        self._early.end()

    def skip_early_data(self, limit: int) -> None:
        self._early.skip(limit)

    def answer_key_update(self) -> None:
        if self._local_closed:
            return
        self.send(KeyUpdate(KeyUpdateRequest.UPDATE_NOT_REQUESTED))
        self.update_write_key()
        self.decide("key_update", "answered the peer's KeyUpdate request with our own")

    def handshake_finished(self) -> None:
        """The state machine reached Traffic."""
        self._handshake_complete = True

    def peer_finished(self) -> None:
        self._peer_finished = True

    # --- receiving ------------------------------------------------------------------------------------

    def _record(self, record: Record) -> None:
        ctype = record.content_type
        opener = self._records.opener
        if ctype == _APPLICATION_DATA and opener is not None:
            if self._early.skipping:
                try:
                    inner_type, content = opener.open(record)
                except BadRecordMac:
                    self._skip_refused_early_data(record)
                    return
                self._early.stop_skipping()  # the first record that opens ends the 0-RTT stream
            else:
                inner_type, content = opener.open(record)
            if self._tracing:
                self._events.append(
                    RecordReceived(
                        ContentType.APPLICATION_DATA, len(record.fragment), True, ContentType(inner_type)
                    )
                )
            if opener.consecutive_empty > MAX_CONSECUTIVE_EMPTY_RECORDS:
                raise UnexpectedMessage(f"more than {MAX_CONSECUTIVE_EMPTY_RECORDS} empty records in a row")
            self._content(inner_type, content)
            return
        if self._tracing:
            self._events.append(RecordReceived(ContentType(ctype), len(record.fragment), False))
        if ctype == _CCS:
            # RFC 8446 §5: one byte 0x01 between the first ClientHello and the peer's Finished is dropped.
            # (A server also takes one before its first ClientHello: after a stateless HelloRetryRequest
            # a fresh connection meets the client's compatibility-mode CCS first.)
            if record.fragment != b"\x01" or self._peer_finished:
                raise UnexpectedMessage("change_cipher_spec outside the handshake")
            self._ccs_count += 1
            if self._ccs_count > MAX_CONSECUTIVE_EMPTY_RECORDS:  # more is a flood
                raise UnexpectedMessage("too many change_cipher_spec records")
            return
        if ctype == _HANDSHAKE and opener is None:
            self._handshake_data(record.fragment)
            return
        if ctype == _ALERT and not self._handshake_complete:
            # A peer that failed before it had keys (or before it could use ours) alerts in plaintext.
            self._alert(record.fragment)
            return
        if ctype == _APPLICATION_DATA:
            self._unprotected_application_data(record)
            return
        raise UnexpectedMessage(f"unprotected {ContentType(ctype).name.lower()} record after keys were set")

    def _receive_traffic(self, data: bytes | bytearray | memoryview, events: list[Event]) -> None:
        """The bulk path of an established connection: application data goes straight to an event;
        anything else takes the general route of ``_record``."""
        records = self._records
        reassembler = records.reassembler
        for record in records.deframer.feed(data):
            opener = records.opener  # re-read: a KeyUpdate in the previous record replaces it
            if record.content_type != _APPLICATION_DATA or opener is None:
                self._record(record)
            else:
                inner_type, content = opener.open(record)
                if inner_type == _APPLICATION_DATA and content and reassembler.is_aligned:
                    self._key_updates = 0
                    events.append(DataReceived(content))
                    continue
                if opener.consecutive_empty > MAX_CONSECUTIVE_EMPTY_RECORDS:
                    raise UnexpectedMessage(
                        f"more than {MAX_CONSECUTIVE_EMPTY_RECORDS} empty records in a row"
                    )
                self._content(inner_type, content)
            if self._peer_closed:
                break

    def _unprotected_application_data(self, record: Record) -> None:
        if self._early.skipping:  # 0-RTT records sent before our HelloRetryRequest reached the client
            self._skip_refused_early_data(record)
            return
        raise UnexpectedMessage("application data before the handshake keys")

    def _skip_refused_early_data(self, record: Record) -> None:
        self._early.skip_record(len(record.fragment))
        if self._tracing:
            self._events.append(RecordReceived(ContentType.APPLICATION_DATA, len(record.fragment), True))

    def _content(self, inner_type: int, content: bytes) -> None:
        if inner_type == _APPLICATION_DATA:
            if not self._records.reassembler.is_aligned:
                raise UnexpectedMessage("application data in the middle of a handshake message")
            if not self._handshake_complete:
                self._early.take(len(content))
                if content:
                    self._events.append(EarlyDataReceived(content))
                return
            if content:
                self._key_updates = 0
                self._events.append(DataReceived(content))
            return
        if inner_type == _HANDSHAKE:
            if not content:
                raise UnexpectedMessage("zero-length handshake fragment")
            self._handshake_data(content)
            return
        self._alert(content)

    def _handshake_data(self, fragment: bytes) -> None:
        records = self._records
        messages = records.reassembler.feed(fragment)
        last = len(messages) - 1
        for i, raw in enumerate(messages):
            message = decode_handshake(raw)
            if self._tracing:
                self._events.append(MessageReceived(message, raw))
            if isinstance(message, KeyUpdate):
                self._key_updates += 1
                if self._key_updates > MAX_KEY_UPDATES_WITHOUT_DATA:
                    raise UnexpectedMessage(
                        f"more than {MAX_KEY_UPDATES_WITHOUT_DATA} KeyUpdates without data"
                    )
            read_key = records.opener
            self._state = self._state.handle(message, raw, self)
            # RFC 8446 §5.1: a message that changes the keys must end its record (a partial message
            # left behind is caught by set_read_key; a whole one here).
            if i < last and records.opener is not read_key:
                raise UnexpectedMessage(
                    f"handshake data followed {type(message).__name__} in its record, across a key change"
                )

    def _alert(self, data: bytes) -> None:
        if not self._records.reassembler.is_aligned:
            raise UnexpectedMessage("alert in the middle of a handshake message")
        if len(data) != 2:
            raise DecodeError(f"alert of {len(data)} bytes")
        level, description = AlertLevel(data[0]), AlertDescription(data[1])
        if description == AlertDescription.CLOSE_NOTIFY:
            self._peer_closed = True
            self._events.append(ConnectionClosed(clean=True))
            return
        if description == AlertDescription.USER_CANCELED:
            self._events.append(AlertReceived(level, description))
            return
        # RFC 8446 §6.2: every other alert is an error alert, whatever its level says.
        self._events.append(AlertReceived(level, description))
        raise FatalAlert(description)

    def _eof(self) -> None:
        if self._peer_closed:
            return
        self._peer_closed = True
        self._events.append(ConnectionClosed(clean=False))

    # --- sending --------------------------------------------------------------------------------------

    def _send_key_update(self, request_peer: bool) -> None:
        request = KeyUpdateRequest.UPDATE_REQUESTED if request_peer else KeyUpdateRequest.UPDATE_NOT_REQUESTED
        self.send(KeyUpdate(request))
        self.update_write_key()
        if self._tracing:
            self.decide(
                "key_update", "sent KeyUpdate" + (" and asked the peer to update too" if request_peer else "")
            )

    def _send_alert(self, level: AlertLevel, description: AlertDescription) -> None:
        self._flush()
        protected = self._records.send_alert(level, description)
        if self._tracing:
            self._events.append(RecordSent(ContentType.ALERT, 2, protected, ContentType.ALERT))

    def _flush(self) -> None:
        """Frame the queued handshake messages under the current write key."""
        n = self._records.flush_handshake()
        if n and self._tracing:
            protected = self._records.sealer is not None
            self._events.append(RecordSent(ContentType.HANDSHAKE, n, protected, ContentType.HANDSHAKE))

    def _fail(self, exc: TLSError, *, send_alert: bool) -> None:
        self._failed = exc
        if send_alert and isinstance(exc, RemoteProtocolError) and not self._local_closed:
            self._records.discard_handshake()
            with contextlib.suppress(LocalProtocolError):  # an exhausted write key can send nothing more
                self._send_alert(AlertLevel.FATAL, exc.alert)
        self._local_closed = True


class ClientConnection(_Connection):
    """The client side of one TLS connection. The ClientHello is queued at once."""

    def __init__(
        self,
        config: ClientConfig,
        server_name: str | None = None,
        *,
        session: Session | None = None,
        early_data: bytes | None = None,
        trace: bool = False,
    ) -> None:
        """``session`` resumes an earlier connection (else one from ``config.session_cache`` is used);
        ``early_data`` is sent as 0-RTT with the ClientHello (it needs a session that allows it, and
        ``HandshakeCompleted.early_data_accepted`` says whether the server took it)."""
        from tlslens.handshake.client13 import start_client

        super().__init__(config, trace=trace)
        self.config = config
        self.server_name = server_name
        self._records.plaintext_version = 0x0301  # RFC 8446 §5.1: the initial ClientHello's record
        self._state = start_client(config, server_name, self, session=session, early_data=early_data)
        self._flush()


class ServerConnection(_Connection):
    """The server side of one TLS connection; it waits for a ClientHello."""

    _role = "SERVER"
    _peer_role = "CLIENT"

    def __init__(self, config: ServerConfig, *, trace: bool = False) -> None:
        from tlslens.handshake.server13 import start_server

        super().__init__(config, trace=trace)
        self.config = config
        self._state = start_server(config)
