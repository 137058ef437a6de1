"""The server's side of a HelloRetryRequest (RFC 8446 §4.1.2, §4.2.2): the cookie that carries the
first ClientHello (handshake/cookie.py) and the second ClientHello that must answer the retry
(handshake/server13.py). The client's side of a retry is in test_client13.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, hmac

from tests.handshake.faults.fault import Fault, Injected, faults
from tests.handshake.faults.scenes import HRR_CLIENT, HRR_SERVER, Scene, flip_last, set_ext
from tests.handshake.helpers import (
    NOW,
    ConnectionPair,
    Tamper,
    client_config,
    of_type,
    replacing,
    server_config,
)
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.crypto.provider import DeterministicProvider
from tlslens.errors import IllegalParameter
from tlslens.events import HandshakeCompleted
from tlslens.handshake.cookie import COOKIE_LIFETIME
from tlslens.wire.enums import CipherSuite, NamedGroup, SignatureScheme
from tlslens.wire.extensions import (
    Cookie,
    EarlyData,
    KeyShareClientHello,
    KeyShareEntry,
    PreSharedKeyClientHello,
    PskIdentity,
    SignatureAlgorithms,
)
from tlslens.wire.hello import ClientHello

G = NamedGroup
COOKIE_SECRET = b"k" * 32
OPEN_COOKIE = "handshake/cookie.py:open_cookie"
CLIENT_HELLO = "handshake/server13.py:ExpectClientHello.handle"
SECOND_HELLO = "handshake/cookie.py:RetryCookie.check_second_hello"


def mac(body: bytes) -> bytes:
    h = hmac.HMAC(COOKIE_SECRET, hashes.SHA256())
    h.update(body)
    return h.finalize()


def second(fn: Callable[[ClientHello], object]) -> Tamper:
    """The second ClientHello changed by ``fn``."""
    return replacing(ClientHello, fn, nth=2)


def cookie(fn: Callable[[bytes], bytes]) -> Tamper:
    """The cookie of the second ClientHello changed by ``fn``."""

    def change(ch: ClientHello) -> object:
        ext = ch.extension(Cookie)
        assert ext is not None
        return set_ext(ch, Cookie, Cookie(fn(ext.cookie)))

    return second(change)


# Both sides of every case: the client shares x25519 only, the server wants secp384r1 and issues a cookie.
RETRY = {"client": HRR_CLIENT, "server": {**HRR_SERVER, "cookie_secret": COOKIE_SECRET}}

SECOND_HELLO_FAULTS = [
    Fault(
        id="second_client_hello-without_cookie",
        fails="server",
        raises=IllegalParameter,
        site=CLIENT_HELLO,
        tamper=second(lambda ch: set_ext(ch, Cookie, None)),
        **RETRY,
    ),
    Fault(
        id="cookie-bad_mac",
        fails="server",
        raises=IllegalParameter,
        site=OPEN_COOKIE,
        tamper=cookie(flip_last),
        **RETRY,
    ),
    Fault(
        id="cookie-too_short",
        fails="server",
        raises=IllegalParameter,
        site=OPEN_COOKIE,
        tamper=cookie(lambda c: c[:20]),
        **RETRY,
    ),
    Fault(
        id="cookie-does_not_parse",
        fails="server",
        raises=IllegalParameter,
        site=OPEN_COOKIE,
        tamper=cookie(lambda c: b"\x01garbage" + mac(b"\x01garbage")),
        **RETRY,
    ),
    Fault(
        id="cookie-other_version",
        fails="server",
        raises=IllegalParameter,
        site=OPEN_COOKIE,
        tamper=cookie(lambda c: b"\x01" + c[1:-32] + mac(b"\x01" + c[1:-32])),  # the previous format
        **RETRY,
    ),
    Fault(
        id="second_client_hello-new_session_id",
        fails="server",
        raises=IllegalParameter,
        site=SECOND_HELLO,
        tamper=second(lambda ch: dataclasses.replace(ch, legacy_session_id=bytes(32))),
        **RETRY,
    ),
    Fault(
        id="second_client_hello-still_no_share_for_the_group",
        fails="server",
        raises=IllegalParameter,
        site=SECOND_HELLO,
        tamper=second(
            lambda ch: set_ext(
                ch, KeyShareClientHello, KeyShareClientHello((KeyShareEntry(G.X25519, bytes(range(1, 33))),))
            )
        ),
        **RETRY,
    ),
    Fault(
        id="second_client_hello-other_cipher_suite",
        fails="server",
        raises=IllegalParameter,
        site=SECOND_HELLO,
        tamper=second(
            lambda ch: dataclasses.replace(ch, cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,))
        ),
        **RETRY,
    ),
    # RFC 8446 §4.1.2: early_data removed, pre_shared_key never added, one key share for the group asked.
    Fault(
        id="second_client_hello-offers_early_data",
        fails="server",
        raises=IllegalParameter,
        site=SECOND_HELLO,
        match="early data",
        tamper=second(lambda ch: dataclasses.replace(ch, extensions=(*ch.extensions, EarlyData()))),
        **RETRY,
    ),
    Fault(
        id="second_client_hello-adds_pre_shared_key",
        fails="server",
        raises=IllegalParameter,
        site=SECOND_HELLO,
        match="pre_shared_key",
        tamper=second(
            lambda ch: dataclasses.replace(
                ch,
                extensions=(
                    *ch.extensions,
                    PreSharedKeyClientHello((PskIdentity(b"ticket", 0),), (bytes(32),)),
                ),
            )
        ),
        **RETRY,
    ),
    Fault(
        id="second_client_hello-two_key_shares",
        fails="server",
        raises=IllegalParameter,
        site=SECOND_HELLO,
        match="one key share",
        tamper=second(
            lambda ch: set_ext(
                ch,
                KeyShareClientHello,
                KeyShareClientHello(
                    (
                        *ch.extension(KeyShareClientHello).client_shares,  # type: ignore[union-attr]
                        KeyShareEntry(G.X25519, bytes(range(1, 33))),
                    )
                ),
            )
        ),
        **RETRY,
    ),
    Fault(
        id="second_client_hello-other_signature_algorithms",
        fails="server",
        raises=IllegalParameter,
        site=SECOND_HELLO,
        match="changed signature_algorithms",
        tamper=second(
            lambda ch: set_ext(ch, SignatureAlgorithms, SignatureAlgorithms((SignatureScheme.ED25519,)))
        ),
        **RETRY,
    ),
]


def retry_answered_after(delay: float) -> Callable[[], Scene]:
    """A server that sent a HelloRetryRequest with a cookie issued at NOW; its clock then says
    NOW + ``delay`` when the second ClientHello arrives."""

    def given() -> Scene:
        clock = [NOW]
        provider = DeterministicProvider(seed=b"server", clock=lambda: clock[0])
        c = ClientConnection(client_config(**HRR_CLIENT), "localhost")
        s = ServerConnection(server_config(**HRR_SERVER, provider=provider))
        pair = ConnectionPair(client=c, server=s)
        pair.client_to_server()
        pair.server_to_client()  # the HelloRetryRequest
        clock[0] = NOW + delay
        return Scene(c, s)

    return given


def second_client_hello(scene: Scene) -> bytes:
    assert scene.client is not None
    return scene.client.data_to_send()


COOKIE_AGE_FAULTS = [
    Injected(
        id="expired",
        fails="server",
        raises=IllegalParameter,
        site=OPEN_COOKIE,
        match="old",
        given=retry_answered_after(COOKIE_LIFETIME + 1),
        inject=second_client_hello,
    ),
    Injected(
        id="from_the_future",
        fails="server",
        raises=IllegalParameter,
        site=OPEN_COOKIE,
        match="old",
        given=retry_answered_after(-5.0),
        inject=second_client_hello,
    ),
]


@faults(SECOND_HELLO_FAULTS)
def test_server_refuses_bad_second_client_hello(fault: Fault) -> None:
    fault.check()


@faults(COOKIE_AGE_FAULTS)
def test_server_refuses_cookie_outside_its_lifetime(fault: Injected) -> None:
    fault.check()


@pytest.mark.parametrize(
    "middlebox",
    [
        pytest.param(False, id="no_middlebox_compatibility"),
        pytest.param(True, id="middlebox_compatibility"),
    ],
)
def test_stateless_server_finishes_with_a_fresh_connection_after_retry(middlebox: bool) -> None:
    """The cookie carries everything: a *new* ServerConnection can take the second ClientHello."""
    config = server_config(**HRR_SERVER)
    c = ClientConnection(client_config(**HRR_CLIENT, middlebox_compatibility=middlebox), "localhost")
    first = ServerConnection(config)
    first.receive_data(c.data_to_send())
    c.receive_data(first.data_to_send())
    pair = ConnectionPair(client=c, server=ServerConnection(config)).handshake()
    (done,) = of_type(pair.client_events, HandshakeCompleted)
    assert done.group == G.SECP384R1
