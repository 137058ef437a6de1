"""The client's side of a HelloRetryRequest (RFC 8446 §4.1.4; handshake/client13.py): the retry itself,
and the ServerHello that must follow it. The client shares x25519 only; the server prefers secp384r1.
The server's side (the cookie, the second ClientHello) is in test_server_hello_retry.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tests.handshake.faults.fault import Fault, faults
from tests.handshake.faults.scenes import HRR_CLIENT, HRR_SERVER, add_ext, set_ext
from tests.handshake.helpers import Tamper, replacing
from tlslens.errors import IllegalParameter, UnexpectedMessage, UnsupportedExtension
from tlslens.handshake.cookie import build_hello_retry_request
from tlslens.wire.enums import CipherSuite, ExtensionType, NamedGroup
from tlslens.wire.extensions import (
    Cookie,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    UnknownExtension,
)
from tlslens.wire.hello import ServerHello

G = NamedGroup
replace = dataclasses.replace

SERVER_HELLO = "handshake/client13.py:ExpectServerHello.handle"
HELLO_RETRY = "handshake/client13.py:ExpectServerHello._hello_retry"
ALLOWED_EXTENSIONS = "handshake/common.py:check_allowed_extensions"


def sh(fn: Callable[[ServerHello], object], nth: int = 1) -> Tamper:
    """The ``nth`` ServerHello changed by ``fn``: 1 is the HelloRetryRequest, 2 the real one."""
    return replacing(ServerHello, fn, nth=nth)


HELLO_RETRY_FAULTS = [
    Fault(
        id="hello_retry_request-group_already_sent",
        fails="client",
        raises=IllegalParameter,
        site=HELLO_RETRY,
        tamper=sh(lambda m: set_ext(m, KeyShareHelloRetryRequest, KeyShareHelloRetryRequest(G.X25519))),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-group_not_offered",
        fails="client",
        raises=IllegalParameter,
        site=HELLO_RETRY,
        tamper=sh(lambda m: set_ext(m, KeyShareHelloRetryRequest, KeyShareHelloRetryRequest(G.X448))),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-changes_nothing",
        fails="client",
        raises=IllegalParameter,
        site=HELLO_RETRY,
        tamper=sh(lambda m: set_ext(set_ext(m, KeyShareHelloRetryRequest, None), Cookie, None)),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-unoffered_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(lambda m: replace(m, cipher_suite=CipherSuite.TLS_AES_128_CCM_SHA256)),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-forbidden_extension",
        fails="client",
        raises=IllegalParameter,
        site=ALLOWED_EXTENSIONS,
        tamper=sh(lambda m: add_ext(m, UnknownExtension(ExtensionType.SERVER_NAME, b""))),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-unsolicited_extension",
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        tamper=sh(lambda m: add_ext(m, UnknownExtension(ExtensionType.PRE_SHARED_KEY, b"\x00\x00"))),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-second_one",
        fails="client",
        raises=UnexpectedMessage,
        site=HELLO_RETRY,
        tamper=sh(
            lambda m: build_hello_retry_request(m.legacy_session_id_echo, m.cipher_suite, G.SECP521R1, b"c"),
            nth=2,
        ),
        client={"groups": (G.X25519, G.SECP384R1, G.SECP521R1), "key_share_groups": (G.X25519,)},
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-server_hello_changes_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(lambda m: replace(m, cipher_suite=CipherSuite.TLS_AES_256_GCM_SHA384), nth=2),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="hello_retry_request-server_hello_answers_the_first_share",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(
            lambda m: set_ext(
                m, KeyShareServerHello, KeyShareServerHello(KeyShareEntry(G.X25519, bytes(range(1, 33))))
            ),
            nth=2,
        ),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
]


@faults(HELLO_RETRY_FAULTS)
def test_client_refuses_hello_retry_request(fault: Fault) -> None:
    fault.check()
