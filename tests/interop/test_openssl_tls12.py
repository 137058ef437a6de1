"""TLS 1.2 against real OpenSSL, both ways: every suite of the engine with RSA and ECDSA certificates,
every curve, the extended master secret as OpenSSL reports it, resumption by ticket and by session ID,
client certificates, the RFC 5705 exporter, and key logs equal to OpenSSL's ``CLIENT_RANDOM`` lines.

``openssl s_client -tls1_2 -cipher X`` talks to a tlslens server (``Pump`` over a socket), and a tlslens
client to ``openssl s_server -tls1_2 -cipher X``; a default tlslens client (TLS 1.3 and 1.2) reaches a
TLS 1.2-only server.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from tlslens import ConnectionClosed
from tlslens.errors import HandshakeFailure
from tlslens.events import HandshakeCompleted, MessageReceived, SessionTicketReceived
from tlslens.session.cache import Session, SessionCache
from tlslens.session.tickets import TicketKeyRing
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import CertificateStatusType, CipherSuite, ProtocolVersion, SignatureScheme
from tlslens.wire.extensions import OCSPStatusRequest, StatusRequest
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages12 import CertificateStatusMessage
from tlslens.wire.suite_registry import suite_info

from .harness import (
    TIMEOUT,
    Harness,
    SClient,
    SServer,
    keylog_entries,
    read_keylog_file,
    s_client_exchange,
    s_client_session,
    s_server_exchange,
)
from .pump import Pump

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

CS = CipherSuite
SUITES = [  # (suite, certificate key type)
    (CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ecdsa-p256"),
    (CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ecdsa-p384"),
    (CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ecdsa-p256"),
    (CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "rsa2048"),
    (CS.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "rsa2048"),
    (CS.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "rsa2048"),
]
SUITE_IDS = [s.name for s, _ in SUITES]
GROUPS = ["x25519", "secp256r1", "secp384r1", "secp521r1", "x448"]
CLIENT_RANDOM = frozenset({"CLIENT_RANDOM"})


def openssl_name(suite: CipherSuite) -> str:
    info = suite_info(suite)
    assert info is not None and info.openssl_name is not None
    return info.openssl_name


def completed(pump: Pump) -> HandshakeCompleted:
    return next(e for e in pump.events if isinstance(e, HandshakeCompleted))


def assert_keylog_matches(harness: Harness, peer: SClient | SServer) -> None:
    ours = keylog_entries(harness.keylog_lines, CLIENT_RANDOM)
    assert len(ours) == 1
    assert ours == read_keylog_file(peer.keylog, CLIENT_RANDOM)


# --- openssl s_client -> tlslens server ---------------------------------------------------------------


@pytest.mark.parametrize(("suite", "key_type"), SUITES, ids=SUITE_IDS)
def test_s_client_tls12_reaches_tlslens_server_with_every_suite(
    harness: Harness, suite: CipherSuite, key_type: str
) -> None:
    pki = harness.pki(key_type)
    client, pump = s_client_session(
        harness, harness.server_config(pki), "-cipher", openssl_name(suite), pki=pki, version="-tls1_2"
    )
    pump.handshake()
    done = completed(pump)
    assert done.version == ProtocolVersion.TLS1_2 and done.cipher_suite == suite
    assert done.extended_master_secret
    client.proc.wait_for(rf"^New, TLSv1\.2, Cipher is {re.escape(openssl_name(suite))}$", TIMEOUT)
    client.proc.wait_for(r"^\s+Extended master secret: yes$", TIMEOUT)
    s_client_exchange(pump, client)
    assert_keylog_matches(harness, client)
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)


@pytest.mark.parametrize(
    "sigalg",
    [
        "rsa_pkcs1_sha256",
        "rsa_pkcs1_sha384",
        "rsa_pkcs1_sha512",
        "rsa_pss_rsae_sha256",
        "rsa_pss_rsae_sha512",
    ],
)
def test_tlslens_server_signs_server_key_exchange_with_what_s_client_asks(
    harness: Harness, sigalg: str
) -> None:
    pki = harness.pki("rsa2048")
    client, pump = s_client_session(
        harness, harness.server_config(pki), "-sigalgs", sigalg, pki=pki, version="-tls1_2"
    )
    pump.handshake()
    assert completed(pump).signature_scheme == SignatureScheme[sigalg.upper()]
    s_client_exchange(pump, client)


def test_s_client_resumes_a_tls12_session_by_tlslens_ticket(harness: Harness) -> None:
    config = harness.server_config(ticket_keys=TicketKeyRing())
    session_file = harness.tmp_path / "session.pem"
    client, pump = s_client_session(harness, config, "-sess_out", str(session_file), version="-tls1_2")
    pump.handshake()
    client.proc.wait_for(r"^New, TLSv1\.2, ", TIMEOUT)
    s_client_exchange(pump, client)
    pump.close()
    pump.wait_closed()
    client.proc.wait_exit(TIMEOUT)
    again, pump2 = s_client_session(harness, config, "-sess_in", str(session_file), version="-tls1_2")
    pump2.handshake()
    again.proc.wait_for(r"^Reused, TLSv1\.2, ", TIMEOUT)
    assert completed(pump2).resumed
    s_client_exchange(pump2, again, tag="2")


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048"])
def test_tlslens_server_requires_and_checks_an_s_client_certificate(harness: Harness, key_type: str) -> None:
    pki = harness.pki()
    config = harness.server_config(pki, client_verifier=WebPkiVerifier([pki.pki.root.certificate]))
    files = pki.client(key_type)
    client, pump = s_client_session(harness, config, *files.args, pki=pki, version="-tls1_2")
    pump.handshake()
    assert completed(pump).peer_certificates[0] == files.issued.certificate
    s_client_exchange(pump, client)


def test_tlslens_server_refuses_a_static_rsa_only_s_client(harness: Harness) -> None:
    client, pump = s_client_session(
        harness, harness.server_config(harness.pki("rsa2048")), "-cipher", "AES128-GCM-SHA256",
        pki=harness.pki("rsa2048"), version="-tls1_2",
    )  # fmt: skip
    with pytest.raises(HandshakeFailure):
        pump.handshake()
    client.proc.wait_for(r"alert handshake failure", TIMEOUT)


# --- tlslens client -> openssl s_server --------------------------------------------------------------


@pytest.mark.parametrize(("suite", "key_type"), SUITES, ids=SUITE_IDS)
def test_tlslens_client_reaches_s_server_tls12_with_every_suite(
    harness: Harness, suite: CipherSuite, key_type: str
) -> None:
    pki = harness.pki(key_type)
    server = harness.s_server("-cipher", openssl_name(suite), pki=pki, version="-tls1_2")
    pump = harness.tlslens_client(server.port, harness.client_config(pki))
    pump.handshake()
    done = completed(pump)
    assert (done.version, done.cipher_suite, done.extended_master_secret) == (
        ProtocolVersion.TLS1_2,
        suite,
        True,
    )
    s_server_exchange(pump, server)
    assert_keylog_matches(harness, server)
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)


@pytest.mark.parametrize("group", GROUPS)
def test_tlslens_client_tls12_with_every_curve(harness: Harness, group: str) -> None:
    server = harness.s_server("-groups", group, version="-tls1_2")
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    assert completed(pump).group.iana_name == group  # type: ignore[union-attr]
    s_server_exchange(pump, server)


@pytest.mark.parametrize("by", ["ticket", "session_id"])
def test_tlslens_client_resumes_a_tls12_session_with_s_server(harness: Harness, by: str) -> None:
    args = ("-naccept", "2") + (("-no_ticket",) if by == "session_id" else ())
    server = harness.s_server(*args, version="-tls1_2")
    config = harness.client_config(session_cache=SessionCache())
    pump = harness.tlslens_client(server.port, config)
    pump.handshake()
    s_server_exchange(pump, server)
    pump.close()
    pump.wait_closed()
    [session] = [e.session for e in pump.events if isinstance(e, SessionTicketReceived)]
    assert isinstance(session, Session) and session.version == ProtocolVersion.TLS1_2
    assert bool(session.ticket) == (by == "ticket")
    assert by == "ticket" or session.session_id  # (OpenSSL sends no session ID with a ticket)
    again = harness.tlslens_client(server.port, config)  # the session comes from the cache
    again.handshake()
    assert completed(again).resumed
    server.proc.wait_for(r"^Reused session-id$", TIMEOUT)
    s_server_exchange(again, server, tag="2")
    assert len(keylog_entries(harness.keylog_lines, CLIENT_RANDOM)) == 2  # one line a connection


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048"])
def test_tlslens_client_certificate_to_s_server_that_verifies_it(harness: Harness, key_type: str) -> None:
    pki = harness.pki()
    server = harness.s_server("-Verify", "1", "-CAfile", str(pki.root), version="-tls1_2")
    files = pki.client(key_type)
    config = harness.client_config(certificate_chain=files.chain, private_key=files.issued.private_key)
    pump = harness.tlslens_client(server.port, config)
    pump.handshake()
    s_server_exchange(pump, server)
    server.proc.wait_for(r"tlslens client", TIMEOUT)  # s_server prints the client certificate's subject


@pytest.mark.parametrize("context", [None, b"", b"some context"], ids=["no context", "empty", "context"])
def test_exporter_equals_openssl_keymatexport(harness: Harness, context: bytes | None) -> None:
    label = "EXPERIMENTAL tlslens"
    args = ["-keymatexport", label, "-keymatexportlen", "32"]
    server = harness.s_server(*args, version="-tls1_2")
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    ours = pump.conn.export_keying_material(label, context, 32)
    s_server_exchange(pump, server)
    match = re.search(r"Keying material: ([0-9A-F]+)", server.proc.output)
    assert match
    if context is None:  # s_server exports without a context
        assert ours.hex().upper() == match.group(1)
    else:
        assert ours.hex().upper() != match.group(1)


@pytest.mark.parametrize("stapled", [True, False], ids=["stapled", "status_request ignored"])
def test_tlslens_client_offering_status_request_reads_certificate_status(
    harness: Harness, tmp_path: Path, stapled: bool
) -> None:
    """RFC 6066 §8: a client that offers status_request (through client_hello_hook, as the scanner does)
    takes the CertificateStatus message after Certificate, or its absence."""
    pki = harness.pki("ecdsa-p256")
    response = tmp_path / "ocsp.der"
    response.write_bytes(bytes.fromhex("30030a0101"))  # OCSPResponse{ responseStatus malformedRequest }
    server = harness.s_server(
        *(("-status_file", str(response)) if stapled else ()), pki=pki, version="-tls1_2"
    )

    def with_status_request(hello: ClientHello) -> ClientHello:
        request = StatusRequest(CertificateStatusType.OCSP, OCSPStatusRequest())
        return dataclasses.replace(hello, extensions=(*(hello.extensions or ()), request))

    pump = harness.tlslens_client(
        server.port, harness.client_config(pki, client_hello_hook=with_status_request)
    )
    pump.handshake()
    assert completed(pump).version == ProtocolVersion.TLS1_2
    statuses = pump.messages(MessageReceived, CertificateStatusMessage)
    assert [s.response for s in statuses] == ([response.read_bytes()] if stapled else [])
    s_server_exchange(pump, server)
