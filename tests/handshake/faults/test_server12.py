"""The TLS 1.2 server (handshake/server12.py, server_negotiation12.py, the version choice in
server_negotiation.py, verify.py's TLS 1.2 checks) against a client that breaks RFC 5246 / 8422 / 7627 /
5746 / 7507: what it refuses in a TLS 1.2 ClientHello, the client's flight (Certificate,
ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished) and its Finished on resumption.

The tampering client offers TLS 1.2 only (``client12``) unless a record says otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from cryptography.hazmat.primitives.serialization import Encoding

from tests.handshake.faults.fault import Fault, Injected, faults
from tests.handshake.faults.scenes import (
    HRR_CLIENT,
    HRR_SERVER,
    add_ext,
    requiring_client_certificate,
    set_ext,
    with_client_certificate,
    with_unknown_client_certificate,
)
from tests.handshake.faults.scenes12 import (
    TLS12_CLIENT,
    client12,
    hello12,
    resumed_client_flight,
    resuming12,
)
from tests.handshake.helpers import (
    OffTranscript,
    Tamper,
    client_chain,
    dropping,
    encode,
    replacing,
)
from tlslens.errors import (
    DecodeError,
    DecryptError,
    HandshakeFailure,
    IllegalParameter,
    InappropriateFallback,
    NoApplicationProtocol,
    ProtocolVersionMismatch,
    UnexpectedMessage,
    UnknownCA,
)
from tlslens.wire.enums import (
    CipherSuite,
    CompressionMethod,
    ECPointFormat,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ECPointFormats,
    RecordSizeLimit,
    RenegotiationInfo,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import CertificateVerify, Finished
from tlslens.wire.messages12 import Certificate12, ChangeCipherSpec, ClientKeyExchangeECDHE

CS, G, S = CipherSuite, NamedGroup, SignatureScheme
replace = dataclasses.replace

NEGOTIATE12 = "handshake/server_negotiation12.py:negotiate12"
CHOOSE_SUITE = "handshake/server_negotiation12.py:_choose_suite"
CHOOSE_VERSION = "handshake/server_negotiation.py:choose_version"
CCS_EXPECTED = "handshake/server12.py:ExpectChangeCipherSpec.handle"
STRAY_CCS = "handshake/common12.py:Tls12State.handle_change_cipher_spec"
SIGNATURE12 = "handshake/verify.py:verify_signature12"
FINISHED12 = "handshake/verify.py:verify_finished12"
EXPECT = "handshake/common.py:expect"
REFUSE_AT_HEADER = "record/reassembly.py:MessageLimits.refuse"  # each state names what it accepts


def suites(*codes: CipherSuite) -> Callable[[ClientHello], ClientHello]:
    return lambda ch: replace(ch, cipher_suites=codes)


def with_ext(ext: object) -> Callable[[ClientHello], ClientHello]:
    """The ClientHello with ``ext`` in place of its extension of that class (added if absent)."""

    def hook(ch: ClientHello) -> ClientHello:
        if any(isinstance(e, type(ext)) for e in ch.extensions or ()):
            return set_ext(ch, type(ext), ext)  # type: ignore[return-value]
        return add_ext(ch, ext)  # type: ignore[return-value]

    return hook


def without(cls: type) -> Callable[[ClientHello], ClientHello]:
    return lambda ch: set_ext(ch, cls, None)  # type: ignore[return-value]


def cv(fn: Callable[[CertificateVerify], object]) -> Tamper:
    return replacing(CertificateVerify, fn)


def flipped(data: bytes) -> bytes:
    return data[:-1] + bytes((data[-1] ^ 1,))


_DER = Encoding.DER


def client_cert_12() -> dict:
    """Client config arguments: TLS 1.2 only, with a client certificate the server trusts."""
    return {**TLS12_CLIENT, **with_client_certificate()}


ECDSA_P256_ONLY = {"signature_schemes": (S.ECDSA_SECP256R1_SHA256, S.RSA_PSS_RSAE_SHA256)}


CLIENT_HELLO_FAULTS = [  # RFC 5246 §7.4.1.2, RFC 8422 §5.1, RFC 5746 §3.6, RFC 7507
    Fault(
        id="client_hello12-no_null_compression",
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE12,
        match="null compression",
        tamper=None,
        client=hello12(lambda ch: replace(ch, legacy_compression_methods=(CompressionMethod.DEFLATE,))),
    ),
    Fault(
        id="client_hello12-non_empty_renegotiation_info",
        fails="server",
        raises=HandshakeFailure,
        site=NEGOTIATE12,
        match="non-empty renegotiation_info",
        client=hello12(with_ext(RenegotiationInfo(bytes(12)))),
    ),
    Fault(
        id="client_hello12-no_signature_algorithms",  # RFC 5246 §7.4.1.4.1: that would mean SHA-1
        fails="server",
        raises=HandshakeFailure,
        site=NEGOTIATE12,
        match="no signature_algorithms",
        client=hello12(without(SignatureAlgorithms)),
    ),
    Fault(
        id="client_hello12-no_curve_in_common",
        fails="server",
        raises=HandshakeFailure,
        site=NEGOTIATE12,
        match="no ECDHE curve in common",
        client=client12(groups=(G.X448,)),
        server={"groups": (G.X25519, G.SECP256R1)},
    ),
    Fault(
        id="client_hello12-tls13_only_groups",
        fails="server",
        raises=HandshakeFailure,
        site=NEGOTIATE12,
        match="no ECDHE curve in common",
        client=hello12(with_ext(SupportedGroups((G.X25519MLKEM768,)))),
    ),
    Fault(
        id="client_hello12-ec_point_formats_without_uncompressed",  # RFC 8422 §5.1.2
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE12,
        match="uncompressed",
        client=hello12(with_ext(ECPointFormats((ECPointFormat.ANSIX962_COMPRESSED_PRIME,)))),
    ),
    Fault(
        id="client_hello12-record_size_limit_below_64",  # RFC 8449 §4
        fails="server",
        raises=IllegalParameter,
        site=NEGOTIATE12,
        match="below 64",
        client=hello12(with_ext(RecordSizeLimit(63))),
    ),
    Fault(
        id="client_hello12-static_rsa_only",  # no static RSA key exchange in the engine
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE_SUITE,
        match="no cipher suite in common",
        client=hello12(suites(CS.TLS_RSA_WITH_AES_128_GCM_SHA256)),
        server={"key_type": "rsa2048"},
    ),
    Fault(
        id="client_hello12-cbc_only",
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE_SUITE,
        match="no cipher suite in common",
        client=hello12(
            suites(CS.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, CS.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)
        ),
    ),
    Fault(
        id="client_hello12-tls13_suites_without_supported_versions",
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE_SUITE,
        match="no cipher suite in common",
        client=hello12(suites(CS.TLS_AES_128_GCM_SHA256)),
    ),
    Fault(
        id="client_hello12-no_certificate_for_its_suites",
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE_SUITE,
        match="no usable suite",
        client=client12(
            cipher_suites=(CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, CS.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
        ),
    ),
    Fault(
        id="client_hello12-sha1_signatures_only",  # RFC 9155
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE_SUITE,
        match="no usable suite",
        client=hello12(with_ext(SignatureAlgorithms((S.ECDSA_SHA1, S.RSA_PKCS1_SHA1)))),
    ),
    Fault(
        id="client_hello12-no_curve_for_the_ecdsa_certificate",  # RFC 8422 §5.1
        fails="server",
        raises=HandshakeFailure,
        site=CHOOSE_SUITE,
        match="no usable suite",
        client=client12(key_type="ecdsa-p384", groups=(G.X25519, G.SECP256R1)),
        server={"key_type": "ecdsa-p384"},
    ),
    Fault(
        id="client_hello12-no_alpn_in_common",
        fails="server",
        raises=NoApplicationProtocol,
        site="handshake/server_negotiation.py:choose_alpn",
        client=client12(alpn_protocols=("h2",)),
        server={"alpn_protocols": ("http/1.1",)},
    ),
    Fault(
        id="client_hello12-fallback_scsv",  # RFC 7507 §3
        fails="server",
        raises=InappropriateFallback,
        site=CHOOSE_VERSION,
        match="TLS_FALLBACK_SCSV",
        client=hello12(lambda ch: replace(ch, cipher_suites=(*ch.cipher_suites, CS.TLS_FALLBACK_SCSV))),
    ),
    Fault(
        id="client_hello12-tls11_only",
        fails="server",
        raises=ProtocolVersionMismatch,
        site=CHOOSE_VERSION,
        client=hello12(lambda ch: replace(ch, legacy_version=ProtocolVersion.TLS1_1)),
    ),
    Fault(
        id="client_hello12-after_hello_retry_request",  # RFC 8446 §4.1.4: still TLS 1.3
        fails="server",
        raises=IllegalParameter,
        site="handshake/server13.py:ExpectClientHello.handle",
        match="no longer offers TLS 1.3",
        tamper=replacing(
            ClientHello,
            lambda m: set_ext(
                m,
                SupportedVersionsClientHello,
                SupportedVersionsClientHello((ProtocolVersion.TLS1_2,)),
            ),
            nth=2,
        ),
        client=HRR_CLIENT,
        server=HRR_SERVER,
    ),
]


CLIENT_FLIGHT_FAULTS = [  # RFC 5246 §7.3: [Certificate], ClientKeyExchange, [CertificateVerify], Finished
    Fault(
        id="client_flight12-certificate_not_asked_for",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(
            ClientKeyExchangeECDHE,
            lambda m: [OffTranscript(Certificate12(tuple(c.public_bytes(_DER) for c in client_chain()))), m],
        ),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="client_flight12-required_certificate_empty",  # RFC 5246 §7.4.6
        fails="server",
        raises=HandshakeFailure,
        site="handshake/verify.py:verify_no_client_certificate",
        client=TLS12_CLIENT,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_flight12-untrusted_certificate",
        fails="server",
        raises=UnknownCA,
        site="pki/diagnosis.py:_fast_path",
        client=lambda: {**TLS12_CLIENT, **with_unknown_client_certificate()},
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_flight12-no_certificate_message",  # a CertificateRequest is answered, if only empty
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=dropping(Certificate12),
        client=TLS12_CLIENT,
        server=lambda: requiring_client_certificate(require_client_certificate=False),
    ),
    Fault(
        id="client_flight12-no_client_key_exchange",
        fails="server",
        raises=UnexpectedMessage,
        site=STRAY_CCS,
        match="ExpectClientKeyExchange",
        tamper=dropping(ClientKeyExchangeECDHE),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="client_flight12-bad_point",
        fails="server",
        raises=IllegalParameter,
        site="crypto/groups.py:_check_length",
        tamper=replacing(ClientKeyExchangeECDHE, lambda m: ClientKeyExchangeECDHE(m.public[:-1])),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="client_flight12-no_certificate_verify",
        fails="server",
        raises=UnexpectedMessage,
        site=STRAY_CCS,
        match="ExpectCertificateVerify",
        tamper=dropping(CertificateVerify),
        client=client_cert_12,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_flight12-finished_for_certificate_verify",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=cv(lambda m: Finished(bytes(12))),
        client=client_cert_12,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_flight12-certificate_verify_scheme_not_offered",
        fails="server",
        raises=IllegalParameter,
        site=SIGNATURE12,
        match="ecdsa_secp384r1_sha384, which was not offered",
        tamper=cv(lambda m: replace(m, algorithm=S.ECDSA_SECP384R1_SHA384)),
        client=client_cert_12,
        server=lambda: requiring_client_certificate(**ECDSA_P256_ONLY),
    ),
    Fault(
        id="client_flight12-certificate_verify_scheme_unfit_for_the_key",
        fails="server",
        raises=IllegalParameter,
        site=SIGNATURE12,
        match="does not fit the certificate's key",
        tamper=cv(lambda m: replace(m, algorithm=S.RSA_PSS_RSAE_SHA256)),
        client=client_cert_12,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_flight12-certificate_verify_bad_signature",
        fails="server",
        raises=DecryptError,
        site="crypto/signatures.py:verify",
        tamper=cv(lambda m: replace(m, signature=flipped(m.signature))),
        client=client_cert_12,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_flight12-finished_for_change_cipher_spec",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(ClientKeyExchangeECDHE, lambda m: [m, OffTranscript(Finished(bytes(12)))]),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="client_flight12-message_across_the_change_cipher_spec",  # RFC 5246 §7.1 / RFC 8446 §5.1
        fails="server",
        raises=UnexpectedMessage,
        site="record/reassembly.py:HandshakeReassembler.check_aligned",
        tamper=replacing(ClientKeyExchangeECDHE, lambda m: encode(m) + encode(Finished(bytes(12)))[:2]),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="client_flight12-client_key_exchange_for_finished",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        tamper=replacing(Finished, lambda m: ClientKeyExchangeECDHE(bytes(32))),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="finished12-bad_verify_data",
        fails="server",
        raises=DecryptError,
        site=FINISHED12,
        tamper=replacing(Finished, lambda m: Finished(flipped(m.verify_data))),
        client=TLS12_CLIENT,
    ),
    Fault(
        id="finished12-eleven_octets",
        fails="server",
        raises=DecodeError,
        site=FINISHED12,
        match="11 octets, not 12",
        tamper=replacing(Finished, lambda m: Finished(m.verify_data[:11])),
        client=TLS12_CLIENT,
    ),
]


def _stray_ccs_before(cls: type) -> Tamper:
    return replacing(cls, lambda m: [ChangeCipherSpec(), m])


STRAY_CHANGE_CIPHER_SPEC = [  # RFC 5246 §7.1: only right before the client's Finished
    Fault(
        id=f"change_cipher_spec-before_{cls.__name__}",
        fails="server",
        raises=UnexpectedMessage,
        site=STRAY_CCS,
        match=f"unexpected ChangeCipherSpec \\(while waiting: {state}\\)",
        tamper=_stray_ccs_before(cls),
        client=client,
        server=server,
    )
    for cls, state, client, server in [
        (ClientKeyExchangeECDHE, "ExpectClientKeyExchange", TLS12_CLIENT, {}),
        (Certificate12, "ExpectClientCertificate", client_cert_12, requiring_client_certificate),
        (CertificateVerify, "ExpectCertificateVerify", client_cert_12, requiring_client_certificate),
    ]
]


RESUMPTION_FAULTS = [  # the abbreviated handshake: the client's Finished proves it holds the session
    Injected(
        id="resumed12-bad_finished",
        fails="server",
        raises=DecryptError,
        site=FINISHED12,
        given=lambda: resuming12(
            client_tamper=replacing(Finished, lambda m: Finished(flipped(m.verify_data)))
        ),
        inject=resumed_client_flight,
    ),
    Injected(
        id="resumed12-certificate_for_finished",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSE_AT_HEADER,
        given=lambda: resuming12(client_tamper=replacing(Finished, lambda m: Certificate12(()))),
        inject=resumed_client_flight,
    ),
]


@faults(CLIENT_HELLO_FAULTS + CLIENT_FLIGHT_FAULTS + STRAY_CHANGE_CIPHER_SPEC + RESUMPTION_FAULTS)
def test_server12_refuses(fault: Fault | Injected) -> None:
    fault.check()
