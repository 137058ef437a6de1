"""The client's input and stderr: stdin streamed as it arrives, and the ``tlslens-summary:`` reporting.

Contract (ARCHITECTURE.md): the summary line is printed right after the handshake, with keys
``version cipher group alpn resumed early_data_accepted`` (plus ``error`` on failure); ``Report``
repeats it at the end when anything else reached stderr since, so it is always the last line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import IO, Any, Protocol

from tlslens.cli.failure import SessionFailed
from tlslens.events import HandshakeCompleted


class InputSource(Protocol):
    async def next_chunk(self) -> bytes:
        """The next chunk of input; b"" at the end."""
        ...


class StdinSource:
    """stdin, read by a daemon thread as data arrives (works for terminals, pipes and files alike)."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._queue: asyncio.Queue[bytes] | None = None
        self.thread: threading.Thread | None = None

    def _start(self) -> asyncio.Queue[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        def pump() -> None:
            while True:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
                except RuntimeError:
                    # The connection is over and its loop closed: nobody wants more input. (Raising
                    # here printed a traceback on stderr after the summary, racing the exit.)
                    return
                if not chunk:
                    return

        self.thread = threading.Thread(target=pump, name="tlslens-stdin", daemon=True)
        self.thread.start()
        return queue

    async def next_chunk(self) -> bytes:
        if self._queue is None:
            self._queue = self._start()
        return await self._queue.get()


class BytesSource:
    """Fixed input (the demo's request), then EOF."""

    def __init__(self, data: bytes) -> None:
        self._chunks = [data] if data else []

    async def next_chunk(self) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""


class Report:
    """stderr for the client: the summary line, warnings, errors, and the trace (it is a text stream),
    keeping count of writes so that a summary line can end the output whatever came after the first.

    With ``json_lines`` every line is a JSON object, as the trace's are: the summary is
    ``{"type": "summary", ...}``, a warning ``{"type": "warning", "text": ...}``, a failure
    ``{"type": "error", "reason": ..., "details": [...]}``."""

    def __init__(self, stream: IO[str], *, json_lines: bool = False) -> None:
        self.stream = stream
        self.json_lines = json_lines
        self.writes = 0
        self.verified: bool | None = None  # the chain was verified (False: accepted with --insecure)
        self._summary_at = -1

    def write(self, text: str) -> int:
        self.writes += 1
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def _object(self, kind: str, fields: dict[str, Any]) -> None:
        self.write(json.dumps({"type": kind, **fields}) + "\n")

    def summary(self, completed: HandshakeCompleted | None, error: str | None = None) -> None:
        fields = summary(completed, error, self.verified)
        if self.json_lines:
            self._object("summary", fields)
        else:
            self.write("tlslens-summary: " + json.dumps(fields) + "\n")
        self.flush()
        self._summary_at = self.writes

    def summary_last(self, completed: HandshakeCompleted | None) -> None:
        """Repeat the summary when something else was printed after it."""
        if self._summary_at != self.writes:
            self.summary(completed)

    def warning(self, text: str, details: list[str] | None = None) -> None:
        if self.json_lines:
            self._object("warning", {"text": text, **({"details": details} if details else {})})
            return
        self.write(f"warning: {text}\n")
        for line in details or ():
            self.write(f"  {line}\n")

    def failed(self, completed: HandshakeCompleted | None, failure: SessionFailed) -> None:
        if self.json_lines:
            details = [line.strip() for line in failure.details]
            self._object("error", {"reason": failure.reason, "details": details})
        else:
            self.write(f"error: {failure.reason}\n")
            for line in failure.details:
                self.write(line + "\n")
        self.summary(completed, failure.reason)


def summary(
    completed: HandshakeCompleted | None, error: str | None = None, verified: bool | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": completed.version.label if completed else None,
        "cipher": completed.cipher_suite.name if completed else None,
        "group": completed.group.iana_name if completed and completed.group is not None else None,
        "alpn": completed.alpn_protocol if completed else None,
        "resumed": completed.resumed if completed else False,
        "early_data_accepted": completed.early_data_accepted if completed else False,
        "verified": (True if verified is None else verified) if completed else False,
        # The stapled OCSP response: good, unknown, stale, invalid, none (nothing stapled); null: not asked.
        "ocsp": completed.ocsp.status if completed and completed.ocsp is not None else None,
    }
    if completed is not None and completed.psk_identity is not None:
        identity = completed.psk_identity  # as text when it is printable, else in hex
        printable = identity.isascii() and identity.decode("ascii").isprintable()
        out["psk_identity"] = identity.decode("ascii") if printable else identity.hex()
    if error is not None:
        out["error"] = error
    return out
