"""The TLS 1.2 client (handshake/client12.py, common12.py, verify.py's TLS 1.2 checks) against a server
that breaks RFC 5246 / 8422 / 7627 / 5746 / 5077: the ServerHello, ServerKeyExchange, CertificateRequest,
the server's Finished, the order of the server's flight (ChangeCipherSpec included), and the server's
answer to a TLS 1.2 session.

The tampering server speaks TLS 1.2 because the client offers nothing else (``TLS12_CLIENT``), unless
a record says otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from cryptography.hazmat.primitives.serialization import Encoding

from tests.handshake.faults.fault import Fault, Injected, faults
from tests.handshake.faults.scenes import HRR_CLIENT, HRR_SERVER, Scene, add_ext, server_answer, set_ext
from tests.handshake.faults.scenes12 import (
    TLS12_CLIENT,
    TLS12_SERVER,
    client12,
    hello12,
    resuming12,
    session12,
    without_extension,
)
from tests.handshake.helpers import (
    OffTranscript,
    Tamper,
    TamperingClient,
    TamperingServer,
    client_config,
    dropping,
    encode,
    pki,
    records,
    replacing,
    server_config,
    verifier,
)
from tlslens.errors import (
    BadRecordMac,
    DecodeError,
    DecryptError,
    HandshakeFailure,
    IllegalParameter,
    ProtocolVersionMismatch,
    UnexpectedMessage,
    UnknownCA,
    UnsupportedExtension,
)
from tlslens.record.deframer import encode_plaintext
from tlslens.wire.enums import (
    CipherSuite,
    ClientCertificateType,
    CompressionMethod,
    ECPointFormat,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    ECPointFormats,
    ExtendedMasterSecret,
    KeyShareEntry,
    KeyShareServerHello,
    PreSharedKeyServerHello,
    RecordSizeLimit,
    RenegotiationInfo,
    SessionTicket,
)
from tlslens.wire.hello import ServerHello
from tlslens.wire.messages import Finished
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    ChangeCipherSpec,
    DigitallySigned,
    NewSessionTicket12,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)

CS, G, S = CipherSuite, NamedGroup, SignatureScheme
_DER = Encoding.DER
replace = dataclasses.replace

SERVER_HELLO12 = "handshake/client12.py:receive_server_hello"
ALPN12 = "handshake/client12.py:_alpn"
SERVER_KEY_EXCHANGE = "handshake/client12.py:ExpectServerKeyExchange.receive"
SUITE_FITS = "handshake/client12.py:_check_suite_fits"
CCS_EXPECTED = "handshake/client12.py:ExpectChangeCipherSpec.receive"
STRAY_CCS = "handshake/common12.py:Tls12State.handle_change_cipher_spec"
RENEGOTIATION_INFO = "handshake/common12.py:check_renegotiation_info"
SIGNATURE12 = "handshake/verify.py:verify_signature12"
FINISHED12 = "handshake/verify.py:verify_finished12"
EXPECT = "handshake/common.py:expect"
ALLOWED_EXTENSIONS = "handshake/common.py:check_allowed_extensions"
BAD_SIGNATURE = "crypto/signatures.py:verify"
KEY_CHANGE_MID_MESSAGE = "record/reassembly.py:HandshakeReassembler.check_aligned"
REFUSE_AT_HEADER = "record/reassembly.py:MessageLimits.refuse"  # each state names what it accepts


def sh(fn: Callable[[ServerHello], object]) -> Tamper:
    return replacing(ServerHello, fn)


def ske(fn: Callable[[ServerKeyExchange], object]) -> Tamper:
    return replacing(ServerKeyExchange, fn)


def signed_with(scheme: SignatureScheme) -> Tamper:
    """The ServerKeyExchange signature relabelled as ``scheme`` (the bytes stay the server's)."""
    return ske(lambda m: replace(m, signed=DigitallySigned(scheme, m.signed.signature)))


def on_curve(group: NamedGroup) -> Tamper:
    return ske(lambda m: replace(m, params=ServerECDHParams(group, m.params.public)))


def flipped(data: bytes) -> bytes:
    return data[:-1] + bytes((data[-1] ^ 1,))


RSA_SERVER = {"key_type": "rsa2048"}
RSA_CLIENT = client12(key_type="rsa2048")


def with_client_auth() -> dict:
    """Server config arguments: ask for a client certificate (none required)."""
    return {"client_verifier": verifier(), "require_client_certificate": False}


SERVER_HELLO_FAULTS = [  # RFC 5246 §7.4.1.3, RFC 8446 §4.1.3
    Fault(
        id="server_hello12-tls11",
        fails="client",
        raises=ProtocolVersionMismatch,
        site=SERVER_HELLO12,
        match="chose TLSv1.1",
        tamper=sh(lambda m: replace(m, legacy_version=ProtocolVersion.TLS1_1)),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_hello12-after_hello_retry_request",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="after a HelloRetryRequest",
        tamper=replacing(ServerHello, lambda m: replace(m, extensions=()), nth=2),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
    Fault(
        id="server_hello12-unoffered_tls12_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="not offered",
        tamper=sh(lambda m: replace(m, cipher_suite=CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)),
        client=client12(cipher_suites=(CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,)),
    ),
    Fault(
        id="server_hello12-static_rsa_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="not offered",
        tamper=sh(lambda m: replace(m, cipher_suite=CS.TLS_RSA_WITH_AES_128_GCM_SHA256)),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_hello12-compression_method",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="compression",
        tamper=sh(lambda m: replace(m, legacy_compression_method=CompressionMethod.DEFLATE)),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_hello12-extension_not_offered",
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        tamper=sh(lambda m: add_ext(m, ALPN((b"h2",)))),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_hello12-extended_master_secret_not_offered",
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        tamper=sh(lambda m: add_ext(m, ExtendedMasterSecret())),
        client=hello12(lambda ch: without_extension(ch, ExtendedMasterSecret)),  # type: ignore[arg-type,return-value]
    ),
    Fault(
        id="server_hello12-tls13_key_share",
        fails="client",
        raises=IllegalParameter,
        site=ALLOWED_EXTENSIONS,
        match="key_share",
        tamper=sh(lambda m: add_ext(m, KeyShareServerHello(KeyShareEntry(G.X25519, bytes(32))))),
        server=TLS12_SERVER,  # the client offers TLS 1.3 too: key_share was sent, but not for TLS 1.2
    ),
    Fault(
        id="server_hello12-no_renegotiation_info",  # RFC 5746 §3.4
        fails="client",
        raises=HandshakeFailure,
        site=RENEGOTIATION_INFO,
        match="no renegotiation_info",
        tamper=sh(lambda m: set_ext(m, RenegotiationInfo, None)),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_hello12-non_empty_renegotiation_info",
        fails="client",
        raises=HandshakeFailure,
        site=RENEGOTIATION_INFO,
        match="non-empty renegotiation_info",
        tamper=sh(lambda m: set_ext(m, RenegotiationInfo, RenegotiationInfo(bytes(24)))),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_hello12-ec_point_formats_without_uncompressed",  # RFC 8422 §5.2
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="uncompressed",
        tamper=sh(
            lambda m: set_ext(m, ECPointFormats, ECPointFormats((ECPointFormat.ANSIX962_COMPRESSED_PRIME,)))
        ),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_hello12-record_size_limit_below_64",  # RFC 8449 §4
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="below 64",
        tamper=sh(lambda m: set_ext(m, RecordSizeLimit, RecordSizeLimit(63))),
        client=client12(record_size_limit=1024),
        server={"record_size_limit": 1024},
    ),
    Fault(
        id="server_hello12-alpn_not_offered",
        fails="client",
        raises=IllegalParameter,
        site=ALPN12,
        match="ALPN",
        tamper=sh(lambda m: add_ext(m, ALPN((b"http/1.1",)))),
        client=client12(alpn_protocols=("h2",)),
    ),
    Fault(
        id="server_hello12-alpn_two_protocols",
        fails="client",
        raises=IllegalParameter,
        site=ALPN12,
        match="ALPN",
        tamper=sh(lambda m: set_ext(m, ALPN, ALPN((b"h2", b"h2")))),
        client=client12(alpn_protocols=("h2",)),
        server={"alpn_protocols": ("h2",)},
    ),
]


SERVER_KEY_EXCHANGE_FAULTS = [  # RFC 8422 §5.4, RFC 5246 §7.4.3
    Fault(
        id="server_key_exchange-unsigned",
        fails="client",
        raises=UnexpectedMessage,
        site=SERVER_KEY_EXCHANGE,
        match="without signed",
        tamper=ske(lambda m: encode(ServerKeyExchange(m.params, None))),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_key_exchange-curve_not_offered",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_KEY_EXCHANGE,
        match="secp384r1, which was not offered",
        tamper=on_curve(G.SECP384R1),
        client=client12(groups=(G.X25519, G.SECP256R1)),
    ),
    Fault(
        id="server_key_exchange-tls13_only_group",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_KEY_EXCHANGE,
        match="X25519MLKEM768, which was not offered",
        tamper=on_curve(G.X25519MLKEM768),
        server=TLS12_SERVER,  # a TLS 1.3 client names the hybrid in supported_groups, for TLS 1.3 only
    ),
    Fault(
        id="server_key_exchange-ecdsa_signature_for_an_rsa_suite",
        fails="client",
        raises=IllegalParameter,
        site=SUITE_FITS,
        match="TLS_ECDHE_RSA_.* cannot be signed with ecdsa",
        tamper=signed_with(S.ECDSA_SECP256R1_SHA256),
        client=RSA_CLIENT,
        server=RSA_SERVER,
    ),
    Fault(
        id="server_key_exchange-rsa_signature_for_an_ecdsa_suite",
        fails="client",
        raises=IllegalParameter,
        site=SUITE_FITS,
        match="TLS_ECDHE_ECDSA_.* cannot be signed with rsa_pss_rsae_sha256",
        tamper=signed_with(S.RSA_PSS_RSAE_SHA256),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_key_exchange-scheme_not_offered",
        fails="client",
        raises=IllegalParameter,
        site=SIGNATURE12,
        match="ecdsa_secp384r1_sha384, which was not offered",
        tamper=signed_with(S.ECDSA_SECP384R1_SHA384),
        client=client12(signature_schemes=(S.ECDSA_SECP256R1_SHA256, S.RSA_PSS_RSAE_SHA256)),
    ),
    Fault(
        id="server_key_exchange-sha1",  # RFC 9155: never offered, never accepted
        fails="client",
        raises=IllegalParameter,
        site=SIGNATURE12,
        match="ecdsa_sha1, which was not offered",
        tamper=signed_with(S.ECDSA_SHA1),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_key_exchange-scheme_unfit_for_the_key",  # rsa_pss_pss_* needs an RSASSA-PSS key
        fails="client",
        raises=IllegalParameter,
        site=SIGNATURE12,
        match="does not fit the certificate's key",
        tamper=signed_with(S.RSA_PSS_PSS_SHA256),
        client=RSA_CLIENT,
        server=RSA_SERVER,
    ),
    Fault(
        id="server_key_exchange-bad_signature",
        fails="client",
        raises=DecryptError,
        site=BAD_SIGNATURE,
        tamper=ske(lambda m: replace(m, signed=replace(m.signed, signature=flipped(m.signed.signature)))),
        client=RSA_CLIENT,
        server=RSA_SERVER,
    ),
    Fault(
        id="server_key_exchange-signature_over_other_params",
        fails="client",
        raises=DecryptError,
        site=BAD_SIGNATURE,
        tamper=ske(lambda m: replace(m, params=ServerECDHParams(G.X25519, bytes(31) + b"\x09"))),
        client=TLS12_CLIENT,
    ),
]


CERTIFICATE_REQUEST_FAULTS = [  # RFC 5246 §7.4.4
    Fault(
        id="certificate_request12-no_signature_algorithms",
        fails="client",
        raises=DecodeError,
        site="wire/reader.py:Reader.uint_list",
        match="supported_signature_algorithms",
        tamper=replacing(
            CertificateRequest12,
            lambda m: encode(CertificateRequest12((ClientCertificateType.ECDSA_SIGN,), ())),
        ),
        client=TLS12_CLIENT,
        server=with_client_auth,
    ),
    Fault(
        id="certificate_request12-twice",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(CertificateRequest12, lambda m: [m, m]),
        client=TLS12_CLIENT,
        server=with_client_auth,
    ),
]


FLIGHT_ORDER_FAULTS = [  # RFC 5246 §7.3: the server's flight, message by message
    Fault(
        id="server_flight12-no_certificate",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(Certificate12),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-empty_certificate",
        fails="client",
        raises=DecodeError,
        site="handshake/common.py:parse_certificate_chain",
        tamper=replacing(Certificate12, lambda m: Certificate12(())),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-untrusted_certificate",
        fails="client",
        raises=UnknownCA,
        site="pki/diagnosis.py:_fast_path",
        tamper=replacing(
            Certificate12,
            lambda m: Certificate12(tuple(c.public_bytes(_DER) for c in pki("ecdsa-p384").chain)),
        ),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-no_server_key_exchange",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(ServerKeyExchange),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-server_key_exchange_twice",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=ske(lambda m: [m, OffTranscript(m)]),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-finished_for_server_hello_done",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(ServerHelloDone, lambda m: Finished(bytes(12))),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-no_new_session_ticket",  # RFC 5077 §3.3: promised in the ServerHello
        fails="client",
        raises=UnexpectedMessage,
        site=STRAY_CCS,
        match="ExpectNewSessionTicket",
        tamper=dropping(NewSessionTicket12),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-server_hello_done_for_new_session_ticket",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(NewSessionTicket12, lambda m: ServerHelloDone()),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-new_session_ticket_twice",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(NewSessionTicket12, lambda m: [m, m]),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-new_session_ticket_unannounced",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=sh(lambda m: set_ext(m, SessionTicket, None)),  # then a ticket it did not announce
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-new_session_ticket_for_finished",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(Finished, lambda m: NewSessionTicket12(0, b"")),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="server_flight12-message_across_the_change_cipher_spec",  # RFC 5246 §7.1 / RFC 8446 §5.1
        fails="client",
        raises=UnexpectedMessage,
        site=KEY_CHANGE_MID_MESSAGE,
        tamper=replacing(NewSessionTicket12, lambda m: encode(m) + encode(Finished(bytes(12)))[:3]),
        client=TLS12_CLIENT,
    ),
]


def _stray_ccs_before(cls: type) -> Tamper:
    """A change_cipher_spec record just before the server's ``cls`` message."""
    return replacing(cls, lambda m: [ChangeCipherSpec(), m])


STRAY_CHANGE_CIPHER_SPEC = [  # RFC 5246 §7.1: only right before the server's Finished
    Fault(
        id=f"change_cipher_spec-before_{cls.__name__}{'-client_auth' if server else ''}",
        fails="client",
        raises=UnexpectedMessage,
        site=STRAY_CCS,
        match=f"unexpected ChangeCipherSpec \\(while waiting: {state}\\)",
        tamper=_stray_ccs_before(cls),
        client=TLS12_CLIENT,
        server=server or {},
    )
    for cls, state, server in [
        (Certificate12, "ExpectCertificate", None),
        (ServerKeyExchange, "ExpectServerKeyExchange", None),
        (ServerHelloDone, "ExpectCertificateRequestOrDone", None),
        (CertificateRequest12, "ExpectCertificateRequestOrDone", with_client_auth),
        (ServerHelloDone, "ExpectServerHelloDone", with_client_auth),
        (NewSessionTicket12, "ExpectNewSessionTicket", None),
    ]
]


FINISHED_FAULTS = [  # RFC 5246 §7.4.9
    Fault(
        id="finished12-bad_verify_data",
        fails="client",
        raises=DecryptError,
        site=FINISHED12,
        tamper=replacing(Finished, lambda m: Finished(flipped(m.verify_data))),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="finished12-eleven_octets",
        fails="client",
        raises=DecodeError,
        site=FINISHED12,
        match="11 octets, not 12",
        tamper=replacing(Finished, lambda m: Finished(m.verify_data[:11])),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="finished12-tls13_size",
        fails="client",
        raises=DecodeError,
        site=FINISHED12,
        match="32 octets, not 12",
        tamper=replacing(Finished, lambda m: Finished(m.verify_data + bytes(20))),
        client=TLS12_CLIENT,
    ),
]


def _plaintext_finished(scene: object) -> bytes:
    """The server's flight with its Finished sent in plaintext after its ChangeCipherSpec."""
    answer = server_answer(scene)  # type: ignore[arg-type]
    client = scene.client  # type: ignore[attr-defined]
    client.receive_data(answer)  # ServerHello .. ServerHelloDone: the client sends its flight
    server = scene.server  # type: ignore[attr-defined]
    server.receive_data(client.data_to_send())
    flight = records(server.data_to_send())  # NewSessionTicket, ChangeCipherSpec, Finished
    assert [r.content_type for r in flight] == [22, 20, 22]
    finished_raw = server.sent[-1][0]
    return b"".join(encode_plaintext(r.content_type, r.fragment) for r in flight[:2]) + encode_plaintext(
        22, finished_raw
    )


def _tls12_session_to_a_tls13_server(server_tamper: Tamper) -> Scene:
    """A client offering TLS 1.3 and 1.2 with a TLS 1.2 session (in session_ticket, never as a PSK), and
    a tampering server that speaks both, with the ticket keys that issued the session."""
    issuing = server_config(**TLS12_SERVER)
    client = client_config()
    session = session12(issuing, client_config(**TLS12_CLIENT))
    both = dataclasses.replace(server_config(), ticket_keys=issuing.effective_ticket_keys)
    return Scene(
        TamperingClient(client, "localhost", session=session), TamperingServer(both, tamper=server_tamper)
    )


RESUMPTION_FAULTS = [  # the server's answer to the session the client offers (RFC 5077, RFC 7627 §5.3)
    Injected(
        id="server_hello13-psk_for_a_tls12_session",  # a TLS 1.2 session is no TLS 1.3 PSK
        fails="client",
        raises=UnsupportedExtension,
        site=ALLOWED_EXTENSIONS,
        match="pre_shared_key",
        given=lambda: _tls12_session_to_a_tls13_server(sh(lambda m: add_ext(m, PreSharedKeyServerHello(0)))),
        inject=server_answer,
    ),
    Injected(
        id="resumed12-without_extended_master_secret",
        fails="client",
        raises=HandshakeFailure,
        site=SERVER_HELLO12,
        match="without the extension",
        given=lambda: resuming12(sh(lambda m: set_ext(m, ExtendedMasterSecret, None))),
        inject=server_answer,
    ),
    Injected(
        id="resumed12-another_suite",
        fails="client",
        raises=IllegalParameter,
        site=SERVER_HELLO12,
        match="another cipher suite",
        given=lambda: resuming12(
            sh(lambda m: replace(m, cipher_suite=CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384))
        ),
        inject=server_answer,
    ),
    Injected(
        id="resumed12-no_renegotiation_info",  # RFC 5746 §3.4 holds for every initial handshake
        fails="client",
        raises=HandshakeFailure,
        site=RENEGOTIATION_INFO,
        given=lambda: resuming12(sh(lambda m: set_ext(m, RenegotiationInfo, None))),
        inject=server_answer,
    ),
    Injected(
        id="resumed12-bad_finished",  # the server's Finished is what proves it holds the session
        fails="client",
        raises=DecryptError,
        site=FINISHED12,
        given=lambda: resuming12(replacing(Finished, lambda m: Finished(flipped(m.verify_data)))),
        inject=server_answer,
    ),
    Injected(
        id="resumed12-no_new_session_ticket",
        fails="client",
        raises=UnexpectedMessage,
        site=STRAY_CCS,
        match="ExpectNewSessionTicket",
        given=lambda: resuming12(dropping(NewSessionTicket12)),
        inject=server_answer,
    ),
    Injected(
        id="resumed12-handshake_message_for_change_cipher_spec",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        given=lambda: resuming12(replacing(NewSessionTicket12, lambda m: [m, m])),
        inject=server_answer,
    ),
]


RECORD_FAULTS = [  # RFC 5246 §6.2, §7.1: after the peer's ChangeCipherSpec every record is protected
    Injected(
        id="finished12-in_plaintext_after_change_cipher_spec",
        fails="client",
        raises=BadRecordMac,
        site="record/protection12.py:Tls12RecordOpener.open",
        given=lambda: Scene(
            TamperingClient(client_config(**TLS12_CLIENT), "localhost"), TamperingServer(server_config())
        ),
        inject=_plaintext_finished,
    ),
]


@faults(
    SERVER_HELLO_FAULTS
    + SERVER_KEY_EXCHANGE_FAULTS
    + CERTIFICATE_REQUEST_FAULTS
    + FLIGHT_ORDER_FAULTS
    + STRAY_CHANGE_CIPHER_SPEC
    + FINISHED_FAULTS
    + RESUMPTION_FAULTS
    + RECORD_FAULTS
)
def test_client12_refuses(fault: Fault | Injected) -> None:
    fault.check()
