"""What the TLS 1.2 pair tests share (test_tls12_pairs.py, test_tls12_resumption.py): TLS 1.2-only
configs, and small readers of what a ConnectionPair saw."""

from __future__ import annotations

from tests.handshake.helpers import (
    ConnectionPair,
    client_config,
    data_received,
    of_type,
    pki,
)
from tlslens.config import ClientConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.crypto.suites12 import TLS12_SUITES
from tlslens.events import (
    DecisionMade,
    HandshakeCompleted,
    MessageReceived,
    MessageSent,
    SessionTicketReceived,
)
from tlslens.session.cache import Session
from tlslens.wire.enums import (
    CipherSuite,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.suite_info import Authentication

CS, G, S = CipherSuite, NamedGroup, SignatureScheme
TLS12 = ProtocolVersion.TLS1_2
ONLY_12 = ("TLSv1.2",)
BOTH = ("TLSv1.3", "TLSv1.2")

ECDSA_SUITES = [s for s, suite in TLS12_SUITES.items() if suite.authentication == Authentication.ECDSA]
RSA_SUITES = [s for s, suite in TLS12_SUITES.items() if suite.authentication == Authentication.RSA]
SCHEME_OF_KEY = {  # the scheme a server key signs ServerKeyExchange with first (its own curve's hash)
    "ecdsa-p256": S.ECDSA_SECP256R1_SHA256,
    "ecdsa-p384": S.ECDSA_SECP384R1_SHA384,
    "ecdsa-p521": S.ECDSA_SECP521R1_SHA512,
    "rsa2048": S.RSA_PSS_RSAE_SHA256,
}
CURVES = [G.X25519, G.SECP256R1, G.SECP384R1, G.SECP521R1, G.X448]


def c12(key_type: str = "ecdsa-p256", **kwargs: object) -> ClientConfig:
    """A TLS 1.2-only client trusting ``pki(key_type)``."""
    kwargs.setdefault("versions", ONLY_12)
    return client_config(key_type, **kwargs)


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


def sent_messages(events: list, cls: type) -> list:
    return [e.message for e in of_type(events, MessageSent) if isinstance(e.message, cls)]


def received_messages(events: list, cls: type) -> list:
    return [e.message for e in of_type(events, MessageReceived) if isinstance(e.message, cls)]


def decisions(events: list, topic: str) -> list[str]:
    return [e.text for e in of_type(events, DecisionMade) if e.topic == topic]


def traced_pair(client_cfg: object, server_cfg: object, **client_kwargs: object) -> ConnectionPair:
    c = ClientConnection(client_cfg, "localhost", trace=True, **client_kwargs)  # type: ignore[arg-type]
    s = ServerConnection(server_cfg, trace=True)  # type: ignore[arg-type]
    return ConnectionPair(client=c, server=s)


def first_session(client_cfg: object, server_cfg: object) -> tuple[ConnectionPair, Session]:
    pair = ConnectionPair(client_cfg, server_cfg).handshake()  # type: ignore[arg-type]
    (ticket,) = of_type(pair.client_events, SessionTicketReceived)
    return pair, ticket.session


def resume(client_cfg: object, server_cfg: object, session: Session) -> ConnectionPair:
    c = ClientConnection(client_cfg, "localhost", session=session)  # type: ignore[arg-type]
    return ConnectionPair(client=c, server=ServerConnection(server_cfg))  # type: ignore[arg-type]


def assert_resumed(pair: ConnectionPair, suite: CipherSuite, server_chain: tuple = ()) -> None:
    client, server = completed(pair.client_events), completed(pair.server_events)
    for done in (client, server):
        assert done.resumed is True and done.version == TLS12 and done.cipher_suite == suite
        assert done.group is None and done.signature_scheme is None  # no key exchange, no signature
        assert done.extended_master_secret is True
    assert client.peer_certificates == tuple(pki().chain)  # from the session
    assert server.peer_certificates == server_chain
