"""A stdout that a reader may close early (``| head -1``): once a write finds the pipe closed, stdout
points at /dev/null and later output is dropped, so the command runs on to its verdict and exits
with the status it calls for, instead of dying on ``BrokenPipeError`` (or exit status 120 when Python
fails to flush at exit).
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any


class _QuietRaw(io.RawIOBase):
    """File descriptor 1, where EPIPE means "nobody reads any more"."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.broken = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return not self.broken and os.isatty(self._fd)

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self.broken:
            return size
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            self.broken = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._fd)  # so that nothing else (flush at exit) meets the closed pipe
            os.close(devnull)
            return size


def guard_stdout() -> None:
    """Replace ``sys.stdout`` with one over ``_QuietRaw`` (same encoding and line buffering)."""
    old = sys.stdout
    if old is None:
        return
    try:
        fd = old.fileno()
    except (OSError, ValueError, AttributeError):
        return
    old.flush()
    raw = _QuietRaw(fd)
    buffered = io.BufferedWriter(raw)
    sys.stdout = io.TextIOWrapper(
        buffered,
        encoding=old.encoding,
        errors=old.errors,
        line_buffering=bool(old.line_buffering),
        write_through=False,
    )
