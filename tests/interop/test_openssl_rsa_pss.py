"""RSASSA-PSS certificates (id-RSASSA-PSS keys) against OpenSSL, both ways and both roles: such a key
signs CertificateVerify with rsa_pss_pss_* only (RFC 8446 §4.2.3, §4.4.3). OpenSSL aborts with
illegal_parameter on an rsa_pss_rsae_* signature from one, and a peer that offers only rsa_pss_pss_*
must still find a scheme in common.
"""

from __future__ import annotations

import shutil

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.rsa_pss import RsaPssLeaf, rsa_pss_client_leaf, rsa_pss_pki
from tlslens import ClientConfig, ServerConfig
from tlslens.events import MessageReceived, MessageSent
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import SignatureScheme
from tlslens.wire.messages import CertificateVerify

from .harness import TIMEOUT, Harness, s_client_exchange, s_client_session, s_server_exchange

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

S = SignatureScheme
_PEM = Encoding.PEM


def _files(harness: Harness, leaf: RsaPssLeaf, stem: str) -> list[str]:
    """-cert/-key/-cert_chain for openssl, the key as openssl wrote it."""
    cert, key = leaf.write(harness.tmp_path, stem)
    chain = harness.tmp_path / f"{stem}-chain.pem"
    chain.write_bytes(leaf.pki.intermediate.certificate.public_bytes(_PEM))
    return ["-cert", str(cert), "-key", str(key), "-cert_chain", str(chain)]


def _root(harness: Harness, leaf: RsaPssLeaf) -> str:
    root = harness.tmp_path / "pss-root.pem"
    root.write_bytes(leaf.pki.root.certificate.public_bytes(_PEM))
    return str(root)


def _server_config(harness: Harness, **kwargs: object) -> ServerConfig:
    pss = rsa_pss_pki()
    return ServerConfig(
        certificate_chain=pss.chain, private_key=pss.private_key, keylog=harness.keylog, **kwargs  # type: ignore[arg-type]
    )


def _client_config(harness: Harness, **kwargs: object) -> ClientConfig:
    return ClientConfig(trust_anchors=[rsa_pss_pki().pki.root.certificate], keylog=harness.keylog, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("sigalgs", [None, "rsa_pss_pss_sha256", "rsa_pss_pss_sha384", "rsa_pss_pss_sha512"])
def test_server_with_rsa_pss_certificate_signs_rsa_pss_pss_for_s_client(
    harness: Harness, sigalgs: str | None
) -> None:
    pss = rsa_pss_pki()
    args = ["-sigalgs", sigalgs] if sigalgs else []
    client, pump = s_client_session(harness, _server_config(harness), *args, cafile=_root(harness, pss))  # type: ignore[arg-type]
    done = pump.handshake()
    assert done.signature_scheme == (S[sigalgs.upper()] if sigalgs else S.RSA_PSS_PSS_SHA256)
    client.proc.wait_for(r"^Verify return code: 0 \(ok\)$", TIMEOUT)
    client.proc.wait_for(r"^Peer signature type: RSA-PSS$", TIMEOUT)
    s_client_exchange(pump, client)


def test_client_verifies_rsa_pss_pss_from_s_server(harness: Harness) -> None:
    pss = rsa_pss_pki()
    server = harness.s_server(*_files(harness, pss, "pss-server"), "-sigalgs", "rsa_pss_pss_sha256")
    pump = harness.tlslens_client(server.port, _client_config(harness))
    done = pump.handshake()
    assert done.signature_scheme == S.RSA_PSS_PSS_SHA256
    (verify,) = pump.messages(MessageReceived, CertificateVerify)
    assert verify.algorithm == S.RSA_PSS_PSS_SHA256
    s_server_exchange(pump, server)


@pytest.mark.parametrize("client_sigalgs", [None, "rsa_pss_pss_sha256"])
def test_client_with_rsa_pss_certificate_signs_rsa_pss_pss_for_s_server(
    harness: Harness, client_sigalgs: str | None
) -> None:
    mine = rsa_pss_client_leaf()
    args = ["-client_sigalgs", client_sigalgs] if client_sigalgs else []
    server = harness.s_server(
        *harness.pki().server_args, "-Verify", "2", "-CAfile", _root(harness, mine), "-verify_return_error",
        *args,
    )  # fmt: skip
    config = harness.client_config(certificate_chain=mine.chain, private_key=mine.private_key)
    pump = harness.tlslens_client(server.port, config)
    pump.handshake()
    (verify,) = pump.messages(MessageSent, CertificateVerify)
    assert verify.algorithm == S.RSA_PSS_PSS_SHA256
    s_server_exchange(pump, server)
    server.proc.wait_for(r"^subject=.*CN = client\.example$", TIMEOUT)


def test_server_verifies_rsa_pss_client_certificate_from_s_client(harness: Harness) -> None:
    theirs = rsa_pss_client_leaf()
    config = harness.server_config(client_verifier=WebPkiVerifier([theirs.pki.root.certificate]))
    client, pump = s_client_session(harness, config, *_files(harness, theirs, "pss-client"))
    done = pump.handshake()
    assert done.peer_certificates[0] == theirs.certificate
    (verify,) = pump.messages(MessageReceived, CertificateVerify)
    assert verify.algorithm == S.RSA_PSS_PSS_SHA256
    s_client_exchange(pump, client)
