"""After the handshake (handshake/traffic.py): only KeyUpdate, and for the client NewSessionTicket, may
arrive; tickets have limits."""

from __future__ import annotations

from collections.abc import Callable

from tests.handshake.faults.fault import Injected, faults
from tests.handshake.faults.scenes import Scene, established
from tests.handshake.helpers import (
    HANDSHAKE,
    TamperingClient,
    TamperingServer,
    encode,
    of_type,
    replacing,
    server_config,
)
from tlslens.errors import DecodeError, IllegalParameter, UnexpectedMessage
from tlslens.events import SessionTicketReceived
from tlslens.handshake.traffic import MAX_TICKETS_PER_CONNECTION
from tlslens.wire.enums import SignatureScheme
from tlslens.wire.extensions import SignatureAlgorithms
from tlslens.wire.messages import (
    Certificate,
    CertificateRequest,
    EncryptedExtensions,
    Finished,
    HandshakeMessage,
    KeyUpdate,
    NewSessionTicket,
)

S = SignatureScheme
# The traffic states accept only their post-handshake messages: anything else is refused at its header.
CLIENT_TRAFFIC = SERVER_TRAFFIC = "record/reassembly.py:MessageLimits.refuse"
NEW_SESSION_TICKET = "handshake/traffic.py:ClientTraffic._new_session_ticket"


def server_sends(message: HandshakeMessage) -> Callable[[], Scene]:
    """Established; the server's next KeyUpdate will be ``message`` instead."""
    return lambda: established(server_tamper=replacing(KeyUpdate, lambda m: message))


def client_sends(message: HandshakeMessage) -> Callable[[], Scene]:
    """Established; the client's next KeyUpdate will be ``message`` instead."""
    return lambda: established(client_tamper=replacing(KeyUpdate, lambda m: message))


def server_key_update(scene: Scene) -> bytes:
    # The server moves to its next write key when it "sends a KeyUpdate"; its read key stays intact,
    # so it can open the client's alert.
    scene.server.update_keys()
    return scene.server.data_to_send()


def client_key_update(scene: Scene) -> bytes:
    assert scene.client is not None
    scene.client.update_keys()
    return scene.client.data_to_send()


def sealed_by_server(raw: bytes) -> Callable[[Scene], bytes]:
    """A handshake record of the server's, under its current write key."""

    def inject(scene: Scene) -> bytes:
        assert isinstance(scene.server, TamperingServer)
        return scene.server.sealer(-1).seal(HANDSHAKE, raw)

    return inject


def client_hello_again(scene: Scene) -> bytes:
    """The client's ClientHello again, sealed under its traffic key: renegotiation."""
    c = scene.client
    assert isinstance(c, TamperingClient)
    return c.sealer(-1).seal(HANDSHAKE, c.sent[0][0])


def ticket_flood(scene: Scene) -> bytes:
    """Tickets up to the limit (each one reported), then the one too many."""
    c, s = scene.client, scene.server
    assert c is not None and isinstance(s, TamperingServer)
    assert of_type(c.pending_events(), SessionTicketReceived) == []
    sealer = s.sealer()
    ticket = encode(NewSessionTicket(60, 0, b"", b"t"))
    for _ in range(MAX_TICKETS_PER_CONNECTION - server_config().tickets):
        assert len(of_type(c.receive_data(sealer.seal(HANDSHAKE, ticket)), SessionTicketReceived)) == 1
    return sealer.seal(HANDSHAKE, ticket)


CLIENT_AFTER_THE_HANDSHAKE = [
    Injected(
        id="encrypted_extensions",
        fails="client",
        raises=UnexpectedMessage,
        site=CLIENT_TRAFFIC,
        match="after the handshake",
        given=server_sends(EncryptedExtensions(())),
        inject=server_key_update,
    ),
    Injected(
        id="finished",
        fails="client",
        raises=UnexpectedMessage,
        site=CLIENT_TRAFFIC,
        match="after the handshake",
        given=server_sends(Finished(bytes(32))),
        inject=server_key_update,
    ),
    Injected(
        id="certificate_request",
        fails="client",
        raises=UnexpectedMessage,
        site=CLIENT_TRAFFIC,
        match="after the handshake",
        given=server_sends(CertificateRequest(b"\x01", (SignatureAlgorithms((S.ED25519,)),))),
        inject=server_key_update,
    ),
]

SERVER_AFTER_THE_HANDSHAKE = [
    Injected(
        id="new_session_ticket",
        fails="server",
        raises=UnexpectedMessage,
        site=SERVER_TRAFFIC,
        match="after the handshake",
        given=client_sends(NewSessionTicket(60, 0, b"", b"t")),
        inject=client_key_update,
    ),
    Injected(
        id="finished",
        fails="server",
        raises=UnexpectedMessage,
        site=SERVER_TRAFFIC,
        match="after the handshake",
        given=client_sends(Finished(bytes(32))),
        inject=client_key_update,
    ),
    Injected(
        id="certificate",
        fails="server",
        raises=UnexpectedMessage,
        site=SERVER_TRAFFIC,
        match="after the handshake",
        given=client_sends(Certificate(b"", ())),
        inject=client_key_update,
    ),
    Injected(
        id="client_hello",
        fails="server",
        raises=UnexpectedMessage,
        site=SERVER_TRAFFIC,
        match="after the handshake",
        given=established,
        inject=client_hello_again,
    ),
]

POST_HANDSHAKE_MESSAGE_FAULTS = [
    Injected(
        id="new_session_ticket-lifetime_over_7_days",
        fails="client",
        raises=IllegalParameter,
        site=NEW_SESSION_TICKET,
        match="7 days",
        given=established,
        inject=sealed_by_server(encode(NewSessionTicket(604801, 0, b"", b"t"))),
    ),
    Injected(
        id="new_session_ticket-empty_ticket",
        fails="client",
        raises=DecodeError,
        site="wire/reader.py:Reader.opaque",
        match="ticket",
        given=established,
        inject=sealed_by_server(
            b"\x04\x00\x00\x0d" + bytes(4) + bytes(4) + b"\x00" + b"\x00\x00" + b"\x00\x00"
        ),
    ),
    Injected(
        id="new_session_ticket-flood",
        fails="client",
        raises=UnexpectedMessage,
        site=NEW_SESSION_TICKET,
        match="NewSessionTickets",
        given=established,
        inject=ticket_flood,
    ),
    Injected(
        id="key_update-unknown_request_value",
        fails="client",
        raises=IllegalParameter,
        site="wire/messages.py:KeyUpdate.decode_body",
        given=established,
        inject=sealed_by_server(b"\x18\x00\x00\x01\x02"),
    ),
]


@faults(CLIENT_AFTER_THE_HANDSHAKE)
def test_client_refuses_handshake_messages_after_the_handshake(fault: Injected) -> None:
    fault.check()


@faults(SERVER_AFTER_THE_HANDSHAKE)
def test_server_refuses_handshake_messages_after_the_handshake(fault: Injected) -> None:
    fault.check()


@faults(POST_HANDSHAKE_MESSAGE_FAULTS)
def test_client_refuses_bad_post_handshake_message(fault: Injected) -> None:
    fault.check()


def test_client_discards_ticket_with_zero_lifetime() -> None:
    scene = established()
    assert scene.client is not None and isinstance(scene.server, TamperingServer)
    record = scene.server.sealer().seal(HANDSHAKE, encode(NewSessionTicket(0, 0, b"", b"t")))
    assert of_type(scene.client.receive_data(record), SessionTicketReceived) == []


def test_client_reports_new_session_ticket() -> None:
    scene = server_sends(NewSessionTicket(7200, 1, b"n", b"ticket"))()
    assert scene.client is not None
    scene.server.update_keys()
    (ticket,) = of_type(scene.client.receive_data(scene.server.data_to_send()), SessionTicketReceived)
    assert ticket.session.ticket == b"ticket"
