"""The client's side of resumption and 0-RTT (RFC 8446 §4.2.10, §4.2.11): what it refuses in a server's
answer to the ticket it offered (handshake/client13.py, client_psk.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tests.handshake.faults.fault import Fault, Injected, faults
from tests.handshake.faults.scenes import add_ext, hook, resuming, server_answer, set_ext
from tests.handshake.helpers import Tamper, replacing
from tlslens.errors import IllegalParameter
from tlslens.session.tickets import TicketKeyRing
from tlslens.wire.enums import CipherSuite
from tlslens.wire.extensions import EarlyData, PreSharedKeyClientHello, PreSharedKeyServerHello, PskIdentity
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import EncryptedExtensions

SERVER_HELLO = "handshake/client13.py:ExpectServerHello.handle"
SELECTED_PSK = "handshake/client_psk.py:selected_psk"


def sh(fn: Callable[[ServerHello], object]) -> Tamper:
    return replacing(ServerHello, fn)


def with_psk_offer(ch: ClientHello) -> object:
    """A pre_shared_key the client does not know it sent (it has no session)."""
    return add_ext(ch, PreSharedKeyClientHello((PskIdentity(b"not a ticket", 0),), (bytes(32),)))


RESUMPTION_FAULTS = [
    Fault(
        id="psk_selection_it_did_not_make",
        fails="client",
        raises=IllegalParameter,
        site=SELECTED_PSK,
        match="PSK that was not offered",
        tamper=sh(lambda m: add_ext(m, PreSharedKeyServerHello(0))),
        client=hook(with_psk_offer),
    ),
    Injected(
        id="psk_identity_it_did_not_offer",
        fails="client",
        raises=IllegalParameter,
        site=SELECTED_PSK,
        match="identity 1",
        given=lambda: resuming(sh(lambda m: set_ext(m, PreSharedKeyServerHello, PreSharedKeyServerHello(1)))),
        inject=server_answer,
    ),
    Injected(
        id="resumption_with_another_hash",
        fails="client",
        raises=IllegalParameter,
        site=SELECTED_PSK,
        match="hash differs",
        given=lambda: resuming(
            sh(lambda m: dataclasses.replace(m, cipher_suite=CipherSuite.TLS_AES_256_GCM_SHA384))
        ),
        inject=server_answer,
    ),
    Injected(  # the server cannot open the ticket (other ticket keys): a full handshake, yet its
        # EncryptedExtensions claims to accept the 0-RTT data
        id="early_data_acceptance_without_resumption",
        fails="client",
        raises=IllegalParameter,
        site="handshake/client13.py:ExpectEncryptedExtensions.handle",
        match="early data",
        given=lambda: resuming(
            replacing(EncryptedExtensions, lambda m: add_ext(m, EarlyData())),
            issuing={"max_early_data_size": 1024},
            server={"ticket_keys": TicketKeyRing(), "max_early_data_size": 1024},
            early_data=b"GET /",
        ),
        inject=server_answer,
    ),
]


@faults(RESUMPTION_FAULTS)
def test_client_refuses_resumption(fault: Fault | Injected) -> None:
    fault.check()
