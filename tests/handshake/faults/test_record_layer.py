"""Records the layers under the inbound path refuse, as a connection meets them: framing
(record/deframer.py), protection (record/protection.py), reassembly (record/reassembly.py) and the
handshake message decoder (wire/messages.py)."""

from __future__ import annotations

from tests.handshake.faults.fault import Injected, faults
from tests.handshake.faults.scenes import Scene, established, lone_server
from tests.handshake.helpers import HANDSHAKE, TamperingClient
from tlslens.errors import BadRecordMac, RecordOverflow, UnexpectedMessage
from tlslens.record.deframer import encode_plaintext

OPEN = "record/protection.py:RecordOpener.open"
HEADER = "record/deframer.py:Deframer._check_header"


def client_of(scene: Scene) -> TamperingClient:
    assert isinstance(scene.client, TamperingClient)
    return scene.client


def data_with_bad_mac(scene: Scene) -> bytes:
    c = client_of(scene)
    c.send_data(b"secret")
    data = bytearray(c.data_to_send())
    data[-1] ^= 0x80
    return bytes(data)


RECORD_FAULTS = [
    Injected(
        id="unknown_record_content_type",
        fails="server",
        raises=UnexpectedMessage,
        site=HEADER,
        match="unknown content type",
        given=lone_server,
        inject=lambda scene: b"\x18\x03\x03\x00\x01\x00",
    ),
    Injected(
        id="oversized_record",
        fails="server",
        raises=RecordOverflow,
        site=HEADER,
        given=lone_server,
        inject=lambda scene: b"\x16\x03\x01\x40\x01",
    ),
    Injected(  # the server's alert is sealed under its own key, which the client can still open
        id="record_with_bad_mac",
        fails="server",
        raises=BadRecordMac,
        site=OPEN,
        given=established,
        inject=data_with_bad_mac,
    ),
    Injected(
        id="protected_change_cipher_spec",
        fails="server",
        raises=UnexpectedMessage,
        site=OPEN,
        match="inner content type 20",
        given=established,
        inject=lambda scene: client_of(scene).seal_inner(b"\x01\x14"),
    ),
    Injected(
        id="all_zero_inner_plaintext",
        fails="server",
        raises=UnexpectedMessage,
        site=OPEN,
        match="all-zero",
        given=established,
        inject=lambda scene: client_of(scene).seal_inner(bytes(8)),
    ),
    Injected(
        id="zero_length_plaintext_handshake_record",
        fails="server",
        raises=UnexpectedMessage,
        site="record/reassembly.py:HandshakeReassembler.add",
        match="zero-length",
        given=lone_server,
        inject=lambda scene: b"\x16\x03\x01\x00\x00",
    ),
    Injected(
        id="unknown_handshake_message_type",
        fails="server",
        raises=UnexpectedMessage,
        site="record/reassembly.py:MessageLimits.refuse",
        match="unknown handshake message type",
        given=lone_server,
        inject=lambda scene: encode_plaintext(HANDSHAKE, b"\x63\x00\x00\x00"),
    ),
]


@faults(RECORD_FAULTS)
def test_connection_refuses_record(fault: Injected) -> None:
    fault.check()
