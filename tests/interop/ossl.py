"""Run `openssl s_server` / `openssl s_client` as child processes and watch what they print.

stdout and stderr are merged and read by a thread, so ``wait_for`` can block on a pattern with a
deadline. The child runs under ``stdbuf -oL`` (when available) because OpenSSL prints parts of its
report through stdio, which a pipe would otherwise buffer until exit. stdin stays an open pipe: both
tools treat EOF on stdin as "quit", and read their one-letter commands (``k``, ``K``, ``Q``) from it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from tlslens.certgen import ThrowawayPki, make_leaf

OPENSSL = shutil.which("openssl")
STDBUF = shutil.which("stdbuf")


class OpenSSLProcess:
    def __init__(self, args: list[str]) -> None:
        assert OPENSSL is not None
        prefix = [STDBUF, "-oL", "-eL"] if STDBUF else []
        self.args = args
        self.proc = subprocess.Popen(
            [*prefix, OPENSSL, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._done = False
        assert self.proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            chunk = stream.read1(65536)  # type: ignore[attr-defined]
            with self._cond:
                if not chunk:
                    self._done = True
                    self._cond.notify_all()
                    return
                self._buf += chunk
                self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return self._buf.decode("latin-1")

    def wait_for(self, pattern: str, timeout: float = 5.0) -> re.Match[str]:
        """Wait until the output matches the regex ``pattern`` (multiline: ^ and $ match at lines)."""
        regex = re.compile(pattern, re.MULTILINE)
        found: list[re.Match[str]] = []

        def match(buf: bytearray) -> bool:
            m = regex.search(buf.decode("latin-1"))
            if m:
                found.append(m)
            return m is not None

        self._wait(match, timeout, repr(pattern))
        return found[0]

    def wait_for_bytes(self, data: bytes, timeout: float = 5.0) -> None:
        """Wait until ``data`` appears verbatim in the output."""
        self._wait(lambda buf: data in buf, timeout, f"{len(data)} bytes starting {data[:20]!r}")

    def command(self, line: str, confirmation: str, timeout: float = 5.0) -> None:
        """Send a one-letter command on a line of its own and wait until the regex ``confirmation``
        matches once more than before (so the next stdin line is not read together with it)."""
        regex = re.compile(confirmation, re.MULTILINE)
        before = len(regex.findall(self.output))
        self.write(line + "\n")
        seen = lambda buf: len(regex.findall(buf.decode("latin-1"))) > before  # noqa: E731
        self._wait(seen, timeout, repr(confirmation))

    def _wait(self, done: Callable[[bytearray], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done(self._buf):
                remaining = deadline - time.monotonic()
                if self._done or remaining <= 0:
                    why = "exited" if self._done else "timed out"
                    output = self._buf.decode("latin-1")
                    if len(output) > 20000:
                        output = output[:10000] + "\n[...]\n" + output[-10000:]
                    command = " ".join(self.args)
                    raise AssertionError(f"openssl {why} before printing {what}\n--- {command}\n{output}")
                self._cond.wait(remaining)

    def write(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_exit(self, timeout: float = 5.0) -> int:
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # a SIGKILLed child always goes
            self.proc.wait(timeout=5)
        self._reader.join(1)  # (it reads to EOF first: closing stdout under it made it raise ValueError)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._reader.join(1)


class ClientFiles:
    """A client certificate (clientAuth) from a PkiFiles' intermediate, as PEM files too."""

    def __init__(self, pki: ThrowawayPki, directory: Path, key_type: str, chain_path: Path) -> None:
        self.issued = make_leaf(pki.intermediate, ("tlslens client",), key_type=key_type, client=True)
        self.chain = [self.issued.certificate, pki.intermediate.certificate]
        self.cert = directory / f"client-{key_type}.pem"
        self.cert.write_bytes(self.issued.certificate.public_bytes(serialization.Encoding.PEM))
        self.key = directory / f"client-{key_type}-key.pem"
        self.key.write_bytes(_private_pem(self.issued.private_key))
        self.args = ["-cert", str(self.cert), "-key", str(self.key), "-cert_chain", str(chain_path)]
        """Options for s_client (or s_server) presenting this certificate with the intermediate."""


class PkiFiles:
    """A throwaway PKI written out as PEM files for the openssl command line; ``client(key_type)``
    issues client certificates from the same intermediate."""

    def __init__(self, pki: ThrowawayPki, directory: Path) -> None:
        self.pki = pki
        self.directory = directory
        self._clients: dict[str, ClientFiles] = {}
        directory.mkdir(parents=True, exist_ok=True)
        pem = serialization.Encoding.PEM
        self.root = directory / "root.pem"
        self.root.write_bytes(pki.root.certificate.public_bytes(pem))
        self.leaf = directory / "leaf.pem"
        self.leaf.write_bytes(pki.leaf.certificate.public_bytes(pem))
        self.chain = directory / "chain.pem"  # the intermediate, for -cert_chain
        self.chain.write_bytes(pki.intermediate.certificate.public_bytes(pem))
        self.key = directory / "key.pem"
        self.key.write_bytes(_private_pem(pki.leaf.private_key))

    def client(self, key_type: str = "ecdsa-p256") -> ClientFiles:
        if key_type not in self._clients:
            self._clients[key_type] = ClientFiles(self.pki, self.directory, key_type, self.chain)
        return self._clients[key_type]

    @property
    def server_args(self) -> list[str]:
        return ["-cert", str(self.leaf), "-key", str(self.key), "-cert_chain", str(self.chain)]


def _private_pem(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
