"""Drive a sans-I/O tlslens connection over a plain blocking socket (no adapters involved).

``Pump`` loops ``recv -> receive_data -> sendall(data_to_send())`` with a deadline on every wait, so a
peer that goes quiet fails the test instead of hanging it. When ``receive_data`` raises, the alert it
queued is written before the exception propagates, then our write side is shut down, so the peer sees
the alert rather than a TCP reset.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

from tlslens import (
    ClientConnection,
    ConnectionClosed,
    DataReceived,
    Event,
    HandshakeCompleted,
    KeyUpdated,
    ServerConnection,
    TLSError,
)
from tlslens.events import MessageReceived, MessageSent

M = TypeVar("M")

Connection = ClientConnection | ServerConnection


class PumpTimeout(AssertionError):
    """The peer did not produce what we waited for in time."""


class Pump:
    def __init__(
        self, sock: socket.socket, conn: Connection, *, timeout: float = 5.0, feed_size: int | None = None
    ) -> None:
        self.sock = sock
        self.conn = conn
        self.timeout = timeout
        self.feed_size = feed_size
        """Feed what arrives to the engine in pieces of this size (1 = byte by byte); None = as read."""
        self.events: list[Event] = []
        self.received = bytearray()
        self.eof = False
        sock.settimeout(timeout)

    # --- sending ------------------------------------------------------------------------------------

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send(self, data: bytes) -> None:
        self.conn.send_data(data)
        self.flush()

    def update_keys(self, *, request_peer: bool) -> None:
        self.conn.update_keys(request_peer=request_peer)
        self.flush()

    def close(self) -> None:
        self.conn.close()
        self.flush()

    # --- receiving ----------------------------------------------------------------------------------

    def step(self, deadline: float) -> list[Event]:
        """One recv (waiting at most until ``deadline``), fed to the connection; returns new events."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PumpTimeout("deadline passed")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise PumpTimeout("peer sent nothing before the deadline") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if self.eof:
                raise PumpTimeout("EOF already seen; nothing more will arrive")
            self.eof = True
        pieces = [chunk]
        if chunk and self.feed_size is not None:
            pieces = [chunk[i : i + self.feed_size] for i in range(0, len(chunk), self.feed_size)]
        events: list[Event] = []
        try:
            for piece in pieces:
                events += self.conn.receive_data(piece)
        except TLSError:
            self._flush_alert_and_shut()
            raise
        self.flush()
        self.events += events
        for e in events:
            if isinstance(e, DataReceived):
                self.received += e.data
        return events

    def until(
        self, done: Callable[[], bool], *, timeout: float | None = None, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not done():
            try:
                self.step(deadline)
            except PumpTimeout as exc:
                raise PumpTimeout(f"waiting for {what}: {exc}; events so far: {self.events!r}") from None

    def handshake(self) -> HandshakeCompleted:
        self.flush()
        self.until(lambda: self.completed is not None, what="HandshakeCompleted")
        assert self.completed is not None
        return self.completed

    def read_until(self, data: bytes, *, timeout: float | None = None) -> bytes:
        """Wait until the received application data contains ``data``; return everything received."""
        self.until(lambda: data in self.received, timeout=timeout, what=f"data {data!r}")
        return bytes(self.received)

    def wait_closed(self, *, timeout: float | None = None) -> ConnectionClosed:
        self.until(lambda: self.closed_event is not None, timeout=timeout, what="ConnectionClosed")
        assert self.closed_event is not None
        return self.closed_event

    def wait_key_updates(self, n: int, *, timeout: float | None = None) -> list[KeyUpdated]:
        self.until(lambda: len(self.key_updates) >= n, timeout=timeout, what=f"{n} KeyUpdated")
        return self.key_updates

    def messages(self, direction: type[MessageReceived | MessageSent], cls: type[M]) -> list[M]:
        """Handshake messages of type ``cls`` received or sent (the connection was made with trace=True)."""
        return [e.message for e in self.events if isinstance(e, direction) and isinstance(e.message, cls)]

    @property
    def completed(self) -> HandshakeCompleted | None:
        return next((e for e in self.events if isinstance(e, HandshakeCompleted)), None)

    @property
    def closed_event(self) -> ConnectionClosed | None:
        return next((e for e in self.events if isinstance(e, ConnectionClosed)), None)

    @property
    def key_updates(self) -> list[KeyUpdated]:
        return [e for e in self.events if isinstance(e, KeyUpdated)]

    def _flush_alert_and_shut(self) -> None:
        """After a failure: write the queued fatal alert, close our write side, drain the peer briefly."""
        try:
            self.flush()
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(0.5)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass


def connect_client(port: int, conn: ClientConnection, *, timeout: float = 5.0) -> Pump:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return Pump(sock, conn, timeout=timeout)
