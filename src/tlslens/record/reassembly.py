"""Handshake message reassembly (RFC 8446 §5.1): records in, whole handshake messages out.

Handshake messages may be coalesced into one record or fragmented across several. ``add`` takes the
content of each handshake record in order; ``next_message`` returns the next whole message (msg_type ||
uint24 length || body, exactly as received, ready for the transcript and for ``wire.decode_handshake``)
or None when it is not complete yet. Each message's 4-byte header is judged against the
``MessageLimits`` in force *when it becomes the next message*: the connection sets the limits of the
state that will read it (``expect``), so a type that state does not accept is unexpected_message and a
declared length over its bound is decode_error, both before any of the body is kept beyond the record
that carried the header. ``feed`` (add, then every whole message) serves callers without states.

Messages may not span a key change: the engine calls ``check_aligned`` before switching keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
_REFUSED = -1


def message_name(msg_type: int) -> str:
    """``ClientHello`` for 1, ``UNKNOWN_0x0063`` for a type nobody registered."""
    t = HandshakeType(msg_type)
    return "".join(p.capitalize() for p in t.name.split("_")) if t.known else t.name


@dataclass(frozen=True, slots=True)
class MessageLimits:
    """What may arrive next: the largest body of each accepted handshake type (others are refused).

    ``where`` completes the error message ("expected ServerHello *after ClientHello*, got ...")."""

    sizes: tuple[int, ...]  # 256 entries: the body limit of each type, -1 when it is not accepted
    where: str = ""

    @classmethod
    def of(cls, limits: Mapping[int, int], where: str = "") -> MessageLimits:
        sizes = [_REFUSED] * 256
        for msg_type, limit in limits.items():
            if not (0 <= msg_type <= 0xFF and 0 <= limit <= 0xFFFFFF):
                raise LocalProtocolError(f"bad handshake size limit {limit} for type {msg_type}")
            sizes[msg_type] = limit
        return cls(tuple(sizes), where)

    @classmethod
    def every_type(
        cls, max_message_size: int = MAX_MESSAGE_SIZE, type_limits: Mapping[int, int] = DEFAULT_TYPE_LIMITS
    ) -> MessageLimits:
        """Every type accepted, within ``max_message_size`` or its entry in ``type_limits``."""
        if not 0 <= max_message_size <= 0xFFFFFF:
            raise LocalProtocolError("max_message_size must fit the 24-bit length field")
        return cls.of({**dict.fromkeys(range(256), max_message_size), **type_limits})

    @property
    def accepted(self) -> Iterable[int]:
        return (t for t, size in enumerate(self.sizes) if size != _REFUSED)

    def refuse(self, msg_type: int, length: int) -> None:
        """Raise what a header of this type and declared length deserves (it was not accepted)."""
        limit = self.sizes[msg_type]
        if limit == _REFUSED:
            if not HandshakeType(msg_type).known:
                raise UnexpectedMessage(f"unknown handshake message type {HandshakeType(msg_type).name}")
            expected = " or ".join(message_name(t) for t in self.accepted) or "nothing"
            where = f" {self.where}" if self.where else ""
            raise UnexpectedMessage(f"expected {expected}{where}, got {message_name(msg_type)}")
        raise DecodeError(f"{message_name(msg_type)} declares {length} bytes (limit {limit} here)")


EVERY_TYPE = MessageLimits.every_type()


class HandshakeReassembler:
    """Frames handshake messages across record boundaries, within the limits in force.

    By default every type is accepted within ``max_message_size`` (Certificate and CompressedCertificate
    up to 2^18 bytes); ``expect`` replaces the limits (a connection sets its current state's).
    """

    __slots__ = ("_buf", "_expected", "_limits", "_pos")

    def __init__(
        self,
        max_message_size: int = MAX_MESSAGE_SIZE,
        *,
        type_limits: Mapping[int, int] = DEFAULT_TYPE_LIMITS,
    ) -> None:
        if max_message_size == MAX_MESSAGE_SIZE and type_limits is DEFAULT_TYPE_LIMITS:
            self._expected = EVERY_TYPE
        else:
            self._expected = MessageLimits.every_type(max_message_size, type_limits)
        self._limits = self._expected.sizes
        self._buf = bytearray()
        self._pos = 0  # start of the next message in _buf

    def __repr__(self) -> str:
        return f"HandshakeReassembler(buffered={self.buffered})"

    def expect(self, limits: MessageLimits) -> None:
        """From the next message on, accept only what ``limits`` allows."""
        self._expected = limits
        self._limits = limits.sizes

    @property
    def buffered(self) -> int:
        """Bytes not yet returned as whole messages."""
        return len(self._buf) - self._pos

    @property
    def is_aligned(self) -> bool:
        """True when no handshake bytes are pending: keys may change here."""
        return self._pos == len(self._buf)

    def check_aligned(self, what: str) -> None:
        """Raise ``UnexpectedMessage`` if handshake bytes are pending at a key change (RFC 8446 §5.1)."""
        if not self.is_aligned:
            raise UnexpectedMessage(
                f"{what}: {self.buffered} bytes of handshake data received under the old key precede a"
                " key change (a message that changes keys must end its record)"
            )

    def add(self, fragment: bytes | bytearray | memoryview) -> None:
        """The content of one handshake record (never empty: RFC 8446 §5.1)."""
        if not fragment:
            raise UnexpectedMessage("zero-length handshake fragment")
        self._buf += fragment

    def next_message(self) -> bytes | None:
        """The next whole message, or None until more arrives. Its header is checked against the
        limits in force now (UnexpectedMessage for a type not accepted, DecodeError over the limit)."""
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if available < HANDSHAKE_HEADER_LEN:
            if not available:
                buf.clear()
                self._pos = 0
            elif pos:
                del buf[:pos]
                self._pos = 0
            return None
        msg_type = buf[pos]
        length = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
        if length > self._limits[msg_type]:  # (refused types have the limit -1)
            self._expected.refuse(msg_type, length)
        stop = pos + HANDSHAKE_HEADER_LEN + length
        if stop > len(buf):
            if pos:
                del buf[:pos]
                self._pos = 0
            return None
        with memoryview(buf) as mv:  # (one copy, and the view released before the buffer changes)
            message = bytes(mv[pos:stop])
        if stop == len(buf):
            buf.clear()
            self._pos = 0
        else:
            self._pos = stop
        return message

    def feed(self, fragment: bytes | bytearray | memoryview) -> list[bytes]:
        """Add one record's content; return every message now complete (all judged by the limits in
        force: for callers without a state machine)."""
        self.add(fragment)
        messages = []
        while (message := self.next_message()) is not None:
            messages.append(message)
        return messages
