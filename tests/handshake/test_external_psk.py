"""External PSKs between tlslens ends (RFC 8446 §2.2, §4.2.9, §4.2.11): the client offers them, a
server with ``psk_lookup`` authenticates with one instead of a certificate (or needs none at all),
the key exchange modes both sides allow, identities the server does not know, several PSKs, a
HelloRetryRequest, tickets afterwards, and the configuration's rules.

Fault records for the new raise sites are in faults/test_external_psk.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.handshake.helpers import (
    ConnectionPair,
    client_config,
    data_received,
    of_type,
    server_config,
)
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.credentials import ExternalPsk, psk_table
from tlslens.errors import ConfigurationError, LocalProtocolError, ProtocolVersionMismatch
from tlslens.events import DecisionMade, HandshakeCompleted, MessageReceived, SessionTicketReceived
from tlslens.trace.describe import describe_message
from tlslens.wire.enums import CipherSuite, NamedGroup, ProtocolVersion
from tlslens.wire.extensions import PreSharedKeyClientHello, PskKeyExchangeModes
from tlslens.wire.hello import ClientHello, ServerHello

KEY = bytes(range(32))
PSK = ExternalPsk(b"client1", KEY)
OTHER = ExternalPsk(b"client2", bytes(range(100, 132)))
PSK384 = ExternalPsk(b"client384", bytes(48), "sha384")


def psk_server(*psks: ExternalPsk, **kwargs: object) -> ServerConfig:
    """A server without a certificate: the PSKs alone authenticate it."""
    return ServerConfig(psk_lookup=psk_table(psks or (PSK,)), **kwargs)  # type: ignore[arg-type]


def psk_client(*psks: ExternalPsk, **kwargs: object) -> ClientConfig:
    return client_config(external_psks=psks or (PSK,), **kwargs)


def completed(events: list) -> HandshakeCompleted:
    (done,) = of_type(events, HandshakeCompleted)
    return done  # type: ignore[no-any-return]


def decisions(events: list, topic: str) -> list[str]:
    return [e.text for e in of_type(events, DecisionMade) if e.topic == topic]


def traced_pair(client: ClientConfig, server: ServerConfig) -> ConnectionPair:
    return ConnectionPair(
        client=ClientConnection(client, "localhost", trace=True), server=ServerConnection(server, trace=True)
    ).handshake()


def test_psk_only_server_and_client_agree_without_certificates() -> None:
    pair = traced_pair(psk_client(), psk_server())
    client_done, server_done = completed(pair.client_events), completed(pair.server_events)
    for done in (client_done, server_done):
        assert done.psk_identity == b"client1"
        assert done.peer_certificates == ()
        assert done.signature_scheme is None
        assert not done.resumed
        assert done.group is not None  # psk_dhe_ke: a fresh key exchange as well
    sh = of_type(pair.client_events, MessageReceived)[0].message
    assert isinstance(sh, ServerHello)
    assert [type(m.message).__name__ for m in of_type(pair.client_events, MessageReceived)][:3] == [
        "ServerHello",
        "EncryptedExtensions",
        "Finished",
    ]
    assert any('external PSK "client1"' in d for d in decisions(pair.server_events, "psk"))
    pair.client.send_data(b"ping")
    pair.pump()
    assert data_received(pair.server_events) == b"ping"
    assert pair.client.export_keying_material("x") == pair.server.export_keying_material("x")


def test_a_server_with_a_certificate_prefers_the_psk_it_knows() -> None:
    pair = ConnectionPair(psk_client(), server_config(psk_lookup=psk_table([PSK]))).handshake()
    assert completed(pair.client_events).psk_identity == b"client1"
    assert completed(pair.client_events).peer_certificates == ()


def test_a_psk_the_server_does_not_know_falls_back_to_its_certificate() -> None:
    pair = ConnectionPair(psk_client(OTHER), server_config(psk_lookup=psk_table([PSK]))).handshake()
    done = completed(pair.client_events)
    assert done.psk_identity is None
    assert done.peer_certificates  # authenticated by certificate instead


def test_the_server_picks_the_first_identity_it_knows() -> None:
    pair = traced_pair(psk_client(OTHER, PSK), psk_server(PSK))
    assert completed(pair.server_events).psk_identity == b"client1"
    hello = of_type(pair.server_events, MessageReceived)[0].message
    assert isinstance(hello, ClientHello)
    offer = hello.extension(PreSharedKeyClientHello)
    assert offer is not None and [i.identity for i in offer.identities] == [b"client2", b"client1"]
    assert [i.obfuscated_ticket_age for i in offer.identities] == [0, 0]  # RFC 8446 §4.2.11: external
    assert any("identity 1 of 2" in d for d in decisions(pair.server_events, "psk"))


def test_a_sha384_psk_takes_a_sha384_suite() -> None:
    pair = ConnectionPair(psk_client(PSK384), psk_server(PSK384)).handshake()
    done = completed(pair.client_events)
    assert done.cipher_suite == CipherSuite.TLS_AES_256_GCM_SHA384
    assert done.psk_identity == b"client384"


def test_psk_ke_only_when_both_sides_allow_it() -> None:
    pair = ConnectionPair(
        psk_client(psk_key_exchange_modes=["psk_ke"]), psk_server(allow_psk_ke=True)
    ).handshake()
    assert completed(pair.client_events).group is None
    assert completed(pair.server_events).group is None
    # Offering both: the server takes psk_dhe_ke (forward secrecy) even though it allows psk_ke.
    both = psk_client(psk_key_exchange_modes=["psk_dhe_ke", "psk_ke"])
    pair = ConnectionPair(both, psk_server(allow_psk_ke=True)).handshake()
    assert completed(pair.client_events).group is not None


def test_psk_ke_the_server_refuses_falls_back_to_its_certificate() -> None:
    pair = traced_pair(
        psk_client(psk_key_exchange_modes=["psk_ke"]), server_config(psk_lookup=psk_table([PSK]))
    )
    done = completed(pair.client_events)
    assert done.psk_identity is None and done.peer_certificates
    assert any("psk_ke only" in d for d in decisions(pair.server_events, "psk"))


def test_the_client_offers_the_modes_it_allows() -> None:
    c = ClientConnection(psk_client(psk_key_exchange_modes=["psk_ke", "psk_dhe_ke"]), "localhost", trace=True)
    pair = ConnectionPair(client=c, server=ServerConnection(psk_server(), trace=True)).handshake()
    hello = of_type(pair.server_events, MessageReceived)[0].message
    modes = hello.extension(PskKeyExchangeModes)
    assert modes is not None and [m.name for m in modes.ke_modes] == ["PSK_KE", "PSK_DHE_KE"]


def test_external_psk_survives_a_hello_retry_request() -> None:
    client = psk_client(
        groups=[NamedGroup.X25519, NamedGroup.SECP384R1], key_share_groups=[NamedGroup.X25519]
    )
    pair = traced_pair(client, psk_server(groups=[NamedGroup.SECP384R1]))
    assert decisions(pair.client_events, "hello_retry_request")
    assert completed(pair.client_events).psk_identity == b"client1"
    assert completed(pair.client_events).group == NamedGroup.SECP384R1


def test_a_sha384_psk_is_dropped_after_a_retry_for_a_sha256_suite() -> None:
    """The HelloRetryRequest names TLS_AES_128_GCM_SHA256: the second ClientHello offers only the PSKs of
    that hash (RFC 8446 §4.1.2), and the handshake goes on with the one left."""
    client = psk_client(
        PSK384, PSK, groups=[NamedGroup.X25519, NamedGroup.SECP384R1], key_share_groups=[NamedGroup.X25519]
    )
    server = psk_server(PSK384, PSK, groups=[NamedGroup.SECP384R1], cipher_suites=["TLS_AES_128_GCM_SHA256"])
    pair = traced_pair(client, server)
    hellos = [
        m.message for m in of_type(pair.server_events, MessageReceived) if isinstance(m.message, ClientHello)
    ]
    offers = [h.extension(PreSharedKeyClientHello) for h in hellos]
    assert [[i.identity for i in o.identities] for o in offers if o] == [
        [b"client384", b"client1"],
        [b"client1"],
    ]
    assert completed(pair.client_events).psk_identity == b"client1"


def test_tickets_after_an_external_psk_handshake_resume_it() -> None:
    client, server = psk_client(), psk_server()
    pair = ConnectionPair(client, server).handshake()
    (ticket, *_) = of_type(pair.client_events, SessionTicketReceived)
    resumed = ConnectionPair(
        client=ClientConnection(client, "localhost", session=ticket.session), server=ServerConnection(server)
    ).handshake()
    done = completed(resumed.client_events)
    assert done.resumed and done.psk_identity is None


def test_a_client_resuming_offers_its_ticket_first_then_its_external_psks() -> None:
    client, server = psk_client(), psk_server()
    pair = ConnectionPair(client, server).handshake()
    (ticket, *_) = of_type(pair.client_events, SessionTicketReceived)
    c = ClientConnection(client, "localhost", session=ticket.session)
    s = ServerConnection(server, trace=True)
    resumed = ConnectionPair(client=c, server=s).handshake()
    hello = of_type(resumed.server_events, MessageReceived)[0].message
    offer = hello.extension(PreSharedKeyClientHello)
    assert offer is not None and len(offer.identities) == 2 and offer.identities[1].identity == b"client1"
    assert completed(resumed.server_events).resumed


def test_early_data_needs_a_ticket_not_an_external_psk() -> None:
    with pytest.raises(LocalProtocolError, match="session"):
        ClientConnection(psk_client(), "localhost", early_data=b"GET /")


def test_a_psk_only_server_speaks_tls13_only() -> None:
    assert psk_server().enabled_versions == (ProtocolVersion.TLS1_3,)
    tls12_client = client_config(versions=["TLSv1.2"])
    with pytest.raises(ProtocolVersionMismatch):
        ConnectionPair(tls12_client, psk_server()).pump()
    with pytest.raises(ConfigurationError, match=r"TLS 1\.3"):
        psk_server(versions=["TLSv1.2"])


def test_the_trace_names_the_identity_and_its_binder() -> None:
    pair = traced_pair(psk_client(), psk_server())
    hello = of_type(pair.server_events, MessageReceived)[0].message
    psk = next(e for e in describe_message(hello)["extensions"] if e["name"] == "pre_shared_key")
    (identity,) = psk["value"]["identities"]
    assert identity["identity"] == '"client1"'
    assert identity["obfuscated_ticket_age"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"identity": b"", "key": KEY}, "identity"),
        ({"identity": b"x" * 1025, "key": KEY}, "identity"),
        ({"identity": b"id", "key": bytes(15)}, "at least 16"),
        ({"identity": b"id", "key": bytes(513)}, "512"),
        ({"identity": b"id", "key": KEY, "hash": "md5"}, "sha256 or sha384"),
    ],
    ids=["empty_identity", "long_identity", "short_key", "long_key", "unknown_hash"],
)
def test_external_psk_is_validated(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ExternalPsk(**kwargs)


def test_text_identity_is_sent_as_utf8() -> None:
    assert ExternalPsk("clé", KEY).identity == "clé".encode()  # type: ignore[arg-type]
    assert ExternalPsk(b"x", KEY, "SHA-384").hash == "sha384"


def test_client_config_checks_its_psks() -> None:
    with pytest.raises(ConfigurationError, match="share an identity"):
        psk_client(PSK, dataclasses.replace(OTHER, identity=b"client1"))
    with pytest.raises(ConfigurationError, match="16 at most"):
        psk_client(*[ExternalPsk(f"id{i}".encode(), KEY) for i in range(17)])
    with pytest.raises(ConfigurationError, match=r"no TLS 1\.3 cipher suite"):
        psk_client(PSK384, cipher_suites=["TLS_AES_128_GCM_SHA256"])
    with pytest.raises(ConfigurationError, match="key exchange mode"):
        psk_client(psk_key_exchange_modes=["psk_dh"])
    with pytest.raises(ConfigurationError, match="at least one"):
        psk_client(psk_key_exchange_modes=[])
    with pytest.raises(ConfigurationError, match="twice"):
        psk_client(psk_key_exchange_modes=["psk_ke", "psk_ke"])


def test_server_config_needs_a_certificate_or_a_psk_lookup() -> None:
    with pytest.raises(ConfigurationError, match="psk_lookup"):
        ServerConfig()
    with pytest.raises(ConfigurationError, match="share an identity"):
        psk_table([PSK, dataclasses.replace(OTHER, identity=b"client1")])


def test_psk_table_compares_every_identity() -> None:
    lookup = psk_table([PSK, OTHER])
    assert lookup(b"client2") is OTHER
    assert lookup(b"client1") is PSK
    assert lookup(b"client") is None
    assert lookup(b"client1\x00") is None


@pytest.mark.parametrize("psks", [(PSK,), (PSK, OTHER, PSK384)], ids=["one", "three"])
@pytest.mark.parametrize("retry", [False, True], ids=["first-hello", "after-hrr"])
def test_the_hello_sent_with_binders_is_its_own_encoding(psks: tuple[ExternalPsk, ...], retry: bool) -> None:
    # The engine patches the binders into the hello it encoded for them instead of encoding it again:
    # the bytes sent must be exactly the message's encoding.
    from tlslens.events import MessageSent
    from tlslens.wire.messages import encode_handshake

    shares = {"key_share_groups": [NamedGroup.SECP256R1]} if retry else {}
    client = ClientConnection(psk_client(*psks, **shares), "localhost", trace=True)
    server = ServerConnection(psk_server(*psks, groups=[NamedGroup.X25519]))
    sent = client.pending_events()
    if retry:
        server.receive_data(client.data_to_send())
        sent += client.receive_data(server.data_to_send())  # the HelloRetryRequest, then ClientHello2
    hellos = [e for e in sent if isinstance(e, MessageSent) and isinstance(e.message, ClientHello)]
    assert len(hellos) == (2 if retry else 1)
    offered = [len(psks), sum(p.hash == "sha256" for p in psks)]  # (after the HRR: its suite's hash)
    for event, count in zip(hellos, offered, strict=False):
        assert event.raw == encode_handshake(event.message)
        psk = event.message.extensions[-1]
        assert isinstance(psk, PreSharedKeyClientHello)
        assert len(psk.binders) == len(psk.identities) == count
