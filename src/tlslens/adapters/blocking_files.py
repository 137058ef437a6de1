"""The raw file under ``TLSSocket.makefile()`` (the usual buffered and text layers go on top): reads
and writes go through the TLS socket, which stays open until every such file is closed too."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlslens.adapters.blocking_socket import TLSSocket

__all__ = ["TLSSocketIO"]


class TLSSocketIO(io.RawIOBase):
    """The raw file under ``TLSSocket.makefile()``; the socket stays open until it is closed too."""

    def __init__(self, tls: TLSSocket, reading: bool, writing: bool) -> None:
        super().__init__()
        self._tls = tls
        self._reading = reading
        self._writing = writing
        self.mode = ("r" if reading else "") + ("w" if writing else "") + "b"
        tls._acquire_io()

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
