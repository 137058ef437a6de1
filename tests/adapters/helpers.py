"""Helpers for the I/O face tests: PEM files of a throwaway chain, a thread runner, exact reads."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tlslens.certgen import ThrowawayPki

TIMEOUT = 10.0
"""Seconds any single socket operation in these tests may take."""

ALPN = ["h2", "http/1.1"]


@dataclass(frozen=True)
class PemFiles:
    root: Path  # the root CA, what clients trust
    chain: Path  # leaf then intermediate, what a server presents
    leaf: Path
    intermediate: Path
    key: Path  # the leaf's private key (PKCS#8, unencrypted)


def write_pems(pki: ThrowawayPki, directory: Path) -> PemFiles:
    def pem(cert: Any) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[no-any-return]

    files = PemFiles(
        root=directory / "root.pem",
        chain=directory / "chain.pem",
        leaf=directory / "leaf.pem",
        intermediate=directory / "intermediate.pem",
        key=directory / "key.pem",
    )
    files.root.write_bytes(pem(pki.root.certificate))
    files.chain.write_bytes(b"".join(pem(c) for c in pki.chain))
    files.leaf.write_bytes(pem(pki.leaf.certificate))
    files.intermediate.write_bytes(pem(pki.intermediate.certificate))
    files.key.write_bytes(
        pki.leaf.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


def port_of(sock: socket.socket) -> int:
    return sock.getsockname()[1]  # type: ignore[no-any-return]


class Background:
    """Runs ``target`` in a thread; ``result()`` joins it and returns its value or raises its error."""

    def __init__(self, target: Callable[[], Any]) -> None:
        self._target = target
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._target()
        except BaseException as exc:
            self._error = exc

    def result(self, timeout: float = TIMEOUT * 2) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("background thread did not finish")
        if self._error is not None:
            raise self._error
        return self._value

    def error(self, timeout: float = TIMEOUT * 2) -> BaseException | None:
        """Join and return the exception the target raised (None if it returned)."""
        with contextlib.suppress(BaseException):
            self.result(timeout)
        return self._error


def recv_exactly(read: Callable[[int], bytes], n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = read(min(65536, n - len(out)))
        if not chunk:
            raise EOFError(f"EOF after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def recv_all(read: Callable[[int], bytes]) -> bytes:
    out = bytearray()
    while chunk := read(65536):
        out += chunk
    return bytes(out)
