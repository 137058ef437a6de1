"""Bounded big-endian reader and writer for TLS vectors (RFC 8446 §3). No crypto, no state."""

from __future__ import annotations

import builtins
import contextlib
import struct

from tlslens.errors import DecodeError

_MAX = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}
_STRUCT_CODES = {1: "B", 2: "H", 4: "I"}
_ZEROS = {n: bytes(n) for n in (1, 2, 3, 4)}


class Reader:
    """Bounded big-endian cursor over bytes. Every failure is ``DecodeError`` (alert decode_error).

    The reader keeps a ``bytes`` object (other buffers are copied once, on construction) and child
    readers share it, so reading a field is an index or a slice of that one object.
    """

    __slots__ = ("_buf", "_end", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None) -> None:
        self._buf = data if type(data) is bytes else builtins.bytes(data)
        self._pos = start
        self._end = len(self._buf) if end is None else end

    @property
    def position(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return self._end - self._pos

    def bytes(self, n: int) -> builtins.bytes:
        pos = self._pos
        if n > self._end - pos:
            raise DecodeError(f"need {n} bytes, have {self._end - pos}")
        self._pos = pos + n
        return self._buf[pos : pos + n]

    def uint(self, width: int) -> int:
        pos = self._pos
        if width > self._end - pos:
            raise DecodeError(f"need {width} bytes, have {self._end - pos}")
        self._pos = pos + width
        buf = self._buf
        if width == 2:
            return (buf[pos] << 8) | buf[pos + 1]
        if width == 1:
            return buf[pos]
        return int.from_bytes(buf[pos : pos + width], "big")

    def u8(self) -> int:
        pos = self._pos
        if pos >= self._end:
            raise DecodeError(f"need 1 byte, have {self._end - pos}")
        self._pos = pos + 1
        return self._buf[pos]

    def u16(self) -> int:
        pos = self._pos
        if pos + 2 > self._end:
            raise DecodeError(f"need 2 bytes, have {self._end - pos}")
        self._pos = pos + 2
        buf = self._buf
        return (buf[pos] << 8) | buf[pos + 1]

    def sub(self, length_width: int) -> Reader:
        """Child reader over a length-prefixed vector (RFC 8446 §3.4); the parent skips past it."""
        n = self.uint(length_width)
        start = self._pos
        if n > self._end - start:
            raise DecodeError(f"vector of {n} bytes overruns its container ({self._end - start} left)")
        self._pos = start + n
        return Reader(self._buf, start, start + n)

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
        buf = self._buf
        if item_width == 1:
            return list(buf[pos : pos + n])
        code = _STRUCT_CODES.get(item_width)
        if code is not None:  # one C call for the whole vector
            return list(struct.unpack_from(f">{n // item_width}{code}", buf, pos))
        return [int.from_bytes(buf[i : i + item_width], "big") for i in range(pos, pos + n, item_width)]

    def rest(self) -> builtins.bytes:
        return self.bytes(self._end - self._pos)

    def typed_vectors(self) -> list[tuple[int, Reader]]:
        """The rest as ``uint16 type; opaque body<0..2^16-1>`` entries (extensions, RFC 8446 §4.2), each
        body a child reader: the loop of a list of extensions in one call."""
        buf, pos, end = self._buf, self._pos, self._end
        entries = []
        while pos < end:
            if end - pos < 4:  # (the type, then the length: 2 bytes each)
                have = end - pos if end - pos < 2 else end - pos - 2
                raise DecodeError(f"need 2 bytes, have {have}")
            start = pos + 4
            stop = start + ((buf[pos + 2] << 8) | buf[pos + 3])
            if stop > end:
                n, left = stop - start, end - start
                raise DecodeError(f"vector of {n} bytes overruns its container ({left} left)")
            entries.append(((buf[pos] << 8) | buf[pos + 1], Reader(buf, start, stop)))
            pos = stop
        self._pos = pos
        return entries

    def expect_end(self, what: str) -> None:
        if self._pos != self._end:
            raise DecodeError(f"{self._end - self._pos} trailing bytes after {what}")


class _LengthPrefix:
    """``with writer.length_prefixed(n):`` without a generator: reserve, then patch on exit."""

    __slots__ = ("_buf", "_start", "_width")

    def __init__(self, buf: bytearray, width: int) -> None:
        self._buf = buf
        self._width = width
        self._start = len(buf)
        buf += bytes(width)

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            return
        buf, start, width = self._buf, self._start, self._width
        n = len(buf) - start - width
        buf[start : start + width] = n.to_bytes(width, "big")  # OverflowError if too long


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
        n = len(values)
        self._buf += (n * item_width).to_bytes(length_width, "big")
        code = _STRUCT_CODES.get(item_width)
        if code is not None:
            self._buf += struct.pack(f">{n}{code}", *values)
        else:
            for v in values:
                self._buf += v.to_bytes(item_width, "big")

    def reserve(self, width: int) -> int:
        """Reserve ``width`` length bytes; returns where, for ``patch_length`` once the body is written
        (``length_prefixed`` without a context manager, for hot loops)."""
        buf = self._buf
        at = len(buf)
        buf += _ZEROS[width]
        return at

    def patch_length(self, at: int, width: int) -> None:
        """Write the length of what follows the ``width`` bytes reserved at ``at``."""
        buf = self._buf
        buf[at : at + width] = (len(buf) - at - width).to_bytes(width, "big")  # OverflowError if too long

    def length_prefixed(self, width: int) -> contextlib.AbstractContextManager[None]:
        """Reserve ``width`` length bytes, let the body be written, then patch the length in."""
        return _LengthPrefix(self._buf, width)

    def getvalue(self) -> builtins.bytes:
        return bytes(self._buf)
