"""Both directions of one connection's record layer: framing, traffic keys, protection, size limits.

``RecordLayer`` knows nothing of handshake states; the connection decides what records mean and when
keys change. It turns incoming bytes into records (opened when a read key is set) and queued handshake
messages, application data, alerts and change_cipher_spec into outgoing bytes (sealed when a write key
is set). Handshake messages wait in a buffer until the write key changes or the output is taken, so a
whole flight under one key goes out in as few records as possible.

Outgoing bytes are kept as a list of finished records and joined when taken: a single record (the
common case for application data) is handed out as it is, without another copy.
"""

from __future__ import annotations

from tlslens.crypto.key_schedule import next_traffic_secret, traffic_key_iv
from tlslens.crypto.suites import Tls13Suite
from tlslens.record.deframer import MAX_INNER_PLAINTEXT, MAX_PLAINTEXT, Deframer, Record, encode_plaintext
from tlslens.record.protection import RecordOpener, RecordSealer
from tlslens.record.protection12 import Opener, Sealer
from tlslens.record.reassembly import HandshakeReassembler
from tlslens.wire.enums import AlertDescription, AlertLevel, ContentType

_HANDSHAKE = ContentType.HANDSHAKE.value
_APPLICATION_DATA = ContentType.APPLICATION_DATA.value
_ALERT = ContentType.ALERT.value
_CCS_RECORD = b"\x14\x03\x03\x00\x01\x01"


class RecordLayer:
    __slots__ = (
        "_out",
        "_own_limit",
        "_peer_limit",
        "_read_secret",
        "_read_suite",
        "_tls12",
        "_write_secret",
        "_write_suite",
        "deframer",
        "opener",
        "pending_handshake",
        "plaintext_version",
        "reassembler",
        "sealer",
    )

    def __init__(self) -> None:
        self.deframer = Deframer()
        self.reassembler = HandshakeReassembler()
        self.opener: Opener | None = None  # RecordOpener (TLS 1.3) or Tls12RecordOpener
        self.sealer: Sealer | None = None
        self.plaintext_version = 0x0303  # legacy_record_version of unprotected records
        self._out: list[bytes] = []  # finished records, in order
        self.pending_handshake = bytearray()  # handshake bytes waiting for the current write key (read-only)
        self._read_suite: Tls13Suite | None = None
        self._read_secret = b""
        self._write_suite: Tls13Suite | None = None
        self._write_secret = b""
        self._peer_limit = MAX_INNER_PLAINTEXT  # RFC 8449 record_size_limit the peer announced
        self._own_limit: int | None = None  # ours, once the peer agreed to it
        self._tls12 = False  # record_size_limit counts the plaintext without TLS 1.3's content type

    # --- keys ---------------------------------------------------------------------------------------

    def set_read_key(self, suite: Tls13Suite, secret: bytes) -> None:
        """RFC 8446 §5.1: keys change only on a handshake message boundary (UnexpectedMessage else)."""
        self.reassembler.check_aligned("a key change")
        key, iv = traffic_key_iv(suite, secret)
        limit = MAX_INNER_PLAINTEXT if self._own_limit is None else self._own_limit
        self.opener = RecordOpener(suite, key, iv, max_plaintext=limit)
        self._read_suite, self._read_secret = suite, secret

    def set_write_key(self, suite: Tls13Suite, secret: bytes) -> None:
        self.flush_handshake()
        key, iv = traffic_key_iv(suite, secret)
        self.sealer = RecordSealer(suite, key, iv, max_plaintext=self._peer_limit)
        self._write_suite, self._write_secret = suite, secret

    # TLS 1.2: the key block gives the protection objects directly; ChangeCipherSpec says when.

    def use_tls12(self) -> None:
        self._tls12 = True

    def set_read_protection(self, opener: Opener) -> None:
        """TLS 1.2: the peer's ChangeCipherSpec arrived; later records are opened with ``opener``."""
        self.reassembler.check_aligned("a key change")
        if self._own_limit is not None:
            opener.max_plaintext = self._own_limit
        self.opener = opener

    def set_write_protection(self, sealer: Sealer) -> None:
        """TLS 1.2: after our ChangeCipherSpec, records are sealed with ``sealer``."""
        self.flush_handshake()
        sealer.max_plaintext = self._peer_limit
        self.sealer = sealer

    def drop_write_key(self) -> None:
        self.flush_handshake()
        self.sealer, self._write_suite, self._write_secret = None, None, b""

    @property
    def traffic_secrets(self) -> tuple[bytes, bytes]:
        """The TLS 1.3 read and write secrets in force (a post-handshake Finished is keyed from the
        sender's current application traffic secret, RFC 8446 §4.4)."""
        return self._read_secret, self._write_secret

    def next_read_secret(self) -> tuple[Tls13Suite, bytes]:
        """The suite and the read secret after a KeyUpdate (RFC 8446 §7.2)."""
        assert self._read_suite is not None
        return self._read_suite, next_traffic_secret(self._read_suite, self._read_secret)

    def next_write_secret(self) -> tuple[Tls13Suite, bytes]:
        assert self._write_suite is not None
        return self._write_suite, next_traffic_secret(self._write_suite, self._write_secret)

    @property
    def write_needs_key_update(self) -> bool:
        """The write key is close to its AEAD usage limit (RFC 8446 §5.5): time for a KeyUpdate."""
        sealer = self.sealer
        return sealer is not None and sealer.needs_key_update

    def set_own_record_size_limit(self, limit: int) -> None:
        self._own_limit = limit
        if self.opener is not None:
            self.opener.max_plaintext = limit

    def set_peer_record_size_limit(self, limit: int) -> None:
        self._peer_limit = min(limit, MAX_INNER_PLAINTEXT)
        if self.sealer is not None:
            self.sealer.max_plaintext = self._peer_limit

    # --- sending ------------------------------------------------------------------------------------

    def queue_handshake(self, raw: bytes) -> None:
        self.pending_handshake += raw

    def flush_handshake(self) -> int:
        """Frame the queued handshake bytes under the current write key; returns how many there were."""
        pending = self.pending_handshake
        n = len(pending)
        if not n:
            return 0
        if self.sealer is not None:
            record = self.sealer.seal(_HANDSHAKE, pending)
        else:
            record = encode_plaintext(_HANDSHAKE, pending, legacy_version=self.plaintext_version)
            self.plaintext_version = 0x0303  # 0x0301 is for the initial ClientHello only
        self._out.append(record)
        pending.clear()
        return n

    def discard_handshake(self) -> None:
        self.pending_handshake.clear()

    def seal_application_data(self, data: bytes | bytearray | memoryview) -> None:
        sealer = self.sealer
        assert sealer is not None
        limit = self._peer_limit if self._tls12 else self._peer_limit - 1  # (1.3: the content type byte)
        if limit >= MAX_PLAINTEXT:
            self._out.append(sealer.seal(_APPLICATION_DATA, data))
        else:
            self._out.append(sealer.seal(_APPLICATION_DATA, data, max_fragment=limit))

    def send_change_cipher_spec(self) -> None:
        self.flush_handshake()
        self._out.append(_CCS_RECORD)

    def send_alert(self, level: AlertLevel, description: AlertDescription) -> bool:
        """Returns whether the alert went out protected."""
        self.flush_handshake()
        body = bytes((level, description))
        if self.sealer is not None:
            self._out.append(self.sealer.seal(_ALERT, body))
            return True
        self._out.append(encode_plaintext(_ALERT, body))
        return False

    def take_output(self) -> bytes:
        """Everything framed so far (queued handshake bytes stay queued: flush them first)."""
        out = b"".join(self._out)  # one record: that very object, no copy
        self._out.clear()
        return out


__all__ = ["Record", "RecordLayer"]
