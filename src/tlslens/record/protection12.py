"""TLS 1.2 AEAD record protection (RFC 5246 §6.2.3.3, RFC 5288 §3, RFC 7905 §2): one sealer / opener per key.

The same shape as TLS 1.3's ``RecordSealer`` / ``RecordOpener`` (``record.protection``), so a record layer
can hold either (the ``Sealer`` / ``Opener`` protocols below are what both offer). What differs:

- The record keeps its real content type: no TLSInnerPlaintext, no padding, no content type byte.
- AAD = seq_num (uint64) || type || version || length of the *plaintext* (RFC 5246 §6.2.3.3).
- AES-GCM: nonce = the 4-byte salt from the key block || an 8-byte explicit nonce sent in front of the
  ciphertext; we send the sequence number (as OpenSSL does), and use whatever the peer sent.
- ChaCha20-Poly1305: nonce = the 12-byte IV XOR the left-padded sequence number; nothing is sent.
- No KeyUpdate: at the usage limit (the suite's confidentiality limit, at most 2^64 - 1 records since
  sequence numbers must not wrap, RFC 5246 §6.1) the sealer refuses with ``LocalProtocolError``;
  ``needs_key_update`` turns true at 7/8 of it, the moment for the engine to close the connection
  (renegotiation is refused).
- Record size limit (RFC 8449 §4): in TLS 1.2 the limit counts the plaintext, without the +1 of TLS 1.3,
  and at most 2^14.
"""

from __future__ import annotations

from struct import Struct
from typing import TYPE_CHECKING, NoReturn, Protocol

from cryptography.exceptions import InvalidTag

from tlslens.crypto.suites12 import Tls12Suite
from tlslens.errors import BadRecordMac, LocalProtocolError, RecordOverflow, UnexpectedMessage
from tlslens.record.deframer import ALERT, APPLICATION_DATA, HANDSHAKE, MAX_PLAINTEXT, Record

if TYPE_CHECKING:
    from tlslens.crypto.suites import Tls13Suite
    from tlslens.record.protection import RecordOpener, RecordSealer

__all__ = ["Opener", "Sealer", "Tls12RecordOpener", "Tls12RecordSealer"]

BytesLike = bytes | bytearray | memoryview

#: Sequence numbers are uint64 and must not wrap (RFC 5246 §6.1): at most 2^64 - 1 records per key.
SEQ_LIMIT = 2**64 - 1
TLS12_VERSION = 0x0303

_pack_aad = Struct(">QBHH").pack
_pack_header = Struct(">BHH").pack
_pack_seq = Struct(">Q").pack
_PROTECTED_TYPES = frozenset({ALERT, HANDSHAKE, APPLICATION_DATA})


class Sealer(Protocol):
    """What a record layer needs from an outgoing protection object, TLS 1.3 or 1.2."""

    @property
    def suite(self) -> Tls13Suite | Tls12Suite: ...
    @property
    def seq(self) -> int: ...
    @property
    def record_limit(self) -> int: ...
    @property
    def needs_key_update(self) -> bool: ...
    @property
    def max_plaintext(self) -> int: ...
    @max_plaintext.setter
    def max_plaintext(self, value: int) -> None: ...
    def seal(
        self, content_type: int, data: BytesLike, *, max_fragment: int = ..., padding: int = ...
    ) -> bytes: ...
    def seal_into(
        self,
        out: bytearray,
        content_type: int,
        data: BytesLike,
        *,
        max_fragment: int = ...,
        padding: int = ...,
    ) -> int: ...


class Opener(Protocol):
    """What a record layer needs from an incoming protection object, TLS 1.3 or 1.2."""

    consecutive_empty: int

    @property
    def suite(self) -> Tls13Suite | Tls12Suite: ...
    @property
    def seq(self) -> int: ...
    @property
    def needs_key_update(self) -> bool: ...
    @property
    def max_plaintext(self) -> int: ...
    @max_plaintext.setter
    def max_plaintext(self, value: int) -> None: ...
    def open(self, record: Record) -> tuple[int, bytes]: ...


def _clamp_limit(max_plaintext: int) -> int:
    # RFC 8449 §4: TLS 1.2 counts the plaintext; a peer may advertise more than 2^14 (for TLS 1.3's sake),
    # which is not enforced beyond the protocol's own limit.
    if max_plaintext < 1:
        raise LocalProtocolError(f"record size limit {max_plaintext} leaves no room for content")
    return min(max_plaintext, MAX_PLAINTEXT)


class _Protection12:
    __slots__ = (
        "_aead",
        "_explicit",
        "_iv",
        "_limit",
        "_max_plaintext",
        "_salt",
        "_seq",
        "_tag_len",
        "_update_at",
        "suite",
    )

    def __init__(self, suite: Tls12Suite, key: bytes, iv: bytes, seq: int, max_plaintext: int) -> None:
        if len(key) != suite.key_len:
            raise LocalProtocolError(f"{suite.name} needs a {suite.key_len}-byte key, got {len(key)}")
        if len(iv) != suite.fixed_iv_len:
            raise LocalProtocolError(f"{suite.name} needs a {suite.fixed_iv_len}-byte IV, got {len(iv)}")
        if not 0 <= seq <= SEQ_LIMIT:
            raise LocalProtocolError(f"sequence number {seq} outside 0..2^64-1")
        self.suite = suite
        self._aead = suite.aead(bytes(key))
        self._explicit = suite.record_iv_len  # 8 (AES-GCM) or 0 (ChaCha20-Poly1305)
        self._salt = bytes(iv) if self._explicit else b""
        self._iv = 0 if self._explicit else int.from_bytes(iv, "big")
        self._tag_len = suite.tag_len
        self._seq = seq
        self._limit = min(suite.confidentiality_limit, SEQ_LIMIT)
        self._update_at = self._limit - self._limit // 8
        self._max_plaintext = _clamp_limit(max_plaintext)

    def __repr__(self) -> str:  # never the key or IV
        return f"{type(self).__name__}({self.suite.name}, seq={self._seq})"

    def _nonce(self, explicit: bytes, seq: int) -> bytes:
        if self._explicit:
            return self._salt + explicit
        return (self._iv ^ seq).to_bytes(12, "big")

    @property
    def seq(self) -> int:
        """Sequence number of the next record."""
        return self._seq

    @property
    def record_limit(self) -> int:
        """Records this key may protect in total."""
        return self._limit

    @property
    def needs_key_update(self) -> bool:
        """True from 7/8 of the usage limit on. TLS 1.2 has no KeyUpdate: time to close the connection."""
        return self._seq >= self._update_at

    @property
    def max_plaintext(self) -> int:
        """The record size limit in force (RFC 8449, TLS 1.2 meaning: content bytes per record)."""
        return self._max_plaintext

    @max_plaintext.setter
    def max_plaintext(self, value: int) -> None:
        self._max_plaintext = _clamp_limit(value)


class Tls12RecordSealer(_Protection12):
    """Protects outgoing records with one write key. ``max_plaintext`` is the peer's record_size_limit."""

    __slots__ = ()

    def __init__(
        self, suite: Tls12Suite, key: bytes, iv: bytes, *, seq: int = 0, max_plaintext: int = MAX_PLAINTEXT
    ) -> None:
        super().__init__(suite, key, iv, seq, max_plaintext)

    def seal(
        self, content_type: int, data: BytesLike, *, max_fragment: int = MAX_PLAINTEXT, padding: int = 0
    ) -> bytes:
        """Protect ``data`` as one or more complete records (concatenated); see ``seal_into``."""
        n = len(data)
        seq = self._seq
        if (  # one record (the bulk case): one join, no intermediate copies
            0 < n <= max_fragment
            and n <= self._max_plaintext
            and not padding
            and content_type in _PROTECTED_TYPES
            and seq < self._limit
            and max_fragment <= MAX_PLAINTEXT
        ):
            explicit = _pack_seq(seq) if self._explicit else b""
            sealed = self._aead.encrypt(
                self._nonce(explicit, seq), data, _pack_aad(seq, content_type, TLS12_VERSION, n)
            )
            self._seq = seq + 1
            header = _pack_header(content_type, TLS12_VERSION, n + self._explicit + self._tag_len)
            return b"".join((header, explicit, sealed))
        out = bytearray()
        self.seal_into(out, content_type, data, max_fragment=max_fragment, padding=padding)
        return bytes(out)

    def seal_into(
        self,
        out: bytearray,
        content_type: int,
        data: BytesLike,
        *,
        max_fragment: int = MAX_PLAINTEXT,
        padding: int = 0,
    ) -> int:
        """Append the records carrying ``data`` to ``out``; return how many bytes were appended.

        Each record carries at most ``max_fragment`` bytes (fewer when the peer's limit requires). Empty
        ``data`` gives one empty record, for application_data only (RFC 5246 §6.2.1). ``padding`` must be
        0: TLS 1.2 records have none. Nothing is written if the call would pass the usage limit.
        """
        if padding:
            raise LocalProtocolError("TLS 1.2 records cannot be padded")
        if not 1 <= max_fragment <= MAX_PLAINTEXT:
            raise LocalProtocolError(f"max_fragment must be within 1..{MAX_PLAINTEXT}, not {max_fragment}")
        room = min(max_fragment, self._max_plaintext)
        n = len(data)
        count = -(-n // room) if n else 1
        seq = self._seq
        if content_type not in _PROTECTED_TYPES:
            self._refuse(
                f"content type {content_type} cannot be protected (alert, handshake, application_data)"
            )
        if n == 0 and content_type != APPLICATION_DATA:
            self._refuse(f"zero-length fragments of content type {content_type} are forbidden")
        if seq + count > self._limit:
            self._refuse(
                f"{self.suite.name} key has protected {seq} of its {self._limit} records; {count} more would"
                " pass the limit, and TLS 1.2 cannot change keys: close the connection"
            )
        start = len(out)
        encrypt = self._aead.encrypt
        explicit_len = self._explicit
        extra = explicit_len + self._tag_len
        with memoryview(data) as src:
            for i in range(count):
                chunk = bytes(src[i * room : (i + 1) * room])
                s = seq + i
                explicit = _pack_seq(s) if explicit_len else b""
                aad = _pack_aad(s, content_type, TLS12_VERSION, len(chunk))
                sealed = encrypt(self._nonce(explicit, s), chunk, aad)
                out += _pack_header(content_type, TLS12_VERSION, len(chunk) + extra)
                out += explicit
                out += sealed
        self._seq = seq + count
        return len(out) - start

    def _refuse(self, why: str) -> NoReturn:
        raise LocalProtocolError(why)


class Tls12RecordOpener(_Protection12):
    """Removes protection from incoming records with one read key (RFC 5246 §6.2.3.3).

    ``max_plaintext`` is the record_size_limit we advertised (TLS 1.2 meaning), at most 2^14; a record
    with more plaintext raises ``RecordOverflow``. ``consecutive_empty`` counts content-less records in a
    row, for the connection's flood limit (as in TLS 1.3).
    """

    __slots__ = ("consecutive_empty",)

    def __init__(
        self, suite: Tls12Suite, key: bytes, iv: bytes, *, seq: int = 0, max_plaintext: int = MAX_PLAINTEXT
    ) -> None:
        super().__init__(suite, key, iv, seq, max_plaintext)
        self.consecutive_empty = 0

    def open(self, record: Record) -> tuple[int, bytes]:
        """Decrypt a protected record; return (content type, content).

        Raises ``UnexpectedMessage`` for a content type TLS 1.2 does not protect here (change_cipher_spec,
        heartbeat, unknown) or an empty handshake / alert record, ``RecordOverflow`` for more plaintext
        than the limit, and ``BadRecordMac`` when the record is too short to be authentic or fails
        authentication.
        """
        ctype, version, fragment = record
        if ctype not in _PROTECTED_TYPES:
            raise UnexpectedMessage(f"protected record with content type {ctype}")
        explicit_len = self._explicit
        n = len(fragment) - explicit_len - self._tag_len
        if n < 0:
            raise BadRecordMac(f"protected record of {len(fragment)} bytes is too short to be authentic")
        if n > self._max_plaintext:
            raise RecordOverflow(
                f"protected record holds {n} bytes of plaintext (limit {self._max_plaintext})"
            )
        seq = self._seq
        if seq >= SEQ_LIMIT:
            raise UnexpectedMessage(
                "peer sent 2^64 - 1 records under one key (sequence numbers must not wrap)"
            )
        explicit = fragment[:explicit_len]
        try:
            content = self._aead.decrypt(
                self._nonce(explicit, seq), fragment[explicit_len:], _pack_aad(seq, ctype, version, n)
            )
        except InvalidTag:
            raise BadRecordMac(f"record {seq} failed authentication") from None
        self._seq = seq + 1
        if content:
            self.consecutive_empty = 0
        elif ctype != APPLICATION_DATA:
            raise UnexpectedMessage(f"zero-length record of content type {ctype}")
        else:
            self.consecutive_empty += 1
        return ctype, content


if TYPE_CHECKING:  # both generations fit the protocols the record layer holds them by

    def _sealers(a: RecordSealer, b: Tls12RecordSealer) -> tuple[Sealer, Sealer]:
        return a, b

    def _openers(a: RecordOpener, b: Tls12RecordOpener) -> tuple[Opener, Opener]:
        return a, b
