"""The server's states after its flight (handshake/server13.py) against a client that breaks RFC 8446:
the client's Finished, and the order of the client's messages.

What the server chooses from a ClientHello is in test_server_negotiation.py; the second ClientHello in
test_server_hello_retry.py; client certificates in test_client_auth.py and test_peer_certificate.py.
"""

from __future__ import annotations

from tests.handshake.faults.fault import Fault, faults
from tests.handshake.faults.scenes import (
    flip_last,
    requiring_client_certificate,
    with_client_certificate,
)
from tests.handshake.helpers import dropping, replacing
from tlslens.errors import DecodeError, DecryptError, UnexpectedMessage
from tlslens.wire.enums import KeyUpdateRequest
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import Certificate, CertificateVerify, Finished, KeyUpdate

REFUSE_AT_HEADER = "record/reassembly.py:MessageLimits.refuse"  # each state names what it accepts

CLIENT_FINISHED_FAULTS = [  # RFC 8446 §4.4.4
    Fault(
        id="client_finished-bad_verify_data",
        fails="server",
        raises=DecryptError,
        site="handshake/verify.py:verify_finished",
        tamper=replacing(Finished, lambda m: Finished(flip_last(m.verify_data))),
    ),
    Fault(
        id="client_finished-empty",
        fails="server",
        raises=DecodeError,  # the wrong length is a malformed message (RFC 8446 §4.4.4, §6)
        site="handshake/verify.py:verify_finished",
        tamper=replacing(Finished, lambda m: Finished(b"")),
    ),
]

ORDER_FAULTS = [  # unexpected_message in every server state
    Fault(
        id="order-finished_instead_of_client_hello",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(ClientHello, lambda m: Finished(bytes(32))),
    ),
    Fault(
        id="order-no_client_certificate",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(Certificate),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="order-no_client_certificate_verify",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(CertificateVerify),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="order-client_certificate_not_requested",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(Finished, lambda m: [Certificate(b"", ()), m]),
    ),
    Fault(
        id="order-key_update_before_client_finished",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(Finished, lambda m: [KeyUpdate(KeyUpdateRequest.UPDATE_NOT_REQUESTED), m]),
    ),
    Fault(  # both in one record: the second one follows a key change (RFC 8446 §5.1)
        id="order-client_finished_twice",
        fails="server",
        raises=UnexpectedMessage,
        site="record/reassembly.py:HandshakeReassembler.check_aligned",
        tamper=replacing(Finished, lambda m: [m, m]),
    ),
]


@faults(CLIENT_FINISHED_FAULTS)
def test_server_refuses_client_finished(fault: Fault) -> None:
    fault.check()


@faults(ORDER_FAULTS)
def test_server_refuses_messages_out_of_order(fault: Fault) -> None:
    fault.check()
