"""Client and server in memory (``helpers.ConnectionPair``): every suite, group and certificate type,
HelloRetryRequest, ALPN, KeyUpdate, close and half-close, truncation, certificate selection, client
certificates, record_size_limit, bulk data, and what HandshakeCompleted says on each side."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from tests.handshake.helpers import (
    APPLICATION_DATA,
    ConnectionPair,
    certified_key,
    client_chain,
    client_config,
    client_leaf,
    data_received,
    of_type,
    pki,
    records,
    server_config,
    verifier,
)
from tlslens.config import ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.dangerous import NoVerification
from tlslens.errors import BadCertificate, FatalAlert, NoApplicationProtocol
from tlslens.events import (
    ConnectionClosed,
    DataReceived,
    DecisionMade,
    HandshakeCompleted,
    KeyUpdated,
    MessageReceived,
)
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme
from tlslens.wire.extensions import RecordSizeLimit
from tlslens.wire.hello import ServerHello

SUITES = [
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_CCM_SHA256,
    CipherSuite.TLS_AES_128_CCM_8_SHA256,
]
GROUPS = [
    NamedGroup.X25519,
    NamedGroup.SECP256R1,
    NamedGroup.SECP384R1,
    NamedGroup.SECP521R1,
    NamedGroup.X448,
    NamedGroup.X25519MLKEM768,
]
CERTIFICATES = {
    "ecdsa-p256": SignatureScheme.ECDSA_SECP256R1_SHA256,
    "ecdsa-p384": SignatureScheme.ECDSA_SECP384R1_SHA384,
    "ecdsa-p521": SignatureScheme.ECDSA_SECP521R1_SHA512,
    "ed25519": SignatureScheme.ED25519,
    "ed448": SignatureScheme.ED448,
    "rsa2048": SignatureScheme.RSA_PSS_RSAE_SHA256,
}


def completed(events: list) -> HandshakeCompleted:
    (done,) = of_type(events, HandshakeCompleted)
    return done


def exchange(pair: ConnectionPair, up: bytes = b"ping", down: bytes = b"pong") -> None:
    """Data both ways; each side receives exactly what the other sent."""
    before_server, before_client = len(pair.server_events), len(pair.client_events)
    pair.client.send_data(up)
    pair.server.send_data(down)
    pair.pump()
    assert data_received(pair.server_events[before_server:]) == up
    assert data_received(pair.client_events[before_client:]) == down


def close_both(pair: ConnectionPair) -> None:
    pair.client.close()
    pair.pump()
    pair.server.close()
    pair.pump()
    assert pair.server_events[-1] == ConnectionClosed(clean=True)
    assert pair.client_events[-1] == ConnectionClosed(clean=True)
    assert pair.client.closed and pair.server.closed


# --- the matrix ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "group", "key_type"),
    [
        pytest.param(s, g, k, id=f"{s.name}-{g.iana_name}-{k}")
        for s, g, k in itertools.product(SUITES, GROUPS, CERTIFICATES)
    ],
)
def test_handshake_matrix(suite: CipherSuite, group: NamedGroup, key_type: str) -> None:
    pair = ConnectionPair(
        client_config(key_type, cipher_suites=(suite,), groups=(group,)),
        server_config(key_type, cipher_suites=(suite,)),
    ).handshake()
    for done in (completed(pair.client_events), completed(pair.server_events)):
        assert (done.version, done.cipher_suite, done.group) == (ProtocolVersion.TLS1_3, suite, group)
        assert done.signature_scheme == CERTIFICATES[key_type]
    assert completed(pair.client_events).peer_certificates == tuple(pki(key_type).chain)
    exchange(pair, b"x" * 20_000, b"y" * 3)
    close_both(pair)


def test_handshake_completed_on_both_sides() -> None:
    pair = ConnectionPair(
        client_config(alpn_protocols=("h2",)), server_config(alpn_protocols=("h2",))
    ).handshake()
    client, server = completed(pair.client_events), completed(pair.server_events)
    for done in (client, server):
        assert done.version == ProtocolVersion.TLS1_3
        assert done.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256  # first in the default preference
        assert done.group == NamedGroup.X25519MLKEM768  # first default group, share sent: no HRR
        assert done.signature_scheme == SignatureScheme.ECDSA_SECP256R1_SHA256
        assert done.alpn_protocol == "h2"
        assert done.server_name == "localhost"
        assert done.resumed is False
        assert done.early_data_accepted is False
    assert client.peer_certificates == tuple(pki().chain)
    assert server.peer_certificates == ()  # no client certificate asked for
    assert pair.client.handshake_complete and pair.server.handshake_complete
    assert not pair.client.closed and not pair.server.closed


def test_ip_address_is_verified_but_not_sent_as_sni() -> None:
    pair = ConnectionPair(client_config(), server_config(), server_name="127.0.0.1").handshake()
    assert completed(pair.client_events).server_name is None
    assert completed(pair.server_events).server_name is None


def test_no_server_name_at_all_with_verification_off() -> None:
    pair = ConnectionPair(
        client_config(verifier=NoVerification()), server_config(), server_name=None
    ).handshake()
    assert completed(pair.server_events).server_name is None


# --- HelloRetryRequest -----------------------------------------------------------------------------------


@pytest.mark.parametrize("middlebox", [True, False], ids=["middlebox_compatibility", "no_middlebox"])
def test_hello_retry_request(middlebox: bool) -> None:
    c = ClientConnection(
        client_config(
            groups=(NamedGroup.X25519, NamedGroup.SECP384R1),
            key_share_groups=(NamedGroup.X25519,),
            middlebox_compatibility=middlebox,
        ),
        "localhost",
        trace=True,
    )
    s = ServerConnection(server_config(groups=(NamedGroup.SECP384R1,)))  # the x25519 share does not fit
    pair = ConnectionPair(client=c, server=s).handshake()
    hellos = [
        e.message for e in of_type(pair.client_events, MessageReceived) if isinstance(e.message, ServerHello)
    ]
    assert [h.is_hello_retry_request for h in hellos] == [True, False]
    assert completed(pair.client_events).group == completed(pair.server_events).group == NamedGroup.SECP384R1
    change_cipher_specs = sum(r.content_type == 20 for chunk in pair.client_wire for r in records(chunk))
    assert change_cipher_specs == (1 if middlebox else 0)
    exchange(pair)


def test_no_hello_retry_when_the_server_takes_the_classical_fallback_share() -> None:
    # Default client: X25519MLKEM768 and x25519 shares; a server without ML-KEM picks x25519 at once.
    c = ClientConnection(client_config(), "localhost", trace=True)
    s = ServerConnection(server_config(groups=(NamedGroup.X25519, NamedGroup.SECP256R1)))
    pair = ConnectionPair(client=c, server=s).handshake()
    hellos = [
        e.message for e in of_type(pair.client_events, MessageReceived) if isinstance(e.message, ServerHello)
    ]
    assert len(hellos) == 1
    assert completed(pair.client_events).group == NamedGroup.X25519


# --- ALPN ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "server", "expected"),
    [
        pytest.param(("h2", "http/1.1"), ("http/1.1", "h2"), "http/1.1", id="match-server_preference"),
        pytest.param(("h2",), ("h2",), "h2", id="match-single"),
        pytest.param(("h2", "http/1.1"), (), None, id="client_only"),
        pytest.param((), ("h2",), None, id="server_only"),
    ],
)
def test_alpn(client: tuple[str, ...], server: tuple[str, ...], expected: str | None) -> None:
    pair = ConnectionPair(
        client_config(alpn_protocols=client), server_config(alpn_protocols=server)
    ).handshake()
    assert completed(pair.client_events).alpn_protocol == expected
    assert completed(pair.server_events).alpn_protocol == expected


def test_alpn_without_overlap() -> None:
    pair = ConnectionPair(client_config(alpn_protocols=("h2",)), server_config(alpn_protocols=("http/1.1",)))
    data = pair.client.data_to_send()
    with pytest.raises(NoApplicationProtocol):
        pair.server.receive_data(data)
    with pytest.raises(FatalAlert) as info:
        pair.client.receive_data(pair.server.data_to_send())
    assert info.value.description == AlertDescription.NO_APPLICATION_PROTOCOL


# --- KeyUpdate -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_peer", [False, True], ids=["not_requested", "requested"])
@pytest.mark.parametrize("initiator", ["client", "server"])
def test_key_update(initiator: str, request_peer: bool) -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    me, peer_events, my_events = (
        (pair.client, pair.server_events, pair.client_events)
        if initiator == "client"
        else (pair.server, pair.client_events, pair.server_events)
    )
    seen_by_peer, seen_by_me = len(peer_events), len(my_events)
    me.update_keys(request_peer=request_peer)
    pair.pump()
    assert of_type(peer_events[seen_by_peer:], KeyUpdated) == [KeyUpdated("receive", request_peer)]
    answers = [KeyUpdated("receive", False)] if request_peer else []
    assert of_type(my_events[seen_by_me:], KeyUpdated) == answers
    exchange(pair)
    me.update_keys(request_peer=request_peer)
    exchange(pair, b"after a second update", b"and back")
    close_both(pair)


def test_key_updates_crossing_in_flight() -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    pair.client.update_keys(request_peer=True)
    pair.server.update_keys(request_peer=True)
    pair.client.send_data(b"c")
    pair.server.send_data(b"s")
    pair.pump()
    assert data_received(pair.server_events) == b"c"
    assert data_received(pair.client_events) == b"s"
    exchange(pair)


def test_many_key_updates_with_data() -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    for i in range(50):
        (pair.client if i % 2 else pair.server).update_keys(request_peer=i % 3 == 0)
        exchange(pair, bytes([i]) * 100, bytes([i]) * 7)


def test_key_update_request_to_a_side_that_closed() -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    pair.server.close()
    pair.pump()
    pair.client.update_keys(request_peer=True)
    pair.pump()
    assert of_type(pair.server_events, KeyUpdated) == [KeyUpdated("receive", True)]
    pair.client.send_data(b"still talking")
    pair.pump()
    assert data_received(pair.server_events) == b"still talking"


def test_own_key_updates_are_traced_not_reported() -> None:
    """KeyUpdated reports the peer's updates; ours (asked for, or answering) are trace decisions."""
    c = ClientConnection(client_config(), "localhost", trace=True)
    s = ServerConnection(server_config(), trace=True)
    pair = ConnectionPair(client=c, server=s).handshake()
    c.update_keys(request_peer=True)
    mine = c.pending_events()
    assert not of_type(mine, KeyUpdated)
    assert [d.topic for d in of_type(mine, DecisionMade)] == ["key_update"]
    pair.pump()
    answered = [d for d in of_type(pair.server_events, DecisionMade) if d.topic == "key_update"]
    assert len(answered) == 1 and "answered" in answered[0].text
    assert of_type(pair.client_events, KeyUpdated)[-1] == KeyUpdated("receive", False)


# --- close, half-close, truncation ----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["client", "server"])
def test_half_close(first: str) -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    closer, other = (pair.client, pair.server) if first == "client" else (pair.server, pair.client)
    closer_events, other_events = (
        (pair.client_events, pair.server_events)
        if first == "client"
        else (pair.server_events, pair.client_events)
    )
    closer.close()
    pair.pump()
    assert other_events[-1] == ConnectionClosed(clean=True)
    assert not closer.closed and not other.closed  # each direction closes on its own (RFC 8446 §6.1)
    other.send_data(b"one last thing")
    pair.pump()
    assert closer_events[-1] == DataReceived(b"one last thing")
    other.close()
    pair.pump()
    assert closer_events[-1] == ConnectionClosed(clean=True)
    assert closer.closed and other.closed
    assert closer.data_to_send() == other.data_to_send() == b""


def test_close_before_the_handshake() -> None:
    c = ClientConnection(client_config(), "localhost")
    s = ServerConnection(server_config())
    s.receive_data(c.data_to_send())
    s.close()
    events = c.receive_data(s.data_to_send())  # the flight, then close_notify under the server's key
    assert events[-1] == ConnectionClosed(clean=True)


def test_truncation_after_data() -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    pair.server.send_data(b"partial answer")
    events = pair.client.receive_data(pair.server.data_to_send())
    assert events == [DataReceived(b"partial answer")]
    assert pair.client.receive_data(b"") == [ConnectionClosed(clean=False)]


def test_truncation_inside_a_record() -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    pair.server.send_data(b"never complete")
    data = pair.server.data_to_send()
    assert pair.client.receive_data(data[:-5]) == []
    assert pair.client.receive_data(b"") == [ConnectionClosed(clean=False)]
    assert pair.client.receive_data(b"") == []  # EOF is reported once


# --- certificate selection -------------------------------------------------------------------------------

A_NAMES = ("a.example",)
B_NAMES = ("b.example",)


def _two_name_server() -> tuple[ServerConfig, WebPkiVerifier]:
    """A server with a certificate for a.example (the default) and one for b.example; a verifier for both."""
    a, b = certified_key("ecdsa-p256", A_NAMES), certified_key("ed25519", B_NAMES)
    both = WebPkiVerifier(
        [pki("ecdsa-p256", A_NAMES).root.certificate, pki("ed25519", B_NAMES).root.certificate]
    )
    return ServerConfig(certificates=[a, b]), both


@pytest.mark.parametrize(
    ("name", "names", "key_type", "scheme"),
    [
        pytest.param("a.example", A_NAMES, "ecdsa-p256", SignatureScheme.ECDSA_SECP256R1_SHA256, id="first"),
        pytest.param("b.example", B_NAMES, "ed25519", SignatureScheme.ED25519, id="second"),
        pytest.param("B.Example.", B_NAMES, "ed25519", SignatureScheme.ED25519, id="case_and_trailing_dot"),
    ],
)
def test_certificate_chosen_by_sni(
    name: str, names: tuple[str, ...], key_type: str, scheme: SignatureScheme
) -> None:
    config, both = _two_name_server()
    pair = ConnectionPair(client_config(verifier=both), config, server_name=name).handshake()
    client = completed(pair.client_events)
    assert client.peer_certificates[0] == pki(key_type, names).leaf.certificate
    assert client.signature_scheme == scheme
    assert completed(pair.server_events).server_name == name.lower().rstrip(".")


def test_unknown_sni_gets_the_default_certificate() -> None:
    config, both = _two_name_server()
    pair = ConnectionPair(client_config(verifier=both), config, server_name="c.example")
    with pytest.raises(BadCertificate, match=r"c\.example"):
        pair.pump()


@pytest.mark.parametrize(
    ("schemes", "key_type"),
    [
        pytest.param((SignatureScheme.ED25519,), "ed25519", id="ed25519_only"),
        pytest.param((SignatureScheme.ECDSA_SECP384R1_SHA384,), "ecdsa-p384", id="ecdsa_p384_only"),
        pytest.param(
            (SignatureScheme.RSA_PSS_RSAE_SHA384, SignatureScheme.ED448), "ed448", id="first_fitting"
        ),
    ],
)
def test_certificate_chosen_by_signature_algorithms(
    schemes: tuple[SignatureScheme, ...], key_type: str
) -> None:
    certs = [certified_key(k) for k in ("ecdsa-p256", "ed448", "ecdsa-p384", "ed25519")]
    anchors = [pki(k).root.certificate for k in ("ecdsa-p256", "ed448", "ecdsa-p384", "ed25519")]
    pair = ConnectionPair(
        client_config(verifier=WebPkiVerifier(anchors), signature_schemes=schemes),
        ServerConfig(certificates=certs),
    ).handshake()
    assert completed(pair.client_events).peer_certificates[0] == pki(key_type).leaf.certificate


# --- client certificates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519", "rsa2048"])
def test_client_certificate(key_type: str) -> None:
    pair = ConnectionPair(
        client_config(
            certificate_chain=client_chain(key_type), private_key=client_leaf(key_type).private_key
        ),
        server_config(client_verifier=verifier()),
    ).handshake()
    assert completed(pair.server_events).peer_certificates == tuple(client_chain(key_type))
    assert completed(pair.client_events).peer_certificates == tuple(pki().chain)
    exchange(pair)


def test_client_certificate_not_asked_for_is_not_sent() -> None:
    pair = ConnectionPair(
        client_config(certificate_chain=client_chain(), private_key=client_leaf().private_key),
        server_config(),
    ).handshake()
    assert completed(pair.server_events).peer_certificates == ()


def test_client_certificate_whose_key_fits_no_requested_scheme() -> None:
    # The server asks for ECDSA P-256 signatures only; an Ed25519 client sends an empty Certificate.
    pair = ConnectionPair(
        client_config(
            certificate_chain=client_chain("ed25519"), private_key=client_leaf("ed25519").private_key
        ),
        server_config(
            client_verifier=verifier(),
            require_client_certificate=False,
            signature_schemes=(SignatureScheme.ECDSA_SECP256R1_SHA256,),
        ),
    ).handshake()
    assert completed(pair.server_events).peer_certificates == ()


# --- record_size_limit (RFC 8449) ---------------------------------------------------------------------------


def _protected_sizes(wire: list[bytes]) -> list[int]:
    return [len(r.fragment) for chunk in wire for r in records(chunk) if r.content_type == APPLICATION_DATA]


def test_record_size_limit_both_sides() -> None:
    pair = ConnectionPair(
        client_config(record_size_limit=256),
        server_config(record_size_limit=512),
    ).handshake()
    megabyte = bytes(range(256)) * 4096
    exchange(pair, megabyte, megabyte)
    tag = 16  # AES-128-GCM
    server_sizes, client_sizes = _protected_sizes(pair.server_wire), _protected_sizes(pair.client_wire)
    assert max(server_sizes) - tag <= 256  # TLSInnerPlaintext: content, type and padding
    assert max(client_sizes) - tag <= 512
    assert max(server_sizes) - tag == 256 and max(client_sizes) - tag == 512  # and full records are used


# RFC 8449 §4: a limit binds the peer only once negotiated (both sides sent the extension).


def test_server_record_size_limit_is_not_enforced_when_not_negotiated() -> None:
    pair = ConnectionPair(client_config(), server_config(record_size_limit=256)).handshake()
    exchange(pair, b"u" * 5000, b"d" * 5000)


def test_client_record_size_limit_is_not_enforced_when_the_server_ignores_it() -> None:
    """A server that does not implement RFC 8449, modelled by removing the extension from the hello."""

    def without_limit(ch):  # type: ignore[no-untyped-def]
        return dataclasses.replace(
            ch, extensions=tuple(e for e in ch.extensions if not isinstance(e, RecordSizeLimit))
        )

    pair = ConnectionPair(
        client_config(record_size_limit=256, client_hello_hook=without_limit), server_config()
    )
    pair.handshake()
    exchange(pair, b"u" * 5000, b"d" * 5000)


# --- bulk data ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suite", [CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_CHACHA20_POLY1305_SHA256]
)
def test_one_megabyte_both_ways(suite: CipherSuite) -> None:
    pair = ConnectionPair(client_config(cipher_suites=(suite,)), server_config()).handshake()
    up = bytes(range(256)) * 4096
    down = bytes(reversed(up))
    exchange(pair, up, down)
    sizes = _protected_sizes(pair.client_wire[-1:])
    assert max(sizes) <= 2**14 + 256
    assert len(sizes) >= len(up) // 2**14
    close_both(pair)


def test_one_megabyte_in_small_sends() -> None:
    pair = ConnectionPair(client_config(), server_config()).handshake()
    chunks = [bytes([i % 256]) * 1000 for i in range(1000)]
    for chunk in chunks:
        pair.client.send_data(chunk)
    pair.pump()
    assert data_received(pair.server_events) == b"".join(chunks)
