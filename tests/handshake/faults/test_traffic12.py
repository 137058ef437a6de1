"""After a TLS 1.2 handshake (handshake/traffic12.py, the inbound path in TLS 1.2 mode): handshake
messages no state takes any more, TLS 1.3 messages, renegotiation floods, and records that TLS 1.2
protects once the peer's ChangeCipherSpec has arrived.

Renegotiation itself (a HelloRequest, a second ClientHello) is refused with a warning and the
connection goes on: test_tls12_pairs.py.
"""

from __future__ import annotations

from tests.handshake.faults.fault import Injected, faults
from tests.handshake.faults.scenes import Scene
from tests.handshake.faults.scenes12 import client_sends, established12, server_sends
from tests.handshake.helpers import CCS_RECORD, send_handshake
from tlslens.errors import BadRecordMac, UnexpectedMessage
from tlslens.record.deframer import encode_plaintext
from tlslens.record.inbound import MAX_KEY_UPDATES_WITHOUT_DATA
from tlslens.record.protection import MAX_CONSECUTIVE_EMPTY_RECORDS
from tlslens.wire.enums import KeyUpdateRequest, NamedGroup
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import (
    CertificateVerify,
    EncryptedExtensions,
    Finished,
    KeyUpdate,
    decode_handshake,
)
from tlslens.wire.messages12 import (
    Certificate12,
    ClientKeyExchangeECDHE,
    HelloRequest,
    NewSessionTicket12,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)

CLIENT_TRAFFIC12 = "handshake/traffic12.py:ClientTraffic12.handle"
SERVER_TRAFFIC12 = "handshake/traffic12.py:ServerTraffic12.handle"
NOT_TLS12 = "wire/messages12.py:_decode_body12"
OPENER12 = "record/protection12.py:Tls12RecordOpener.open"
FLOOD = "record/inbound.py:Inbound.count_key_update"
REFUSE_AT_HEADER = "record/reassembly.py:MessageLimits.refuse"  # each state names what it accepts


CLIENT_AFTER_THE_HANDSHAKE = [
    Injected(
        id=f"client12-{type(message).__name__}_after_the_handshake",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        match="after the handshake",
        given=established12,
        inject=server_sends(message),
    )
    for message in (
        ServerHelloDone(),
        Finished(bytes(12)),
        NewSessionTicket12(60, b"ticket"),
        Certificate12(()),
        ServerKeyExchange(ServerECDHParams(NamedGroup.X25519, bytes(32)), None),
    )
]

SERVER_AFTER_THE_HANDSHAKE = [
    Injected(
        id=f"server12-{type(message).__name__}_after_the_handshake",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        match="after the handshake",
        given=established12,
        inject=client_sends(message),
    )
    for message in (
        ClientKeyExchangeECDHE(bytes(32)),
        Finished(bytes(12)),
        Certificate12(()),
        CertificateVerify(0x0403, bytes(64)),  # type: ignore[arg-type]
    )
]

TLS13_MESSAGES = [  # a TLS 1.2 connection reads TLS 1.2 forms only
    Injected(
        id="client12-key_update",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        given=established12,
        inject=server_sends(KeyUpdate(KeyUpdateRequest.UPDATE_NOT_REQUESTED)),
    ),
    Injected(
        id="server12-key_update",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        given=established12,
        inject=client_sends(KeyUpdate(KeyUpdateRequest.UPDATE_REQUESTED)),
    ),
    Injected(
        id="client12-encrypted_extensions",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        given=established12,
        inject=server_sends(EncryptedExtensions(())),
    ),
]


def _hello_requests(scene: Scene) -> bytes:
    return send_handshake(scene.server, *[HelloRequest()] * (MAX_KEY_UPDATES_WITHOUT_DATA + 1))


def _renegotiations(scene: Scene) -> bytes:
    assert scene.client is not None
    hello = decode_handshake(scene.client.sent[0][0])  # type: ignore[attr-defined]
    assert isinstance(hello, ClientHello)
    return send_handshake(scene.client, *[hello] * (MAX_KEY_UPDATES_WITHOUT_DATA + 1))


FLOODS = [  # each refusal is a warning and the connection goes on, but not forever
    Injected(
        id="client12-hello_request_flood",
        fails="client",
        raises=UnexpectedMessage,
        site=FLOOD,
        given=established12,
        inject=_hello_requests,
        answers_first=True,  # a no_renegotiation warning for each HelloRequest before the limit
    ),
    Injected(
        id="server12-renegotiation_flood",
        fails="server",
        raises=UnexpectedMessage,
        site=FLOOD,
        given=established12,
        inject=_renegotiations,
        answers_first=True,
    ),
]


def _empty_records(scene: Scene) -> bytes:
    """Empty application_data records (RFC 5246 §6.2.1 allows them), one more than the flood limit."""
    out = scene.server._out  # type: ignore[attr-defined]
    for _ in range(MAX_CONSECUTIVE_EMPTY_RECORDS + 1):
        out.seal_application_data(b"")
    return scene.server.data_to_send()


RECORDS = [  # RFC 5246 §6.2, §7.1: after the peer's ChangeCipherSpec every record is protected
    Injected(
        id="client12-change_cipher_spec_after_the_handshake",
        fails="client",
        raises=UnexpectedMessage,
        site=OPENER12,
        match="content type 20",
        given=established12,
        inject=lambda scene: CCS_RECORD,
    ),
    Injected(
        id="server12-change_cipher_spec_after_the_handshake",
        fails="server",
        raises=UnexpectedMessage,
        site=OPENER12,
        match="content type 20",
        given=established12,
        inject=lambda scene: CCS_RECORD,
    ),
    Injected(
        id="client12-empty_record_flood",
        fails="client",
        raises=UnexpectedMessage,
        site="record/inbound.py:Inbound.feed",
        match="empty records in a row",
        given=established12,
        inject=_empty_records,
    ),
    Injected(
        id="client12-plaintext_application_data",
        fails="client",
        raises=BadRecordMac,
        site=OPENER12,
        given=established12,
        inject=lambda scene: encode_plaintext(23, b"x" * 40),
    ),
    Injected(
        id="server12-plaintext_handshake_message",
        fails="server",
        raises=BadRecordMac,
        site=OPENER12,
        given=established12,
        inject=lambda scene: encode_plaintext(22, b"\x14\x00\x00\x0c" + bytes(12) + bytes(24)),
    ),
]


@faults(CLIENT_AFTER_THE_HANDSHAKE + SERVER_AFTER_THE_HANDSHAKE + TLS13_MESSAGES + FLOODS + RECORDS)
def test_tls12_after_the_handshake(fault: Injected) -> None:
    fault.check()
