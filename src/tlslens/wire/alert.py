"""The alert protocol's message (RFC 8446 §6): ``AlertLevel level; AlertDescription description;``.

Not a handshake message: it is the whole content of an alert record, exactly two bytes (§5.1 forbids
fragmenting or coalescing alerts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from tlslens.errors import DecodeError
from tlslens.wire.enums import AlertDescription, AlertLevel
from tlslens.wire.reader import Reader, Writer


@dataclass(frozen=True, slots=True)
class Alert:
    level: AlertLevel
    description: AlertDescription

    @property
    def is_close_notify(self) -> bool:
        return self.description == AlertDescription.CLOSE_NOTIFY

    def encode_body(self, w: Writer) -> None:
        w.u8(self.level)
        w.u8(self.description)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(AlertLevel(r.u8()), AlertDescription(r.u8()))

    def encode(self) -> bytes:
        return bytes((self.level, self.description))

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode an alert record's content; anything but exactly two bytes is a ``DecodeError``."""
        if len(data) != 2:
            raise DecodeError(f"alert record of {len(data)} bytes, expected 2")
        return cls(AlertLevel(data[0]), AlertDescription(data[1]))
