"""TLS 1.2 with two more stacks, both ways: Python's ``ssl`` (OpenSSL, ``maximum_version = TLSv1_2``) and
GnuTLS (``gnutls-cli`` / ``gnutls-serv``, Debian package gnutls-bin, installed by ``.ci/run``).

Each case completes a handshake, moves data both ways and checks what the other stack says was
negotiated; resumption is checked where the other stack reports it.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

import tlslens
from tlslens.adapters.blocking import connect, wrap_server_socket
from tlslens.certgen import ThrowawayPki, make_pki
from tlslens.session.cache import SessionCache
from tlslens.wire.enums import ProtocolVersion

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

TIMEOUT = 10.0
PEM = serialization.Encoding.PEM


class Pem:
    def __init__(self, pki: ThrowawayPki, directory: Path) -> None:
        self.pki = pki
        self.root = directory / "root.pem"
        self.root.write_bytes(pki.root.certificate.public_bytes(PEM))
        self.chain = directory / "chain.pem"
        self.chain.write_bytes(b"".join(c.public_bytes(PEM) for c in pki.chain))
        self.key = directory / "key.pem"
        self.key.write_bytes(
            pki.leaf.private_key.private_bytes(
                PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


@pytest.fixture(scope="module", params=["ecdsa-p256", "rsa2048"])
def pem(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pem:
    return Pem(make_pki(("localhost",), key_type=request.param), tmp_path_factory.mktemp(request.param))


def server_config(pem: Pem, **kwargs: Any) -> tlslens.ServerConfig:
    return tlslens.ServerConfig(
        certificate_chain=pem.pki.chain, private_key=pem.pki.leaf.private_key, **kwargs
    )


def client_config(pem: Pem, **kwargs: Any) -> tlslens.ClientConfig:
    return tlslens.ClientConfig(trust_anchors=[pem.pki.root.certificate], **kwargs)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(TIMEOUT)
    yield sock
    sock.close()


def in_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``fn`` in a thread; the returned function joins it and gives its result (or raises)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the thread did not finish"
        if "error" in box:
            raise box["error"]
        return box["result"]

    return join


def recv_line(recv: Callable[[int], bytes]) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = recv(1024)
        if not chunk:
            break
        data += chunk
    return data


# --- Python's ssl -----------------------------------------------------------------------------------------


def test_tlslens_client_to_ssl_server_at_tls12_resumes(pem: Pem, listener: socket.socket) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pem.chain, pem.key)

    def serve() -> list[tuple[str | None, bool]]:
        seen = []
        for _ in range(2):
            raw, _ = listener.accept()
            raw.settimeout(TIMEOUT)
            with ctx.wrap_socket(raw, server_side=True) as tls:
                tls.sendall(b"echo " + recv_line(tls.recv))
                seen.append((tls.version(), tls.session_reused))
                tls.recv(10)  # until our close_notify
        return seen

    join = in_thread(serve)
    config = client_config(pem, session_cache=SessionCache())
    port = listener.getsockname()[1]
    for i in range(2):
        with connect("127.0.0.1", port, config, "localhost", timeout=TIMEOUT) as tls:
            assert tls.version == "TLSv1.2"
            assert tls.handshake.extended_master_secret and tls.handshake.resumed == (i == 1)
            tls.sendall(b"hello\n")
            assert recv_line(tls.recv) == b"echo hello\n"
    assert join() == [("TLSv1.2", False), ("TLSv1.2", True)]


def test_ssl_client_at_tls12_to_tlslens_server_resumes(pem: Pem, listener: socket.socket) -> None:
    server = wrap_server_socket(listener, server_config(pem))

    def serve() -> list[tuple[str, bool]]:
        seen = []
        for _ in range(2):
            tls, _ = server.accept()
            with tls:
                tls.sendall(b"echo " + recv_line(tls.recv))
                assert tls.handshake is not None
                seen.append((tls.version, tls.handshake.resumed))
        return seen

    join = in_thread(serve)
    ctx = ssl.create_default_context(cafile=str(pem.root))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    session = None
    reused = []
    for _ in range(2):
        with (
            socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
        ):
            assert tls.version() == "TLSv1.2"
            tls.sendall(b"hi\n")
            assert recv_line(tls.recv) == b"echo hi\n"
            reused.append(tls.session_reused)
            session = tls.session
    assert reused == [False, True]
    assert join() == [("TLSv1.2", False), ("TLSv1.2", True)]


# --- GnuTLS -----------------------------------------------------------------------------------------------

gnutls = pytest.mark.skipif(
    shutil.which("gnutls-cli") is None or shutil.which("gnutls-serv") is None,
    reason="gnutls-bin is not installed (.ci/run installs it)",
)
TLS12_ONLY = "NORMAL:-VERS-ALL:+VERS-TLS1.2"


@gnutls
@pytest.mark.parametrize("priority", [TLS12_ONLY, "NORMAL"], ids=["TLSv1.2", "default (TLSv1.3)"])
def test_gnutls_cli_to_tlslens_server(pem: Pem, listener: socket.socket, priority: str) -> None:
    server = wrap_server_socket(listener, server_config(pem))

    def serve() -> tuple[str, bool | None]:
        tls, _ = server.accept()
        with tls:
            tls.sendall(b"echo " + recv_line(tls.recv))
            assert tls.handshake is not None
            return tls.version, tls.handshake.extended_master_secret

    join = in_thread(serve)
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        ["gnutls-cli", "--priority", priority, "--x509cafile", str(pem.root), "-p", str(port), "localhost"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"ping\n")
        proc.stdin.flush()
        lines = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:  # (the test's own timeout stops a silent peer)
            line = proc.stdout.readline()
            lines.append(line.decode())
            if not line or line.startswith(b"echo ping"):
                break
        out = "".join(lines)
        assert "echo ping" in out, out
        version, ems = join()
    finally:
        proc.kill()
        proc.wait(TIMEOUT)
    if priority == TLS12_ONLY:
        assert version == "TLSv1.2" and ems
        assert "(TLS1.2-" in out and "extended master secret" in out, out
    else:
        assert version == "TLSv1.3" and "(TLS1.3-" in out, out


@gnutls
@pytest.mark.parametrize("priority", [TLS12_ONLY, "NORMAL"], ids=["TLSv1.2", "default (TLSv1.3)"])
def test_tlslens_client_to_gnutls_serv(pem: Pem, priority: str) -> None:
    with socket.socket() as probe:  # gnutls-serv cannot take port 0: pick a free port first
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            "gnutls-serv", "--echo", "--priority", priority, "-p", str(port), "--disable-client-cert",
            "--x509certfile", str(pem.chain), "--x509keyfile", str(pem.key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gnutls-serv did not start"
                time.sleep(0.05)
        with connect("127.0.0.1", port, client_config(pem), "localhost", timeout=TIMEOUT) as tls:
            expected = ProtocolVersion.TLS1_2 if priority == TLS12_ONLY else ProtocolVersion.TLS1_3
            assert tls.version == expected.label
            tls.sendall(b"hello gnutls\n")
            assert recv_line(tls.recv) == b"hello gnutls\n"
    finally:
        proc.kill()
        proc.wait(TIMEOUT)
