"""What the server refuses in a ClientHello (handshake/server_negotiation.py, and the extension and
message decoders it relies on): nothing in common, missing or malformed extensions, bad key shares.
"""

from __future__ import annotations

import dataclasses

from tests.handshake.faults.fault import Fault, faults
from tests.handshake.faults.scenes import add_ext, hook, set_ext, with_trailing_byte
from tests.handshake.helpers import replacing
from tlslens.errors import (
    DecodeError,
    HandshakeFailure,
    IllegalParameter,
    MissingExtension,
    NoApplicationProtocol,
    ProtocolVersionMismatch,
)
from tlslens.wire.enums import CompressionMethod, NamedGroup, ProtocolVersion, SignatureScheme
from tlslens.wire.extensions import (
    KeyShareClientHello,
    KeyShareEntry,
    PreSharedKeyClientHello,
    PskIdentity,
    RecordSizeLimit,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlslens.wire.hello import ClientHello

G = NamedGroup
S = SignatureScheme
replace = dataclasses.replace

NEGOTIATE = "handshake/server_negotiation.py:negotiate"
CHOOSE_VERSION = "handshake/server_negotiation.py:choose_version"
CHOOSE_ALPN = "handshake/server_negotiation.py:choose_alpn"
DECODE_EXTENSIONS = "wire/extensions.py:decode_extensions"


def without(cls: type) -> dict:
    return hook(lambda ch: set_ext(ch, cls, None))


def duplicate_share(ch: ClientHello) -> ClientHello:
    ks = ch.extension(KeyShareClientHello)
    assert ks is not None
    return set_ext(ch, KeyShareClientHello, KeyShareClientHello(ks.client_shares * 2))  # type: ignore[return-value]


def psk_not_last(ch: ClientHello) -> ClientHello:
    psk = PreSharedKeyClientHello((PskIdentity(b"id", 0),), (bytes(32),))
    exts = list(ch.extensions or ())
    return replace(ch, extensions=(*exts[:-1], psk, exts[-1]))


def only_share(entry: KeyShareEntry) -> dict:
    return hook(lambda ch: set_ext(ch, KeyShareClientHello, KeyShareClientHello((entry,))))


CLIENT_HELLO_FAULTS = [  # RFC 8446 §4.1.1, §4.2
    Fault(
        id="client_hello-no_common_suite",
        fails="server",
        raises=HandshakeFailure,
        site=NEGOTIATE,
        client={"cipher_suites": ("TLS_CHACHA20_POLY1305_SHA256",)},
        server={"cipher_suites": ("TLS_AES_128_GCM_SHA256",)},
    ),
    Fault(
        id="client_hello-no_common_group",
        fails="server",
        raises=HandshakeFailure,
        site=NEGOTIATE,
        client={"groups": (G.X448,)},
        server={"groups": (G.X25519, G.SECP256R1)},
    ),
    Fault(
        id="client_hello-no_common_signature_scheme",
        fails="server",
        raises=HandshakeFailure,
        site="handshake/server_negotiation.py:_choose_certificate",
        client={"signature_schemes": (S.ED25519, S.RSA_PSS_RSAE_SHA256)},
    ),
    Fault(
        id="client_hello-no_supported_groups",
        fails="server",
        raises=MissingExtension,
        site=NEGOTIATE,
        client=without(SupportedGroups),
    ),
    Fault(
        id="client_hello-no_key_share",
        fails="server",
        raises=MissingExtension,
        site=NEGOTIATE,
        client=without(KeyShareClientHello),
    ),
    Fault(
        id="client_hello-no_signature_algorithms",
        fails="server",
        raises=MissingExtension,
        site=NEGOTIATE,
        client=without(SignatureAlgorithms),
    ),
    Fault(
        id="client_hello-tls12_only",
        fails="server",
        raises=ProtocolVersionMismatch,
        site=CHOOSE_VERSION,
        server={"versions": ("TLSv1.3",)},
        client=without(SupportedVersionsClientHello),
    ),
    Fault(
        id="client_hello-tls12_without_extensions",
        fails="server",
        raises=ProtocolVersionMismatch,
        site=CHOOSE_VERSION,
        server={"versions": ("TLSv1.3",)},
        client=hook(lambda ch: replace(ch, extensions=None)),
    ),
    Fault(
        id="client_hello-supported_versions_without_tls13",
        fails="server",
        raises=ProtocolVersionMismatch,
        site=CHOOSE_VERSION,
        server={"versions": ("TLSv1.3",)},
        client=hook(
            lambda ch: set_ext(
                ch,
                SupportedVersionsClientHello,
                SupportedVersionsClientHello((ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_1)),
            )
        ),
    ),
    Fault(
        id="client_hello-compression_methods",
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE,
        client=hook(
            lambda ch: replace(
                ch, legacy_compression_methods=(CompressionMethod.NULL, CompressionMethod.DEFLATE)
            )
        ),
    ),
    Fault(
        id="client_hello-duplicate_key_shares",
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE,
        client=hook(duplicate_share),
    ),
    Fault(
        id="client_hello-key_share_for_group_not_supported",
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE,
        client=hook(lambda ch: set_ext(ch, SupportedGroups, SupportedGroups((G.X25519,)))),
    ),
    Fault(
        id="client_hello-key_share_of_wrong_length",
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE,  # every share of a known group is checked before one is chosen
        client=only_share(KeyShareEntry(G.X25519, bytes(31))),
        server={"groups": (G.X25519,)},
    ),
    Fault(
        id="client_hello-ec_point_not_on_curve",
        fails="server",
        raises=IllegalParameter,
        site="crypto/groups.py:_ec_public_key",
        client={**only_share(KeyShareEntry(G.SECP256R1, b"\x04" + bytes(64))), "groups": (G.SECP256R1,)},
        server={"groups": (G.SECP256R1,)},
    ),
    Fault(  # the strict extension decoder refuses it
        id="client_hello-pre_shared_key_not_last",
        fails="server",
        raises=IllegalParameter,
        site=DECODE_EXTENSIONS,
        client=hook(psk_not_last),
    ),
    Fault(
        id="client_hello-duplicate_extension",
        fails="server",
        raises=IllegalParameter,
        site=DECODE_EXTENSIONS,
        client=hook(lambda ch: add_ext(ch, ch.extensions[0])),
    ),
    Fault(
        id="client_hello-record_size_limit_below_64",
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE,
        client={
            "record_size_limit": 64,
            **hook(lambda ch: set_ext(ch, RecordSizeLimit, RecordSizeLimit(63))),
        },
    ),
    Fault(
        id="client_hello-alpn_no_overlap",
        fails="server",
        raises=NoApplicationProtocol,
        site=CHOOSE_ALPN,
        client={"alpn_protocols": ("spdy/3",)},
        server={"alpn_protocols": ("h2", "http/1.1")},
    ),
    Fault(
        id="client_hello-trailing_byte",
        fails="server",
        raises=DecodeError,
        site="wire/reader.py:Reader.expect_end",
        tamper=replacing(ClientHello, with_trailing_byte),
    ),
]


@faults(CLIENT_HELLO_FAULTS)
def test_server_refuses_client_hello(fault: Fault) -> None:
    fault.check()
