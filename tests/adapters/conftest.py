"""Fixtures for the I/O faces: a throwaway chain (in memory and as PEM files), configs for both
roles, ``ssl`` contexts that trust the same root, and loopback sockets. Every socket gets a timeout,
so a broken face fails a test instead of hanging it."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

import tlslens
from tests.adapters.helpers import ALPN, TIMEOUT, PemFiles, write_pems
from tlslens.certgen import ThrowawayPki, make_pki


@pytest.fixture(scope="session")
def pki() -> ThrowawayPki:
    return make_pki(("localhost", "127.0.0.1"))


@pytest.fixture(scope="session")
def other_pki() -> ThrowawayPki:
    """An unrelated CA: trusting only its root must make the handshake with ``pki`` fail."""
    return make_pki(("localhost", "127.0.0.1"))


@pytest.fixture
def pems(pki: ThrowawayPki, tmp_path: Path) -> PemFiles:
    return write_pems(pki, tmp_path)


@pytest.fixture
def other_pems(other_pki: ThrowawayPki, tmp_path: Path) -> PemFiles:
    (tmp_path / "other").mkdir()
    return write_pems(other_pki, tmp_path / "other")


@pytest.fixture
def server_config(pki: ThrowawayPki) -> tlslens.ServerConfig:
    return tlslens.ServerConfig(
        certificate_chain=pki.chain, private_key=pki.leaf.private_key, alpn_protocols=ALPN
    )


@pytest.fixture
def client_config(pki: ThrowawayPki) -> tlslens.ClientConfig:
    return tlslens.ClientConfig(trust_anchors=[pki.root.certificate], alpn_protocols=["http/1.1"])


@pytest.fixture
def untrusting_client_config(other_pki: ThrowawayPki) -> tlslens.ClientConfig:
    return tlslens.ClientConfig(trust_anchors=[other_pki.root.certificate], alpn_protocols=["http/1.1"])


@pytest.fixture
def ssl_server_context(pems: PemFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(pems.chain, pems.key)
    ctx.set_alpn_protocols(ALPN)
    return ctx


@pytest.fixture
def ssl_client_context(pems: PemFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(pems.root)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback listening socket on a free port."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(TIMEOUT)
    with sock:
        yield sock


@pytest.fixture
def socketpair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    with a, b:
        yield a, b
