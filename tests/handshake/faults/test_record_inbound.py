"""The inbound path (record/inbound.py): records routed by content type, change_cipher_spec tolerance,
the flood limits, the 0-RTT record budgets, and the alerts, close_notify and EOF a peer sends.

Records the layers below refuse (framing, protection, reassembly, message decoding) are in
test_record_layer.py.
"""

from __future__ import annotations

import pytest

from tests.handshake.faults.fault import Injected, faults
from tests.handshake.faults.scenes import (
    Scene,
    awaiting_client_finished,
    established,
    established_plain,
    fresh,
    lone_server,
    resuming,
)
from tests.handshake.helpers import (
    ALERT,
    APPLICATION_DATA,
    CCS_RECORD,
    HANDSHAKE,
    TamperingClient,
    TamperingServer,
    client_config,
    data_received,
    encode,
    of_type,
    plaintext_alert,
    server_config,
)
from tlslens.connection import (
    MAX_CONSECUTIVE_EMPTY_RECORDS,
    MAX_KEY_UPDATES_WITHOUT_DATA,
    ClientConnection,
    ServerConnection,
)
from tlslens.errors import DecodeError, FatalAlert, LocalProtocolError, UnexpectedMessage
from tlslens.events import AlertReceived, ConnectionClosed, KeyUpdated
from tlslens.record.deframer import encode_plaintext
from tlslens.session.tickets import TicketKeyRing
from tlslens.wire.enums import AlertDescription, AlertLevel
from tlslens.wire.messages import Finished

A = AlertDescription
UNPROTECTED = "record/inbound.py:Inbound._unprotected"
APPLICATION = "record/inbound.py:Inbound._application_data"
ALERTS = "record/inbound.py:Inbound._alert"
FEED = "record/inbound.py:Inbound.feed"


def client_of(scene: Scene) -> TamperingClient:
    assert isinstance(scene.client, TamperingClient)
    return scene.client


def ccs_flood(scene: Scene) -> bytes:
    assert scene.server.receive_data(CCS_RECORD * MAX_CONSECUTIVE_EMPTY_RECORDS) == []
    return CCS_RECORD


def empty_record_flood(scene: Scene) -> bytes:
    sealer = client_of(scene).sealer(-1)
    empty = [sealer.seal(APPLICATION_DATA, b"") for _ in range(MAX_CONSECUTIVE_EMPTY_RECORDS + 1)]
    assert scene.server.receive_data(b"".join(empty[:-1])) == []
    return empty[-1]


def key_update_flood(scene: Scene) -> bytes:
    c = scene.client
    assert c is not None
    for _ in range(MAX_KEY_UPDATES_WITHOUT_DATA):
        c.update_keys()
    events = scene.server.receive_data(c.data_to_send())
    assert len(of_type(events, KeyUpdated)) == MAX_KEY_UPDATES_WITHOUT_DATA
    c.update_keys()
    return c.data_to_send()


def alert_inside_client_hello(scene: Scene) -> bytes:
    hello = client_of(scene).sent[0][0]
    return encode_plaintext(HANDSHAKE, hello[:40]) + b"\x15\x03\x03\x00\x02\x01\x5a"


def application_data_inside_finished(scene: Scene) -> bytes:
    sealer = client_of(scene).sealer(0)
    return sealer.seal(HANDSHAKE, encode(Finished(bytes(32)))[:10]) + sealer.seal(APPLICATION_DATA, b"data")


def application_data_before_server_hello(scene: Scene) -> bytes:
    client_of(scene).data_to_send()  # the ClientHello leaves
    return b"\x17\x03\x03\x00\x05hello"


def early_data_over_budget(scene: Scene) -> bytes:
    c = client_of(scene)
    return c.data_to_send() + c.sealer(0).seal(APPLICATION_DATA, b"7 bytes too many")


def refused_early_data_over_budget(scene: Scene) -> bytes:
    junk = b"".join(b"\x17\x03\x03\x40\x00" + bytes(2**14) for _ in range(3))  # 48 KiB that never opens
    return client_of(scene).data_to_send() + junk


CHANGE_CIPHER_SPEC_FAULTS = [  # RFC 8446 §5
    Injected(
        id="bad_payload",
        fails="server",
        raises=UnexpectedMessage,
        site=UNPROTECTED,
        match="change_cipher_spec",
        given=awaiting_client_finished,
        inject=lambda scene: b"\x14\x03\x03\x00\x01\x02",
    ),
    Injected(
        id="after_finished",
        fails="server",
        raises=UnexpectedMessage,
        site=UNPROTECTED,
        match="change_cipher_spec",
        given=established,
        inject=lambda scene: CCS_RECORD,
    ),
    Injected(
        id="flood",
        fails="server",
        raises=UnexpectedMessage,
        site=UNPROTECTED,
        match="too many change_cipher_spec",
        given=awaiting_client_finished,
        inject=ccs_flood,
    ),
]

FLOOD_FAULTS = [
    Injected(
        id="empty_records",
        fails="server",
        raises=UnexpectedMessage,
        site=FEED,
        match="empty records",
        given=established,
        inject=empty_record_flood,
    ),
    Injected(  # plain connections: the client opens the server's alert (under the right sequence number)
        id="key_updates",
        fails="server",
        raises=UnexpectedMessage,
        site="record/inbound.py:Inbound.count_key_update",
        match="KeyUpdates",
        given=established_plain,
        inject=key_update_flood,
    ),
]

ROUTING_FAULTS = [
    Injected(
        id="plaintext_alert_of_wrong_length",
        fails="server",
        raises=DecodeError,
        site=ALERTS,
        match="alert of 1 bytes",
        given=lone_server,
        inject=lambda scene: b"\x15\x03\x03\x00\x01\x02",
    ),
    Injected(
        id="protected_alert_of_wrong_length",
        fails="server",
        raises=DecodeError,
        site=ALERTS,
        match="alert of 3 bytes",
        given=established,
        inject=lambda scene: client_of(scene).sealer(-1).seal(ALERT, b"\x02\x28\x00"),
    ),
    Injected(
        id="alert_in_the_middle_of_a_handshake_message",
        fails="server",
        raises=UnexpectedMessage,
        site=ALERTS,
        match="alert in the middle",
        given=fresh,
        inject=alert_inside_client_hello,
    ),
    Injected(
        id="application_data_in_the_middle_of_a_handshake_message",
        fails="server",
        raises=UnexpectedMessage,
        site=APPLICATION,
        match="middle of a handshake message",
        given=awaiting_client_finished,
        inject=application_data_inside_finished,
    ),
    Injected(
        id="zero_length_protected_handshake_record",
        fails="server",
        raises=UnexpectedMessage,
        site=FEED,
        match="zero-length handshake",
        given=awaiting_client_finished,
        inject=lambda scene: client_of(scene).seal_inner(bytes((HANDSHAKE,)), key_index=0),
    ),
    Injected(
        id="plaintext_handshake_after_keys",
        fails="server",
        raises=UnexpectedMessage,
        site=UNPROTECTED,
        match="unprotected handshake",
        given=awaiting_client_finished,
        inject=lambda scene: encode_plaintext(HANDSHAKE, encode(Finished(bytes(32)))),
    ),
    Injected(
        id="plaintext_alert_after_the_handshake",
        fails="client",
        raises=UnexpectedMessage,
        site=UNPROTECTED,
        match="unprotected alert",
        given=established,
        inject=lambda scene: plaintext_alert(A.HANDSHAKE_FAILURE),
    ),
    Injected(
        id="application_data_before_any_key",
        fails="server",
        raises=UnexpectedMessage,
        site=UNPROTECTED,
        match="before the handshake keys",
        given=lone_server,
        inject=lambda scene: b"\x17\x03\x03\x00\x05hello",
    ),
    Injected(
        id="client_refuses_application_data_before_server_hello",
        fails="client",
        raises=UnexpectedMessage,
        site=UNPROTECTED,
        match="before the handshake keys",
        given=fresh,
        inject=application_data_before_server_hello,
    ),
    Injected(
        id="protected_application_data_before_client_finished",
        fails="server",
        raises=UnexpectedMessage,
        site=APPLICATION,
        match="before the handshake completed",
        given=awaiting_client_finished,
        inject=lambda scene: client_of(scene).sealer(0).seal(APPLICATION_DATA, b"too early"),
    ),
]

EARLY_DATA_FAULTS = [  # RFC 8446 §4.2.10
    Injected(
        id="more_early_data_than_accepted",
        fails="server",
        raises=UnexpectedMessage,
        site=APPLICATION,
        match="more early data than max_early_data_size",
        given=lambda: resuming(issuing={"max_early_data_size": 16}, early_data=b"x" * 10),
        answers_first=True,
        inject=early_data_over_budget,
    ),
    Injected(  # the server cannot open the ticket, so it skips the 0-RTT records, but not without end
        id="refused_early_data_skipped_only_up_to_a_limit",
        fails="server",
        raises=UnexpectedMessage,
        site="record/inbound.py:Inbound._skip_refused_early_data",
        match="more refused early data",
        given=lambda: resuming(
            issuing={"max_early_data_size": 1024, "ticket_keys": TicketKeyRing()},
            server={"max_early_data_size": 0},
            early_data=b"x" * 1000,
        ),
        answers_first=True,
        inject=refused_early_data_over_budget,
    ),
]


@faults(CHANGE_CIPHER_SPEC_FAULTS)
def test_server_refuses_change_cipher_spec(fault: Injected) -> None:
    fault.check()


@faults(FLOOD_FAULTS)
def test_server_refuses_flood(fault: Injected) -> None:
    fault.check()


@faults(ROUTING_FAULTS)
def test_record_out_of_place(fault: Injected) -> None:
    fault.check()


@faults(EARLY_DATA_FAULTS)
def test_server_bounds_early_data(fault: Injected) -> None:
    fault.check()


def test_change_cipher_spec_before_client_hello_is_dropped() -> None:
    # A server continuing a stream after a stateless HelloRetryRequest meets the client's
    # compatibility-mode CCS before any ClientHello of its own: it is dropped, not refused.
    s = ServerConnection(server_config())
    assert s.receive_data(CCS_RECORD) == []
    assert s.data_to_send() == b""
    c = ClientConnection(client_config(), "localhost")
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    s.receive_data(c.data_to_send())
    assert s.handshake_complete


def test_key_updates_with_data_between_are_not_a_flood() -> None:
    scene = established()
    c = scene.client
    assert c is not None
    for _ in range(3):
        for _ in range(MAX_KEY_UPDATES_WITHOUT_DATA - 1):
            c.update_keys()
        c.send_data(b"x")
    assert data_received(scene.server.receive_data(c.data_to_send())) == b"xxx"


# --- alerts from the peer, closing, EOF ----------------------------------------------------------------


def server_of(scene: Scene) -> TamperingServer:
    assert isinstance(scene.server, TamperingServer)
    return scene.server


def test_fatal_alert_received() -> None:
    c = ClientConnection(client_config(), "localhost")
    c.data_to_send()
    with pytest.raises(FatalAlert) as info:
        c.receive_data(plaintext_alert(A.HANDSHAKE_FAILURE))
    assert info.value.description == A.HANDSHAKE_FAILURE
    assert of_type(info.value.events, AlertReceived) == [AlertReceived(AlertLevel.FATAL, A.HANDSHAKE_FAILURE)]
    assert c.data_to_send() == b""  # never answer an alert with an alert
    assert c.closed
    with pytest.raises(LocalProtocolError):
        c.receive_data(b"\x16")


def test_warning_level_error_alert_is_fatal() -> None:
    # RFC 8446 §6.2: error alerts are fatal whatever their level says.
    scene = established()
    with pytest.raises(FatalAlert) as info:
        client_of(scene).receive_data(
            server_of(scene).sealer(-1).seal(ALERT, bytes((AlertLevel.WARNING, A.BAD_CERTIFICATE)))
        )
    assert info.value.description == A.BAD_CERTIFICATE


def test_unknown_alert_is_fatal() -> None:
    scene = established()
    with pytest.raises(FatalAlert) as info:
        client_of(scene).receive_data(server_of(scene).sealer(-1).seal(ALERT, b"\x01\xee"))
    assert info.value.description == 0xEE


def test_user_canceled_is_reported_not_fatal() -> None:
    scene = established()
    c, sealer = client_of(scene), server_of(scene).sealer(-1)
    events = c.receive_data(sealer.seal(ALERT, bytes((AlertLevel.WARNING, A.USER_CANCELED))))
    assert events == [AlertReceived(AlertLevel.WARNING, A.USER_CANCELED)]
    assert data_received(c.receive_data(sealer.seal(APPLICATION_DATA, b"still here"))) == b"still here"


def test_close_notify_closes_cleanly() -> None:
    scene = established()
    c, s = client_of(scene), server_of(scene)
    s.close()
    assert c.receive_data(s.data_to_send()) == [ConnectionClosed(clean=True)]
    assert not c.closed  # half-closed: the client may still send
    c.close()
    assert c.closed
    assert s.receive_data(c.data_to_send()) == [ConnectionClosed(clean=True)]
    assert s.closed


def test_data_after_close_notify_is_ignored() -> None:
    scene = established()
    c, s = client_of(scene), server_of(scene)
    s.close()
    after = s.sealer(-1, seq=1)
    events = c.receive_data(s.data_to_send() + after.seal(APPLICATION_DATA, b"ignored"))
    assert events == [ConnectionClosed(clean=True)]
    assert c.receive_data(after.seal(APPLICATION_DATA, b"ignored too") + b"\xff garbage") == []
    assert c.receive_data(b"") == []


def test_eof_without_close_notify_is_unclean() -> None:
    assert client_of(established()).receive_data(b"") == [ConnectionClosed(clean=False)]


def test_eof_during_the_handshake_is_unclean() -> None:
    c = ClientConnection(client_config(), "localhost")
    s = ServerConnection(server_config())
    s.receive_data(c.data_to_send())
    flight = s.data_to_send()
    assert c.receive_data(flight[:100]) == []
    assert c.receive_data(b"") == [ConnectionClosed(clean=False)]
    assert not c.handshake_complete
