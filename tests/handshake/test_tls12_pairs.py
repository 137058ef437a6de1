"""TLS 1.2 between a tlslens client and a tlslens server in memory (``helpers.ConnectionPair``): every
suite with every fitting certificate, every curve, version choice, client certificates, ALPN, SNI,
record_size_limit, cipher preference, exporters, what TLS 1.2 refuses (KeyUpdate, renegotiation),
close_notify, tracing, flights as peers may frame them, and the attacks RFC 8446 §4.1.3, RFC 7507 and
the suite policy stop: a downgrade by a man in the middle, a fallback, a static-RSA client.

Resumption is in ``test_tls12_resumption.py``; faults of the peer (one record per raise site) in
``faults/test_client12.py``, ``faults/test_server12.py`` and ``faults/test_traffic12.py``.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from tests.handshake.helpers import (
    ALERT,
    CHANGE_CIPHER_SPEC,
    HANDSHAKE,
    NOW,
    ConnectionPair,
    OffTranscript,
    TamperingClient,
    TamperingServer,
    certified_key,
    client_chain,
    client_config,
    client_leaf,
    data_received,
    of_type,
    open_own,
    pki,
    records,
    replacing,
    send_handshake,
    server_config,
    verifier,
    without_trace,
)
from tests.handshake.pairs12 import (
    BOTH,
    CS,
    CURVES,
    ECDSA_SUITES,
    ONLY_12,
    RSA_SUITES,
    SCHEME_OF_KEY,
    TLS12,
    G,
    S,
    c12,
    completed,
    decisions,
    exchange,
    first_session,
    received_messages,
    resume,
    sent_messages,
    traced_pair,
)
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.crypto.provider import DeterministicProvider
from tlslens.crypto.suites12 import TLS12_SUITES
from tlslens.errors import (
    DecryptError,
    FatalAlert,
    HandshakeFailure,
    IllegalParameter,
    InappropriateFallback,
    LocalProtocolError,
    RemoteProtocolError,
)
from tlslens.events import (
    AlertReceived,
    ConnectionClosed,
    HandshakeCompleted,
    MessageReceived,
    SessionTicketReceived,
)
from tlslens.handshake.common import DOWNGRADE_TLS12
from tlslens.record.deframer import encode_plaintext
from tlslens.session.cache import Session
from tlslens.session.tickets import TicketKeyRing
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import (
    AlertDescription,
    AlertLevel,
    CipherSuite,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ExtendedMasterSecret,
    RecordSizeLimit,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import Finished, decode_handshake, encode_handshake
from tlslens.wire.messages12 import Certificate12, HelloRequest

# --- suites, certificates, curves ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "key_type"),
    [
        pytest.param(s, k, id=f"{s.name}-{k}")
        for s, k in [
            *itertools.product(ECDSA_SUITES, ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521"]),
            *itertools.product(RSA_SUITES, ["rsa2048"]),
        ]
    ],
)
def test_every_suite_with_every_fitting_certificate(suite: CipherSuite, key_type: str) -> None:
    pair = ConnectionPair(c12(key_type, cipher_suites=(suite,)), server_config(key_type)).handshake()
    for done in (completed(pair.client_events), completed(pair.server_events)):
        assert (done.version, done.cipher_suite, done.group) == (TLS12, suite, G.X25519)
        assert done.signature_scheme == SCHEME_OF_KEY[key_type]
        assert done.extended_master_secret is True
        assert done.resumed is False and done.server_name == "localhost"
    assert completed(pair.client_events).peer_certificates == tuple(pki(key_type).chain)
    assert completed(pair.server_events).peer_certificates == ()
    exchange(pair, b"x" * 40_000, b"y" * 3)  # several full records one way


@pytest.mark.parametrize("suite", RSA_SUITES, ids=[s.name for s in RSA_SUITES])
@pytest.mark.parametrize(
    "scheme", [S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512, S.RSA_PSS_RSAE_SHA512]
)
def test_rsa_signature_schemes_of_tls12(suite: CipherSuite, scheme: SignatureScheme) -> None:
    # RFC 5246 §7.4.1.4.1: PKCS#1 v1.5 with SHA-2 is a TLS 1.2 scheme (not a TLS 1.3 one).
    pair = ConnectionPair(
        c12("rsa2048", cipher_suites=(suite,), signature_schemes=(scheme,)), server_config("rsa2048")
    ).handshake()
    assert completed(pair.client_events).signature_scheme == scheme
    exchange(pair)


@pytest.mark.parametrize("key_type", ["rsa2048", "ecdsa-p256"])
@pytest.mark.parametrize("curve", CURVES, ids=[g.iana_name for g in CURVES])
def test_every_curve(curve: NamedGroup, key_type: str) -> None:
    # An ECDSA certificate's own curve must be one the client supports too (RFC 8422 §5.1).
    own = () if key_type == "rsa2048" or curve == G.SECP256R1 else (G.SECP256R1,)
    pair = ConnectionPair(
        c12(key_type, groups=(curve, *own)), server_config(key_type, groups=(curve, *own))
    ).handshake()
    assert completed(pair.client_events).group == completed(pair.server_events).group == curve
    exchange(pair)


def test_server_curve_preference() -> None:
    pair = ConnectionPair(
        c12(groups=(G.X25519, G.SECP384R1, G.SECP256R1)),
        server_config(groups=(G.SECP384R1, G.X25519, G.SECP256R1)),
    ).handshake()
    assert completed(pair.client_events).group == G.SECP384R1


def test_ecdsa_certificate_on_a_curve_the_client_lacks_is_not_used() -> None:
    # RFC 8422 §5.1: the client's supported_groups bind the certificate's curve too; an RSA one serves.
    trust = WebPkiVerifier([pki("ecdsa-p384").root.certificate, pki("rsa2048").root.certificate])
    pair = ConnectionPair(
        c12(verifier=trust, groups=(G.X25519, G.SECP256R1)),  # no secp384r1
        server_config("ecdsa-p384", certificates=[certified_key("rsa2048")]),
    ).handshake()
    done = completed(pair.client_events)
    assert done.cipher_suite in RSA_SUITES
    assert done.peer_certificates[0] == pki("rsa2048").leaf.certificate


# --- versions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "server", "expected"),
    [
        pytest.param(ONLY_12, BOTH, ProtocolVersion.TLS1_2, id="tls12_client-both_server"),
        pytest.param(BOTH, ONLY_12, ProtocolVersion.TLS1_2, id="both_client-tls12_server"),
        pytest.param(BOTH, BOTH, ProtocolVersion.TLS1_3, id="both-tls13"),
        pytest.param(ONLY_12, ONLY_12, ProtocolVersion.TLS1_2, id="tls12_only"),
    ],
)
def test_version_choice(client: tuple[str, ...], server: tuple[str, ...], expected: ProtocolVersion) -> None:
    pair = traced_pair(client_config(versions=client), server_config(versions=server)).handshake()
    assert completed(pair.client_events).version == completed(pair.server_events).version == expected
    (hello,) = received_messages(pair.client_events, ServerHello)
    # RFC 8446 §4.1.3: a TLS 1.3-capable server that answers with TLS 1.2 says so in its random.
    assert hello.random.endswith(DOWNGRADE_TLS12) == (expected == TLS12 and "TLSv1.3" in server)
    (server_version,) = decisions(pair.server_events, "version")
    assert expected.label in server_version
    exchange(pair)


def test_tls12_only_client_sends_no_tls13_extension() -> None:
    pair = traced_pair(c12(), server_config()).handshake()
    (hello,) = sent_messages(pair.client_events, ClientHello)
    assert hello.extension(SupportedVersionsClientHello) is None
    assert all(s in TLS12_SUITES for s in hello.cipher_suites)
    assert hello.legacy_session_id == b""  # no middlebox-compatibility session ID without TLS 1.3
    assert hello.extension(ExtendedMasterSecret) is not None


def test_grease_in_a_tls12_client_hello_is_ignored() -> None:
    # RFC 8701: unknown suites, groups, schemes and extensions are skipped, not refused.
    def grease(ch: ClientHello) -> ClientHello:
        sg, sa = ch.extension(SupportedGroups), ch.extension(SignatureAlgorithms)
        assert sg is not None and sa is not None
        exts = [
            SupportedGroups((G(0x1A1A), *sg.named_group_list))
            if isinstance(e, SupportedGroups)
            else SignatureAlgorithms((S(0x0A0A), *sa.supported_signature_algorithms))
            if isinstance(e, SignatureAlgorithms)
            else e
            for e in ch.extensions or ()
        ]
        return dataclasses.replace(
            ch,
            cipher_suites=(CS(0x0A0A), *ch.cipher_suites),
            extensions=(UnknownExtension(0x2A2A, b""), *exts),
        )

    pair = ConnectionPair(c12(client_hello_hook=grease), server_config()).handshake()
    assert completed(pair.server_events).version == TLS12
    exchange(pair)


def test_supported_versions_naming_tls12_only_gives_tls12() -> None:
    def tls12_in_supported_versions(ch: ClientHello) -> ClientHello:
        return dataclasses.replace(
            ch, extensions=(*(ch.extensions or ()), SupportedVersionsClientHello((TLS12,)))
        )

    pair = traced_pair(c12(client_hello_hook=tls12_in_supported_versions), server_config()).handshake()
    (hello,) = received_messages(pair.client_events, ServerHello)
    assert completed(pair.client_events).version == TLS12
    assert hello.extension(SupportedVersionsServerHello) is None  # TLS 1.2 answers without it


def test_certificate_chosen_by_the_suite() -> None:
    trust = WebPkiVerifier([pki().root.certificate, pki("rsa2048").root.certificate])
    server = server_config(certificates=[certified_key("rsa2048")])
    for suite, key_type in [
        (CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "rsa2048"),
        (CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ecdsa-p256"),
    ]:
        pair = ConnectionPair(c12(verifier=trust, cipher_suites=(suite,)), server).handshake()
        assert completed(pair.client_events).peer_certificates[0] == pki(key_type).leaf.certificate


# --- client certificates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("required", [True, False], ids=["required", "optional"])
@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048"])
def test_client_certificate(required: bool, key_type: str) -> None:
    client = c12(certificate_chain=client_chain(key_type), private_key=client_leaf(key_type).private_key)
    server = server_config(client_verifier=verifier(), require_client_certificate=required)
    pair = ConnectionPair(client, server).handshake()
    assert completed(pair.server_events).peer_certificates == tuple(client_chain(key_type))
    exchange(pair)


def test_optional_client_certificate_absent() -> None:
    pair = ConnectionPair(
        c12(), server_config(client_verifier=verifier(), require_client_certificate=False)
    ).handshake()
    assert completed(pair.server_events).peer_certificates == ()
    exchange(pair)


def test_required_client_certificate_absent_fails_the_handshake() -> None:
    pair = ConnectionPair(c12(), server_config(client_verifier=verifier()))
    with pytest.raises(RemoteProtocolError, match="no certificate"):
        pair.pump()
    with pytest.raises(FatalAlert):
        pair.client.receive_data(pair.server.data_to_send())


def test_required_client_certificate_absent_is_a_handshake_failure_in_tls12() -> None:
    pair = ConnectionPair(c12(), server_config(client_verifier=verifier()))
    with pytest.raises(RemoteProtocolError):
        pair.pump()
    with pytest.raises(FatalAlert) as info:
        pair.client.receive_data(pair.server.data_to_send())
    assert info.value.description == AlertDescription.HANDSHAKE_FAILURE


def test_client_certificate_whose_key_fits_no_requested_scheme_is_not_sent() -> None:
    client = c12(certificate_chain=client_chain("rsa2048"), private_key=client_leaf("rsa2048").private_key)
    server = server_config(
        versions=ONLY_12,
        client_verifier=verifier(),
        require_client_certificate=False,
        signature_schemes=(S.ECDSA_SECP256R1_SHA256,),  # what the CertificateRequest asks for
    )
    pair = traced_pair(client, server).handshake()
    assert sent_messages(pair.client_events, Certificate12) == [Certificate12(())]
    assert any("sending none" in d for d in decisions(pair.client_events, "client_certificate"))
    assert completed(pair.server_events).peer_certificates == ()


def test_client_certificate_is_not_sent_unasked() -> None:
    client = c12(certificate_chain=client_chain(), private_key=client_leaf().private_key)
    pair = traced_pair(client, server_config()).handshake()
    assert sent_messages(pair.client_events, Certificate12) == []
    assert completed(pair.server_events).peer_certificates == ()


# --- ALPN, SNI, record_size_limit, cipher preference -------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "server", "expected"),
    [
        pytest.param(("h2", "http/1.1"), ("http/1.1", "h2"), "http/1.1", id="server_preference"),
        pytest.param(("h2",), (), None, id="client_only"),
        pytest.param((), ("h2",), None, id="server_only"),
    ],
)
def test_alpn(client: tuple[str, ...], server: tuple[str, ...], expected: str | None) -> None:
    pair = ConnectionPair(c12(alpn_protocols=client), server_config(alpn_protocols=server)).handshake()
    assert (
        completed(pair.client_events).alpn_protocol == completed(pair.server_events).alpn_protocol == expected
    )


def _sni_server(extra_key_type: str) -> tuple[object, WebPkiVerifier]:
    other = certified_key(extra_key_type, ("other.example",))
    server = server_config("ecdsa-p256", certificates=[other])
    trust = WebPkiVerifier([pki().root.certificate, pki(extra_key_type, ("other.example",)).root.certificate])
    return server, trust


@pytest.mark.parametrize(
    ("server_name", "extra_key_type"),
    [
        pytest.param("localhost", "ecdsa-p256", id="default"),
        pytest.param("other.example", "ecdsa-p256", id="other-same_key_type"),
        pytest.param(
            "other.example",
            "rsa2048",
            id="other-rsa_behind_an_ecdsa_default",
        ),
    ],
)
def test_certificate_chosen_by_sni(server_name: str, extra_key_type: str) -> None:
    server, trust = _sni_server(extra_key_type)
    pair = ConnectionPair(c12(verifier=trust), server, server_name).handshake()
    names = ("other.example",) if server_name == "other.example" else ("localhost", "127.0.0.1")
    key_type = extra_key_type if server_name == "other.example" else "ecdsa-p256"
    assert completed(pair.client_events).peer_certificates[0] == pki(key_type, names).leaf.certificate
    assert completed(pair.server_events).server_name == server_name


def test_record_size_limit_the_client_asks_for_is_respected() -> None:
    pair = ConnectionPair(c12(record_size_limit=512), server_config(record_size_limit=1024)).handshake()
    pair.client.send_data(b"c" * 3000)
    pair.pump()
    sizes = [len(r.fragment) - 8 - 16 for chunk in pair.client_wire[-1:] for r in records(chunk)]
    assert max(sizes) == 1024  # RFC 8449 §4: TLS 1.2 counts the plaintext (no content type byte)
    assert data_received(pair.server_events) == b"c" * 3000


def test_record_size_limit_the_server_agreed_to_is_respected() -> None:
    pair = ConnectionPair(c12(record_size_limit=512), server_config(record_size_limit=1024)).handshake()
    pair.server.send_data(b"s" * 3000)
    pair.pump()
    sizes = [len(r.fragment) - 8 - 16 for r in records(pair.server_wire[-1])]
    assert max(sizes) == 512
    assert data_received(pair.client_events) == b"s" * 3000


def test_record_size_limit_is_not_answered_by_a_server_without_one() -> None:
    pair = traced_pair(c12(record_size_limit=512), server_config()).handshake()
    (hello,) = received_messages(pair.client_events, ServerHello)
    assert hello.extension(RecordSizeLimit) is None  # not negotiated: RFC 8449 binds nobody
    exchange(pair, b"a" * 2000, b"b" * 2000)


@pytest.mark.parametrize(
    ("preference", "expected"),
    [
        ("server", CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ("client", CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ],
)
def test_cipher_preference(preference: str, expected: CipherSuite) -> None:
    client_order = (
        CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    )
    pair = ConnectionPair(
        c12(cipher_suites=client_order), server_config(cipher_preference=preference)
    ).handshake()
    assert completed(pair.client_events).cipher_suite == expected
    exchange(pair)


# --- exporters, keys, key log -----------------------------------------------------------------------------


def test_exporter_gives_both_ends_the_same_keying_material() -> None:
    pair = ConnectionPair(c12(), server_config()).handshake()
    for label, context, length in [("EXPERIMENTAL a", b"ctx", 32), (b"EXPERIMENTAL b", None, 100)]:
        client = pair.client.export_keying_material(label, context, length)
        assert client == pair.server.export_keying_material(label, context, length)
        assert len(client) == length
    # RFC 5705 §4: no context and an empty context are different inputs.
    assert pair.client.export_keying_material("EXPERIMENTAL a", None) != pair.client.export_keying_material(
        "EXPERIMENTAL a", b""
    )
    assert pair.client.export_keying_material("EXPERIMENTAL a") != pair.client.export_keying_material(
        "EXPERIMENTAL c"
    )


def test_exporter_after_resumption_differs_from_the_first_connection() -> None:
    client, server = c12(), server_config()
    first, session = first_session(client, server)
    resumed = resume(client, server, session)
    resumed.handshake()
    out = resumed.client.export_keying_material("EXPERIMENTAL a")
    assert out == resumed.server.export_keying_material("EXPERIMENTAL a")
    assert out != first.client.export_keying_material("EXPERIMENTAL a")  # new randoms


def test_update_keys_is_refused_in_tls12() -> None:
    pair = ConnectionPair(c12(), server_config()).handshake()
    for conn in (pair.client, pair.server):
        with pytest.raises(LocalProtocolError, match=r"TLS 1\.2 has no KeyUpdate"):
            conn.update_keys()
        with pytest.raises(LocalProtocolError):
            conn.update_keys(request_peer=True)
    exchange(pair)  # nothing was sent, nothing broke


def test_key_log_lines_match_on_both_ends() -> None:
    lines: dict[str, list[str]] = {"client": [], "server": []}
    client = c12(keylog=lines["client"].append)
    server = server_config(keylog=lines["server"].append)
    _, session = first_session(client, server)
    resume(client, server, session).handshake()
    assert lines["client"] == lines["server"]
    assert [line.split()[0] for line in lines["client"]] == ["CLIENT_RANDOM", "CLIENT_RANDOM"]
    assert all(len(line.split()[1]) == 64 and len(line.split()[2]) == 96 for line in lines["client"])
    assert lines["client"][0].split()[2] == lines["client"][1].split()[2]  # the session's master secret


# --- renegotiation is refused, the connection goes on ------------------------------------------------


def test_hello_request_after_the_handshake_is_answered_with_no_renegotiation() -> None:
    c = TamperingClient(c12(), "localhost", trace=True)
    pair = ConnectionPair(client=c, server=ServerConnection(server_config())).handshake()
    events = c.receive_data(send_handshake(pair.server, HelloRequest()))
    assert any("no_renegotiation" in d for d in decisions(events, "renegotiation"))
    (answer,) = records(c.data_to_send())
    assert open_own(c, answer) == (ALERT, bytes((AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)))
    # The client goes on: it reads and sends application data under the same keys.
    pair.server.send_data(b"after the HelloRequest")
    assert data_received(c.receive_data(pair.server.data_to_send())) == b"after the HelloRequest"
    c.send_data(b"still here")
    assert c.data_to_send()
    assert not c.closed


def test_second_client_hello_after_the_handshake_is_answered_with_no_renegotiation() -> None:
    c = TamperingClient(c12(), "localhost")
    s = TamperingServer(server_config(), trace=True)
    pair = ConnectionPair(client=c, server=s).handshake()
    renegotiation = decode_handshake(c.sent[0][0])
    events = s.receive_data(send_handshake(c, renegotiation))
    assert any("no_renegotiation" in d for d in decisions(events, "renegotiation"))
    (answer,) = records(s.data_to_send())
    assert open_own(s, answer) == (ALERT, bytes((AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)))
    s.send_data(b"still here")
    assert s.data_to_send() and not s.closed
    assert pair.server is s


def test_server_takes_the_no_renegotiation_warning_and_goes_on() -> None:
    pair = ConnectionPair(c12(), server_config()).handshake()
    pair.client.receive_data(send_handshake(pair.server, HelloRequest()))
    events = pair.server.receive_data(pair.client.data_to_send())
    assert events == [AlertReceived(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)]
    exchange(pair)


def test_client_takes_the_no_renegotiation_warning_and_goes_on() -> None:
    c = TamperingClient(c12(), "localhost")
    pair = ConnectionPair(client=c, server=ServerConnection(server_config())).handshake()
    pair.server.receive_data(send_handshake(c, decode_handshake(c.sent[0][0])))
    events = c.receive_data(pair.server.data_to_send())
    assert events == [AlertReceived(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)]
    exchange(pair)


def test_hello_request_during_the_handshake_is_ignored() -> None:
    # RFC 5246 §7.4.1.1: a HelloRequest while negotiating is ignored, and is not in the handshake hash.
    s = TamperingServer(
        server_config(), tamper=replacing(Certificate12, lambda m: [OffTranscript(HelloRequest()), m])
    )
    pair = ConnectionPair(client=ClientConnection(c12(), "localhost"), server=s).handshake()
    assert completed(pair.client_events).version == TLS12
    exchange(pair)


# --- close_notify ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["client", "server"])
def test_close_notify_both_ways(first: str) -> None:
    pair = ConnectionPair(c12(), server_config()).handshake()
    sides = [(pair.client, pair.client_events), (pair.server, pair.server_events)]
    (closer, closer_events), (other, other_events) = sides if first == "client" else sides[::-1]
    closer.close()
    pair.pump()
    assert other_events[-1] == ConnectionClosed(clean=True)
    assert not other.closed
    other.send_data(b"last words")  # the other direction stays open until its own close_notify
    pair.pump()
    assert data_received(closer_events).endswith(b"last words")
    other.close()
    pair.pump()
    assert closer_events[-1] == ConnectionClosed(clean=True)
    assert pair.client.closed and pair.server.closed
    # Each close_notify travels protected: an alert record (TLS 1.2 keeps the type) with its 8-byte
    # explicit nonce and 16-byte tag around the 2 bytes.
    for wire in (pair.client_wire, pair.server_wire):
        (record,) = [r for chunk in wire for r in records(chunk) if r.content_type == ALERT]
        assert len(record.fragment) == 8 + 2 + 16


def test_eof_without_close_notify_is_unclean() -> None:
    pair = ConnectionPair(c12(), server_config()).handshake()
    assert pair.client.receive_data(b"") == [ConnectionClosed(clean=False)]


# --- attacks: downgrade, fallback, static RSA -------------------------------------------------------------


def test_downgrade_by_a_man_in_the_middle_is_refused() -> None:
    # A man in the middle removes TLS 1.3 from the client's ClientHello (supported_versions), so the
    # TLS 1.3-capable server answers TLS 1.2, and says so in ServerHello.random (RFC 8446 §4.1.3).
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config(), trace=True)
    (record,) = records(client.data_to_send())
    hello = decode_handshake(record.fragment)
    assert isinstance(hello, ClientHello)
    stripped = dataclasses.replace(
        hello,
        extensions=tuple(
            e for e in hello.extensions or () if not isinstance(e, SupportedVersionsClientHello)
        ),
    )
    events = server.receive_data(encode_plaintext(22, encode_handshake(stripped)))
    answer = server.data_to_send()
    (server_hello,) = sent_messages(events, ServerHello)
    assert server_hello.random.endswith(DOWNGRADE_TLS12)
    with pytest.raises(IllegalParameter, match="downgrade sentinel"):
        client.receive_data(answer)
    assert client.data_to_send() == bytes((ALERT, 3, 3, 0, 2, 2, AlertDescription.ILLEGAL_PARAMETER))
    assert client.closed


def test_the_same_answer_reaches_a_tls12_only_client() -> None:
    # The sentinel is for clients that offered TLS 1.3: one that did not (RFC 8446 §4.1.3) goes on.
    pair = ConnectionPair(c12(), server_config(versions=BOTH)).handshake()
    assert completed(pair.client_events).version == TLS12


def _fallback(ch: ClientHello) -> ClientHello:
    return dataclasses.replace(ch, cipher_suites=(*ch.cipher_suites, CS.TLS_FALLBACK_SCSV))


def test_fallback_scsv_to_a_tls13_server_is_refused() -> None:
    # RFC 7507: a client retrying with less than its best says so; a server that speaks more refuses.
    pair = ConnectionPair(c12(client_hello_hook=_fallback), server_config(versions=BOTH))
    with pytest.raises(InappropriateFallback):
        pair.pump()
    with pytest.raises(FatalAlert) as info:
        pair.client.receive_data(pair.server.data_to_send())
    assert info.value.description == AlertDescription.INAPPROPRIATE_FALLBACK


def test_fallback_scsv_to_a_tls12_only_server_is_accepted() -> None:
    pair = ConnectionPair(c12(client_hello_hook=_fallback), server_config(versions=ONLY_12)).handshake()
    assert completed(pair.client_events).version == TLS12
    exchange(pair)


@pytest.mark.parametrize("server_versions", [ONLY_12, BOTH], ids=["tls12_server", "both_server"])
def test_static_rsa_only_client_is_refused(server_versions: tuple[str, ...]) -> None:
    def static_rsa(ch: ClientHello) -> ClientHello:
        return dataclasses.replace(ch, cipher_suites=(CS.TLS_RSA_WITH_AES_128_GCM_SHA256,))

    pair = ConnectionPair(
        c12("rsa2048", client_hello_hook=static_rsa), server_config("rsa2048", versions=server_versions)
    )
    with pytest.raises(HandshakeFailure, match="no cipher suite in common"):
        pair.pump()
    with pytest.raises(FatalAlert) as info:
        pair.client.receive_data(pair.server.data_to_send())
    assert info.value.description == AlertDescription.HANDSHAKE_FAILURE


# --- tracing observes the one path: same bytes, same events -----------------------------------------------


def _deterministic_configs() -> tuple[ClientConfig, ServerConfig]:
    """RSA PKCS#1 v1.5 signatures (deterministic) on both sides, and every random from a seed."""
    pkcs1 = (S.RSA_PKCS1_SHA256,)
    client = c12(
        "rsa2048",
        signature_schemes=pkcs1,
        certificate_chain=client_chain("rsa2048"),
        private_key=client_leaf("rsa2048").private_key,
    )
    server = server_config(
        "rsa2048",
        versions=ONLY_12,
        signature_schemes=pkcs1,
        client_verifier=verifier(),
        ticket_keys=TicketKeyRing(provider=DeterministicProvider(seed=b"ring", clock=NOW)),
    )
    return (
        dataclasses.replace(client, provider=DeterministicProvider(seed=b"client", clock=NOW)),
        dataclasses.replace(server, provider=DeterministicProvider(seed=b"server", clock=NOW)),
    )


def _conversation(trace: bool, chunk: int | None, session: Session | None = None) -> tuple[list, list, list]:
    """A whole connection, every flight cut into ``chunk``-byte pieces when given: (wire, client events,
    server events)."""
    client_cfg, server_cfg = _deterministic_configs()
    client = ClientConnection(client_cfg, "localhost", session=session, trace=trace)
    server = ServerConnection(server_cfg, trace=trace)
    wire: list[bytes] = []
    events: dict[object, list] = {client: [], server: []}

    def move(src: ClientConnection | ServerConnection, dst: ClientConnection | ServerConnection) -> bool:
        data = src.data_to_send()
        if data:
            wire.append(data)
            pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
            for piece in pieces:
                events[dst] += dst.receive_data(piece)
        return bool(data)

    steps = [
        lambda: None,
        lambda: client.send_data(b"ping" * 5000),
        lambda: server.send_data(b"pong"),
        lambda: client.send_data(b""),
        lambda: client.close(),
        lambda: (server.send_data(b"bye"), server.close()),
    ]
    for step in steps:
        step()
        while move(client, server) | move(server, client):
            pass
        events[client] += client.pending_events()
        events[server] += server.pending_events()
    assert client.closed and server.closed
    return wire, events[client], events[server]


@pytest.mark.parametrize("chunk", [None, 7], ids=["whole flights", "7-byte chunks"])
def test_tracing_changes_neither_bytes_nor_events(chunk: int | None) -> None:
    plain = _conversation(False, chunk)
    traced = _conversation(True, chunk)
    assert traced[0] == plain[0]
    assert [without_trace(e) for e in traced[1:]] == [without_trace(e) for e in plain[1:]]
    assert any(isinstance(e, MessageReceived) for e in traced[1])  # the trace is there...
    assert not any(isinstance(e, MessageReceived) for e in plain[1])  # ...only when asked for
    assert data_received(plain[1]) == b"pongbye" and data_received(plain[2]) == b"ping" * 5000
    assert completed(plain[1]).version == TLS12
    (ticket,) = of_type(plain[1], SessionTicketReceived)
    plain_resumed = _conversation(False, chunk, ticket.session)
    traced_resumed = _conversation(True, chunk, ticket.session)
    assert traced_resumed[0] == plain_resumed[0]
    assert [without_trace(e) for e in traced_resumed[1:]] == [without_trace(e) for e in plain_resumed[1:]]
    assert completed(plain_resumed[1]).resumed is True


# --- flights as peers send them: fragmented, with data right behind, alerts across ---------------------


def _fragmented(data: bytes, size: int, plaintext: list[bool]) -> bytes:
    """``data`` with each plaintext handshake record cut into records of ``size`` bytes (up to the first
    ChangeCipherSpec, after which records are protected and stay as they are)."""
    out = b""
    for r in records(data):
        if r.content_type == CHANGE_CIPHER_SPEC:
            plaintext[0] = False
        if r.content_type == HANDSHAKE and plaintext[0]:
            out += b"".join(
                encode_plaintext(HANDSHAKE, r.fragment[i : i + size]) for i in range(0, len(r.fragment), size)
            )
        else:
            out += encode_plaintext(r.content_type, r.fragment)  # (same bytes: version 0x0303)
    return out


@pytest.mark.parametrize("size", [1, 7, 100])
def test_handshake_messages_fragmented_across_records(size: int) -> None:
    client, server = ClientConnection(c12(), "localhost"), ServerConnection(server_config())
    server.receive_data(_fragmented(client.data_to_send(), size, [True]))
    client.receive_data(_fragmented(server.data_to_send(), size, [True]))
    server.receive_data(_fragmented(client.data_to_send(), size, [True]))
    client.receive_data(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete
    pair = ConnectionPair(client=client, server=server)
    exchange(pair)


def test_server_data_right_behind_its_finished() -> None:
    client, server = ClientConnection(c12(), "localhost"), ServerConnection(server_config())
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    server.send_data(b"first words")  # in the same flight as NewSessionTicket, CCS, Finished
    events = client.receive_data(server.data_to_send())
    assert isinstance(events[0], HandshakeCompleted)
    assert data_received(events) == b"first words"


def test_client_data_right_behind_its_finished_on_resumption() -> None:
    client_cfg, server_cfg = c12(), server_config()
    _, session = first_session(client_cfg, server_cfg)
    client = ClientConnection(client_cfg, "localhost", session=session)
    server = ServerConnection(server_cfg)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert client.handshake_complete
    client.send_data(b"first words")  # behind the client's CCS and Finished
    events = server.receive_data(client.data_to_send())
    assert completed(events).resumed is True
    assert data_received(events) == b"first words"


@pytest.mark.parametrize("fails", ["server", "client"])
def test_a_refused_finished_reaches_the_peer_as_its_alert(fails: str) -> None:
    # The server refuses before its ChangeCipherSpec (a plaintext alert); the client after its own
    # (a protected one): either way the peer reads decrypt_error.
    bad = replacing(Finished, lambda m: Finished(bytes(12)))
    client = TamperingClient(c12(), "localhost", tamper=bad if fails == "server" else None)
    server = TamperingServer(server_config(), tamper=bad if fails == "client" else None)
    victim, peer = (server, client) if fails == "server" else (client, server)
    with pytest.raises(DecryptError):
        ConnectionPair(client=client, server=server).pump()
    with pytest.raises(FatalAlert) as info:
        peer.receive_data(victim.data_to_send())
    assert info.value.description == AlertDescription.DECRYPT_ERROR
