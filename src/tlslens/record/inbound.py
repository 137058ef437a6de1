"""The inbound path: bytes from the peer → records → what each record means.

One path for every connection, traced or not: tracing only appends events as it goes. ``Inbound.feed``
deframes, opens protected records, and routes each by content type:

- application data → ``DataReceived`` (or ``EarlyDataReceived`` within an accepted 0-RTT budget);
- handshake content → yielded to the caller, which drives the state machine (so keys may change between
  two records of one ``feed``: the opener is read again for every record);
- alerts → ``ConnectionClosed`` / ``AlertReceived`` events, or ``FatalAlert``;
- change_cipher_spec → dropped while RFC 8446 §5 tolerates it, refused after the peer's Finished; in
  TLS 1.2 (``use_tls12``) it is a real message, yielded like handshake content (``CHANGE_CIPHER_SPEC``),
  and once the peer's keys are in force every record type is protected.

It also enforces the flood limits a peer could abuse (empty records, CCS, warning alerts, KeyUpdates
without data; the answers to our own KeyUpdate requests do not count) and
the server's 0-RTT record policy (RFC 8446 §4.2.10): accepted early data is taken up to the ticket's
``max_early_data_size``; refused early data (records that do not decrypt under the handshake key, or
that arrive before a second ClientHello) is skipped up to a bound, and the first record that does
decrypt, or a second ClientHello, ends the skipping. Every budget is bounded, so a peer cannot make us
skip or buffer without end.
"""

from __future__ import annotations

from collections.abc import Iterator

from tlslens.errors import BadRecordMac, DecodeError, FatalAlert, UnexpectedMessage
from tlslens.events import (
    AlertReceived,
    ConnectionClosed,
    DataReceived,
    EarlyDataReceived,
    Event,
    RecordReceived,
)
from tlslens.lifecycle import ConnectionState, Lifecycle
from tlslens.record.deframer import Record
from tlslens.record.layer import RecordLayer
from tlslens.record.protection import MAX_CONSECUTIVE_EMPTY_RECORDS
from tlslens.record.protection12 import Opener
from tlslens.wire.enums import AlertDescription, AlertLevel, ContentType
from tlslens.wire.messages12 import ChangeCipherSpec

_HANDSHAKE = ContentType.HANDSHAKE.value
_APPLICATION_DATA = ContentType.APPLICATION_DATA.value
_CCS = ContentType.CHANGE_CIPHER_SPEC.value
_ALERT = ContentType.ALERT.value
_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED

MAX_KEY_UPDATES_WITHOUT_DATA = 32
"""KeyUpdates (TLS 1.2: HelloRequests, renegotiation attempts) in a row without application data before
we call it a flood."""
MAX_WARNING_ALERTS = 32
"""Warning alerts that close nothing (user_canceled) a connection takes; more is a flood."""

CHANGE_CIPHER_SPEC = ChangeCipherSpec()
"""What ``feed`` yields for a TLS 1.2 ChangeCipherSpec."""


class Inbound:
    __slots__ = (
        "_accept_early",
        "_ccs_count",
        "_ccs_tolerated",
        "_key_update_answers",
        "_key_updates",
        "_life",
        "_records",
        "_skip_early",
        "_tls12",
        "_warnings",
        "events",
        "tracing",
    )

    def __init__(self, records: RecordLayer, life: Lifecycle, events: list[Event], *, trace: bool) -> None:
        self._records = records
        self._life = life
        self.events = events  # shared with the connection's Output; the connection swaps both
        self.tracing = trace
        self._ccs_tolerated = True  # until the peer's Finished (RFC 8446 §5)
        self._ccs_count = 0
        self._key_updates = 0
        self._key_update_answers = 0  # KeyUpdates we asked the peer for and it has not sent yet
        self._warnings = 0  # user_canceled alerts so far
        self._accept_early = 0  # 0-RTT bytes we still take
        self._skip_early = 0  # bytes of refused 0-RTT records we may still skip
        self._tls12 = False

    # --- what the handshake tells the inbound path ------------------------------------------------

    def peer_finished(self) -> None:
        """The peer's Finished was verified: change_cipher_spec is no longer tolerated."""
        self._ccs_tolerated = False

    def accept_early_data(self, limit: int) -> None:
        self._accept_early = limit

    def end_early_data(self) -> None:
        """EndOfEarlyData: application data before Finished is an error again."""
        self._accept_early = 0

    def skip_early_data(self, limit: int) -> None:
        self._skip_early = limit

    def use_tls12(self) -> None:
        """TLS 1.2 was negotiated: ChangeCipherSpec is a message, and every record type gets protected."""
        self._tls12 = True

    def expect_key_update_answer(self) -> None:
        """We sent KeyUpdate(update_requested): the peer's answer is ours, not its flood."""
        self._key_update_answers += 1

    def count_key_update(self) -> None:
        if self._key_update_answers:  # (a peer that coalesces answers leaves credit unused: harmless)
            self._key_update_answers -= 1
            return
        self._key_updates += 1
        if self._key_updates > MAX_KEY_UPDATES_WITHOUT_DATA:
            raise UnexpectedMessage(f"more than {MAX_KEY_UPDATES_WITHOUT_DATA} KeyUpdates without data")

    # --- the path -----------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> Iterator[bytes | ChangeCipherSpec]:
        """Process ``data``; yield the content of each handshake record for the state machine (and in
        TLS 1.2 ``CHANGE_CIPHER_SPEC``)."""
        records = self._records
        reassembler = records.reassembler
        life = self._life
        events = self.events
        tracing = self.tracing
        app_data, open_ = _APPLICATION_DATA, _OPEN  # (locals: this loop is the bulk path)
        # Their direction is OPEN (the handshake is over) until a handshake message or an alert says
        # otherwise: read again after each of those.
        established = life.theirs is open_
        for record in records.deframer.feed(data):
            opener = records.opener  # read again each time: a handshake message may have changed it
            if record.content_type == app_data and opener is not None:
                if established:
                    inner_type, content = opener.open(record)
                    if tracing:
                        self._trace_protected(record, inner_type)
                    if inner_type == app_data and content and reassembler.is_aligned:
                        self._key_updates = 0
                        events.append(DataReceived(content))
                        continue
                else:
                    if self._skip_early:  # (only before the handshake completes)
                        try:
                            inner_type, content = opener.open(record)
                        except BadRecordMac:
                            self._skip_refused_early_data(record)
                            continue
                        self._skip_early = 0  # the first record that opens ends the refused 0-RTT
                    else:
                        inner_type, content = opener.open(record)
                    if tracing:
                        self._trace_protected(record, inner_type)
                if opener.consecutive_empty > MAX_CONSECUTIVE_EMPTY_RECORDS:
                    raise UnexpectedMessage(
                        f"more than {MAX_CONSECUTIVE_EMPTY_RECORDS} empty records in a row"
                    )
                if inner_type == app_data:
                    self._application_data(content)
                elif not content:  # RFC 8446 §5.4: a protected handshake or alert record with no content
                    raise UnexpectedMessage(f"zero-length {ContentType(inner_type).name.lower()} record")
                elif inner_type == _HANDSHAKE:
                    yield content
                else:
                    self._alert(content)
            else:
                fragment = self._unprotected(record)
                if fragment is not None:
                    yield fragment
            if life.theirs is not open_:
                if life.theirs is _CLOSED:  # RFC 8446 §6.1: nothing after close_notify is read
                    return
                established = False
            else:
                established = True

    def _trace_protected(self, record: Record, inner_type: int) -> None:
        self.events.append(
            RecordReceived(
                ContentType(record.content_type), len(record.fragment), True, ContentType(inner_type)
            )
        )

    def eof(self) -> None:
        """The transport reached EOF: the peer's direction is closed, cleanly only after close_notify."""
        if self._life.theirs is _CLOSED:
            return
        self._life.close_theirs()
        self.events.append(ConnectionClosed(clean=False))

    def _unprotected(self, record: Record) -> bytes | ChangeCipherSpec | None:
        """A record with no protection (or no read key yet); returns handshake content to deliver."""
        ctype = record.content_type
        opener = self._records.opener
        if self._tls12 and opener is not None:
            return self._protected12(record, opener)
        if self.tracing:
            self.events.append(RecordReceived(ContentType(ctype), len(record.fragment), False))
        if ctype == _CCS and self._tls12:
            ChangeCipherSpec.decode(record.fragment)  # (DecodeError unless the one byte 01)
            return CHANGE_CIPHER_SPEC
        if ctype == _CCS:
            # RFC 8446 §5: one byte 0x01 between the first ClientHello and the peer's Finished is dropped.
            # (A server also takes one before its first ClientHello: after a stateless HelloRetryRequest
            # a fresh connection meets the client's compatibility-mode CCS first.)
            if record.fragment != b"\x01" or not self._ccs_tolerated:
                raise UnexpectedMessage("change_cipher_spec outside the handshake")
            self._ccs_count += 1
            if self._ccs_count > MAX_CONSECUTIVE_EMPTY_RECORDS:  # more is a flood
                raise UnexpectedMessage("too many change_cipher_spec records")
            return None
        if ctype == _HANDSHAKE and self._records.opener is None:
            return record.fragment
        if ctype == _ALERT and not self._life.handshake_done:
            # A peer that failed before it had keys (or before it could use ours) alerts in plaintext.
            self._alert(record.fragment)
            return None
        if ctype == _APPLICATION_DATA:
            if self._skip_early:  # 0-RTT records sent before our HelloRetryRequest reached the client
                self._skip_refused_early_data(record)
                return None
            raise UnexpectedMessage("application data before the handshake keys")
        raise UnexpectedMessage(f"unprotected {ContentType(ctype).name.lower()} record after keys were set")

    def _protected12(self, record: Record, opener: Opener) -> bytes | None:
        """TLS 1.2 after the peer's ChangeCipherSpec: a handshake or alert record (application data
        takes the main path). The opener refuses change_cipher_spec and unknown types."""
        ctype, content = opener.open(record)
        if self.tracing:
            self._trace_protected(record, ctype)
        if ctype == _HANDSHAKE:
            return content
        self._alert(content)
        return None

    def _skip_refused_early_data(self, record: Record) -> None:
        self._skip_early -= len(record.fragment)
        if self._skip_early < 0:
            raise UnexpectedMessage("more refused early data than the server allows")
        if self.tracing:
            self.events.append(RecordReceived(ContentType.APPLICATION_DATA, len(record.fragment), True))

    def _application_data(self, content: bytes) -> None:
        """Application data that did not take the direct route: empty, misplaced, or early."""
        if not self._records.reassembler.is_aligned:
            raise UnexpectedMessage("application data in the middle of a handshake message")
        if not self._life.handshake_done:
            # Before the handshake completed: fine within an accepted 0-RTT budget.
            if not self._accept_early:
                raise UnexpectedMessage("application data before the handshake completed")
            self._accept_early -= len(content)
            if self._accept_early < 0:
                raise UnexpectedMessage("more early data than max_early_data_size")
            if content:
                self.events.append(EarlyDataReceived(content))
        # After the handshake only an empty record comes here (data takes the direct route in feed).

    def _alert(self, data: bytes) -> None:
        if not self._records.reassembler.is_aligned:
            raise UnexpectedMessage("alert in the middle of a handshake message")
        if len(data) != 2:
            raise DecodeError(f"alert of {len(data)} bytes")
        level, description = AlertLevel(data[0]), AlertDescription(data[1])
        if description == AlertDescription.CLOSE_NOTIFY:
            self._life.close_theirs()
            self.events.append(ConnectionClosed(clean=True))
            return
        self.events.append(AlertReceived(level, description))
        # user_canceled carries nothing and closes nothing (close_notify should follow); in TLS 1.2 a
        # warning (no_renegotiation, say) does not end the connection either (RFC 5246 §7.2). Both are
        # counted like empty records and CCS, so a peer cannot keep us reading them without end.
        if description == AlertDescription.USER_CANCELED or (self._tls12 and level == AlertLevel.WARNING):
            self._warnings += 1
            if self._warnings > MAX_WARNING_ALERTS:
                raise UnexpectedMessage(f"more than {MAX_WARNING_ALERTS} warning alerts")
            return
        # RFC 8446 §6.2: every other alert is an error alert, whatever its level says.
        raise FatalAlert(description)


__all__ = ["MAX_KEY_UPDATES_WITHOUT_DATA", "MAX_WARNING_ALERTS", "Inbound"]
