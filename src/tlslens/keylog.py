"""NSS key log format (what Wireshark reads, and ``SSLKEYLOGFILE`` names): the one way secrets leave.

Each line: ``LABEL <client_random hex> <secret hex>``. Configure with ``ClientConfig(keylog=...)`` /
``ServerConfig(keylog=...)``: any callable taking one line, for example a ``KeyLogFile``.
"""

from __future__ import annotations

import os
import threading
from typing import Final

CLIENT_EARLY_TRAFFIC_SECRET: Final = "CLIENT_EARLY_TRAFFIC_SECRET"
CLIENT_HANDSHAKE_TRAFFIC_SECRET: Final = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
SERVER_HANDSHAKE_TRAFFIC_SECRET: Final = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
CLIENT_TRAFFIC_SECRET_0: Final = "CLIENT_TRAFFIC_SECRET_0"
SERVER_TRAFFIC_SECRET_0: Final = "SERVER_TRAFFIC_SECRET_0"
EARLY_EXPORTER_SECRET: Final = "EARLY_EXPORTER_SECRET"
EXPORTER_SECRET: Final = "EXPORTER_SECRET"


def format_line(label: str, client_random: bytes, secret: bytes) -> str:
    return f"{label} {client_random.hex()} {secret.hex()}"


class KeyLogFile:
    """Appends key log lines to a file, safely from several threads and processes (one write a line)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        data = (line + "\n").encode("ascii")
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def __repr__(self) -> str:
        return f"KeyLogFile({self.path!r})"


def from_environment() -> KeyLogFile | None:
    """A KeyLogFile for ``$SSLKEYLOGFILE`` when it is set, else None."""
    path = os.environ.get("SSLKEYLOGFILE")
    return KeyLogFile(path) if path else None
