"""Handshake message reassembly (RFC 8446 §5.1): records in, whole handshake messages out.

Handshake messages may be coalesced into one record or fragmented across several; ``feed`` takes the
content of each handshake record in order and returns every message it completes, as raw bytes
(msg_type || uint24 length || body, exactly as received, ready for the transcript and for
``wire.decode_handshake``). Messages may not span a key change: the engine calls ``check_aligned`` before
switching keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from tlslens.errors import DecodeError, LocalProtocolError, UnexpectedMessage
from tlslens.wire.enums import HandshakeType

HANDSHAKE_HEADER_LEN = 4
#: Default bound on a handshake message (header excluded).
MAX_MESSAGE_SIZE = 2**16
#: Types allowed to be larger by default: certificate chains can be long.
DEFAULT_TYPE_LIMITS: Mapping[int, int] = {
    HandshakeType.CERTIFICATE: 2**18,
    HandshakeType.COMPRESSED_CERTIFICATE: 2**18,
}


class HandshakeReassembler:
    """Frames handshake messages across record boundaries.

    ``max_message_size`` bounds the declared body length of every message type, except those listed in
    ``type_limits`` (by default Certificate and CompressedCertificate may reach 2^18 bytes). A declared
    length over its bound raises ``DecodeError`` as soon as the 4-byte header is seen, before the body is
    buffered.
    """

    __slots__ = ("_buf", "_limits", "_need")

    def __init__(
        self,
        max_message_size: int = MAX_MESSAGE_SIZE,
        *,
        type_limits: Mapping[int, int] = DEFAULT_TYPE_LIMITS,
    ) -> None:
        if not 0 <= max_message_size <= 0xFFFFFF:
            raise LocalProtocolError("max_message_size must fit the 24-bit length field")
        limits = [max_message_size] * 256
        for msg_type, limit in type_limits.items():
            if not (0 <= msg_type <= 0xFF and 0 <= limit <= 0xFFFFFF):
                raise LocalProtocolError(f"bad handshake size limit {limit} for type {msg_type}")
            limits[msg_type] = limit
        self._limits = limits
        self._buf = bytearray()
        self._need = HANDSHAKE_HEADER_LEN

    def __repr__(self) -> str:
        return f"HandshakeReassembler(buffered={len(self._buf)})"

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished message."""
        return len(self._buf)

    @property
    def is_aligned(self) -> bool:
        """True when no partial message is buffered: keys may change here."""
        return not self._buf

    def check_aligned(self, what: str) -> None:
        """Raise ``UnexpectedMessage`` if a partial message is buffered at a key change (RFC 8446 §5.1)."""
        if self._buf:
            raise UnexpectedMessage(
                f"{what}: {len(self._buf)} bytes of a partial handshake message precede a key change"
            )

    def feed(self, fragment: bytes | bytearray | memoryview) -> list[bytes]:
        """Add the content of one handshake record; return the messages it completes, in order."""
        if not fragment:
            raise UnexpectedMessage("zero-length handshake fragment")
        buf = self._buf
        src: bytes | bytearray | memoryview
        if buf:
            buf += fragment
            if len(buf) < self._need:
                return []
            src = buf
        else:
            src = fragment
        messages: list[bytes] = []
        limits = self._limits
        pos = 0
        end = len(src)
        need = HANDSHAKE_HEADER_LEN
        with memoryview(src) as mv:
            while end - pos >= HANDSHAKE_HEADER_LEN:
                length = (mv[pos + 1] << 16) | (mv[pos + 2] << 8) | mv[pos + 3]
                if length > limits[mv[pos]]:
                    raise DecodeError(
                        f"handshake message of type {mv[pos]} declares {length} bytes"
                        f" (limit {limits[mv[pos]]})"
                    )
                stop = pos + HANDSHAKE_HEADER_LEN + length
                if stop > end:
                    need = stop - pos
                    break
                messages.append(bytes(mv[pos:stop]))
                pos = stop
            if src is not buf:
                buf += mv[pos:]
        if src is buf:
            del buf[:pos]
        self._need = need
        return messages
