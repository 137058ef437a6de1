"""The client's states (handshake/client13.py) against a server that breaks RFC 8446: ServerHello,
EncryptedExtensions, Finished, and the order of the server's flight.

A HelloRetryRequest is in test_client_hello_retry.py, the server's Certificate and CertificateVerify in
test_peer_certificate.py, CertificateRequest in test_client_auth.py, resumption in
test_client_resumption.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tests.handshake.faults.fault import Fault, Injected, faults
from tests.handshake.faults.scenes import (
    add_ext,
    flip_last,
    fresh,
    hook,
    set_ext,
    truncated,
)
from tests.handshake.helpers import (
    ConnectionPair,
    Tamper,
    client_config,
    dropping,
    replacing,
    server_config,
)
from tlslens.errors import (
    DecodeError,
    DecryptError,
    IllegalParameter,
    MissingExtension,
    ProtocolVersionMismatch,
    UnexpectedMessage,
    UnsupportedExtension,
)
from tlslens.handshake.common import DOWNGRADE_TLS11, DOWNGRADE_TLS12
from tlslens.wire.enums import (
    CipherSuite,
    CompressionMethod,
    ExtensionType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    KeyShareEntry,
    KeyShareServerHello,
    PreSharedKeyServerHello,
    RecordSizeLimit,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlslens.wire.hello import ServerHello
from tlslens.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    EncryptedExtensions,
    Finished,
    KeyUpdate,
    NewSessionTicket,
)

G = NamedGroup
replace = dataclasses.replace

SERVER_HELLO = "handshake/client13.py:ExpectServerHello.handle"
SERVER_HELLO12 = "handshake/client12.py:receive_server_hello"
ENCRYPTED_EXTENSIONS = "handshake/client13.py:ExpectEncryptedExtensions.handle"
ALLOWED_EXTENSIONS = "handshake/common.py:check_allowed_extensions"
REFUSE_AT_HEADER = "record/reassembly.py:MessageLimits.refuse"  # each state names what it accepts
KEY_CHANGE = "record/reassembly.py:HandshakeReassembler.check_aligned"  # (from RecordLayer.set_read_key)


def sh(fn: Callable[[ServerHello], object]) -> Tamper:
    """The ServerHello changed by ``fn``."""
    return replacing(ServerHello, fn)


def ee(fn: Callable[[EncryptedExtensions], object]) -> Tamper:
    return replacing(EncryptedExtensions, fn)


SERVER_HELLO_FAULTS = [  # RFC 8446 §4.1.3
    Fault(
        id="server_hello-unoffered_tls13_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(lambda m: replace(m, cipher_suite=CipherSuite.TLS_AES_256_GCM_SHA384)),
        client={"cipher_suites": ("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256")},
    ),
    Fault(
        id="server_hello-offered_tls12_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(lambda m: replace(m, cipher_suite=CipherSuite(0xC02F))),
        client=hook(lambda ch: replace(ch, cipher_suites=(*ch.cipher_suites, CipherSuite(0xC02F)))),
    ),
    Fault(
        id="server_hello-wrong_session_id_echo",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(lambda m: replace(m, legacy_session_id_echo=bytes(32))),
    ),
    Fault(
        id="server_hello-tls12_answer_to_a_tls13_only_client",
        fails="client",
        raises=ProtocolVersionMismatch,
        site=SERVER_HELLO12,
        tamper=sh(lambda m: replace(m, extensions=None)),
        client={"versions": ("TLSv1.3",)},
    ),
    Fault(
        id="server_hello-tls12_answer_with_a_tls13_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="cipher suite",
        tamper=sh(lambda m: replace(m, extensions=None)),
    ),
    Fault(
        id="server_hello-tls12_answer_with_downgrade_sentinel",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        tamper=sh(lambda m: replace(m, extensions=None, random=m.random[:24] + DOWNGRADE_TLS12)),
    ),
    Fault(
        id="server_hello-tls11_downgrade_sentinel",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        tamper=sh(
            lambda m: set_ext(
                replace(m, random=m.random[:24] + DOWNGRADE_TLS11), SupportedVersionsServerHello, None
            )
        ),
    ),
    Fault(
        id="server_hello-supported_versions_selects_tls12",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(
            lambda m: set_ext(
                m, SupportedVersionsServerHello, SupportedVersionsServerHello(ProtocolVersion.TLS1_2)
            )
        ),
    ),
    Fault(
        id="server_hello-legacy_version_not_0x0303",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(lambda m: replace(m, legacy_version=ProtocolVersion.TLS1_3)),
    ),
    Fault(
        id="server_hello-compression_method",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(lambda m: replace(m, legacy_compression_method=CompressionMethod.DEFLATE)),
    ),
    Fault(
        id="server_hello-no_key_share",
        fails="client",
        raises=MissingExtension,
        site=SERVER_HELLO,
        tamper=sh(lambda m: set_ext(m, KeyShareServerHello, None)),
    ),
    Fault(
        id="server_hello-key_share_for_group_without_our_share",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO,
        tamper=sh(
            lambda m: set_ext(
                m, KeyShareServerHello, KeyShareServerHello(KeyShareEntry(G.SECP256R1, b"\x04" + bytes(64)))
            )
        ),
    ),
    Fault(
        id="server_hello-key_share_of_wrong_length",
        fails="client",
        raises=IllegalParameter,
        site="crypto/groups.py:_check_length",
        tamper=sh(
            lambda m: set_ext(m, KeyShareServerHello, KeyShareServerHello(KeyShareEntry(G.X25519, bytes(31))))
        ),
        client={"groups": (G.X25519,)},
        server={"groups": (G.X25519,)},
    ),
    Fault(
        id="server_hello-x25519_small_order_share",
        fails="client",
        raises=IllegalParameter,
        site="crypto/groups.py:_X25519Share.exchange",
        tamper=sh(
            lambda m: set_ext(m, KeyShareServerHello, KeyShareServerHello(KeyShareEntry(G.X25519, bytes(32))))
        ),
        client={"groups": (G.X25519,)},
        server={"groups": (G.X25519,)},
    ),
    Fault(
        id="server_hello-forbidden_extension",
        fails="client",
        raises=IllegalParameter,
        site=ALLOWED_EXTENSIONS,
        tamper=sh(
            lambda m: add_ext(m, UnknownExtension(ExtensionType.SUPPORTED_GROUPS, b"\x00\x02\x00\x1d"))
        ),
    ),
    Fault(
        id="server_hello-unsolicited_pre_shared_key",
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        tamper=sh(lambda m: add_ext(m, PreSharedKeyServerHello(0))),
    ),
    Fault(
        id="server_hello-truncated",
        fails="client",
        raises=DecodeError,
        site="wire/reader.py:Reader.sub",
        tamper=sh(truncated),
    ),
]

ENCRYPTED_EXTENSIONS_FAULTS = [  # RFC 8446 §4.3.1
    Fault(
        id="encrypted_extensions-forbidden_key_share",
        fails="client",
        raises=IllegalParameter,
        site=ALLOWED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, UnknownExtension(ExtensionType.KEY_SHARE, b""))),
    ),
    Fault(
        id="encrypted_extensions-forbidden_signature_algorithms",
        fails="client",
        raises=IllegalParameter,
        site=ALLOWED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, UnknownExtension(ExtensionType.SIGNATURE_ALGORITHMS, b""))),
    ),
    Fault(
        id="encrypted_extensions-unsolicited_record_size_limit",
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, RecordSizeLimit(1000))),
    ),
    Fault(
        id="encrypted_extensions-unsolicited_unknown_extension",
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, UnknownExtension(ExtensionType(0x1234), b""))),
    ),
    Fault(
        id="encrypted_extensions-alpn_when_none_was_offered",
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, ALPN((b"h2",)))),
    ),
    Fault(
        id="encrypted_extensions-alpn_protocol_not_offered",
        fails="client",
        raises=IllegalParameter,
        site=ENCRYPTED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, ALPN((b"spdy/3",)))),
        client={"alpn_protocols": ("h2", "http/1.1")},
    ),
    Fault(
        id="encrypted_extensions-alpn_two_protocols",
        fails="client",
        raises=IllegalParameter,
        site=ENCRYPTED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, ALPN((b"h2", b"http/1.1")))),
        client={"alpn_protocols": ("h2", "http/1.1")},
    ),
    Fault(
        id="encrypted_extensions-record_size_limit_below_64",
        fails="client",
        raises=IllegalParameter,
        site=ENCRYPTED_EXTENSIONS,
        tamper=ee(lambda m: add_ext(m, RecordSizeLimit(63))),
        client={"record_size_limit": 1024},
    ),
]

FINISHED_FAULTS = [  # RFC 8446 §4.4.4
    Fault(
        id="finished-bad_verify_data",
        fails="client",
        raises=DecryptError,
        site="handshake/verify.py:verify_finished",
        tamper=replacing(Finished, lambda m: Finished(flip_last(m.verify_data))),
    ),
    Fault(
        id="finished-short_verify_data",
        fails="client",
        raises=DecodeError,  # the wrong length is a malformed message (RFC 8446 §4.4.4, §6)
        site="handshake/verify.py:verify_finished",
        tamper=replacing(Finished, lambda m: Finished(m.verify_data[:-1])),
    ),
]

ORDER_FAULTS = [  # unexpected_message in every client state
    Fault(
        id="order-encrypted_extensions_instead_of_server_hello",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=sh(lambda m: EncryptedExtensions(())),
    ),
    Fault(  # both in one record: the second one follows a key change (RFC 8446 §5.1)
        id="order-server_hello_twice",
        fails="client",
        raises=UnexpectedMessage,
        site=KEY_CHANGE,
        tamper=sh(lambda m: [m, m]),
    ),
    Fault(
        id="order-certificate_without_encrypted_extensions",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(EncryptedExtensions),
    ),
    Fault(
        id="order-certificate_verify_without_certificate",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(Certificate),
    ),
    Fault(
        id="order-certificate_request_after_certificate",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(
            Certificate,
            lambda m: [m, CertificateRequest(b"", (SignatureAlgorithms((SignatureScheme.ED25519,)),))],
        ),
    ),
    Fault(
        id="order-finished_without_certificate_verify",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(CertificateVerify),
    ),
    Fault(
        id="order-certificate_verify_twice",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(CertificateVerify, lambda m: [m, m]),
    ),
    Fault(
        id="order-key_update_before_finished",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(Finished, lambda m: [KeyUpdate(KeyUpdateRequest.UPDATE_NOT_REQUESTED), m]),
    ),
    Fault(
        id="order-new_session_ticket_before_finished",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(Finished, lambda m: [NewSessionTicket(60, 0, b"", b"t"), m]),
    ),
    Injected(
        id="order-client_hello_sent_to_a_client",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        match="expected ServerHello",
        given=fresh,
        inject=lambda scene: scene.client.data_to_send(),  # its own ClientHello
    ),
]


@faults(SERVER_HELLO_FAULTS)
def test_client_refuses_server_hello(fault: Fault) -> None:
    fault.check()


@faults(ENCRYPTED_EXTENSIONS_FAULTS)
def test_client_refuses_encrypted_extensions(fault: Fault) -> None:
    fault.check()


@faults(FINISHED_FAULTS)
def test_client_refuses_server_finished(fault: Fault) -> None:
    fault.check()


@faults(ORDER_FAULTS)
def test_client_refuses_messages_out_of_order(fault: Fault | Injected) -> None:
    fault.check()


def test_client_accepts_unsolicited_supported_groups_in_encrypted_extensions() -> None:
    # RFC 8446 §4.2.7: a server may tell the client its groups without being asked.
    hook = lambda m: add_ext(m, SupportedGroups((G.X25519,)))  # noqa: E731
    ConnectionPair(client_config(), server_config(encrypted_extensions_hook=hook)).handshake()
