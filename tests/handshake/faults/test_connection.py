"""The connection's own rules (connection.py, with the reassembler it drives): a handshake message may
not share its record with a key change (RFC 8446 §5.1), and what a connection still does after a
failure or a close."""

from __future__ import annotations

import pytest

from tests.handshake.faults.fault import Injected, faults
from tests.handshake.faults.scenes import Scene, established, fresh, server_flight
from tests.handshake.helpers import (
    HANDSHAKE,
    TamperingClient,
    TamperingServer,
    client_config,
    encode,
    frame,
    plaintext_alert,
    records,
    server_config,
)
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import LocalProtocolError, UnexpectedMessage
from tlslens.record.deframer import encode_plaintext
from tlslens.wire.enums import AlertDescription, KeyUpdateRequest
from tlslens.wire.messages import Finished, KeyUpdate, NewSessionTicket

A = AlertDescription
KEY_CHANGE = "record/reassembly.py:HandshakeReassembler.check_aligned"  # (from RecordLayer.set_read_key)


def server_of(scene: Scene) -> TamperingServer:
    assert isinstance(scene.server, TamperingServer)
    return scene.server


def hello_and_partial_encrypted_extensions(scene: Scene) -> bytes:
    s = server_of(scene)
    server_hello, encrypted_extensions = s.sent[0][0], s.sent[1][0]
    return encode_plaintext(HANDSHAKE, server_hello + encrypted_extensions[:3])


def encrypted_extensions_in_the_server_hello_record(scene: Scene) -> bytes:
    return frame(server_of(scene), [[0, 1], [2], [3], [4]]).joined()  # EncryptedExtensions in plaintext


def ticket_after_finished_in_its_record(scene: Scene) -> bytes:
    s = server_of(scene)
    s.sent.append((encode(NewSessionTicket(60, 0, b"", b"t")), 0))  # under the handshake key, after Finished
    return frame(s, [[0], [1], [2], [3], [4, 5]]).joined()


def finished_after_client_hello_in_its_record(scene: Scene) -> bytes:
    assert isinstance(scene.client, TamperingClient)
    return encode_plaintext(HANDSHAKE, scene.client.sent[0][0] + encode(Finished(bytes(32))))


def two_key_updates_in_one_record(scene: Scene) -> bytes:
    update = encode(KeyUpdate(KeyUpdateRequest.UPDATE_NOT_REQUESTED))
    return server_of(scene).sealer(-1).seal(HANDSHAKE, update + update)


KEY_CHANGE_FAULTS = [  # RFC 8446 §5.1: handshake messages may not span a key change
    Injected(  # before any write key: the alert is in plaintext
        id="partial_message_before_a_key_change",
        fails="client",
        raises=UnexpectedMessage,
        site="record/reassembly.py:HandshakeReassembler.check_aligned",
        match="precede a key change",
        given=server_flight,
        inject=hello_and_partial_encrypted_extensions,
    ),
    Injected(
        id="client_refuses_encrypted_extensions_in_the_server_hello_record",
        fails="client",
        raises=UnexpectedMessage,
        site=KEY_CHANGE,
        given=server_flight,
        inject=encrypted_extensions_in_the_server_hello_record,
        answers_first=True,  # the client answered the ServerHello with its compatibility CCS
    ),
    Injected(
        id="client_refuses_a_message_after_finished_in_the_same_record",
        fails="client",
        raises=UnexpectedMessage,
        site=KEY_CHANGE,
        given=server_flight,
        inject=ticket_after_finished_in_its_record,
        answers_first=True,  # the rule is checked once Finished was handled: the client's Finished left
    ),
    Injected(
        id="server_refuses_a_message_after_client_hello_in_the_same_record",
        fails="server",
        raises=UnexpectedMessage,
        site=KEY_CHANGE,
        given=fresh,
        inject=finished_after_client_hello_in_its_record,
        answers_first=True,  # checked once the ClientHello was handled: the server's flight left
    ),
    Injected(
        id="two_key_updates_in_one_record",
        fails="client",
        raises=UnexpectedMessage,
        site=KEY_CHANGE,
        given=established,
        inject=two_key_updates_in_one_record,
    ),
]


@faults(KEY_CHANGE_FAULTS)
def test_handshake_message_spans_a_key_change(fault: Injected) -> None:
    fault.check()


# --- local misuse -----------------------------------------------------------------------------------------


def test_send_data_before_the_handshake() -> None:
    c = ClientConnection(client_config(), "localhost")
    with pytest.raises(LocalProtocolError):
        c.send_data(b"early")
    with pytest.raises(LocalProtocolError):
        c.update_keys()


def test_send_data_after_close() -> None:
    c = established().client
    assert c is not None
    c.close()
    with pytest.raises(LocalProtocolError):
        c.send_data(b"late")
    with pytest.raises(LocalProtocolError):
        c.update_keys()
    c.close()  # idempotent: no second close_notify
    assert len(records(c.data_to_send())) == 1


def test_receive_data_after_failure() -> None:
    s = ServerConnection(server_config())
    with pytest.raises(UnexpectedMessage):
        s.receive_data(b"\x17\x03\x03\x00\x01x")
    with pytest.raises(LocalProtocolError):
        s.receive_data(b"\x16\x03\x01")
    s.close()  # nothing more after the fatal alert
    assert s.data_to_send() == plaintext_alert(A.UNEXPECTED_MESSAGE)
    with pytest.raises(LocalProtocolError):
        s.send_data(b"x")
