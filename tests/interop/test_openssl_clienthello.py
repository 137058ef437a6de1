"""A real `openssl s_client` ClientHello, captured on a loopback socket, decodes completely and
re-encodes to the same bytes."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tlslens.wire.enums import CipherSuite, ContentType, NamedGroup, ProtocolVersion
from tlslens.wire.extensions import (
    ALPN,
    KeyShareClientHello,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlslens.wire.messages import ClientHello, decode_handshake, encode_handshake

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

TIMEOUT = 10.0


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def _read_client_hello(conn: socket.socket) -> tuple[bytes, int]:
    """Reassemble the first handshake message from handshake records; returns it and the record count."""
    message = bytearray()
    records = 0
    while len(message) < 4 or len(message) < 4 + int.from_bytes(message[1:4], "big"):
        header = _recv_exact(conn, 5)
        assert header[0] == ContentType.HANDSHAKE
        assert header[1] == 3  # record legacy_version 0x03xx
        message += _recv_exact(conn, int.from_bytes(header[3:5], "big"))
        records += 1
    assert message[0] == 1  # client_hello
    return bytes(message[: 4 + int.from_bytes(message[1:4], "big")]), records


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(TIMEOUT)
    yield sock
    sock.close()


def capture_client_hello(listener: socket.socket, *args: str) -> bytes:
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            raw, _ = _read_client_hello(conn)
        return raw
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)


def decode_exactly(raw: bytes) -> ClientHello:
    ch = decode_handshake(raw)
    assert isinstance(ch, ClientHello)
    assert encode_handshake(ch) == raw
    return ch


def test_openssl_tls13_client_hello_round_trips(listener: socket.socket) -> None:
    raw = capture_client_hello(listener, "-servername", "tlslens.test", "-alpn", "h2,http/1.1")
    ch = decode_exactly(raw)
    assert ch.legacy_version == ProtocolVersion.TLS1_2
    assert len(ch.random) == 32
    versions = ch.extension(SupportedVersionsClientHello)
    assert versions is not None and ProtocolVersion.TLS1_3 in versions.versions
    assert CipherSuite.TLS_AES_128_GCM_SHA256 in ch.cipher_suites
    assert CipherSuite.TLS_AES_256_GCM_SHA384 in ch.cipher_suites
    groups = ch.extension(SupportedGroups)
    assert groups is not None and NamedGroup.X25519 in groups.named_group_list
    key_share = ch.extension(KeyShareClientHello)
    assert key_share is not None and key_share.client_shares
    for share in key_share.client_shares:
        assert share.group in groups.named_group_list
    x25519 = [s for s in key_share.client_shares if s.group == NamedGroup.X25519]
    assert x25519 and len(x25519[0].key_exchange) == 32
    sni = ch.extension(ServerName)
    assert sni is not None and sni.host_names == ("tlslens.test",)
    alpn = ch.extension(ALPN)
    assert alpn is not None and alpn.protocol_name_list == (b"h2", b"http/1.1")
    assert ch.extension(SignatureAlgorithms) is not None


def test_openssl_tls12_client_hello_round_trips(listener: socket.socket) -> None:
    raw = capture_client_hello(listener, "-tls1_2")
    ch = decode_exactly(raw)
    assert ch.legacy_version == ProtocolVersion.TLS1_2
    assert ch.extensions is not None
    assert ch.extension(SupportedVersionsClientHello) is None
    assert ch.extension(KeyShareClientHello) is None
    assert not any(s.is_tls13 for s in ch.cipher_suites)
    assert CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 in ch.cipher_suites
    groups = ch.extension(SupportedGroups)
    assert groups is not None and NamedGroup.SECP256R1 in groups.named_group_list
