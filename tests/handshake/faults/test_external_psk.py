"""External PSKs (handshake/external_psk.py, client_psk.py, verify.py): what a server refuses in a
ClientHello's PSKs, what a PSK-only server refuses, and what a client refuses in the server's choice.
The handshakes that work are in test_external_psk.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tests.handshake.faults.fault import Fault, Injected, faults
from tests.handshake.faults.scenes import Scene, set_ext
from tests.handshake.helpers import Tamper, TamperingClient, TamperingServer, client_config, replacing
from tlslens.config import ServerConfig
from tlslens.credentials import ExternalPsk, psk_table
from tlslens.errors import DecryptError, HandshakeFailure, IllegalParameter, UnknownPskIdentity
from tlslens.handshake.external_psk import MAX_PSK_IDENTITIES
from tlslens.wire.enums import CipherSuite
from tlslens.wire.extensions import PreSharedKeyClientHello, PskIdentity, PskKeyExchangeModes
from tlslens.wire.hello import ClientHello, ServerHello

PSK = ExternalPsk(b"client1", bytes(range(32)))
CHOOSE = "handshake/external_psk.py:choose_server_psk"
USE = "handshake/external_psk.py:_use_external"


def psk_only(**kwargs: object) -> ServerConfig:
    return ServerConfig(psk_lookup=psk_table([PSK]), **kwargs)  # type: ignore[arg-type]


def to_psk_only_server(
    client_psks: tuple[ExternalPsk, ...] = (PSK,), client_tamper: Tamper | None = None, **client: object
) -> Callable[[], Scene]:
    """A client (offering ``client_psks``) whose ClientHello is queued, and a PSK-only server knowing PSK."""

    def scene() -> Scene:
        config = client_config(external_psks=client_psks, **client)
        return Scene(TamperingClient(config, "localhost", tamper=client_tamper), TamperingServer(psk_only()))

    return scene


def first_flight(scene: Scene) -> bytes:
    assert scene.client is not None
    return scene.client.data_to_send()


def ch(fn: Callable[[ClientHello], object]) -> Tamper:
    return replacing(ClientHello, fn)


def psk_offer(hello: ClientHello) -> PreSharedKeyClientHello:
    offer = hello.extension(PreSharedKeyClientHello)
    assert offer is not None
    return offer


def with_identities(n: int) -> Tamper:
    """The ClientHello's pre_shared_key with ``n`` identities (the real one first) and as many binders."""

    def change(hello: ClientHello) -> object:
        offer = psk_offer(hello)
        extra = n - 1
        ids = offer.identities + tuple(PskIdentity(f"x{i}".encode(), 0) for i in range(extra))
        binders = offer.binders + (bytes(32),) * extra
        return set_ext(hello, PreSharedKeyClientHello, PreSharedKeyClientHello(ids, binders))

    return ch(change)


def one_binder_short(hello: ClientHello) -> object:
    offer = psk_offer(hello)
    ids = (*offer.identities, PskIdentity(b"another", 0))
    return set_ext(hello, PreSharedKeyClientHello, PreSharedKeyClientHello(ids, offer.binders))


SERVER_FAULTS = [
    Injected(
        id="too_many_identities",
        fails="server",
        raises=IllegalParameter,
        site=CHOOSE,
        match=f"limit {MAX_PSK_IDENTITIES}",
        given=to_psk_only_server(client_tamper=with_identities(MAX_PSK_IDENTITIES + 1)),
        inject=first_flight,
    ),
    Injected(
        id="psk_only_server-no_psk_offered",
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE,
        match="offered none",
        given=to_psk_only_server(client_psks=()),
        inject=first_flight,
    ),
    Injected(
        id="psk_only_server-unknown_identity",
        fails="server",
        raises=UnknownPskIdentity,
        site=CHOOSE,
        match='"stranger"',
        given=to_psk_only_server(client_psks=(ExternalPsk(b"stranger", bytes(32)),)),
        inject=first_flight,
    ),
    Injected(
        id="psk_only_server-psk_ke_refused",
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE,
        match="psk_ke only",
        given=to_psk_only_server(psk_key_exchange_modes=["psk_ke"]),
        inject=first_flight,
    ),
    Injected(
        id="identities_and_binders_differ",
        fails="server",
        raises=IllegalParameter,
        site=USE,
        match="number of identities and binders",
        given=to_psk_only_server(client_tamper=ch(one_binder_short)),
        inject=first_flight,
    ),
    Injected(
        id="no_psk_key_exchange_modes",
        fails="server",
        raises=IllegalParameter,
        site=USE,
        match="psk_key_exchange_modes",
        given=to_psk_only_server(client_tamper=ch(lambda m: set_ext(m, PskKeyExchangeModes, None))),
        inject=first_flight,
    ),
    Injected(  # RFC 8446 §4.2.11.2: the proof of the key
        id="wrong_key_for_the_identity",
        fails="server",
        raises=DecryptError,
        site="handshake/verify.py:verify_external_binder",
        match="binder",
        given=to_psk_only_server(client_psks=(dataclasses.replace(PSK, key=bytes(32)),)),
        inject=first_flight,
    ),
    Fault(  # a server with a certificate too: the binder is still checked before anything else
        id="wrong_key-server_with_a_certificate",
        fails="server",
        raises=DecryptError,
        site="handshake/verify.py:verify_external_binder",
        client={"external_psks": (dataclasses.replace(PSK, key=bytes(32)),)},
        server={"psk_lookup": psk_table([PSK])},
    ),
]

CLIENT_FAULTS = [
    Fault(
        id="server_chose_a_suite_of_another_hash",
        fails="client",
        raises=IllegalParameter,
        site="handshake/client_psk.py:selected_psk",
        match="whose hash is sha256",
        tamper=replacing(
            ServerHello, lambda m: dataclasses.replace(m, cipher_suite=CipherSuite.TLS_AES_256_GCM_SHA384)
        ),
        client={"external_psks": (PSK,)},
        server={"psk_lookup": psk_table([PSK])},
    ),
]


@faults(SERVER_FAULTS)
def test_server_refuses_external_psk_offer(fault: Fault | Injected) -> None:
    fault.check()


@faults(CLIENT_FAULTS)
def test_client_refuses_the_server_s_psk_choice(fault: Fault | Injected) -> None:
    fault.check()
