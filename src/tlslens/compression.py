"""Certificate compression algorithms (RFC 8879 §3): zlib from the standard library, brotli and zstd
from their PyPI packages when installed (``pip install 'tlslens[compression]'``).

``compress(algorithm, data)`` and ``decompress(algorithm, data, length)``: the latter never produces
more than ``length`` bytes (plus one read block for brotli, whose decoder stops at a block boundary)
however the compressed bytes lie, and raises ``DecompressionFailed`` unless they inflate to exactly
``length`` bytes with nothing left over. The caller checks ``length`` against its own limit *before*
calling: a decompression bomb is refused unopened.

``CompressionCache`` keeps compressed Certificate messages, so a server (or a client certificate)
compresses its chain once per algorithm, not once per handshake.
"""

from __future__ import annotations

import importlib
import io
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

from tlslens.wire.enums import CertificateCompressionAlgorithm

__all__ = [
    "AVAILABLE",
    "CompressionCache",
    "DecompressionFailed",
    "algorithm_by_name",
    "available",
    "compress",
    "decompress",
]

_A = CertificateCompressionAlgorithm
_PACKAGES = {_A.BROTLI: "brotli", _A.ZSTD: "zstandard"}
ZSTD_MAX_WINDOW = 2**23
"""The largest zstd window we allocate (8 MiB, what RFC 8878 §3.1.1.1.2 asks every decoder to support);
a frame that wants more is refused."""


class DecompressionFailed(ValueError):
    """The compressed bytes are corrupt, truncated, followed by more, or not ``length`` bytes long."""


def _module(algorithm: CertificateCompressionAlgorithm) -> object | None:
    name = _PACKAGES.get(algorithm)
    if name is None:
        return zlib if algorithm == _A.ZLIB else None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def available(algorithm: CertificateCompressionAlgorithm) -> bool:
    """Whether this Python can use ``algorithm`` (zlib always; brotli and zstd with their packages)."""
    return _module(algorithm) is not None


AVAILABLE: tuple[CertificateCompressionAlgorithm, ...] = tuple(
    a for a in (_A.BROTLI, _A.ZSTD, _A.ZLIB) if available(a)
)
"""The algorithms this Python can use, in tlslens's default preference: brotli (its built-in
dictionary suits certificates best), zstd, zlib."""


def algorithm_by_name(name: str) -> CertificateCompressionAlgorithm:
    """``"zlib"``, ``"brotli"``, ``"zstd"`` (any case) → the enum member; KeyError otherwise."""
    return CertificateCompressionAlgorithm[name.strip().upper()]


def missing_package(algorithm: CertificateCompressionAlgorithm) -> str | None:
    """The PyPI package ``algorithm`` needs when it is not installed (None when it can be used)."""
    if available(algorithm) or algorithm not in _PACKAGES:
        return None
    return _PACKAGES[algorithm]


def compress(algorithm: CertificateCompressionAlgorithm, data: bytes) -> bytes:
    """``data`` compressed with ``algorithm`` at its best ratio (done once per chain: see the cache)."""
    if algorithm == _A.ZLIB:
        return zlib.compress(data, 9)
    module = _module(algorithm)
    if module is None:
        raise LookupError(f"{algorithm.name.lower()} is not available (install {_PACKAGES.get(algorithm)})")
    if algorithm == _A.BROTLI:
        return module.compress(data, quality=11)  # type: ignore[attr-defined, no-any-return]
    return module.ZstdCompressor(level=19).compress(data)  # type: ignore[attr-defined, no-any-return]


def decompress(algorithm: CertificateCompressionAlgorithm, data: bytes, length: int) -> bytes:
    """Exactly ``length`` bytes inflated from ``data``, or ``DecompressionFailed``; bounded work."""
    module = _module(algorithm)
    if module is None:
        raise DecompressionFailed(f"{algorithm.name.lower()} is not available here")
    try:
        if algorithm == _A.ZLIB:
            out = _zlib(data, length)
        elif algorithm == _A.BROTLI:
            out = _brotli(module, data, length)
        else:
            out = _zstd(module, data, length)
    except DecompressionFailed:
        raise
    except Exception as exc:  # zlib.error, brotli.error, zstandard.ZstdError, MemoryError...
        raise DecompressionFailed(f"{type(exc).__name__}: {exc}") from None
    if len(out) != length:
        more = "more than" if len(out) > length else f"{len(out)} bytes, not"
        raise DecompressionFailed(f"the data inflates to {more} the {length} bytes announced")
    return out


def _zlib(data: bytes, length: int) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, length + 1)
    if not inflater.eof:
        if len(out) > length:
            return out  # (too long: the caller says so)
        raise DecompressionFailed("the zlib stream is truncated")
    if inflater.unused_data or inflater.unconsumed_tail:
        raise DecompressionFailed("bytes follow the end of the zlib stream")
    return out


def _brotli(module: object, data: bytes, length: int) -> bytes:
    inflater = module.Decompressor()  # type: ignore[attr-defined]
    out = bytearray(inflater.process(data, output_buffer_limit=length + 1))
    while len(out) <= length and not inflater.is_finished():
        if inflater.can_accept_more_data():  # every input byte read, and the stream is not over
            raise DecompressionFailed("the brotli stream is truncated")
        out += inflater.process(b"", output_buffer_limit=length + 1 - len(out))
    return bytes(out)


def _zstd(module: object, data: bytes, length: int) -> bytes:
    inflater = module.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)  # type: ignore[attr-defined]
    reader = inflater.stream_reader(io.BytesIO(data), read_across_frames=True)
    out: bytes = reader.read(length + 1)
    if len(out) == length and reader.read(1):
        raise DecompressionFailed("the zstd data inflates to more than announced")
    return out


class CompressionCache:
    """Compressed Certificate message bodies by (algorithm, body): a chain is compressed once per
    algorithm (and per stapled OCSP response, which is part of the body). Bounded; thread-safe."""

    __slots__ = ("_entries", "_lock", "_size", "compress")

    def __init__(
        self,
        size: int = 8,
        compress: Callable[[CertificateCompressionAlgorithm, bytes], bytes] = compress,
    ) -> None:
        self._entries: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size
        self.compress = compress

    def get(self, algorithm: CertificateCompressionAlgorithm, body: bytes) -> bytes:
        key = (int(algorithm), body)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        compressed = self.compress(algorithm, body)  # (outside the lock: two racing threads agree)
        with self._lock:
            self._entries[key] = compressed
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return compressed

    def __len__(self) -> int:
        return len(self._entries)


def normalise(
    values: Sequence[CertificateCompressionAlgorithm | str | int],
) -> tuple[CertificateCompressionAlgorithm, ...]:
    """Config values as enum members (names or numbers), each usable here; ValueError names the fix."""
    out: list[CertificateCompressionAlgorithm] = []
    for v in values:
        try:
            member = algorithm_by_name(v) if isinstance(v, str) else _A(v)
        except (KeyError, ValueError):
            raise ValueError(
                f"unknown certificate compression algorithm {v!r}; valid: zlib, brotli, zstd"
            ) from None
        if not member.known:
            raise ValueError(f"unknown certificate compression algorithm {v!r}; valid: zlib, brotli, zstd")
        package = missing_package(member)
        if package is not None:
            raise ValueError(
                f"certificate compression with {member.name.lower()} needs the {package} package"
                " (pip install 'tlslens[compression]')"
            )
        if member in out:
            raise ValueError(f"certificate compression algorithm {member.name.lower()} is listed twice")
        out.append(member)
    return tuple(out)
