"""TLS 1.2 scenes (``Injected.given``) and config arguments for the TLS 1.2 fault tables.

Every scene is real connections driven by real bytes, as in ``scenes.py``: a completed TLS 1.2
handshake, a client about to resume a TLS 1.2 session. Tampering peers record their TLS 1.2 write
protection, so ``helpers.open_own`` reads back the alert a failing one sends; a peer says what its state
machine would not through ``helpers.send_handshake``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tests.handshake.faults.scenes import Scene
from tests.handshake.helpers import (
    ConnectionPair,
    Tamper,
    TamperingClient,
    TamperingServer,
    client_config,
    of_type,
    send_handshake,
    server_config,
)
from tlslens.config import ClientConfig, ServerConfig
from tlslens.events import SessionTicketReceived
from tlslens.session.cache import Session
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import HandshakeMessage

ONLY_12 = ("TLSv1.2",)
TLS12_CLIENT = {"versions": ONLY_12}
"""Client config arguments: TLS 1.2 only (a ServerHello answers it in TLS 1.2 whatever the server)."""
TLS12_SERVER = {"versions": ONLY_12}


def client12(**more: object) -> dict:
    return {**TLS12_CLIENT, **more}


def hello12(fn: Callable[[ClientHello], ClientHello]) -> dict:
    """Client config arguments: TLS 1.2 only, each ClientHello passed through ``fn``."""
    return client12(client_hello_hook=fn)


def established12(
    client_tamper: Tamper | None = None,
    server_tamper: Tamper | None = None,
    *,
    client: dict | None = None,
    server: dict | None = None,
) -> Scene:
    """A completed TLS 1.2 handshake between peers that record their keys."""
    c = TamperingClient(client_config(**client12(**(client or {}))), "localhost", tamper=client_tamper)
    s = TamperingServer(server_config(**(server or {})), tamper=server_tamper)
    ConnectionPair(client=c, server=s).handshake()
    return Scene(c, s)


def session12(server: ServerConfig, client: ClientConfig) -> Session:
    """A TLS 1.2 session (by ticket) from a first, full handshake."""
    pair = ConnectionPair(client, server).handshake()
    (ticket,) = of_type(pair.client_events, SessionTicketReceived)
    session: Session = ticket.session
    assert session.version == 0x0303 and session.ticket
    return session


def resuming12(
    server_tamper: Tamper | None = None,
    client_tamper: Tamper | None = None,
    *,
    server: dict | None = None,
) -> Scene:
    """A TLS 1.2 client resuming (its ClientHello queued) a session issued by ``server_config(**server)``,
    against that same config behind a tampering server."""
    server_cfg = server_config(**(server or {}))
    client_cfg = client_config(**TLS12_CLIENT)
    c = TamperingClient(
        client_cfg, "localhost", session=session12(server_cfg, client_cfg), tamper=client_tamper
    )
    return Scene(c, TamperingServer(server_cfg, tamper=server_tamper))


def resumed_client_flight(scene: Scene) -> bytes:
    """The server's abbreviated flight to the client, then the client's answer (CCS, Finished): what a
    resuming server receives last."""
    assert scene.client is not None
    scene.server.receive_data(scene.client.data_to_send())
    scene.client.receive_data(scene.server.data_to_send())
    return scene.client.data_to_send()


def server_sends(*messages: HandshakeMessage) -> Callable[[Scene], bytes]:
    """After the handshake: ``messages`` from the server, sealed as its next records."""
    return lambda scene: send_handshake(scene.server, *messages)


def client_sends(*messages: HandshakeMessage) -> Callable[[Scene], bytes]:
    def inject(scene: Scene) -> bytes:
        assert scene.client is not None
        return send_handshake(scene.client, *messages)

    return inject


def without_extension(message: object, cls: type) -> object:
    exts = tuple(e for e in message.extensions or () if not isinstance(e, cls))  # type: ignore[attr-defined]
    return dataclasses.replace(message, extensions=exts)  # type: ignore[type-var]
