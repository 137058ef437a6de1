"""The inbound path against a hostile peer: what each record may carry, how large a handshake message
may be in each state, and the floods it cuts (records that carry nothing, alerts, KeyUpdates).

RFC 8446 §5.4: a protected handshake or alert record with no content is unexpected_message. §4.1.2 and
the per-state limits: before the ClientHello only a ClientHello may arrive, within the ClientHello
limit (a valid one of up to ~128 KiB is read), and every state refuses the types it does not expect at
their 4-byte header, before buffering a body.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.handshake.helpers import (
    APPLICATION_DATA,
    ConnectionPair,
    TamperingClient,
    TamperingServer,
    assert_alert_sent,
    client_config,
    dropping,
    plaintext_alert,
    server_config,
)
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import DecodeError, FatalAlert, UnexpectedMessage
from tlslens.events import AlertReceived, ConnectionClosed, DataReceived
from tlslens.handshake.common import MAX_CLIENT_HELLO
from tlslens.record.deframer import encode_plaintext
from tlslens.record.inbound import MAX_KEY_UPDATES_WITHOUT_DATA, MAX_WARNING_ALERTS
from tlslens.wire.enums import (
    AlertDescription,
    AlertLevel,
    CipherSuite,
    CompressionMethod,
    ContentType,
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import SignatureAlgorithms, UnknownExtension
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import Finished, encode_handshake

A = AlertDescription
HANDSHAKE = ContentType.HANDSHAKE.value
ALERT = ContentType.ALERT.value


def established() -> tuple[TamperingClient, TamperingServer, int]:
    """A pair after the handshake, and the index of the client's write key the server reads with."""
    c = TamperingClient(client_config())
    s = TamperingServer(server_config())
    ConnectionPair(client=c, server=s).handshake()
    return c, s, -1


def awaiting_client_finished() -> tuple[TamperingClient, TamperingServer, int]:
    """The server has sent its flight; the client processed it but its Finished was held back (so the
    test seals records under the client's handshake key, its first write key)."""
    c = TamperingClient(client_config(), tamper=dropping(Finished))
    s = TamperingServer(server_config())
    ConnectionPair(client=c, server=s).pump()
    assert not s.handshake_complete
    return c, s, 0


# --- conformance 3: protected handshake or alert records without content (§5.4) -----------------------

STAGES = {"during_handshake": awaiting_client_finished, "after_handshake": established}


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize(("inner_type", "padding"), [(HANDSHAKE, 0), (ALERT, 0), (ALERT, 3)])
def test_protected_record_without_content_is_unexpected_message(
    stage: str, inner_type: int, padding: int
) -> None:
    c, s, key = STAGES[stage]()
    with pytest.raises(UnexpectedMessage):
        s.receive_data(c.seal_inner(bytes((inner_type,)) + bytes(padding), key))
    assert_alert_sent(s, c, A.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("content", [b"\x01", b"\x01\x00\x00", b"\x02\x28\x00\x00"], ids=["1", "3", "4"])
def test_protected_alert_of_wrong_length_is_decode_error(content: bytes) -> None:
    c, s, _ = established()
    with pytest.raises(DecodeError):
        s.receive_data(c.seal_inner(content + bytes((ALERT,))))
    assert_alert_sent(s, c, A.DECODE_ERROR)


def test_protected_empty_application_data_is_still_fine() -> None:
    c, s, _ = established()
    assert s.receive_data(c.seal_inner(bytes((APPLICATION_DATA,)))) == []


# --- conformance 6, hardening 2: limits by state and message type, judged at the header ----------------

S = SignatureScheme


def _large_hello(ch: ClientHello) -> ClientHello:
    """About 120 KiB, every vector within its RFC bound: thousands of cipher suites and signature
    algorithms tlslens does not know, and many unknown extensions, around the real offer."""
    unknown_suites = tuple(CipherSuite(0x2000 + i) for i in range(30000))
    sa = ch.extension(SignatureAlgorithms)
    assert sa is not None
    schemes = (*sa.supported_signature_algorithms, *(S(0x9000 + i) for i in range(20000)))
    filler = tuple(UnknownExtension(ExtensionType(0xF000 + i), bytes(150)) for i in range(80))
    exts = [
        SignatureAlgorithms(schemes) if isinstance(e, SignatureAlgorithms) else e for e in ch.extensions or ()
    ]
    return dataclasses.replace(
        ch, cipher_suites=(*ch.cipher_suites, *unknown_suites), extensions=(*filler, *exts)
    )


def test_a_valid_client_hello_of_over_64_kib_is_read() -> None:
    c = ClientConnection(client_config(client_hello_hook=_large_hello), "localhost")
    s = ServerConnection(server_config())
    hello = c.data_to_send()
    assert 100_000 < len(hello) <= 4 + MAX_CLIENT_HELLO + 5 * (len(hello) // 2**14 + 1)
    pair = ConnectionPair(client=c, server=s)
    pair.server_events += s.receive_data(hello)
    pair.handshake()


def test_the_largest_client_hello_the_rfc_allows_fits_the_limit() -> None:
    """Every vector at its upper bound: the limit is exactly that encoding's body."""
    hello = ClientHello(
        legacy_version=ProtocolVersion.TLS1_2,
        random=bytes(32),
        legacy_session_id=bytes(32),
        cipher_suites=tuple(CipherSuite(i) for i in range(0x7FFF)),
        legacy_compression_methods=tuple(CompressionMethod(i) for i in range(255)),
        extensions=(UnknownExtension(ExtensionType(0xFAFA), bytes(0xFFFF - 4)),),
    )
    assert len(encode_handshake(hello)) == 4 + MAX_CLIENT_HELLO


def _header(msg_type: int, length: int) -> bytes:
    return bytes((msg_type,)) + length.to_bytes(3, "big")


def test_before_the_client_hello_a_large_certificate_header_is_refused_at_once() -> None:
    s = ServerConnection(server_config())
    with pytest.raises(UnexpectedMessage, match="expected ClientHello from the client, got Certificate"):
        s.receive_data(encode_plaintext(HANDSHAKE, _header(HandshakeType.CERTIFICATE, 2**18)))
    assert s.data_to_send() == plaintext_alert(A.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "msg_type", [HandshakeType.FINISHED, HandshakeType.KEY_UPDATE, HandshakeType.SERVER_HELLO]
)
def test_before_the_client_hello_only_a_client_hello_may_start(msg_type: HandshakeType) -> None:
    s = ServerConnection(server_config())
    with pytest.raises(UnexpectedMessage):
        s.receive_data(encode_plaintext(HANDSHAKE, _header(msg_type, 1)))


def test_client_hello_header_over_its_limit_is_refused_before_the_body() -> None:
    s = ServerConnection(server_config())
    with pytest.raises(DecodeError, match=f"limit {MAX_CLIENT_HELLO}"):
        s.receive_data(encode_plaintext(HANDSHAKE, _header(HandshakeType.CLIENT_HELLO, MAX_CLIENT_HELLO + 1)))
    assert s.data_to_send() == plaintext_alert(A.DECODE_ERROR)


def test_client_hello_of_the_largest_size_is_buffered_until_complete() -> None:
    s = ServerConnection(server_config())
    assert (
        s.receive_data(encode_plaintext(HANDSHAKE, _header(HandshakeType.CLIENT_HELLO, MAX_CLIENT_HELLO)))
        == []
    )
    assert not s.closed


def test_client_refuses_a_large_header_of_a_type_it_does_not_expect_yet() -> None:
    c = ClientConnection(client_config(), "localhost")
    c.data_to_send()
    with pytest.raises(
        UnexpectedMessage, match="expected ServerHello after ClientHello, got NewSessionTicket"
    ):
        c.receive_data(encode_plaintext(HANDSHAKE, _header(HandshakeType.NEW_SESSION_TICKET, 100_000)))


@pytest.mark.parametrize(
    ("msg_type", "length", "error"),
    [
        (HandshakeType.CERTIFICATE, 2**18, UnexpectedMessage),  # no post-handshake auth from clients
        (HandshakeType.CLIENT_HELLO, 10, UnexpectedMessage),
        (HandshakeType.KEY_UPDATE, 2, DecodeError),  # KeyUpdate is one byte
    ],
)
def test_server_after_the_handshake_judges_each_header(msg_type: int, length: int, error: type) -> None:
    c, s, key = established()
    with pytest.raises(error):
        s.receive_data(c.sealer(key).seal(HANDSHAKE, _header(msg_type, length)))
    assert_alert_sent(s, c, error.alert)


def test_finished_header_longer_than_any_hash_is_refused() -> None:
    c, s, key = awaiting_client_finished()
    with pytest.raises(DecodeError):
        s.receive_data(c.sealer(key).seal(HANDSHAKE, _header(HandshakeType.FINISHED, 65)))
    assert_alert_sent(s, c, A.DECODE_ERROR)


# --- hardening 3: warning alerts that close nothing are counted, and a flood ends the connection --------


def _user_canceled() -> bytes:
    return bytes((1, A.USER_CANCELED))


def test_user_canceled_flood_before_the_handshake_is_cut() -> None:
    s = ServerConnection(server_config())
    flood = encode_plaintext(ALERT, _user_canceled()) * MAX_WARNING_ALERTS
    events = s.receive_data(flood)
    assert len([e for e in events if isinstance(e, AlertReceived)]) == MAX_WARNING_ALERTS
    with pytest.raises(UnexpectedMessage, match="warning alerts"):
        s.receive_data(encode_plaintext(ALERT, _user_canceled()))
    assert s.data_to_send() == plaintext_alert(A.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("stage", list(STAGES))
def test_user_canceled_flood_under_protection_is_cut(stage: str) -> None:
    c, s, key = STAGES[stage]()
    sealer = c.sealer(key)
    s.receive_data(b"".join(sealer.seal(ALERT, _user_canceled()) for _ in range(MAX_WARNING_ALERTS)))
    with pytest.raises(UnexpectedMessage, match="warning alerts"):
        s.receive_data(sealer.seal(ALERT, _user_canceled()))
    assert_alert_sent(s, c, A.UNEXPECTED_MESSAGE)


def test_a_few_user_canceled_alerts_then_close_notify_are_fine() -> None:
    c, s, _ = established()
    c.send_data(b"data")
    events = s.receive_data(c.data_to_send())
    sealer = c.sealer()
    events += s.receive_data(
        sealer.seal(ALERT, _user_canceled()) + sealer.seal(ALERT, bytes((1, A.CLOSE_NOTIFY)))
    )
    assert AlertReceived(AlertLevel.WARNING, A.USER_CANCELED) in events
    assert events[-1] == ConnectionClosed(clean=True)


def test_unknown_warning_alert_is_an_error_alert() -> None:
    """RFC 8446 §6: unknown alert types are error alerts, whatever their level: no flood to count."""
    s = ServerConnection(server_config())
    with pytest.raises(FatalAlert):
        s.receive_data(encode_plaintext(ALERT, b"\x01\xfe"))


# --- hardening 6: the peer's answers to our own KeyUpdate requests are not its flood -------------------


@pytest.mark.parametrize("batched", [False, True], ids=["one_by_one", "all_at_once"])
def test_answers_to_our_own_key_update_requests_are_not_a_flood(batched: bool) -> None:
    """The client asks for a key update again and again (sending data each time, so the server sees no
    flood); the server's answers are KeyUpdates without data from where the client stands."""
    c, s, _ = established()
    pair = ConnectionPair(client=c, server=s)
    for _ in range(MAX_KEY_UPDATES_WITHOUT_DATA + 8):
        c.update_keys(request_peer=True)
        c.send_data(b"ping")
        if not batched:
            pair.pump()
    pair.pump()
    assert not c.closed and not s.closed
    s.send_data(b"still here")
    assert DataReceived(b"still here") in c.receive_data(s.data_to_send())


def test_unrequested_key_updates_beyond_our_requests_are_still_a_flood() -> None:
    c, s, _ = established()
    c.update_keys(request_peer=True)  # one answer is expected: the budget is the limit plus one
    s.receive_data(c.data_to_send())
    for _ in range(MAX_KEY_UPDATES_WITHOUT_DATA + 1):
        s.update_keys()
    with pytest.raises(UnexpectedMessage, match="KeyUpdates"):
        c.receive_data(s.data_to_send())
