"""Record framing (RFC 8446 §5.1): split a byte stream into records, and frame plaintext into records.

``Deframer.feed`` accepts the stream in any chunking and returns every record completed so far. It is
O(n) overall: records lying wholly inside a chunk are sliced straight out of it (one copy each, the
fragment), and only a record split across chunks goes through a bytearray, which is cleared once that
record completes. Header checks (content type, length limit) run as soon as the 5-byte header is
available, so an oversized record is refused before its body is buffered. Pass ``bytes`` (what
``socket.recv`` returns); other buffers are copied once first.
"""

from __future__ import annotations

from struct import Struct
from typing import NamedTuple

from tlslens.errors import LocalProtocolError, RecordOverflow, UnexpectedMessage

HEADER_LEN = 5
#: TLSPlaintext.length limit (RFC 8446 §5.1).
MAX_PLAINTEXT = 2**14
#: TLSInnerPlaintext limit: content + content type + padding (RFC 8446 §5.4); RFC 8449's record_size_limit
#: counts the same bytes in TLS 1.3.
MAX_INNER_PLAINTEXT = 2**14 + 1
#: TLSCiphertext.length limit (RFC 8446 §5.2).
MAX_CIPHERTEXT = 2**14 + 256

CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23

# Record versions: 0x0303 on every TLS 1.3 record; 0x0301 is also allowed on an initial ClientHello.
TLS12_RECORD_VERSION = 0x0303
TLS10_RECORD_VERSION = 0x0301


class Record(NamedTuple):
    """One record as framed on the wire (the fragment is still protected if the record is)."""

    content_type: int
    legacy_version: int
    fragment: bytes


# NamedTuple's generated __new__ is Python code; building the tuple directly is about twice as fast.
_new_record = tuple.__new__
_unpack_header = Struct(">BHH").unpack_from


class Deframer:
    """Incremental record parser.

    ``max_fragment`` bounds application_data records (protected records in TLS 1.3: 2^14 + 256).
    ``max_plaintext_fragment`` bounds change_cipher_spec, alert and handshake records, which TLS 1.3
    never protects (2^14, RFC 8446 §5.1); a TLS 1.2 engine, whose protected records keep their real
    content type, sets it to its ciphertext limit. Both are plain attributes the engine may lower later.

    A record whose type is not one of the four TLS 1.3 content types raises ``UnexpectedMessage``; a
    length over its limit raises ``RecordOverflow``. ``legacy_version`` is reported, not checked
    (RFC 8446 §5.1: it MUST be ignored); the AEAD additional data covers it for protected records.
    Empty records are returned as they are: counting consecutive empty records is the connection's
    business (``RecordOpener.consecutive_empty`` for protected ones).
    """

    __slots__ = ("_buf", "_need", "max_fragment", "max_plaintext_fragment")

    def __init__(
        self, max_fragment: int = MAX_CIPHERTEXT, *, max_plaintext_fragment: int = MAX_PLAINTEXT
    ) -> None:
        if not (0 <= max_fragment <= 0xFFFF and 0 <= max_plaintext_fragment <= 0xFFFF):
            raise LocalProtocolError("record length limits must fit the 16-bit length field")
        self.max_fragment = max_fragment
        self.max_plaintext_fragment = max_plaintext_fragment
        self._buf = bytearray()
        self._need = HEADER_LEN  # size of the buffered record once complete (HEADER_LEN: header unknown)

    def __repr__(self) -> str:
        return f"Deframer(buffered={len(self._buf)})"

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished record waiting for more data (non-zero at EOF means truncation)."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Record]:
        """Add stream bytes; return the records they complete, in order."""
        if type(data) is not bytes:
            data = bytes(data)
        records: list[Record] = []
        pos = 0
        end = len(data)
        buf = self._buf
        if buf:
            # Finish the record begun in an earlier chunk: only its own bytes go through the buffer.
            with memoryview(data) as view:
                while True:
                    take = self._need - len(buf)
                    if end - pos < take:
                        buf += view[pos:]
                        return records
                    buf += view[pos : pos + take]
                    pos += take
                    if self._need == HEADER_LEN:  # the header just completed
                        self._check_header(buf[0], (buf[3] << 8) | buf[4], buf[:HEADER_LEN])
                        if buf[3] or buf[4]:
                            self._need = HEADER_LEN + ((buf[3] << 8) | buf[4])
                            continue
                    with memoryview(buf) as mv:
                        fragment = bytes(mv[HEADER_LEN:])
                    records.append(_new_record(Record, (buf[0], (buf[1] << 8) | buf[2], fragment)))
                    buf.clear()
                    self._need = HEADER_LEN
                    break
        # Whole records straight from the chunk: one copy each (the fragment slice).
        max_app = self.max_fragment
        max_plain = self.max_plaintext_fragment
        append = records.append
        while end - pos >= HEADER_LEN:
            ctype, version, length = _unpack_header(data, pos)
            bad = (
                (length > max_app)
                if ctype == APPLICATION_DATA
                else (length > max_plain or not 20 <= ctype <= 22)
            )
            if bad:
                self._check_header(ctype, length, data[pos : pos + HEADER_LEN])  # raises
            stop = pos + HEADER_LEN + length
            if stop > end:
                self._need = stop - pos
                break
            append(_new_record(Record, (ctype, version, data[pos + HEADER_LEN : stop])))
            pos = stop
        if pos < end:
            buf += data[pos:]
        return records

    def _check_header(self, ctype: int, length: int, header: bytes | bytearray | memoryview = b"") -> None:
        if ctype == APPLICATION_DATA:
            if length > self.max_fragment:
                raise RecordOverflow(f"application_data record of {length} bytes (limit {self.max_fragment})")
        elif CHANGE_CIPHER_SPEC <= ctype <= HANDSHAKE:
            if length > self.max_plaintext_fragment:
                raise RecordOverflow(
                    f"record of type {ctype} has {length} bytes (limit {self.max_plaintext_fragment})"
                )
        else:
            text = bytes(header)
            if len(text) == HEADER_LEN and all(32 <= b < 127 for b in text):  # "HTTP/", "<!DOC", "SSH-2"
                raise UnexpectedMessage(
                    f"the peer does not speak TLS: it sent plain text starting {text.decode('ascii')!r}"
                )
            raise UnexpectedMessage(f"record of unknown content type {ctype}")


def encode_plaintext(
    content_type: int,
    data: bytes | bytearray | memoryview,
    max_fragment: int = MAX_PLAINTEXT,
    *,
    legacy_version: int = TLS12_RECORD_VERSION,
) -> bytes:
    """Frame ``data`` as unprotected records of at most ``max_fragment`` bytes each (RFC 8446 §5.1).

    ``legacy_version`` is 0x0303, or 0x0301 for an initial ClientHello (any 16-bit value is accepted, so a
    scanner can probe older servers). Handshake, alert and change_cipher_spec data may not be empty
    (zero-length fragments of those types are forbidden); empty application data gives one empty record.
    """
    if not 0 <= content_type <= 0xFF:
        raise LocalProtocolError(f"content type {content_type} does not fit one byte")
    if not 0 <= legacy_version <= 0xFFFF:
        raise LocalProtocolError(f"record version {legacy_version:#x} does not fit two bytes")
    if not 1 <= max_fragment <= MAX_PLAINTEXT:
        raise LocalProtocolError(f"max_fragment must be within 1..{MAX_PLAINTEXT}, not {max_fragment}")
    prefix = bytes((content_type, legacy_version >> 8, legacy_version & 0xFF))
    n = len(data)
    if n == 0:
        if content_type != APPLICATION_DATA:
            raise LocalProtocolError(f"zero-length fragments of content type {content_type} are forbidden")
        return prefix + b"\x00\x00"
    parts: list[bytes | memoryview] = []
    with memoryview(data) as mv:
        for start in range(0, n, max_fragment):
            chunk = mv[start : start + max_fragment]
            parts.append(prefix + len(chunk).to_bytes(2, "big"))
            parts.append(chunk)
        return b"".join(parts)
