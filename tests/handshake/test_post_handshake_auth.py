"""Post-handshake client authentication between tlslens ends (RFC 8446 §4.6.2): who offers it, the
server's requests and the events that answer them, several requests at once, KeyUpdates and data
around them, answers that do not authenticate, misuse; and the certificate_authorities a server names
with the certificate a client picks by them, in the handshake and after it.

Fault records for the raise sites are in faults/test_post_handshake_auth.py.
"""

from __future__ import annotations

import pytest

from tests.handshake.helpers import (
    ConnectionPair,
    client_chain,
    client_config,
    client_leaf,
    data_received,
    of_type,
    pki,
    server_config,
    verifier,
)
from tlslens.certgen import make_ca, make_leaf
from tlslens.config import CertifiedKey, ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.credentials import CertificateRequestInfo, ExternalPsk, psk_table
from tlslens.errors import CertificateError, ConfigurationError, LocalProtocolError
from tlslens.events import (
    ClientCertificateRefused,
    ClientCertificateVerified,
    DecisionMade,
    HandshakeCompleted,
    KeyUpdated,
    MessageReceived,
)
from tlslens.handshake.post_handshake_auth import MAX_PENDING_REQUESTS
from tlslens.handshake.verify import PostHandshake
from tlslens.trace.describe import describe_message
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import CertificateCompressionAlgorithm
from tlslens.wire.extensions import CertificateAuthorities, CompressCertificate, PostHandshakeAuth
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import CertificateRequest


def with_certificate(**kwargs: object) -> ClientConfig:
    return client_config(certificate_chain=client_chain(), private_key=client_leaf().private_key, **kwargs)


def deferring(**kwargs: object) -> ServerConfig:
    return server_config(client_verifier=verifier(), defer_client_auth=True, **kwargs)


def traced(client: ClientConfig, server: ServerConfig) -> ConnectionPair:
    return ConnectionPair(
        client=ClientConnection(client, "localhost", trace=True), server=ServerConnection(server, trace=True)
    ).handshake()


def completed(events: list) -> HandshakeCompleted:
    (done,) = of_type(events, HandshakeCompleted)
    return done  # type: ignore[no-any-return]


def ask(pair: ConnectionPair) -> bytes:
    context = pair.server.request_client_certificate()
    pair.pump()
    return context


def test_client_with_a_certificate_offers_post_handshake_auth() -> None:
    pair = traced(with_certificate(), deferring())
    hello = of_type(pair.server_events, MessageReceived)[0].message
    assert isinstance(hello, ClientHello) and hello.extension(PostHandshakeAuth) is not None
    assert completed(pair.server_events).post_handshake_auth
    received = [m.message for m in of_type(pair.client_events, MessageReceived)]
    assert not any(isinstance(m, CertificateRequest) for m in received)  # deferred: none in the handshake
    assert completed(pair.server_events).peer_certificates == ()


def test_client_without_a_certificate_does_not_offer_it() -> None:
    pair = ConnectionPair(client_config(), deferring()).handshake()
    assert not completed(pair.server_events).post_handshake_auth
    with pytest.raises(LocalProtocolError, match="did not offer post_handshake_auth"):
        pair.server.request_client_certificate()


def test_a_callback_is_enough_to_offer_it() -> None:
    asked: list[CertificateRequestInfo] = []

    def choose(info: CertificateRequestInfo) -> CertifiedKey | None:
        asked.append(info)
        return CertifiedKey.from_key(client_chain(), client_leaf().private_key)

    pair = ConnectionPair(client_config(certificate_callback=choose), deferring()).handshake()
    context = ask(pair)
    (verified,) = of_type(pair.server_events, ClientCertificateVerified)
    assert verified.context == context
    (info,) = asked
    assert info.post_handshake and info.context == context and info.schemes


def test_server_asks_and_the_client_authenticates() -> None:
    pair = traced(with_certificate(), deferring())
    context = ask(pair)
    (verified,) = of_type(pair.server_events, ClientCertificateVerified)
    assert verified.context == context and len(context) == 8
    assert verified.certificates[0] == client_leaf().certificate
    assert isinstance(pair.server._state.client_auth, PostHandshake)  # type: ignore[attr-defined]
    sent = [m.message for m in of_type(pair.server_events, MessageReceived)]
    assert [type(m).__name__ for m in sent[-3:]] == ["Certificate", "CertificateVerify", "Finished"]
    assert sent[-3].certificate_request_context == context  # type: ignore[attr-defined]
    # The connection goes on in both directions.
    pair.client.send_data(b"after")
    pair.server.send_data(b"back")
    pair.pump()
    assert data_received(pair.server_events).endswith(b"after")
    assert data_received(pair.client_events).endswith(b"back")


@pytest.mark.parametrize("algorithms", [(), (CertificateCompressionAlgorithm.ZLIB,)])
def test_the_answer_is_compressed_when_the_request_offered_it(algorithms: tuple) -> None:
    """RFC 8879: a post-handshake CertificateRequest offers compress_certificate like the in-handshake
    one, and the client's CompressedCertificate is inflated and checked the same way."""
    pair = traced(with_certificate(), deferring(certificate_compression=algorithms))
    context = ask(pair)
    (request,) = [
        m.message
        for m in of_type(pair.client_events, MessageReceived)
        if isinstance(m.message, CertificateRequest)
    ]
    assert (request.extension(CompressCertificate) is not None) == bool(algorithms)
    received = [type(m.message).__name__ for m in of_type(pair.server_events, MessageReceived)]
    assert ("CompressedCertificate" in received) == bool(algorithms)
    (verified,) = of_type(pair.server_events, ClientCertificateVerified)
    assert verified.context == context and verified.certificates[0] == client_leaf().certificate


def test_contexts_are_unique_and_answers_may_interleave_with_key_updates() -> None:
    pair = ConnectionPair(with_certificate(), deferring()).handshake()
    contexts = [pair.server.request_client_certificate() for _ in range(3)]
    assert len(set(contexts)) == 3
    pair.client.update_keys(request_peer=True)  # before the requests arrive
    pair.pump()
    pair.server.update_keys(request_peer=True)
    first = pair.server.request_client_certificate()  # after a server KeyUpdate
    pair.pump()
    verified = of_type(pair.server_events, ClientCertificateVerified)
    assert [v.context for v in verified] == [*contexts, first]
    assert of_type(pair.server_events, KeyUpdated) and of_type(pair.client_events, KeyUpdated)


def test_the_answer_may_arrive_one_byte_at_a_time() -> None:
    pair = ConnectionPair(with_certificate(), deferring()).handshake()
    context = pair.server.request_client_certificate()
    pair.client.receive_data(pair.server.data_to_send())
    answer = pair.client.data_to_send()
    events = []
    for i in range(len(answer)):
        events += pair.server.receive_data(answer[i : i + 1])
    assert [e.context for e in of_type(events, ClientCertificateVerified)] == [context]


def test_a_client_without_a_fitting_certificate_sends_an_empty_one() -> None:
    pair = traced(client_config(certificate_callback=lambda info: None), deferring())
    context = ask(pair)
    (refused,) = of_type(pair.server_events, ClientCertificateRefused)
    assert refused.context == context and refused.reason == "the client sent no certificate"
    assert refused.certificates == () and refused.error is None
    assert any("sending none" in d.text for d in of_type(pair.client_events, DecisionMade))


def test_a_refused_chain_leaves_the_connection_unauthenticated_but_open() -> None:
    other_root = WebPkiVerifier([pki("ed25519").root.certificate])
    server = server_config(client_verifier=other_root, defer_client_auth=True)
    pair = ConnectionPair(with_certificate(), server).handshake()
    context = ask(pair)
    (refused,) = of_type(pair.server_events, ClientCertificateRefused)
    assert refused.context == context and "untrusted-root" in refused.reason
    assert refused.certificates[0] == client_leaf().certificate and refused.error is not None
    assert not isinstance(pair.server._state.client_auth, PostHandshake)  # type: ignore[attr-defined]
    pair.client.send_data(b"still here")
    pair.pump()
    assert data_received(pair.server_events) == b"still here"


def test_asking_again_after_handshake_authentication() -> None:
    pair = ConnectionPair(with_certificate(), server_config(client_verifier=verifier())).handshake()
    assert completed(pair.server_events).peer_certificates  # asked during the handshake
    ask(pair)
    assert len(of_type(pair.server_events, ClientCertificateVerified)) == 1


def test_after_an_external_psk_handshake() -> None:
    psk = ExternalPsk(b"client1", bytes(32))
    client = with_certificate(external_psks=[psk])
    server = ServerConfig(psk_lookup=psk_table([psk]), client_verifier=verifier(), defer_client_auth=True)
    pair = ConnectionPair(client, server).handshake()
    assert completed(pair.server_events).psk_identity == b"client1"
    ask(pair)
    assert len(of_type(pair.server_events, ClientCertificateVerified)) == 1


def test_a_client_that_closed_does_not_answer() -> None:
    pair = ConnectionPair(with_certificate(), deferring()).handshake()
    pair.client.close()
    pair.server.request_client_certificate()
    pair.pump()
    assert not of_type(pair.server_events, ClientCertificateVerified)
    assert pair.client.data_to_send() == b""


def test_a_client_whose_close_notify_arrived_cannot_be_asked() -> None:
    pair = ConnectionPair(with_certificate(), deferring()).handshake()
    pair.client.close()
    pair.pump()
    with pytest.raises(LocalProtocolError, match="closed its side"):
        pair.server.request_client_certificate()


def test_misuse_is_a_local_error() -> None:
    pair = ConnectionPair(with_certificate(), deferring()).handshake()
    for _ in range(MAX_PENDING_REQUESTS):
        pair.server.request_client_certificate()
    with pytest.raises(LocalProtocolError, match="wait for an answer"):
        pair.server.request_client_certificate()
    no_verifier = ConnectionPair(with_certificate(), server_config()).handshake()
    with pytest.raises(LocalProtocolError, match="client_verifier"):
        no_verifier.server.request_client_certificate()
    tls12 = ConnectionPair(with_certificate(versions=["TLSv1.2"]), deferring()).handshake()
    with pytest.raises(LocalProtocolError, match=r"TLS 1\.3"):
        tls12.server.request_client_certificate()
    handshaking = ServerConnection(deferring())
    with pytest.raises(LocalProtocolError, match="after the handshake"):
        handshaking.request_client_certificate()
    with pytest.raises(ConfigurationError, match="defer_client_auth"):
        server_config(defer_client_auth=True)


# --- certificate_authorities, and choosing among several certificates --------------------------------


def second_pki_certificate() -> CertifiedKey:
    """A client certificate under a CA of another name (the throwaway PKIs all share their names)."""
    other_root = make_ca("another client CA")
    leaf = make_leaf(other_root, ("other.example",), client=True)
    return CertifiedKey.from_key([leaf.certificate], leaf.private_key)


def test_the_server_names_its_client_cas_and_the_client_sends_the_matching_certificate() -> None:
    first = second_pki_certificate()  # listed first, but not issued under the server's CA
    matching = CertifiedKey.from_key(client_chain(), client_leaf().private_key)
    client = client_config(certificates=[first, matching])
    server = server_config(client_verifier=verifier(), advertise_client_cas=True)
    pair = traced(client, server)
    request = next(
        m.message
        for m in of_type(pair.client_events, MessageReceived)
        if isinstance(m.message, CertificateRequest)
    )
    cas = request.extension(CertificateAuthorities)
    assert cas is not None and cas.authorities == (pki().root.certificate.subject.public_bytes(),)
    assert describe_message(request)["extensions"][1]["value"] == [
        pki().root.certificate.subject.rfc4514_string()
    ]
    assert completed(pair.server_events).peer_certificates[0] == client_leaf().certificate
    assert any("authority the server named" in d.text for d in of_type(pair.client_events, DecisionMade))


def test_the_same_choice_after_the_handshake() -> None:
    client = client_config(
        certificates=[
            second_pki_certificate(),
            CertifiedKey.from_key(client_chain(), client_leaf().private_key),
        ]
    )
    server = server_config(client_verifier=verifier(), advertise_client_cas=True, defer_client_auth=True)
    pair = ConnectionPair(client, server).handshake()
    ask(pair)
    (verified,) = of_type(pair.server_events, ClientCertificateVerified)
    assert verified.certificates[0] == client_leaf().certificate


def test_without_a_match_the_first_certificate_that_fits_is_sent() -> None:
    """As OpenSSL does: the server's list may be incomplete. Here its verifier refuses it."""
    other = second_pki_certificate()
    pair = ConnectionPair(
        client=ClientConnection(client_config(certificates=[other]), "localhost", trace=True),
        server=ServerConnection(server_config(client_verifier=verifier(), advertise_client_cas=True)),
    )
    with pytest.raises(CertificateError):
        pair.pump()
    texts = [d.text for d in of_type(pair.client_events, DecisionMade) if d.topic == "client_certificate"]
    assert texts and "none was issued under the authorities the server named" in texts[0]


def test_the_callback_sees_the_names() -> None:
    seen: list[CertificateRequestInfo] = []
    client = client_config(certificate_callback=lambda info: seen.append(info) or None)
    server = server_config(
        client_verifier=verifier(), advertise_client_cas=True, require_client_certificate=False
    )
    ConnectionPair(client, server).handshake()
    (info,) = seen
    assert info.authorities == (pki().root.certificate.subject,) and not info.post_handshake


def test_advertising_needs_a_verifier_with_anchors() -> None:
    with pytest.raises(ConfigurationError, match="advertise_client_cas"):
        server_config(advertise_client_cas=True)


def test_tls12_carries_the_names_too_and_the_client_chooses_by_them() -> None:
    client = client_config(
        versions=["TLSv1.2"],
        certificates=[
            second_pki_certificate(),
            CertifiedKey.from_key(client_chain(), client_leaf().private_key),
        ],
    )
    server = server_config(client_verifier=verifier(), advertise_client_cas=True)
    pair = traced(client, server)
    request = next(
        m.message
        for m in of_type(pair.client_events, MessageReceived)
        if type(m.message).__name__ == "CertificateRequest12"
    )
    assert request.certificate_authorities == (pki().root.certificate.subject.public_bytes(),)  # type: ignore[attr-defined]
    assert completed(pair.server_events).peer_certificates[0] == client_leaf().certificate
