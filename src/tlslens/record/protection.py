"""Record protection (RFC 8446 §5.2-§5.5): one sealer / opener per traffic key.

Each object holds one AEAD object for its key (never one per record), the IV as an int, and the 64-bit
sequence number. Per record the work is: nonce = (iv ^ seq).to_bytes(12), a 5-byte header packed once
that doubles as the additional data, TLSInnerPlaintext built with one concatenation, and one AEAD call.
``seal`` returns the records as one ``bytes`` (a single record is header + ciphertext, one concatenation);
``seal_into`` appends them to the caller's bytearray instead. With
``cryptography`` 48 the allocating ``encrypt``/``decrypt`` calls measured faster than ``encrypt_into`` /
``decrypt_into`` through memoryviews at both 1 KiB and 16 KiB, so those are used.

Usage limits (RFC 8446 §5.5): a sealer refuses to protect more records than the suite's confidentiality
limit allows (or than the sequence number space holds) with ``LocalProtocolError``, and reports
``needs_key_update`` once 7/8 of the limit is used, so the engine can send a KeyUpdate in time. An opener
reports the same for the peer's key (the engine may answer with KeyUpdate(update_requested)).
"""

from __future__ import annotations

from struct import Struct
from typing import NoReturn

from cryptography.exceptions import InvalidTag

from tlslens.crypto.suites import Aead, Tls13Suite
from tlslens.errors import BadRecordMac, LocalProtocolError, RecordOverflow, UnexpectedMessage
from tlslens.record.deframer import (
    ALERT,
    APPLICATION_DATA,
    HANDSHAKE,
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    MAX_PLAINTEXT,
    Record,
)

BytesLike = bytes | bytearray | memoryview

#: The sequence number is a uint64 (RFC 8446 §5.3): at most 2^64 records per key, numbered 0..2^64-1.
SEQ_SPACE = 2**64
#: A sensible bound for the connection: consecutive records with no content before it gives up.
MAX_CONSECUTIVE_EMPTY_RECORDS = 32

_pack_header = Struct(">BHH").pack
_APP_DATA_HEADER = Struct(">3sH")  # b"\x17\x03\x03" + length
_pack_app_header = _APP_DATA_HEADER.pack
_OUTER_PREFIX = b"\x17\x03\x03"
# The inner content types TLS 1.3 protects (RFC 8446 §5: never change_cipher_spec).
_TYPE_BYTES = {t: bytes((t,)) for t in (ALERT, HANDSHAKE, APPLICATION_DATA)}


def _make_aead(suite: Tls13Suite, key: bytes, iv: bytes) -> Aead:
    if len(key) != suite.key_len:
        raise LocalProtocolError(f"{suite.name} needs a {suite.key_len}-byte key, got {len(key)}")
    if len(iv) != suite.iv_len:
        raise LocalProtocolError(f"{suite.name} needs a {suite.iv_len}-byte IV, got {len(iv)}")
    return suite.aead(bytes(key))


def _check_seq(seq: int) -> int:
    if not 0 <= seq <= SEQ_SPACE:
        raise LocalProtocolError(f"sequence number {seq} outside 0..2^64")
    return seq


def _clamp_inner_limit(max_plaintext: int) -> int:
    # RFC 8449 §4: the limit counts TLSInnerPlaintext (content, type, padding); a peer may advertise more than
    # the protocol allows (a server MUST NOT reject that), so clamp to RFC 8446's 2^14 + 1.
    if max_plaintext < 2:
        raise LocalProtocolError(f"record size limit {max_plaintext} leaves no room for content")
    return min(max_plaintext, MAX_INNER_PLAINTEXT)


class _Protection:
    __slots__ = ("_aead", "_iv", "_iv_len", "_limit", "_seq", "_tag_len", "_update_at", "suite")

    def __init__(self, suite: Tls13Suite, key: bytes, iv: bytes, seq: int) -> None:
        self.suite = suite
        self._aead = _make_aead(suite, key, iv)
        self._iv = int.from_bytes(iv, "big")
        self._iv_len = suite.iv_len
        self._tag_len = suite.tag_len
        self._seq = _check_seq(seq)
        self._limit = min(suite.confidentiality_limit, SEQ_SPACE)  # records this key may protect
        self._update_at = self._limit - self._limit // 8  # needs_key_update from 7/8 of the limit on

    def __repr__(self) -> str:  # never the key or IV
        return f"{type(self).__name__}({self.suite.name}, seq={self._seq})"

    @property
    def seq(self) -> int:
        """Sequence number of the next record."""
        return self._seq

    @property
    def record_limit(self) -> int:
        """Records this key may protect in total (the suite's confidentiality limit, at most 2^64)."""
        return self._limit

    @property
    def needs_key_update(self) -> bool:
        """True once 7/8 of the usage limit is spent: time to switch keys with a KeyUpdate."""
        return self._seq >= self._update_at


class RecordSealer(_Protection):
    """Protects outgoing records with one traffic key (RFC 8446 §5.2).

    ``max_plaintext`` is the peer's record_size_limit (RFC 8449; TLSInnerPlaintext bytes: content, type and
    padding), clamped to 2^14 + 1. ``seq`` is the sequence number of the first record; leave it at 0 except to
    resume a recorded stream or, in tests, to start near a limit.
    """

    __slots__ = ("_encrypt", "_max_plaintext", "_room")

    def __init__(
        self,
        suite: Tls13Suite,
        key: bytes,
        iv: bytes,
        *,
        seq: int = 0,
        max_plaintext: int = MAX_INNER_PLAINTEXT,
    ) -> None:
        super().__init__(suite, key, iv, seq)
        self._encrypt = self._aead.encrypt
        self.max_plaintext = max_plaintext

    @property
    def max_plaintext(self) -> int:
        return self._max_plaintext

    @max_plaintext.setter
    def max_plaintext(self, value: int) -> None:
        self._max_plaintext = _clamp_inner_limit(value)
        self._room = min(MAX_PLAINTEXT, self._max_plaintext - 1)  # content bytes per record, no padding

    def seal(
        self, content_type: int, data: BytesLike, *, max_fragment: int = MAX_PLAINTEXT, padding: int = 0
    ) -> bytes:
        """Protect ``data`` as one or more complete records (concatenated); see ``seal_into``."""
        if padding == 0 and max_fragment == MAX_PLAINTEXT and 0 < len(data) <= self._room:
            # Fast path, one record: header || AEAD(content || type), the header doubling as the AAD.
            seq = self._seq
            if seq >= self._limit or content_type not in _TYPE_BYTES:
                self._refuse(content_type, 1)
            header = _pack_app_header(_OUTER_PREFIX, len(data) + 1 + self._tag_len)
            inner = (
                data + _TYPE_BYTES[content_type]
                if type(data) is bytes
                else b"".join((data, _TYPE_BYTES[content_type]))
            )
            sealed = header + self._encrypt((self._iv ^ seq).to_bytes(self._iv_len, "big"), inner, header)
            self._seq = seq + 1
            return sealed
        return b"".join(self._seal_records(content_type, data, max_fragment, padding))

    def seal_into(
        self,
        out: bytearray,
        content_type: int,
        data: BytesLike,
        *,
        max_fragment: int = MAX_PLAINTEXT,
        padding: int = 0,
    ) -> int:
        """Append the protected records carrying ``data`` to ``out``; return how many bytes were appended.

        Each record carries at most ``max_fragment`` content bytes (fewer when the peer's record size limit
        requires) followed by the content type and ``padding`` zero bytes (TLSInnerPlaintext, RFC 8446
        §5.4). Empty ``data`` gives one record without content, allowed for application_data only. Nothing is
        written if the call would pass the key's usage limit.
        """
        start = len(out)
        for part in self._seal_records(content_type, data, max_fragment, padding):
            out += part
        return len(out) - start

    def _seal_records(
        self, content_type: int, data: BytesLike, max_fragment: int, padding: int
    ) -> list[bytes]:
        """The records for ``data``, as alternating headers and ciphertexts (see ``seal_into``)."""
        if padding == 0 and max_fragment == MAX_PLAINTEXT:
            room = self._room
        else:
            room = self._room_for(max_fragment, padding)
        n = len(data)
        count = -(-n // room) if n else 1
        seq = self._seq
        if (
            seq + count > self._limit
            or content_type not in _TYPE_BYTES
            or (n == 0 and content_type != APPLICATION_DATA)
        ):
            self._refuse(content_type, count, n)
        tail = _TYPE_BYTES[content_type] + bytes(padding) if padding else _TYPE_BYTES[content_type]
        extra = len(tail) + self._tag_len
        iv = self._iv
        iv_len = self._iv_len
        encrypt = self._encrypt
        parts: list[bytes] = []
        if count == 1:
            header = _pack_app_header(_OUTER_PREFIX, n + extra)
            inner = data + tail if type(data) is bytes else b"".join((data, tail))
            parts += (header, encrypt((iv ^ seq).to_bytes(iv_len, "big"), inner, header))
        else:
            with memoryview(data) as src:
                for i in range(count):
                    chunk = src[i * room : (i + 1) * room]
                    header = _pack_app_header(_OUTER_PREFIX, len(chunk) + extra)
                    nonce = (iv ^ (seq + i)).to_bytes(iv_len, "big")
                    parts += (header, encrypt(nonce, b"".join((chunk, tail)), header))
        self._seq = seq + count
        return parts

    def _refuse(self, content_type: int, count: int, n: int = 1) -> NoReturn:
        if content_type not in _TYPE_BYTES:
            raise LocalProtocolError(
                f"content type {content_type} cannot be protected (alert, handshake or application_data only)"
            )
        if n == 0:
            raise LocalProtocolError(f"zero-length fragments of content type {content_type} are forbidden")
        raise LocalProtocolError(
            f"{self.suite.name} key has protected {self._seq} of its {self._limit} records;"
            f" {count} more would pass the limit: update the key first"
        )

    def _room_for(self, max_fragment: int, padding: int) -> int:
        if not 1 <= max_fragment <= MAX_PLAINTEXT:
            raise LocalProtocolError(f"max_fragment must be within 1..{MAX_PLAINTEXT}, not {max_fragment}")
        if padding < 0:
            raise LocalProtocolError("padding cannot be negative")
        room = min(max_fragment, self._max_plaintext - 1 - padding)
        if room < 1:
            raise LocalProtocolError(
                f"{padding} bytes of padding leave no room for content under a {self._max_plaintext}-byte"
                " limit"
            )
        return room


class RecordOpener(_Protection):
    """Removes protection from incoming records with one traffic key (RFC 8446 §5.2, §5.4).

    ``max_plaintext`` is the record_size_limit we advertised (RFC 8449: TLSInnerPlaintext bytes, i.e.
    content, content type and padding), clamped to 2^14 + 1; a larger record raises ``RecordOverflow``.
    ``seq`` is the sequence number of the next record (0 except when replaying a recorded stream, or in
    tests).

    ``consecutive_empty`` counts records in a row that carried no content (zero-length application data,
    possibly padded); the connection compares it with its own bound (``MAX_CONSECUTIVE_EMPTY_RECORDS``).
    """

    __slots__ = ("_decrypt", "_max_ciphertext", "_max_plaintext", "consecutive_empty")

    def __init__(
        self,
        suite: Tls13Suite,
        key: bytes,
        iv: bytes,
        *,
        seq: int = 0,
        max_plaintext: int = MAX_INNER_PLAINTEXT,
    ) -> None:
        super().__init__(suite, key, iv, seq)
        self._decrypt = self._aead.decrypt
        self.max_plaintext = max_plaintext
        self.consecutive_empty = 0

    @property
    def max_plaintext(self) -> int:
        return self._max_plaintext

    @max_plaintext.setter
    def max_plaintext(self, value: int) -> None:
        self._max_plaintext = _clamp_inner_limit(value)
        self._max_ciphertext = min(self._max_plaintext + self._tag_len, MAX_CIPHERTEXT)

    def open(self, record: Record) -> tuple[int, bytes]:
        """Decrypt a protected record; return (inner content type, content) with the padding removed.

        Raises ``UnexpectedMessage`` for an outer type other than application_data, an all-zero inner
        plaintext, or an inner type other than handshake, alert or application_data; ``RecordOverflow`` for
        a record over the limits; ``BadRecordMac`` when authentication fails.
        """
        ctype, version, fragment = record
        n = len(fragment)
        if ctype != APPLICATION_DATA:
            raise UnexpectedMessage(f"protected record with outer content type {ctype}")
        if n > self._max_ciphertext:
            if n > MAX_CIPHERTEXT:
                raise RecordOverflow(f"protected record of {n} bytes (limit {MAX_CIPHERTEXT})")
            raise RecordOverflow(
                f"protected record holds {n - self._tag_len} bytes of plaintext (limit {self._max_plaintext})"
            )
        seq = self._seq
        if seq >= SEQ_SPACE:
            raise UnexpectedMessage("peer sent more than 2^64 records under one key without a KeyUpdate")
        try:
            inner = self._decrypt(
                (self._iv ^ seq).to_bytes(self._iv_len, "big"), fragment, _pack_header(ctype, version, n)
            )
        except InvalidTag:
            raise BadRecordMac(f"record {seq} failed authentication") from None
        self._seq = seq + 1
        if inner and inner[-1]:  # common case: no padding
            ctype = inner[-1]
            content = inner[:-1]
        else:
            content = inner.rstrip(b"\x00")
            if not content:
                raise UnexpectedMessage("protected record has no content type (all-zero inner plaintext)")
            ctype = content[-1]
            content = content[:-1]
        if ctype != APPLICATION_DATA and ctype != HANDSHAKE and ctype != ALERT:
            raise UnexpectedMessage(f"protected record with inner content type {ctype}")
        if content:
            self.consecutive_empty = 0
        else:
            self.consecutive_empty += 1
        return ctype, content
