"""NSS key log format (what Wireshark reads, and ``SSLKEYLOGFILE`` names): the one way secrets leave.

Each line: ``LABEL <client_random hex> <secret hex>``; a TLS 1.2 session is one ``CLIENT_RANDOM`` line
with its 48-octet master secret (``client_random_line``). Configure with ``ClientConfig(keylog=...)`` /
``ServerConfig(keylog=...)``: any callable taking one line, for example a ``KeyLogFile``.
"""

from __future__ import annotations

import os
import threading
from typing import Final

from tlslens.errors import LocalProtocolError

CLIENT_EARLY_TRAFFIC_SECRET: Final = "CLIENT_EARLY_TRAFFIC_SECRET"
CLIENT_HANDSHAKE_TRAFFIC_SECRET: Final = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
SERVER_HANDSHAKE_TRAFFIC_SECRET: Final = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
CLIENT_TRAFFIC_SECRET_0: Final = "CLIENT_TRAFFIC_SECRET_0"
SERVER_TRAFFIC_SECRET_0: Final = "SERVER_TRAFFIC_SECRET_0"
EARLY_EXPORTER_SECRET: Final = "EARLY_EXPORTER_SECRET"
EXPORTER_SECRET: Final = "EXPORTER_SECRET"
CLIENT_RANDOM: Final = "CLIENT_RANDOM"  # TLS 1.2 and older: the master secret


def format_line(label: str, client_random: bytes, secret: bytes) -> str:
    return f"{label} {client_random.hex()} {secret.hex()}"


def client_random_line(client_random: bytes, master_secret: bytes) -> str:
    """``CLIENT_RANDOM <32-octet client random> <48-octet master secret>``: what Wireshark needs to
    decrypt a TLS 1.2 connection (and what ``openssl s_client -keylogfile`` writes for one)."""
    if len(client_random) != 32 or len(master_secret) != 48:
        raise LocalProtocolError("CLIENT_RANDOM needs a 32-octet client random and a 48-octet master secret")
    return format_line(CLIENT_RANDOM, client_random, master_secret)


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
