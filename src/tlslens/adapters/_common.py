"""What both faces share: the I/O and closing limits, the event hook, the sending in chunks, the EOF
error, and the names they report for a handshake."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tlslens.errors import TLSError
from tlslens.events import Event, HandshakeCompleted

RECEIVE_SIZE = 64 * 1024
"""Bytes asked of the transport per read."""

SEND_CHUNK = 64 * 1024
"""Application data is sealed and written this much at a time, so a large write is not copied whole."""

DRAIN_TIMEOUT = 1.0
"""Seconds we keep reading (and discarding) after shutting down our write side, before we close."""

DRAIN_LIMIT = 1024 * 1024
"""Bytes we read and discard while draining before we give up and close anyway."""

FLUSH_TIMEOUT = 30.0
"""Seconds a closing asyncio connection waits for a slow peer to take the bytes still buffered (the
blocking face's ``sendall`` has already waited, under the socket's timeout)."""

EventHook = Callable[[Event], None]
"""Called with every event the engine reports (trace events too, with ``trace=True``)."""


def send_chunks(data: bytes | bytearray | memoryview) -> Iterator[memoryview]:
    """``data`` in pieces of ``SEND_CHUNK`` bytes at most, as views (not copies): what a face hands
    the engine's ``send_data`` at a time."""
    view = memoryview(data).cast("B")
    for start in range(0, len(view), SEND_CHUNK):
        yield view[start : start + SEND_CHUNK]


class UnexpectedEOF(TLSError, ConnectionError):
    """The peer closed the connection before the handshake completed (no alert, just EOF or
    close_notify). Also a ``ConnectionError``, so code written for plain sockets catches it."""


def handshake_eof(clean: bool) -> UnexpectedEOF:
    if clean:
        return UnexpectedEOF("the peer sent close_notify before the handshake completed")
    return UnexpectedEOF("the peer closed the connection before the handshake completed")


def version_name(handshake: HandshakeCompleted) -> str:
    """``TLSv1.3``: the spelling ``ssl`` and OpenSSL use."""
    return handshake.version.label


def cipher_name(handshake: HandshakeCompleted) -> str:
    """The IANA name of the negotiated suite, e.g. ``TLS_AES_128_GCM_SHA256``."""
    return handshake.cipher_suite.name
