"""Bounded big-endian reader and writer for TLS vectors (RFC 8446 §3). No crypto, no state."""

from __future__ import annotations

import builtins
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from tlslens.errors import DecodeError

_MAX = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}
_STRUCT_CODES = {1: "B", 2: "H", 4: "I"}


class Reader:
    """Bounded big-endian cursor over bytes. Every failure is ``DecodeError`` (alert decode_error)."""

    __slots__ = ("_buf", "_end", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None) -> None:
        self._buf = data if isinstance(data, memoryview) else memoryview(data)
        self._pos = start
        self._end = len(self._buf) if end is None else end

    @property
    def position(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return self._end - self._pos

    def bytes(self, n: int) -> bytes:
        if n > self._end - self._pos:
            raise DecodeError(f"need {n} bytes, have {self._end - self._pos}")
        out = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return out

    def uint(self, width: int) -> int:
        pos = self._pos
        if width > self._end - pos:
            raise DecodeError(f"need {width} bytes, have {self._end - pos}")
        self._pos = pos + width
        return int.from_bytes(self._buf[pos : pos + width], "big")

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def sub(self, length_width: int) -> Reader:
        """Child reader over a length-prefixed vector (RFC 8446 §3.4); the parent skips past it."""
        n = self.uint(length_width)
        if n > self._end - self._pos:
            raise DecodeError(f"vector of {n} bytes overruns its container ({self._end - self._pos} left)")
        child = Reader(self._buf, self._pos, self._pos + n)
        self._pos += n
        return child

    def opaque(self, length_width: int, *, min_len: int = 0, what: str = "vector") -> builtins.bytes:
        """A length-prefixed byte string; ``min_len`` enforces ``<min..max>`` lower bounds."""
        n = self.uint(length_width)
        if n < min_len:
            raise DecodeError(f"{what} of {n} bytes is shorter than {min_len}")
        return self.bytes(n)

    def uint_list(
        self, length_width: int, item_width: int, *, min_len: int = 0, what: str = "list"
    ) -> list[int]:
        """A length-prefixed vector of fixed-width integers (suites, groups, schemes...)."""
        n = self.uint(length_width)
        pos = self._pos
        if n > self._end - pos:
            raise DecodeError(f"vector of {n} bytes overruns its container ({self._end - pos} left)")
        if n % item_width:
            raise DecodeError(f"{what} length {n} is not a multiple of {item_width}")
        if n < min_len:
            raise DecodeError(f"{what} of {n} bytes is shorter than {min_len}")
        self._pos = pos + n
        code = _STRUCT_CODES.get(item_width)
        if code is not None:  # one C call for the whole vector
            return list(struct.unpack_from(f">{n // item_width}{code}", self._buf, pos))
        buf = self._buf
        return [int.from_bytes(buf[i : i + item_width], "big") for i in range(pos, pos + n, item_width)]

    def rest(self) -> builtins.bytes:
        return self.bytes(self._end - self._pos)

    def expect_end(self, what: str) -> None:
        if self._pos != self._end:
            raise DecodeError(f"{self._end - self._pos} trailing bytes after {what}")


class Writer:
    """Append-only big-endian writer; ``length_prefixed`` back-patches vector lengths."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def uint(self, width: int, value: int) -> None:
        self._buf += value.to_bytes(width, "big")

    def u8(self, value: int) -> None:
        self._buf.append(value)

    def u16(self, value: int) -> None:
        self._buf += value.to_bytes(2, "big")

    def bytes(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    def opaque(self, length_width: int, data: builtins.bytes | bytearray | memoryview) -> None:
        if len(data) > _MAX[length_width]:
            raise OverflowError(f"{len(data)} bytes do not fit a {length_width}-byte length")
        self._buf += len(data).to_bytes(length_width, "big")
        self._buf += data

    def uint_list(self, length_width: int, item_width: int, values: list[int] | tuple[int, ...]) -> None:
        self.uint(length_width, len(values) * item_width)
        for v in values:
            self._buf += v.to_bytes(item_width, "big")

    @contextmanager
    def length_prefixed(self, width: int) -> Iterator[None]:
        """Reserve ``width`` length bytes, let the body be written, then patch the length in."""
        start = len(self._buf)
        self._buf += bytes(width)
        yield
        n = len(self._buf) - start - width
        self._buf[start : start + width] = n.to_bytes(width, "big")  # OverflowError if too long

    def getvalue(self) -> builtins.bytes:
        return bytes(self._buf)
