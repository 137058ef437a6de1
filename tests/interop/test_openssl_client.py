"""`openssl s_client -tls1_3` as the client, tlslens as the server, on 127.0.0.1.

s_client verifies our chain against the throwaway root with ``-verify_hostname localhost
-verify_return_error`` and must report ``Verify return code: 0 (ok)``. Application data goes through its
stdin; its one-letter commands (``k``/``K`` KeyUpdate, ``Q`` quit) too, each on a line of its own.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tlslens import ConnectionClosed, DataReceived, KeyUpdated, ServerConfig
from tlslens.errors import HandshakeFailure, NoApplicationProtocol, ProtocolVersionMismatch
from tlslens.events import MessageReceived, MessageSent
from tlslens.wire.enums import CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme
from tlslens.wire.hello import ClientHello, ServerHello

from .harness import TIMEOUT, Harness, SClient, openssl_error_alert, read_keylog_file
from .harness import s_client_exchange as exchange
from .ossl import PkiFiles
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
ALL_SUITES = [CipherSuite[s] for s in SUITES]
GROUPS = {  # group -> how s_client names it in "Server Temp Key:"
    "x25519": "X25519",
    "x448": "X448",
    "secp256r1": "ECDH, prime256v1",
    "secp384r1": "ECDH, secp384r1",
    "secp521r1": "ECDH, secp521r1",
}
CERTIFICATES = [  # key type, the scheme tlslens signs with, s_client's "Peer signature type"
    ("ecdsa-p256", SignatureScheme.ECDSA_SECP256R1_SHA256, "ECDSA"),
    ("ecdsa-p384", SignatureScheme.ECDSA_SECP384R1_SHA384, "ECDSA"),
    ("ecdsa-p521", SignatureScheme.ECDSA_SECP521R1_SHA512, "ECDSA"),
    ("ed25519", SignatureScheme.ED25519, "ed25519"),
    ("ed448", SignatureScheme.ED448, "ed448"),
    ("rsa2048", SignatureScheme.RSA_PSS_RSAE_SHA256, "RSA-PSS"),
]

KEY_TYPES = [c[0] for c in CERTIFICATES]


def connect(
    harness: Harness, config: ServerConfig, *args: str, pki: PkiFiles | None = None, version: str = "-tls1_3"
) -> tuple[SClient, Pump]:
    """Start s_client (trusting ``pki``'s root) against a tlslens server with ``config``."""
    listener, port = harness.listen()
    client = harness.s_client(port, *args, pki=pki, version=version)
    return client, harness.accept(listener, config)


def handshake(client: SClient, pump: Pump) -> None:
    pump.handshake()
    client.proc.wait_for(r"^Verify return code: 0 \(ok\)$", TIMEOUT)


def close_both(pump: Pump, client: SClient) -> None:
    """We send close_notify; s_client prints "closed", answers with its own and exits."""
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)
    client.proc.wait_for(r"^closed$", TIMEOUT)
    pump.sock.close()  # s_client drains its socket until EOF before it exits
    assert client.proc.wait_exit(TIMEOUT) == 0


def assert_keylog_matches(harness: Harness, client: SClient) -> None:
    ours = harness.tlslens_keylog
    assert len(ours) == 5
    assert ours == read_keylog_file(client.keylog)


def hello_retry_requests(pump: Pump) -> list[ServerHello]:
    return [m for m in pump.messages(MessageSent, ServerHello) if m.is_hello_retry_request]


@pytest.mark.parametrize("suite", SUITES)
def test_server_negotiates_each_suite_and_matches_openssl_keylog(harness: Harness, suite: str) -> None:
    client, pump = connect(harness, harness.server_config(cipher_suites=ALL_SUITES), "-ciphersuites", suite)
    handshake(client, pump)
    done = pump.completed
    assert done is not None and done.cipher_suite == CipherSuite[suite]
    assert done.version == ProtocolVersion.TLS1_3 and done.server_name == "localhost"
    client.proc.wait_for(rf"^New, TLSv1\.3, Cipher is {suite}$", TIMEOUT)
    exchange(pump, client)
    assert_keylog_matches(harness, client)
    close_both(pump, client)


@pytest.mark.parametrize("group", list(GROUPS))
def test_server_negotiates_each_group(harness: Harness, group: str) -> None:
    client, pump = connect(harness, harness.server_config(), "-groups", group)
    handshake(client, pump)
    assert pump.completed is not None and pump.completed.group is not None
    assert pump.completed.group.iana_name == group
    assert not hello_retry_requests(pump)
    client.proc.wait_for(rf"^Server Temp Key: {GROUPS[group]}, \d+ bits$", TIMEOUT)
    exchange(pump, client)
    assert_keylog_matches(harness, client)
    close_both(pump, client)


def test_server_takes_s_client_share_over_its_own_preference(harness: Harness) -> None:
    """s_client sends a share for its first group only (x25519); we prefer secp384r1 but accept x25519:
    the share in hand wins, no HelloRetryRequest (as OpenSSL, Go and rustls servers choose)."""
    config = harness.server_config(groups=["secp384r1", "x25519"])
    client, pump = connect(harness, config, "-groups", "x25519:secp384r1")
    handshake(client, pump)
    assert not hello_retry_requests(pump)
    assert pump.completed is not None and pump.completed.group == NamedGroup.X25519
    client.proc.wait_for(r"^Server Temp Key: X25519, 253 bits$", TIMEOUT)
    exchange(pump, client)
    close_both(pump, client)


def test_server_asks_s_client_for_a_group_it_accepts(harness: Harness) -> None:
    """s_client sends a share for its first group only (x25519), which we do not accept: a
    HelloRetryRequest for secp384r1, whose cookie s_client must echo."""
    config = harness.server_config(groups=["secp384r1"])
    client, pump = connect(harness, config, "-groups", "x25519:secp384r1")
    handshake(client, pump)
    assert len(hello_retry_requests(pump)) == 1
    assert len(pump.messages(MessageReceived, ClientHello)) == 2
    assert pump.completed is not None and pump.completed.group == NamedGroup.SECP384R1
    client.proc.wait_for(r"^Server Temp Key: ECDH, secp384r1, 384 bits$", TIMEOUT)
    exchange(pump, client)
    assert_keylog_matches(harness, client)
    close_both(pump, client)


def test_server_alpn_chooses_by_its_own_preference(harness: Harness) -> None:
    config = harness.server_config(alpn_protocols=["h2", "http/1.1"])
    client, pump = connect(harness, config, "-alpn", "http/1.1,h2")
    handshake(client, pump)
    assert pump.completed is not None and pump.completed.alpn_protocol == "h2"
    client.proc.wait_for(r"^ALPN protocol: h2$", TIMEOUT)
    exchange(pump, client)
    close_both(pump, client)


@pytest.mark.parametrize(("key_type", "scheme", "openssl_name"), CERTIFICATES, ids=KEY_TYPES)
def test_server_certificate_types_verify_in_s_client(
    harness: Harness, key_type: str, scheme: SignatureScheme, openssl_name: str
) -> None:
    pki = harness.pki(key_type)
    client, pump = connect(harness, harness.server_config(pki), pki=pki)
    handshake(client, pump)
    assert pump.completed is not None and pump.completed.signature_scheme == scheme
    client.proc.wait_for(rf"^Peer signature type: {re.escape(openssl_name)}$", TIMEOUT)
    exchange(pump, client)
    close_both(pump, client)


# --- KeyUpdate ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["k", "K"])
def test_server_follows_s_client_key_update(harness: Harness, command: str) -> None:
    client, pump = connect(harness, harness.server_config())
    handshake(client, pump)
    exchange(pump, client, "1")
    client.key_update(request_peer=command == "K")
    assert pump.wait_key_updates(1) == [KeyUpdated("receive", update_requested=command == "K")]
    exchange(pump, client, "2")  # after K, s_client reads our data under our new key
    client.key_update(request_peer=command == "K")
    pump.wait_key_updates(2)
    exchange(pump, client, "3")
    assert client.proc.output.count("KEYUPDATE") == 2
    close_both(pump, client)


@pytest.mark.parametrize("request_peer", [False, True], ids=["update_not_requested", "update_requested"])
def test_server_key_update(harness: Harness, request_peer: bool) -> None:
    client, pump = connect(harness, harness.server_config())
    handshake(client, pump)
    exchange(pump, client, "1")
    pump.update_keys(request_peer=request_peer)
    exchange(pump, client, "2")  # OpenSSL answers a requested update before its next write
    assert pump.key_updates == ([KeyUpdated("receive", update_requested=False)] if request_peer else [])
    if request_peer:
        kinds = [type(e) for e in pump.events if isinstance(e, KeyUpdated | DataReceived)]
        assert kinds == [DataReceived, KeyUpdated, DataReceived]
    close_both(pump, client)


# --- closing ----------------------------------------------------------------------------------------------


def test_server_sees_s_client_close_notify(harness: Harness) -> None:
    client, pump = connect(harness, harness.server_config())
    handshake(client, pump)
    exchange(pump, client)
    client.proc.write("Q\n")  # s_client: send close_notify and quit
    assert pump.wait_closed() == ConnectionClosed(clean=True)
    pump.close()
    pump.sock.close()
    assert client.proc.wait_exit(TIMEOUT) == 0


# --- refusals ---------------------------------------------------------------------------------------------


def test_tls13_only_server_sends_protocol_version_to_tls12_only_s_client(harness: Harness) -> None:
    client, pump = connect(harness, harness.server_config(versions=("TLSv1.3",)), version="-tls1_2")
    with pytest.raises(ProtocolVersionMismatch):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 70", TIMEOUT)
    assert openssl_error_alert(client.proc.output) == "protocol version"
    assert client.proc.wait_exit(TIMEOUT) != 0


def test_server_sends_handshake_failure_when_no_suite_is_shared(harness: Harness) -> None:
    # tlslens's default suites leave out the CCM ones
    client, pump = connect(harness, harness.server_config(), "-ciphersuites", "TLS_AES_128_CCM_8_SHA256")
    with pytest.raises(HandshakeFailure):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 40", TIMEOUT)
    assert openssl_error_alert(client.proc.output) == "handshake failure"


def test_server_sends_no_application_protocol_when_alpn_has_no_overlap(harness: Harness) -> None:
    config = harness.server_config(alpn_protocols=["h2"])
    client, pump = connect(harness, config, "-alpn", "http/1.1")
    with pytest.raises(NoApplicationProtocol):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 120", TIMEOUT)
    assert openssl_error_alert(client.proc.output) == "no application protocol"

