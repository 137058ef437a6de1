"""The lifecycle of one connection, per direction (h11's "our state / their state").

    HANDSHAKING ──(handshake complete)──► OPEN ──(close_notify sent / received, EOF)──► CLOSED
         │                                  │
         └──────────────(a fatal error, either side)──────────────► FAILED (both directions)

``ours`` says what we may still send, ``theirs`` what the peer may still send. A direction closed during
the handshake stays closed when the handshake completes. The connection, its inbound path and its
Output share one ``Lifecycle``; only these methods move it.
"""

from __future__ import annotations

import enum


class ConnectionState(enum.Enum):
    HANDSHAKING = "handshaking"
    OPEN = "open"
    CLOSED = "closed"
    FAILED = "failed"


_HANDSHAKING = ConnectionState.HANDSHAKING
_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED
_FAILED = ConnectionState.FAILED


class Lifecycle:
    __slots__ = ("failure", "handshake_done", "ours", "theirs")

    def __init__(self) -> None:
        self.ours = _HANDSHAKING
        self.theirs = _HANDSHAKING
        self.handshake_done = False
        # Why the connection failed, in words: not the exception itself, whose traceback holds the frames
        # (and so the connection) that raised it, which would keep a failed connection alive until the
        # cyclic garbage collector runs.
        self.failure: str | None = None

    def __repr__(self) -> str:
        return f"Lifecycle(ours={self.ours.name}, theirs={self.theirs.name})"

    def complete_handshake(self) -> None:
        self.handshake_done = True
        if self.ours is _HANDSHAKING:
            self.ours = _OPEN
        if self.theirs is _HANDSHAKING:
            self.theirs = _OPEN

    def close_ours(self) -> None:
        if self.ours is not _FAILED:
            self.ours = _CLOSED

    def close_theirs(self) -> None:
        if self.theirs is not _FAILED:
            self.theirs = _CLOSED

    def fail(self, exc: BaseException) -> None:
        self.failure = f"{type(exc).__name__}: {exc}"
        self.ours = self.theirs = _FAILED

    @property
    def failed(self) -> bool:
        return self.failure is not None


__all__ = ["ConnectionState", "Lifecycle"]
