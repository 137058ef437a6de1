"""tlslens as the client, `openssl s_server -tls1_3` as the server, on 127.0.0.1.

The engine is driven over a plain socket by ``pump.Pump`` (no adapters). Each case checks what was
negotiated on both sides where OpenSSL prints it, moves data both ways, and where a key log is taken,
requires tlslens's secrets to equal the ones OpenSSL wrote with ``-keylogfile`` for the same connection.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from tlslens import CertificateError, ConnectionClosed, DataReceived, FatalAlert, KeyUpdated
from tlslens.errors import ProtocolVersionMismatch
from tlslens.events import MessageReceived
from tlslens.wire.enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme
from tlslens.wire.extensions import SupportedVersionsClientHello
from tlslens.wire.hello import ClientHello, ServerHello

from .harness import TIMEOUT, Harness, SServer, make_pki_files, openssl_error_alert, read_keylog_file
from .harness import s_server_exchange as exchange
from .pump import Pump

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

SUITES = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
]
GROUPS = ["x25519", "x448", "secp256r1", "secp384r1", "secp521r1"]  # every TLS 1.3 group OpenSSL 3.0 has
CERTIFICATES = [
    ("ecdsa-p256", SignatureScheme.ECDSA_SECP256R1_SHA256),
    ("ecdsa-p384", SignatureScheme.ECDSA_SECP384R1_SHA384),
    ("ecdsa-p521", SignatureScheme.ECDSA_SECP521R1_SHA512),
    ("ed25519", SignatureScheme.ED25519),
    ("ed448", SignatureScheme.ED448),
    ("rsa2048", SignatureScheme.RSA_PSS_RSAE_SHA256),
]


def close_both(pump: Pump, server: SServer) -> None:
    """We send close_notify; s_server answers with its own and exits (it was started with -naccept 1)."""
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)
    server.proc.wait_for(r"^DONE$", TIMEOUT)
    pump.sock.close()
    assert server.proc.wait_exit(TIMEOUT) == 0


def assert_keylog_matches(harness: Harness, server: SServer) -> None:
    ours = harness.tlslens_keylog
    assert len(ours) == 5
    assert ours == read_keylog_file(server.keylog)


def hello_retry_requests(pump: Pump) -> list[ServerHello]:
    return [m for m in pump.messages(MessageReceived, ServerHello) if m.is_hello_retry_request]


@pytest.mark.parametrize("suite", SUITES)
def test_client_negotiates_each_suite_and_matches_openssl_keylog(harness: Harness, suite: str) -> None:
    server = harness.s_server("-ciphersuites", suite)
    pump = harness.tlslens_client(server.port, harness.client_config(cipher_suites=[suite]))
    done = pump.handshake()
    assert done.version == ProtocolVersion.TLS1_3
    assert done.cipher_suite == CipherSuite[suite]
    exchange(pump, server)
    server.proc.wait_for(rf"^CIPHER is {suite}$", TIMEOUT)
    assert_keylog_matches(harness, server)
    close_both(pump, server)


@pytest.mark.parametrize("group", GROUPS)
def test_client_negotiates_each_group(harness: Harness, group: str) -> None:
    server = harness.s_server("-groups", group)
    pump = harness.tlslens_client(server.port, harness.client_config(groups=[group]))
    done = pump.handshake()
    assert done.group is not None and done.group.iana_name == group
    assert not hello_retry_requests(pump)
    exchange(pump, server)
    assert_keylog_matches(harness, server)
    close_both(pump, server)


def test_client_retries_with_the_group_s_server_asks_for(harness: Harness) -> None:
    server = harness.s_server("-groups", "secp384r1")
    config = harness.client_config(groups=["x25519", "secp384r1"], key_share_groups=["x25519"])
    pump = harness.tlslens_client(server.port, config)
    done = pump.handshake()
    assert len(hello_retry_requests(pump)) == 1
    assert done.group == NamedGroup.SECP384R1
    exchange(pump, server)
    assert_keylog_matches(harness, server)  # the transcript through message_hash agrees with OpenSSL's
    close_both(pump, server)


def test_client_alpn_takes_the_protocol_s_server_selects(harness: Harness) -> None:
    server = harness.s_server("-alpn", "http/1.1")
    pump = harness.tlslens_client(server.port, harness.client_config(alpn_protocols=["h2", "http/1.1"]))
    done = pump.handshake()
    assert done.alpn_protocol == "http/1.1"
    exchange(pump, server)
    close_both(pump, server)


@pytest.mark.parametrize(("key_type", "scheme"), CERTIFICATES, ids=[c[0] for c in CERTIFICATES])
def test_client_verifies_each_certificate_type(
    harness: Harness, key_type: str, scheme: SignatureScheme
) -> None:
    pki = harness.pki(key_type)
    server = harness.s_server(pki=pki)
    pump = harness.tlslens_client(server.port, harness.client_config(pki))
    done = pump.handshake()
    assert done.signature_scheme == scheme
    assert done.peer_certificates[0] == pki.pki.leaf.certificate
    exchange(pump, server)
    close_both(pump, server)


# --- KeyUpdate ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_peer", [False, True], ids=["update_not_requested", "update_requested"])
def test_client_key_update(harness: Harness, request_peer: bool) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    exchange(pump, server, "1")
    pump.update_keys(request_peer=request_peer)
    # s_server can only read this with our next key; a requested update is answered before its next write.
    exchange(pump, server, "2")
    expected = [KeyUpdated("receive", update_requested=False)] if request_peer else []
    assert pump.key_updates == expected
    if request_peer:  # OpenSSL's KeyUpdate came before its data (which used the new key)
        kinds = [type(e) for e in pump.events if isinstance(e, KeyUpdated | DataReceived)]
        assert kinds == [DataReceived, KeyUpdated, DataReceived]
    pump.update_keys(request_peer=request_peer)
    exchange(pump, server, "3")
    close_both(pump, server)


@pytest.mark.parametrize("command", ["k", "K"])
def test_client_follows_s_server_key_update(harness: Harness, command: str) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    exchange(pump, server, "1")
    server.key_update(request_peer=command == "K")
    assert pump.wait_key_updates(1) == [KeyUpdated("receive", update_requested=command == "K")]
    exchange(pump, server, "2")  # both directions still work (after K, with our new key too)
    server.key_update(request_peer=command == "K")
    pump.wait_key_updates(2)
    exchange(pump, server, "3")
    close_both(pump, server)


# --- closing ----------------------------------------------------------------------------------------------


def test_client_fetches_a_page_from_s_server_www_and_sees_its_close_notify(harness: Harness) -> None:
    server = harness.s_server("-www")  # answers one GET with a status page, then sends close_notify
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    pump.send(b"GET / HTTP/1.0\r\n\r\n")
    assert pump.wait_closed() == ConnectionClosed(clean=True)
    page = bytes(pump.received)
    assert page.startswith(b"HTTP/1.0 200 ok\r\n")
    assert b"TLS_AES_128_GCM_SHA256" in page  # the page reports the cipher OpenSSL negotiated
    pump.close()  # TLS 1.3 half-close: answering after the peer closed is fine
    pump.sock.close()
    assert server.proc.wait_exit(TIMEOUT) == 0


def test_client_half_closes_and_still_reads_the_page(harness: Harness) -> None:
    """RFC 8446 §6.1: after our close_notify we can still receive until the peer closes too."""
    server = harness.s_server("-www")
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    pump.send(b"GET / HTTP/1.0\r\n\r\n")
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)
    assert bytes(pump.received).startswith(b"HTTP/1.0 200 ok\r\n")
    assert bytes(pump.received).rstrip().endswith(b"</BODY></HTML>")


def test_client_reports_truncation_when_s_server_quits_without_close_notify(harness: Harness) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    exchange(pump, server)
    server.proc.write("q\n")  # s_server closes its socket first; its close_notify never leaves
    assert pump.wait_closed() == ConnectionClosed(clean=False)


def test_client_reports_truncation_when_s_server_dies(harness: Harness) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    exchange(pump, server)
    server.proc.kill()
    assert pump.wait_closed() == ConnectionClosed(clean=False)


# --- refusals ---------------------------------------------------------------------------------------------


def test_tls13_only_client_gets_protocol_version_from_tls12_only_s_server(harness: Harness) -> None:
    """tlslens offers only TLS 1.3, so OpenSSL (TLS 1.2 only) refuses first with protocol_version."""
    server = harness.s_server(version="-tls1_2")
    pump = harness.tlslens_client(server.port, harness.client_config(versions=("TLSv1.3",)))
    with pytest.raises(FatalAlert) as exc_info:
        pump.handshake()
    assert exc_info.value.description == AlertDescription.PROTOCOL_VERSION
    server.proc.wait_for("unsupported protocol", TIMEOUT)


def _offer_tls12(hello: ClientHello) -> ClientHello:
    """Also offer TLS 1.2 and one TLS 1.2 suite, so a TLS 1.2 server answers with a TLS 1.2 ServerHello."""
    extensions = tuple(
        SupportedVersionsClientHello((ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2))
        if isinstance(e, SupportedVersionsClientHello)
        else e
        for e in hello.extensions or ()
    )
    suites = (*hello.cipher_suites, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    return dataclasses.replace(hello, cipher_suites=suites, extensions=extensions)


def test_tls13_only_client_sends_protocol_version_to_tls12_server_hello(harness: Harness) -> None:
    server = harness.s_server(version="-tls1_2")
    config = harness.client_config(versions=("TLSv1.3",), client_hello_hook=_offer_tls12)
    pump = harness.tlslens_client(server.port, config)
    with pytest.raises(ProtocolVersionMismatch):
        pump.handshake()
    server.proc.wait_for("alert protocol version", TIMEOUT)
    assert openssl_error_alert(server.proc.output) == "protocol version"


def test_client_rejects_certificate_for_another_name(harness: Harness) -> None:
    pki = make_pki_files("ecdsa-p256", harness.tmp_path / "other-name", names=("other.example",))
    server = harness.s_server(pki=pki)
    pump = harness.tlslens_client(server.port, harness.client_config(pki))
    with pytest.raises(CertificateError) as exc_info:
        pump.handshake()
    assert "localhost" in str(exc_info.value)
    server.proc.wait_for(r"SSL alert number \d+", TIMEOUT)
    assert openssl_error_alert(server.proc.output) == exc_info.value.alert.name.lower().replace("_", " ")


def test_client_rejects_certificate_from_an_unknown_root(harness: Harness) -> None:
    server = harness.s_server(pki=harness.pki("ecdsa-p384"))
    pump = harness.tlslens_client(server.port, harness.client_config(harness.pki("ecdsa-p256")))
    with pytest.raises(CertificateError) as exc_info:
        pump.handshake()
    assert exc_info.value.alert == AlertDescription.UNKNOWN_CA
    server.proc.wait_for(r"SSL alert number 48", TIMEOUT)
    assert openssl_error_alert(server.proc.output) == "unknown ca"
