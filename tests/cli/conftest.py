"""Fixtures for the command-line tests: throwaway PKIs written as PEM files, as a real server reads them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tlslens.certgen import make_ca, make_leaf
from tlslens.cli.demo import write_pki

requires_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


@dataclass(frozen=True)
class PkiFiles:
    ca: Path
    chain: Path
    key: Path


@dataclass(frozen=True)
class ClientPkiFiles:
    ca: Path
    cert: Path
    key: Path
    subject: str


def _pem_key(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    """Root → intermediate → leaf for localhost and 127.0.0.1: ca.pem, chain.pem (leaf first), key.pem."""
    folder = tmp_path_factory.mktemp("server-pki")
    ca, chain, key = write_pki(folder)
    return PkiFiles(ca, chain, key)


@pytest.fixture(scope="session")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> ClientPkiFiles:
    """A client CA and a client certificate (clientAuth) issued by it."""
    folder = tmp_path_factory.mktemp("client-pki")
    ca = make_ca("tlslens test client CA")
    leaf = make_leaf(ca, ("alice",), client=True)
    pem = serialization.Encoding.PEM
    (folder / "client-ca.pem").write_bytes(ca.certificate.public_bytes(pem))
    (folder / "client.pem").write_bytes(leaf.certificate.public_bytes(pem))
    (folder / "client.key").write_bytes(_pem_key(leaf.private_key))
    return ClientPkiFiles(
        folder / "client-ca.pem",
        folder / "client.pem",
        folder / "client.key",
        leaf.certificate.subject.rfc4514_string(),
    )


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private key that matches no certificate of the fixtures."""
    path = tmp_path_factory.mktemp("other") / "other.key"
    path.write_bytes(_pem_key(make_ca("unrelated").private_key))
    return path
