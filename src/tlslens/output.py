"""The Output: the one route by which anything leaves a connection, and what the state machines act on.

A handshake state never touches bytes, keys or events directly: ``handle(message, raw, out)`` gets an
``Output`` and may queue handshake messages, change keys, log secrets, emit events and record
decisions. The connection sends application data, KeyUpdates and alerts through the same object, so
there is one sealing path and one place where the trace of what we sent is made.

Trace events (``RecordSent``, ``MessageSent``, ``SecretDerived``, ``DecisionMade``) are appended only
when ``tracing`` is true; states build costly decision text only then. The event list is shared with
the connection's inbound path (the connection hands both a fresh list when it takes the events).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from tlslens.crypto.suites import Tls13Suite
from tlslens.events import DecisionMade, Event, MessageSent, RecordSent, SecretDerived
from tlslens.keylog import format_line
from tlslens.lifecycle import ConnectionState, Lifecycle
from tlslens.record.inbound import CHANGE_CIPHER_SPEC, Inbound
from tlslens.record.layer import RecordLayer
from tlslens.record.protection12 import Opener, Sealer
from tlslens.wire.enums import AlertDescription, AlertLevel, ContentType, KeyUpdateRequest, ProtocolVersion
from tlslens.wire.messages import HandshakeMessage, KeyUpdate, decode_handshake, encode_handshake
from tlslens.wire.messages12 import decode_handshake12
from tlslens.wire.suite_info import KeyExchange


class Output:
    __slots__ = (
        "_ccs_sent",
        "_inbound",
        "_keylog",
        "_life",
        "_peer_role",
        "_read_generation",
        "_records",
        "_role",
        "_write_generation",
        "client_random",
        "decode",
        "events",
        "tracing",
        "version",
    )

    def __init__(
        self,
        records: RecordLayer,
        inbound: Inbound,
        life: Lifecycle,
        keylog: Callable[[str], object] | None,
        *,
        server: bool,
    ) -> None:
        self._records = records
        self._inbound = inbound
        self._life = life
        self._keylog = keylog
        self._role, self._peer_role = ("SERVER", "CLIENT") if server else ("CLIENT", "SERVER")
        self.events = inbound.events
        self.tracing = inbound.tracing
        self.client_random = b""  # keys the key log lines
        self._read_generation = 0  # KeyUpdates so far, for the key log's *_TRAFFIC_SECRET_N labels
        self._write_generation = 0
        self._ccs_sent = False
        self.version: ProtocolVersion | None = None  # once negotiated
        self.decode: Callable[[bytes], HandshakeMessage] = decode_handshake  # (the negotiated forms)

    def negotiated(self, version: ProtocolVersion) -> None:
        """The version is chosen: from now on handshake messages are read in its forms, and in TLS 1.2
        ChangeCipherSpec is a message and every record type is protected once keys are in force."""
        self.version = version
        if version == ProtocolVersion.TLS1_2:
            self._records.use_tls12()
            self._inbound.use_tls12()
            self.decode = functools.partial(decode_handshake12, key_exchange=KeyExchange.ECDHE)

    # --- handshake messages -------------------------------------------------------------------------

    def send(self, message: HandshakeMessage, raw: bytes | None = None) -> bytes:
        """Queue a handshake message under the current write key; returns its encoding (``raw``: that
        encoding, when the caller made it already)."""
        if raw is None:
            raw = encode_handshake(message)
        self.send_raw(message, raw)
        return raw

    def send_raw(self, message: HandshakeMessage, raw: bytes) -> None:
        """Queue handshake bytes as they are (a seam for tests that send malformed messages)."""
        self._records.queue_handshake(raw)
        if self.tracing:
            self.events.append(MessageSent(message, raw))

    def send_compatibility_ccs(self) -> None:
        """Middlebox compatibility mode (RFC 8446 §D.4): one change_cipher_spec, the first time only."""
        if self._ccs_sent:
            return
        self._ccs_sent = True
        self.flush()
        self._records.send_change_cipher_spec()
        if self.tracing:
            self.events.append(RecordSent(ContentType.CHANGE_CIPHER_SPEC, 1, False))

    def compatibility_ccs_sent(self) -> None:
        """A server continuing after its stateless HelloRetryRequest: that flight carried the CCS."""
        self._ccs_sent = True

    def flush(self) -> None:
        """Frame the queued handshake messages under the current write key."""
        n = self._records.flush_handshake()
        if n and self.tracing:
            protected = self._records.sealer is not None
            self.events.append(RecordSent(ContentType.HANDSHAKE, n, protected, ContentType.HANDSHAKE))

    # --- keys ---------------------------------------------------------------------------------------

    def send_change_cipher_spec(self) -> None:
        """TLS 1.2: ChangeCipherSpec, after which our records are protected (``set_write_protection``)."""
        self.flush()
        self._records.send_change_cipher_spec()
        if self.tracing:
            self.events.append(MessageSent(CHANGE_CIPHER_SPEC, b"\x01"))
            self.events.append(RecordSent(ContentType.CHANGE_CIPHER_SPEC, 1, False))

    def set_read_protection(self, opener: Opener) -> None:
        """TLS 1.2: the peer's ChangeCipherSpec arrived; its records are opened with ``opener``."""
        self._records.set_read_protection(opener)

    def set_write_protection(self, sealer: Sealer) -> None:
        """TLS 1.2: our ChangeCipherSpec is queued; our records are sealed with ``sealer`` from now on."""
        self.flush()
        self._records.set_write_protection(sealer)

    def set_read_key(self, suite: Tls13Suite, secret: bytes, label: str | None) -> None:
        self._records.set_read_key(suite, secret)
        if label:
            self.keylog(label, secret)

    def set_write_key(self, suite: Tls13Suite, secret: bytes, label: str | None) -> None:
        self.flush()
        self._records.set_write_key(suite, secret)
        if label:
            self.keylog(label, secret)

    def drop_write_key(self) -> None:
        """Back to plaintext records (a client whose 0-RTT was cut short by a HelloRetryRequest)."""
        self.flush()
        self._records.drop_write_key()

    def traffic_secret(self, *, write: bool) -> bytes:
        """The current TLS 1.3 application traffic secret we write (or read) with: the base key of a
        post-handshake Finished (RFC 8446 §4.4)."""
        read, written = self._records.traffic_secrets
        return written if write else read

    @property
    def can_send(self) -> bool:
        """Whether we may still send (we have not closed, nothing failed)."""
        return self._life.ours is ConnectionState.OPEN

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
        """The peer agreed to our record_size_limit: enforce it on what we read from now on."""
        self._records.set_own_record_size_limit(limit)

    def set_peer_record_size_limit(self, limit: int) -> None:
        self._records.set_peer_record_size_limit(limit)

    def set_client_random(self, client_random: bytes) -> None:
        """Keys the key log lines of this connection."""
        self.client_random = client_random

    def keylog(self, label: str, secret: bytes) -> None:
        if self._keylog is not None:
            self._keylog(format_line(label, self.client_random, secret))
        if self.tracing:
            self.events.append(SecretDerived(label))

    # --- events and decisions -----------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def decide(self, topic: str, text: str) -> None:
        """A trace line saying why; callers build costly text only when ``tracing`` is true."""
        if self.tracing:
            self.events.append(DecisionMade(topic, text))

    # --- what the handshake tells the rest of the connection ------------------------------------------

    def peer_finished(self) -> None:
        """The peer's Finished was verified: change_cipher_spec is no longer tolerated."""
        self._inbound.peer_finished()

    def handshake_finished(self) -> None:
        """The handshake is complete: application data may flow."""
        self._life.complete_handshake()

    def accept_early_data(self, limit: int) -> None:
        """Server: application data may now arrive (as EarlyDataReceived), up to ``limit`` bytes."""
        self._inbound.accept_early_data(limit)

    def end_early_data(self) -> None:
        """Server: EndOfEarlyData arrived; application data before Finished is an error again."""
        self._inbound.end_early_data()

    def skip_early_data(self, limit: int) -> None:
        """Server: 0-RTT was refused; skip up to ``limit`` bytes of records we cannot decrypt."""
        self._inbound.skip_early_data(limit)

    # --- application data, KeyUpdate, alerts ----------------------------------------------------------

    def seal_application_data(self, data: bytes | bytearray | memoryview) -> None:
        """Application data under the current write key (the early key for a client's 0-RTT)."""
        self._records.seal_application_data(data)
        if self.tracing:
            self.events.append(
                RecordSent(ContentType.APPLICATION_DATA, len(data), True, ContentType.APPLICATION_DATA)
            )

    def send_key_update(self, request_peer: bool) -> None:
        """KeyUpdate (RFC 8446 §4.6.3), then the next write key."""
        request = KeyUpdateRequest.UPDATE_REQUESTED if request_peer else KeyUpdateRequest.UPDATE_NOT_REQUESTED
        self.send(KeyUpdate(request))
        self.update_write_key()
        if request_peer:  # its answer will not count towards its KeyUpdate flood
            self._inbound.expect_key_update_answer()
        if self.tracing:
            self.decide(
                "key_update", "sent KeyUpdate" + (" and asked the peer to update too" if request_peer else "")
            )

    def answer_key_update(self) -> None:
        """Send KeyUpdate(update_not_requested) and move to the next write key, unless we closed."""
        if self._life.ours is not ConnectionState.OPEN:
            return
        self.send(KeyUpdate(KeyUpdateRequest.UPDATE_NOT_REQUESTED))
        self.update_write_key()
        self.decide("key_update", "answered the peer's KeyUpdate request with our own")

    def send_alert(self, level: AlertLevel, description: AlertDescription) -> None:
        self.flush()
        protected = self._records.send_alert(level, description)
        if self.tracing:
            self.events.append(RecordSent(ContentType.ALERT, 2, protected, ContentType.ALERT))


__all__ = ["Output"]
