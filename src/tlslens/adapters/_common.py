"""What both faces share: the I/O and closing limits, the event hook, the sending in chunks, the EOF
error, and the names they report for a handshake."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

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


_PACKAGE = str(Path(__file__).resolve().parents[1])
_ASYNC_CODE = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR


def release_frames(exc: BaseException) -> None:
    """Let a failure's exception keep no connection alive through its traceback, so that a failed
    connection is freed by reference counting, not left for the cyclic garbage collector.

    The engine keeps its failure (to ``raise ... from`` it later), and the exception's traceback holds
    the frames it was raised through, and each of those its caller (``f_back``): frames whose locals
    are the engine and the face themselves, a cycle. Once the connection is over, the face calls this:
    it clears the locals of the tlslens frames in the traceback of ``exc`` and of the exceptions it
    chains, and of their callers, leaving coroutine frames and frames still running alone (the file
    and line of each frame stay: the traceback prints the same)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            frame: FrameType | None = tb.tb_frame
            while frame is not None and id(frame) not in seen:
                seen.add(id(frame))
                _clear_if_ours(frame)
                frame = frame.f_back
            tb = tb.tb_next
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def _clear_if_ours(frame: FrameType) -> None:
    code = frame.f_code
    if code.co_filename.startswith(_PACKAGE) and not code.co_flags & _ASYNC_CODE:
        with contextlib.suppress(RuntimeError):  # (a frame still running keeps its locals)
            frame.clear()
