"""Handshake details against OpenSSL, both directions: middlebox compatibility off, SNI and IP
addresses, the default configs as they are, suite preference, certificate selection by
signature_algorithms, extensions tlslens does not implement, client certificates, and truncation.
"""

from __future__ import annotations

import shutil

import pytest

from tlslens import (
    CertifiedKey,
    ConnectionClosed,
    FatalAlert,
    KeyUpdated,
    RemoteProtocolError,
    SessionTicketReceived,
)
from tlslens.errors import CertificateError, CertificateRequired, HandshakeFailure
from tlslens.events import MessageReceived, MessageSent, RecordReceived
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import AlertDescription, CipherSuite, ContentType, NamedGroup, SignatureScheme
from tlslens.wire.extensions import ServerName
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import Certificate, CertificateRequest, CertificateVerify

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


def test_client_with_middlebox_compatibility_against_s_server_without(harness: Harness) -> None:
    server = harness.s_server("-no_middlebox")  # echoes our session id, but sends no change_cipher_spec
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    received = [e.content_type for e in pump.events if isinstance(e, RecordReceived)]
    assert ContentType.CHANGE_CIPHER_SPEC not in received
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

CLIENT_CERTIFICATES = [
    ("ecdsa-p256", SignatureScheme.ECDSA_SECP256R1_SHA256),
    ("rsa2048", SignatureScheme.RSA_PSS_RSAE_SHA256),
    ("ed25519", SignatureScheme.ED25519),
]


@pytest.mark.parametrize(("key_type", "scheme"), CLIENT_CERTIFICATES, ids=[c[0] for c in CLIENT_CERTIFICATES])
def test_client_presents_its_certificate_to_s_server(
    harness: Harness, key_type: str, scheme: SignatureScheme
) -> None:
    pki = harness.pki()
    mine = pki.client(key_type)
    server = harness.s_server("-Verify", "2", "-CAfile", str(pki.root), "-verify_return_error")
    config = harness.client_config(certificate_chain=mine.chain, private_key=mine.issued.private_key)
    pump = harness.tlslens_client(server.port, config)
    pump.handshake()
    assert pump.messages(MessageReceived, CertificateRequest)
    (verify,) = pump.messages(MessageSent, CertificateVerify)
    assert verify.algorithm == scheme
    s_server_exchange(pump, server)
    server.proc.wait_for(r"^subject=.*CN = tlslens client$", TIMEOUT)


def test_client_without_certificate_answers_an_optional_request_from_s_server(harness: Harness) -> None:
    pki = harness.pki()
    server = harness.s_server("-verify", "2", "-CAfile", str(pki.root))
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    (certificate,) = pump.messages(MessageSent, Certificate)
    assert certificate.certificate_list == ()
    s_server_exchange(pump, server)


def test_client_without_certificate_gets_certificate_required_from_s_server(harness: Harness) -> None:
    pki = harness.pki()
    server = harness.s_server("-Verify", "2", "-CAfile", str(pki.root), "-verify_return_error")
    pump = harness.tlslens_client(server.port, harness.client_config())
    with pytest.raises(FatalAlert) as exc_info:
        pump.handshake()
        pump.until(lambda: False, timeout=TIMEOUT, what="the alert")  # it follows our Finished
    assert exc_info.value.description == AlertDescription.CERTIFICATE_REQUIRED


@pytest.mark.parametrize(("key_type", "scheme"), CLIENT_CERTIFICATES, ids=[c[0] for c in CLIENT_CERTIFICATES])
def test_server_verifies_s_client_certificate(
    harness: Harness, key_type: str, scheme: SignatureScheme
) -> None:
    pki = harness.pki()
    theirs = pki.client(key_type)
    config = harness.server_config(client_verifier=WebPkiVerifier([pki.pki.root.certificate]))
    client, pump = s_client_session(harness, config, *theirs.args)
    done = pump.handshake()
    assert done.peer_certificates == tuple(theirs.chain)
    (verify,) = pump.messages(MessageReceived, CertificateVerify)
    assert verify.algorithm == scheme
    s_client_exchange(pump, client)


def test_server_requires_a_certificate_from_s_client(harness: Harness) -> None:
    pki = harness.pki()
    config = harness.server_config(client_verifier=WebPkiVerifier([pki.pki.root.certificate]))
    client, pump = s_client_session(harness, config)
    with pytest.raises(CertificateRequired):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 116", TIMEOUT)
    assert openssl_error_alert(client.proc.output) == "certificate required"


def test_server_refuses_a_client_certificate_from_another_ca(harness: Harness) -> None:
    other = harness.pki("ecdsa-p384")  # its own root
    config = harness.server_config(client_verifier=WebPkiVerifier([harness.pki().pki.root.certificate]))
    client, pump = s_client_session(harness, config, *other.client().args)
    with pytest.raises(CertificateError) as exc_info:
        pump.handshake()
    assert exc_info.value.alert == AlertDescription.UNKNOWN_CA
    client.proc.wait_for(r"SSL alert number 48", TIMEOUT)


def test_server_sees_eof_when_s_client_is_killed(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config())
    pump.handshake()
    s_client_exchange(pump, client)
    client.proc.kill()
    assert pump.wait_closed() == ConnectionClosed(clean=False)


# --- what tlslens does not implement, and what it cannot agree on -------------------------------------


@pytest.mark.parametrize(
    "args",
    [["-status"], ["-enable_pha"], ["-serverinfo", "1000,2000"]],
    ids=["status_request", "post_handshake_auth", "unknown_extensions"],
)
def test_server_ignores_extensions_it_does_not_implement(harness: Harness, args: list[str]) -> None:
    client, pump = s_client_session(harness, harness.server_config(), *args)
    pump.handshake()
    s_client_exchange(pump, client)


def test_server_sends_handshake_failure_when_no_scheme_fits_its_certificate(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config(), "-sigalgs", "ed448")  # we have ECDSA
    with pytest.raises(HandshakeFailure):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 40", TIMEOUT)


def test_server_refuses_when_no_group_is_shared(harness: Harness) -> None:
    config = harness.server_config(groups=["x448"])
    client, pump = s_client_session(harness, config, "-groups", "x25519:secp256r1")
    with pytest.raises(RemoteProtocolError) as exc_info:
        pump.handshake()
    # RFC 8446 §4.1.1: handshake_failure or insufficient_security
    refusals = (AlertDescription.HANDSHAKE_FAILURE, AlertDescription.INSUFFICIENT_SECURITY)
    assert exc_info.value.alert in refusals
    client.proc.wait_for(rf"SSL alert number {int(exc_info.value.alert)}", TIMEOUT)


# --- post-handshake ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("tickets", [0, 1, 4])
def test_client_takes_session_tickets_from_s_server(harness: Harness, tickets: int) -> None:
    server = harness.s_server("-num_tickets", str(tickets))
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    s_server_exchange(pump, server)  # the tickets come before s_server's first data
    assert len([e for e in pump.events if isinstance(e, SessionTicketReceived)]) == tickets


def test_key_updates_requested_by_both_sides_at_once(harness: Harness) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    s_server_exchange(pump, server, "1")
    pump.update_keys(request_peer=True)
    server.key_update(request_peer=True)  # crosses ours on the wire
    s_server_exchange(pump, server, "2")
    s_server_exchange(pump, server, "3")
    assert KeyUpdated("receive", update_requested=True) in pump.key_updates


def test_many_key_updates_with_s_client(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config())
    pump.handshake()
    expected: list[KeyUpdated] = []
    for i in range(10):
        client.key_update(request_peer=i % 2 == 0)
        expected.append(KeyUpdated("receive", update_requested=i % 2 == 0))
        assert pump.wait_key_updates(len(expected)) == expected  # before ours, which OpenSSL would merge
        pump.update_keys(request_peer=i % 3 == 0)
        s_client_exchange(pump, client, str(i))  # OpenSSL answers a request before this data
        if i % 3 == 0:
            expected.append(KeyUpdated("receive", update_requested=False))
        assert pump.key_updates == expected


# --- OpenSSL refusing us: its alerts arrive encrypted ---------------------------------------------------


def test_server_raises_the_alert_s_client_sends_for_an_untrusted_chain(harness: Harness) -> None:
    # under the client handshake traffic key: s_client already has it when it checks our chain
    other_root = harness.pki("ecdsa-p384").root
    client, pump = s_client_session(harness, harness.server_config(), cafile=other_root)
    with pytest.raises(FatalAlert) as exc_info:
        pump.handshake()
    assert exc_info.value.description == AlertDescription.UNKNOWN_CA
    client.proc.wait_for(r"Verify return code: 20 ", TIMEOUT)


def test_server_raises_the_alert_s_client_sends_for_another_hostname(harness: Harness) -> None:
    listener, port = harness.listen()
    proc = harness.openssl(
        "s_client", "-tls1_3", "-connect", f"127.0.0.1:{port}", "-CAfile", str(harness.pki().root),
        "-verify_hostname", "other.example", "-verify_return_error",
    )  # fmt: skip
    pump = harness.accept(listener, harness.server_config())
    with pytest.raises(FatalAlert) as exc_info:
        pump.handshake()
    assert exc_info.value.description == AlertDescription.BAD_CERTIFICATE
    proc.wait_for(r"Verify return code: 62 \(hostname mismatch\)", TIMEOUT)


def test_client_raises_the_alert_s_server_sends_for_an_untrusted_certificate(harness: Harness) -> None:
    # under the server application traffic key: s_server has sent its Finished by then
    other = harness.pki("ecdsa-p384").client()
    server = harness.s_server("-Verify", "2", "-CAfile", str(harness.pki().root), "-verify_return_error")
    config = harness.client_config(certificate_chain=other.chain, private_key=other.issued.private_key)
    pump = harness.tlslens_client(server.port, config)
    with pytest.raises(FatalAlert) as exc_info:
        pump.handshake()
        pump.until(lambda: False, timeout=TIMEOUT, what="the alert")
    assert exc_info.value.description == AlertDescription.UNKNOWN_CA


# --- RSA-PSS hashes ------------------------------------------------------------------------------------

RSA_SCHEMES = ["rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512"]


@pytest.mark.parametrize("scheme", RSA_SCHEMES)
def test_client_verifies_each_rsa_pss_hash_from_s_server(harness: Harness, scheme: str) -> None:
    pki = harness.pki("rsa2048")
    server = harness.s_server(pki=pki)
    pump = harness.tlslens_client(server.port, harness.client_config(pki, signature_schemes=[scheme]))
    done = pump.handshake()
    assert done.signature_scheme == SignatureScheme[scheme.upper()]
    s_server_exchange(pump, server)


@pytest.mark.parametrize("scheme", RSA_SCHEMES)
def test_server_signs_with_each_rsa_pss_hash_for_s_client(harness: Harness, scheme: str) -> None:
    pki = harness.pki("rsa2048")
    client, pump = s_client_session(harness, harness.server_config(pki), "-sigalgs", scheme, pki=pki)
    done = pump.handshake()
    assert done.signature_scheme == SignatureScheme[scheme.upper()]
    client.proc.wait_for(rf"^Peer signing digest: SHA{scheme[-3:]}$", TIMEOUT)
    s_client_exchange(pump, client)


def test_server_with_optional_client_certificate_and_s_client_without_one(harness: Harness) -> None:
    verifier = WebPkiVerifier([harness.pki().pki.root.certificate])
    config = harness.server_config(client_verifier=verifier, require_client_certificate=False)
    client, pump = s_client_session(harness, config)
    done = pump.handshake()
    assert done.peer_certificates == ()
    s_client_exchange(pump, client)
