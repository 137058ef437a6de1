"""Handshake details against OpenSSL, both directions: middlebox compatibility off, SNI and IP
addresses, the default configs as they are, suite preference, certificate selection by
signature_algorithms, extensions tlslens does not implement, client certificates, and truncation.
"""

from __future__ import annotations

import shutil

import pytest

from tlslens import CertifiedKey, ConnectionClosed, FatalAlert
from tlslens.errors import CertificateRequired
from tlslens.events import MessageReceived, MessageSent
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import AlertDescription, CipherSuite, NamedGroup, SignatureScheme
from tlslens.wire.extensions import ServerName
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import CertificateRequest

from .harness import (
    TIMEOUT,
    Harness,
    openssl_error_alert,
    s_client_exchange,
    s_client_session,
    s_server_exchange,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

# --- hello details ------------------------------------------------------------------------------------


def test_client_without_middlebox_compatibility(harness: Harness) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config(middlebox_compatibility=False))
    pump.handshake()
    (hello,) = pump.messages(MessageSent, ClientHello)
    assert hello.legacy_session_id == b""
    s_server_exchange(pump, server)


def test_server_accepts_s_client_without_middlebox_compatibility(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config(), "-no_middlebox")
    pump.handshake()
    (hello,) = pump.messages(MessageReceived, ClientHello)
    assert hello.legacy_session_id == b""
    s_client_exchange(pump, client)


def test_server_without_sni_from_s_client(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config(), servername=None)
    done = pump.handshake()
    assert done.server_name is None
    client.proc.wait_for(r"^Verify return code: 0 \(ok\)$", TIMEOUT)
    s_client_exchange(pump, client)


def test_client_connecting_by_ip_address_sends_no_sni_and_checks_the_ip_san(harness: Harness) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config(), server_name="127.0.0.1")
    pump.handshake()
    (hello,) = pump.messages(MessageSent, ClientHello)
    assert hello.extension(ServerName) is None
    s_server_exchange(pump, server)


def test_client_default_config_needs_no_hrr_from_openssl_30(harness: Harness) -> None:
    """The default shares are X25519MLKEM768 + x25519; OpenSSL 3.0 has no ML-KEM, so it takes x25519."""
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config())
    done = pump.handshake()
    assert done.group == NamedGroup.X25519
    assert not [m for m in pump.messages(MessageReceived, ServerHello) if m.is_hello_retry_request]


def test_server_prefers_its_own_suite_order(harness: Harness) -> None:
    offered = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
    client, pump = s_client_session(harness, harness.server_config(), "-ciphersuites", offered)
    done = pump.handshake()
    assert done.cipher_suite == CipherSuite.TLS_AES_256_GCM_SHA384  # our order: AES-128, AES-256, ChaCha
    client.proc.wait_for(r"Cipher is TLS_AES_256_GCM_SHA384$", TIMEOUT)


@pytest.mark.parametrize(
    ("sigalgs", "key_type", "scheme"),
    [
        ("rsa_pss_rsae_sha256", "rsa2048", SignatureScheme.RSA_PSS_RSAE_SHA256),
        ("ed25519", "ed25519", SignatureScheme.ED25519),
        ("ecdsa_secp384r1_sha384", "ecdsa-p384", SignatureScheme.ECDSA_SECP384R1_SHA384),
    ],
    ids=["rsa", "ed25519", "p384"],
)
def test_server_picks_the_certificate_s_client_can_verify(
    harness: Harness, sigalgs: str, key_type: str, scheme: SignatureScheme
) -> None:
    pkis = [harness.pki(k) for k in ("ecdsa-p256", "rsa2048", "ed25519", "ecdsa-p384")]
    roots = harness.tmp_path / "roots.pem"
    roots.write_bytes(b"".join(p.root.read_bytes() for p in pkis))
    extra = [CertifiedKey.from_key(p.pki.chain, p.pki.leaf.private_key) for p in pkis[1:]]
    config = harness.server_config(pkis[0], certificates=extra)  # the ecdsa-p256 one is the default
    client, pump = s_client_session(harness, config, "-sigalgs", sigalgs, cafile=roots)
    done = pump.handshake()
    assert done.signature_scheme == scheme
    client.proc.wait_for(r"^Verify return code: 0 \(ok\)$", TIMEOUT)
    s_client_exchange(pump, client)


# --- client certificates ------------------------------------------------------------------------------


def test_client_presents_its_certificate_to_s_server(harness: Harness) -> None:
    pki = harness.pki()
    server = harness.s_server("-Verify", "2", "-CAfile", str(pki.root), "-verify_return_error")
    config = harness.client_config(certificate_chain=pki.client_chain, private_key=pki.client.private_key)
    pump = harness.tlslens_client(server.port, config)
    pump.handshake()
    assert pump.messages(MessageReceived, CertificateRequest)
    s_server_exchange(pump, server)
    server.proc.wait_for(r"^subject=.*CN = tlslens client$", TIMEOUT)


def test_client_without_certificate_gets_certificate_required_from_s_server(harness: Harness) -> None:
    pki = harness.pki()
    server = harness.s_server("-Verify", "2", "-CAfile", str(pki.root), "-verify_return_error")
    pump = harness.tlslens_client(server.port, harness.client_config())
    with pytest.raises(FatalAlert) as exc_info:
        pump.handshake()
        pump.until(lambda: False, timeout=TIMEOUT, what="the alert")  # it follows our Finished
    assert exc_info.value.description == AlertDescription.CERTIFICATE_REQUIRED


def test_server_verifies_s_client_certificate(harness: Harness) -> None:
    pki = harness.pki()
    config = harness.server_config(client_verifier=WebPkiVerifier([pki.pki.root.certificate]))
    client, pump = s_client_session(harness, config, *pki.client_args)
    done = pump.handshake()
    assert done.peer_certificates[0] == pki.client.certificate
    s_client_exchange(pump, client)


def test_server_requires_a_certificate_from_s_client(harness: Harness) -> None:
    pki = harness.pki()
    config = harness.server_config(client_verifier=WebPkiVerifier([pki.pki.root.certificate]))
    client, pump = s_client_session(harness, config)
    with pytest.raises(CertificateRequired):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 116", TIMEOUT)
    assert openssl_error_alert(client.proc.output) == "certificate required"


def test_server_sees_eof_when_s_client_is_killed(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config())
    pump.handshake()
    s_client_exchange(pump, client)
    client.proc.kill()
    assert pump.wait_closed() == ConnectionClosed(clean=False)
