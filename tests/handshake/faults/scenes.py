"""States to put two connections in before a fault (``Injected.given``), and small message surgery.

Each scene is real connections driven by real bytes; ``Tampering`` peers record their write keys so a
test can seal records of its own (``sealer``, ``seal_inner``) or re-frame what they sent (``frame``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from tests.handshake.helpers import (
    ConnectionPair,
    Tamper,
    TamperingClient,
    TamperingServer,
    client_chain,
    client_config,
    client_leaf,
    dropping,
    of_type,
    pki,
    server_config,
    verifier,
)
from tlslens.certgen import make_leaf
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.events import SessionTicketReceived
from tlslens.session.cache import Session
from tlslens.wire.enums import NamedGroup
from tlslens.wire.messages import Finished, encode_handshake

G = NamedGroup

# A client that sends an x25519 share only, and a server that takes secp384r1 only: a HelloRetryRequest.
HRR_CLIENT = {"groups": (G.X25519, G.SECP384R1), "key_share_groups": (G.X25519,)}
HRR_SERVER = {"groups": (G.SECP384R1,)}


@dataclass
class Scene:
    """A client and a server (either may be a Tampering one); ``client`` is None when only a server
    takes part."""

    client: ClientConnection | None
    server: ServerConnection


def fresh() -> Scene:
    """A client whose ClientHello is queued (``client.sent[0][0]``), and a server that received nothing."""
    return Scene(TamperingClient(client_config(), "localhost"), ServerConnection(server_config()))


def lone_server() -> Scene:
    return Scene(None, ServerConnection(server_config()))


def established(client_tamper: Tamper | None = None, server_tamper: Tamper | None = None) -> Scene:
    """A completed handshake between peers that record their keys (and may tamper with what they send
    after it: a KeyUpdate replaced by another message, for instance)."""
    c = TamperingClient(client_config(), "localhost", tamper=client_tamper)
    s = TamperingServer(server_config(), tamper=server_tamper)
    ConnectionPair(client=c, server=s).handshake()
    return Scene(c, s)


def established_plain() -> Scene:
    """A completed handshake between plain connections (each alert is opened by the peer)."""
    pair = ConnectionPair(client_config(), server_config()).handshake()
    return Scene(pair.client, pair.server)


def awaiting_client_finished() -> Scene:
    """A server waiting for the client's Finished, and a client that processed the server's flight but
    never sent its Finished (so a test can seal records under the client handshake key from sequence
    number 0, and the client can open the server's alerts)."""
    c = TamperingClient(client_config(), "localhost", tamper=dropping(Finished))
    s = ServerConnection(server_config())
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    c.data_to_send()  # only the change_cipher_spec: dropped
    return Scene(c, s)


def server_flight() -> Scene:
    """A client waiting for the server's flight, and a server that sent it (``server.sent``: ServerHello,
    EncryptedExtensions, Certificate, CertificateVerify, Finished) but whose bytes were not delivered."""
    c = ClientConnection(client_config(), "localhost")
    s = TamperingServer(server_config())
    s.receive_data(c.data_to_send())
    s.data_to_send()
    return Scene(c, s)


def session(server: ServerConfig, client: ClientConfig) -> Session:
    """A ticket from a first, full handshake."""
    pair = ConnectionPair(client, server).handshake()
    tickets = of_type(pair.client_events, SessionTicketReceived)
    assert tickets, "the server sent no ticket"
    return tickets[0].session  # type: ignore[no-any-return]


def resuming(
    server_tamper: Tamper | None = None,
    *,
    server: dict | None = None,
    issuing: dict | None = None,
    early_data: bytes | None = None,
) -> Scene:
    """A client resuming (its ClientHello queued, with ``early_data``) a session issued by
    ``server_config(**(issuing or server))``, against that config changed by ``server`` (same ticket
    keys unless ``server`` names others)."""
    issuing_config = server_config(**(issuing or server or {}))
    server_cfg = issuing_config
    if issuing and server:
        server_cfg = dataclasses.replace(
            issuing_config, **{"ticket_keys": issuing_config.effective_ticket_keys, **server}
        )
    ccfg = client_config()
    c = TamperingClient(ccfg, "localhost", session=session(issuing_config, ccfg), early_data=early_data)
    return Scene(c, TamperingServer(server_cfg, tamper=server_tamper))


def server_answer(scene: Scene) -> bytes:
    """The server's answer to the client's first flight (for the client to receive)."""
    assert scene.client is not None
    scene.server.receive_data(scene.client.data_to_send())
    return scene.server.data_to_send()


# --- message surgery ------------------------------------------------------------------------------------


def set_ext(message: object, cls: type, new: object | None) -> object:
    """Replace the extension of class ``cls`` by ``new`` (None: remove it)."""
    exts = tuple(
        new if isinstance(e, cls) else e
        for e in message.extensions or ()  # type: ignore[attr-defined]
    )
    return dataclasses.replace(message, extensions=tuple(e for e in exts if e is not None))  # type: ignore[type-var]


def add_ext(message: object, *new: object) -> object:
    return dataclasses.replace(message, extensions=(*(message.extensions or ()), *new))  # type: ignore[attr-defined,type-var]


def flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes((data[-1] ^ 0x01,))


def truncated(message: object) -> bytes:
    """The message without its last 3 bytes, its length field adjusted (so it decodes as too short)."""
    raw = encode_handshake(message)  # type: ignore[arg-type]
    body = raw[4:-3]
    return raw[:1] + len(body).to_bytes(3, "big") + body


def with_trailing_byte(message: object) -> bytes:
    """The message with one byte more than it needs, its length field adjusted."""
    raw = encode_handshake(message)  # type: ignore[arg-type]
    body = raw[4:] + b"\x00"
    return raw[:1] + len(body).to_bytes(3, "big") + body


def hook(fn: Callable[..., object]) -> dict:
    """Client config arguments that pass the ClientHello through ``fn``."""
    return {"client_hello_hook": fn}


# --- client certificates ----------------------------------------------------------------------------------


def with_client_certificate() -> dict:
    """Client config arguments: a client certificate the server's ``verifier()`` trusts."""
    return {"certificate_chain": client_chain(), "private_key": client_leaf().private_key}


def with_unknown_client_certificate() -> dict:
    """Client config arguments: a client certificate from a CA the server does not know."""
    other = pki("ecdsa-p256", ("other.example",))
    stranger = make_leaf(other.intermediate, ("client.example",), client=True)
    return {
        "certificate_chain": [stranger.certificate, other.intermediate.certificate],
        "private_key": stranger.private_key,
    }


def requiring_client_certificate(**more: object) -> dict:
    """Server config arguments: ask for a client certificate and verify it (and ``more``)."""
    return {"client_verifier": verifier(), **more}
