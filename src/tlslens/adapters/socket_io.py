"""The blocking face's plumbing under ``TLSSocket``: closing a socket without losing what we wrote
last (``shutdown_and_drain``), and the file objects ``TLSSocket.makefile()`` returns (``make_file``
over the raw ``_TLSSocketIO``)."""

from __future__ import annotations

import io
import socket
import time
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, cast

from tlslens.adapters._common import DRAIN_LIMIT, DRAIN_TIMEOUT, RECEIVE_SIZE

if TYPE_CHECKING:
    from tlslens.adapters.blocking_socket import TLSSocket


def shutdown_and_drain(
    sock: socket.socket, *, timeout: float = DRAIN_TIMEOUT, limit: int = DRAIN_LIMIT
) -> None:
    """Close ``sock`` so that what we wrote last (an alert, close_notify) reaches the peer: shut down
    our write side, read and discard until the peer's EOF (at most ``timeout`` seconds and ``limit``
    bytes), then close."""
    try:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return  # not connected any more (reset, or never connected): nothing to protect
        deadline = time.monotonic() + timeout
        drained = 0
        while drained < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            chunk = sock.recv(RECEIVE_SIZE)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:
        pass
    finally:
        sock.close()


def make_file(
    tls: TLSSocket,
    mode: str,
    buffering: int | None,
    *,
    encoding: str | None,
    errors: str | None,
    newline: str | None,
) -> Any:
    """What ``TLSSocket.makefile()`` returns: a raw, buffered or text file over ``tls``."""
    if not set(mode) <= {"r", "w", "b"} or not mode:
        raise ValueError(f"invalid mode {mode!r} (only r, w and b)")
    reading, writing, binary = "r" in mode, "w" in mode, "b" in mode
    if not (reading or writing):
        raise ValueError("mode needs r or w")
    raw = _TLSSocketIO(tls, ("r" if reading else "") + ("w" if writing else ""))
    if buffering is None or buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
    if buffering == 0:
        if not binary:
            raise ValueError("unbuffered streams must be binary")
        return raw
    buffer: io.BufferedIOBase
    if reading and writing:
        buffer = io.BufferedRWPair(raw, raw, buffering)
    elif reading:
        buffer = io.BufferedReader(raw, buffering)
    else:
        buffer = io.BufferedWriter(raw, buffering)
    if binary:
        return buffer
    text: TextIO = io.TextIOWrapper(cast(BinaryIO, buffer), encoding, errors, newline)
    text.mode = mode  # type: ignore[misc]
    return text


class _TLSSocketIO(io.RawIOBase):
    """The raw file under ``TLSSocket.makefile()``."""

    def __init__(self, tls: TLSSocket, mode: str) -> None:
        super().__init__()
        self._tls = tls
        self._reading = "r" in mode
        self._writing = "w" in mode
        self.mode = mode + "b"
        tls._acquire_io()  # the socket stays open until this file is closed too

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return self._writing

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._tls.fileno()

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if not self._reading:
            raise io.UnsupportedOperation("not readable")
        return self._tls.recv_into(buffer)

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if not self._writing:
            raise io.UnsupportedOperation("not writable")
        return self._tls.send(data)

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        self._tls._release_io()
