"""The server's side of resumption (RFC 8446 §4.2.9 to §4.2.11): what it refuses in a client's PSK
offer (handshake/server_psk.py, the binder check of verify.py, server13.py). How it takes or skips
0-RTT records is in test_record_inbound.py."""

from __future__ import annotations

from tests.handshake.faults.fault import Fault, Injected, faults
from tests.handshake.faults.scenes import Scene, add_ext, hook, resuming, set_ext
from tlslens.errors import DecryptError, IllegalParameter
from tlslens.wire.extensions import EarlyData, PreSharedKeyClientHello, PskIdentity, PskKeyExchangeModes
from tlslens.wire.hello import ClientHello

CHOOSE_PSK = "handshake/server_psk.py:choose_psk"


def with_psk_offer(ch: ClientHello) -> object:
    return add_ext(ch, PreSharedKeyClientHello((PskIdentity(b"not a ticket", 0),), (bytes(32),)))


def hello_with_bad_binder(scene: Scene) -> bytes:
    assert scene.client is not None
    hello = bytearray(scene.client.data_to_send())
    hello[-1] ^= 0x01  # the binder closes the ClientHello (RFC 8446 §4.2.11.2)
    return bytes(hello)


PSK_OFFER_FAULTS = [
    Injected(
        id="bad_psk_binder",
        fails="server",
        raises=DecryptError,
        site="handshake/verify.py:verify_binder",
        match="binder",
        given=resuming,
        inject=hello_with_bad_binder,
    ),
    Fault(
        id="early_data_without_psk",
        fails="server",
        raises=IllegalParameter,
        site="handshake/server13.py:ExpectClientHello.handle",
        match="early_data offered without",
        client=hook(lambda ch: add_ext(ch, EarlyData())),
    ),
    Fault(
        id="psk_binder_count",
        fails="server",
        raises=IllegalParameter,
        site=CHOOSE_PSK,
        match="identities and binders",
        client=hook(
            lambda ch: add_ext(ch, PreSharedKeyClientHello((PskIdentity(b"t", 0),), (bytes(32), bytes(32))))
        ),
    ),
    Fault(
        id="psk_without_psk_key_exchange_modes",
        fails="server",
        raises=IllegalParameter,
        site=CHOOSE_PSK,
        match="psk_key_exchange_modes",
        client=hook(lambda ch: with_psk_offer(set_ext(ch, PskKeyExchangeModes, None))),
    ),
]


@faults(PSK_OFFER_FAULTS)
def test_server_refuses_psk_offer(fault: Fault | Injected) -> None:
    fault.check()
