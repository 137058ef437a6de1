"""Hypothesis strategies: one per extension form and per handshake message, all producing values that
a strict decoder accepts (lower bounds respected, no duplicate extension types, pre_shared_key last).

``EXTENSION_STRATEGIES`` and ``MESSAGE_STRATEGIES`` (TLS 1.3 forms) and ``MESSAGE12_STRATEGIES`` (TLS 1.2
forms) map each class to its strategy, so property tests can be parametrized over every class;
``decode_args12(msg)`` gives the ``version`` and ``key_exchange`` a TLS 1.2 form decodes with.
"""

from __future__ import annotations

from typing import Any, TypeVar

from hypothesis import strategies as st

from tlslens.wire.alert import Alert
from tlslens.wire.enums import (
    AlertDescription,
    AlertLevel,
    CertificateCompressionAlgorithm,
    CertificateStatusType,
    CipherSuite,
    ClientCertificateType,
    CompressionMethod,
    ECPointFormat,
    ExtensionType,
    HandshakeType,
    HeartbeatMode,
    KeyUpdateRequest,
    NamedGroup,
    NameType,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    EXTENSION_FORMS,
    CertificateAuthorities,
    CertificateStatus,
    CompressCertificate,
    Cookie,
    EarlyData,
    EarlyDataNewSessionTicket,
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    Extension,
    Heartbeat,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    OCSPStatusRequest,
    OtherServerName,
    Padding,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskIdentity,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    ServerNameEmpty,
    SessionTicket,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SignedCertificateTimestampEmpty,
    SignedCertificateTimestampList,
    StatusRequest,
    StatusRequestEmpty,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlslens.wire.messages import (
    HRR_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeMessage,
    KeyUpdate,
    MessageHash,
    NewSessionTicket,
    ServerHello,
)
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    CertificateStatusMessage,
    ClientKeyExchangeDHE,
    ClientKeyExchangeECDHE,
    ClientKeyExchangeRSA,
    DigitallySigned,
    HelloRequest,
    NewSessionTicket12,
    ServerDHParams,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlslens.wire.suite_info import KeyExchange

T = TypeVar("T")

# --- building blocks ---------------------------------------------------------------------------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


def blob(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=min_size, max_size=max_size)


def tuples(
    elements: st.SearchStrategy[T], min_size: int = 0, max_size: int = 5
) -> st.SearchStrategy[tuple[T, ...]]:
    return st.lists(elements, min_size=min_size, max_size=max_size).map(tuple)


# Open enums: known members and arbitrary (unknown, GREASE) values alike.
named_groups = u16.map(NamedGroup)
signature_schemes = u16.map(SignatureScheme)
cipher_suites = u16.map(CipherSuite)
protocol_versions = u16.map(ProtocolVersion)
host_names = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30)

# --- extensions --------------------------------------------------------------------------------------

key_share_entries = st.builds(KeyShareEntry, named_groups, blob(1, 70))
psk_identities = st.builds(PskIdentity, blob(1, 40), u32)
other_server_names = st.builds(OtherServerName, st.integers(1, 0xFF).map(NameType), blob(0, 20))

EXTENSION_STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    ServerName: st.builds(ServerName, tuples(st.one_of(host_names, other_server_names), 1, 4)),
    ServerNameEmpty: st.just(ServerNameEmpty()),
    StatusRequest: st.one_of(
        st.builds(
            StatusRequest,
            st.just(CertificateStatusType.OCSP),
            st.builds(OCSPStatusRequest, tuples(blob(1, 20)), blob(0, 20)),
        ),
        st.builds(StatusRequest, st.integers(2, 0xFF).map(CertificateStatusType), blob()),
    ),
    StatusRequestEmpty: st.just(StatusRequestEmpty()),
    CertificateStatus: st.one_of(
        st.builds(CertificateStatus, st.just(CertificateStatusType.OCSP), blob(1, 60)),
        st.builds(CertificateStatus, st.integers(2, 0xFF).map(CertificateStatusType), blob()),
    ),
    SupportedGroups: st.builds(SupportedGroups, tuples(named_groups, 1, 8)),
    ECPointFormats: st.builds(ECPointFormats, tuples(u8.map(ECPointFormat), 1, 3)),
    SignatureAlgorithms: st.builds(SignatureAlgorithms, tuples(signature_schemes, 1, 8)),
    SignatureAlgorithmsCert: st.builds(SignatureAlgorithmsCert, tuples(signature_schemes, 1, 8)),
    ALPN: st.builds(ALPN, tuples(blob(1, 12), 1, 4)),
    SignedCertificateTimestampEmpty: st.just(SignedCertificateTimestampEmpty()),
    SignedCertificateTimestampList: st.builds(SignedCertificateTimestampList, tuples(blob(1, 30), 1, 3)),
    Padding: st.builds(Padding, st.integers(0, 300)),
    ExtendedMasterSecret: st.just(ExtendedMasterSecret()),
    EncryptThenMac: st.just(EncryptThenMac()),
    CompressCertificate: st.builds(
        CompressCertificate, tuples(u16.map(CertificateCompressionAlgorithm), 1, 4)
    ),
    RecordSizeLimit: st.builds(RecordSizeLimit, u16),
    SessionTicket: st.builds(SessionTicket, blob()),
    PreSharedKeyClientHello: st.integers(1, 3).flatmap(
        lambda n: st.builds(
            PreSharedKeyClientHello,
            tuples(psk_identities, n, n),
            tuples(blob(32, 48), n, n),
        )
    ),
    PreSharedKeyServerHello: st.builds(PreSharedKeyServerHello, u16),
    EarlyData: st.just(EarlyData()),
    EarlyDataNewSessionTicket: st.builds(EarlyDataNewSessionTicket, u32),
    SupportedVersionsClientHello: st.builds(SupportedVersionsClientHello, tuples(protocol_versions, 1, 6)),
    SupportedVersionsServerHello: st.builds(SupportedVersionsServerHello, protocol_versions),
    Cookie: st.builds(Cookie, blob(1, 60)),
    PskKeyExchangeModes: st.builds(PskKeyExchangeModes, tuples(u8.map(PskKeyExchangeMode), 1, 3)),
    CertificateAuthorities: st.builds(CertificateAuthorities, tuples(blob(1, 40), 1, 3)),
    PostHandshakeAuth: st.just(PostHandshakeAuth()),
    KeyShareClientHello: st.builds(KeyShareClientHello, tuples(key_share_entries, 0, 3)),
    KeyShareServerHello: st.builds(KeyShareServerHello, key_share_entries),
    KeyShareHelloRetryRequest: st.builds(KeyShareHelloRetryRequest, named_groups),
    RenegotiationInfo: st.builds(RenegotiationInfo, blob(0, 36)),
    Heartbeat: st.builds(Heartbeat, u8.map(HeartbeatMode)),
}


def unknown_extensions(context: HandshakeType) -> st.SearchStrategy[UnknownExtension]:
    """Extensions the context has no form for (GREASE, unassigned, or known elsewhere)."""
    modelled = {int(t) for t in EXTENSION_FORMS.get(context, {})}
    grease = st.integers(0, 15).map(lambda i: (i << 12) | 0x0A00 | (i << 4) | 0x0A)
    types = st.one_of(grease, u16).filter(lambda t: t not in modelled)
    return st.builds(UnknownExtension, types.map(ExtensionType), blob())


def extension_lists(context: HandshakeType, *, min_size: int = 0) -> st.SearchStrategy[tuple[Extension, ...]]:
    """An extension list a strict decoder accepts in ``context``: unique types; in a ClientHello, a
    pre_shared_key (if any) goes last."""
    forms = [EXTENSION_STRATEGIES[cls] for cls in EXTENSION_FORMS.get(context, {}).values()]
    one = st.one_of(*forms, unknown_extensions(context)) if forms else unknown_extensions(context)

    def order(exts: list[Extension]) -> tuple[Extension, ...]:
        if context == HandshakeType.CLIENT_HELLO:
            exts.sort(key=lambda e: e.ext_type == ExtensionType.PRE_SHARED_KEY)
        return tuple(exts)

    return st.lists(one, min_size=min_size, max_size=6, unique_by=lambda e: int(e.ext_type)).map(order)


# --- messages ----------------------------------------------------------------------------------------

randoms = blob(32, 32)
session_ids = blob(0, 32)

client_hellos = st.builds(
    ClientHello,
    protocol_versions,
    randoms,
    session_ids,
    tuples(cipher_suites, 1, 8),
    tuples(u8.map(CompressionMethod), 1, 3),
    st.one_of(st.none(), extension_lists(HandshakeType.CLIENT_HELLO)),
)

server_hellos = st.one_of(
    st.builds(
        ServerHello,
        protocol_versions,
        randoms.filter(lambda r: r != HRR_RANDOM),
        session_ids,
        cipher_suites,
        u8.map(CompressionMethod),
        st.one_of(st.none(), extension_lists(HandshakeType.SERVER_HELLO)),
    ),
    st.builds(
        ServerHello,
        st.just(ProtocolVersion.TLS1_2),
        st.just(HRR_RANDOM),
        session_ids,
        cipher_suites,
        st.just(CompressionMethod.NULL),
        extension_lists(HandshakeType.HELLO_RETRY_REQUEST),
    ),
)

certificate_entries = st.builds(CertificateEntry, blob(1, 100), extension_lists(HandshakeType.CERTIFICATE))

MESSAGE_STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    ClientHello: client_hellos,
    ServerHello: server_hellos,
    EncryptedExtensions: st.builds(EncryptedExtensions, extension_lists(HandshakeType.ENCRYPTED_EXTENSIONS)),
    CertificateRequest: st.builds(
        CertificateRequest, blob(0, 20), extension_lists(HandshakeType.CERTIFICATE_REQUEST, min_size=1)
    ),
    Certificate: st.builds(Certificate, blob(0, 20), tuples(certificate_entries, 0, 3)),
    CertificateVerify: st.builds(CertificateVerify, signature_schemes, blob(0, 100)),
    Finished: st.builds(Finished, blob(0, 64)),
    NewSessionTicket: st.builds(
        NewSessionTicket,
        u32,
        u32,
        blob(0, 16),
        blob(1, 80),
        extension_lists(HandshakeType.NEW_SESSION_TICKET),
    ),
    EndOfEarlyData: st.just(EndOfEarlyData()),
    KeyUpdate: st.sampled_from(KeyUpdateRequest).map(KeyUpdate),
    MessageHash: st.builds(MessageHash, blob(0, 64)),
}

handshake_messages: st.SearchStrategy[HandshakeMessage] = st.one_of(*MESSAGE_STRATEGIES.values())

# --- TLS 1.2 forms -----------------------------------------------------------------------------------

digitally_signed = st.one_of(
    st.builds(DigitallySigned, signature_schemes, blob(0, 80)),  # TLS 1.2
    st.builds(DigitallySigned, st.none(), blob(0, 80)),  # TLS 1.0 / 1.1: no algorithm field
)
ecdh_params = st.builds(ServerECDHParams, named_groups, blob(1, 97))
dh_params = st.builds(ServerDHParams, blob(1, 64), blob(1, 4), blob(1, 64))

MESSAGE12_STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    ClientHello: client_hellos,
    ServerHello: server_hellos,
    HelloRequest: st.just(HelloRequest()),
    Certificate12: st.builds(Certificate12, tuples(blob(1, 100), 0, 4)),
    CertificateStatusMessage: st.one_of(
        st.builds(CertificateStatusMessage, st.just(CertificateStatusType.OCSP), blob(1, 60)),
        st.builds(CertificateStatusMessage, st.integers(2, 0xFF).map(CertificateStatusType), blob()),
    ),
    ServerKeyExchange: st.builds(
        ServerKeyExchange, st.one_of(ecdh_params, dh_params), st.one_of(st.none(), digitally_signed)
    ),
    CertificateRequest12: st.builds(
        CertificateRequest12,
        tuples(u8.map(ClientCertificateType), 1, 4),
        st.one_of(st.none(), tuples(signature_schemes, 1, 8)),
        tuples(blob(1, 40), 0, 3),
    ),
    ServerHelloDone: st.just(ServerHelloDone()),
    CertificateVerify: st.builds(CertificateVerify, signature_schemes, blob(0, 100)),
    ClientKeyExchangeECDHE: st.builds(ClientKeyExchangeECDHE, blob(1, 133)),
    ClientKeyExchangeDHE: st.builds(ClientKeyExchangeDHE, blob(1, 64)),
    ClientKeyExchangeRSA: st.builds(ClientKeyExchangeRSA, blob(0, 64), st.booleans()),
    NewSessionTicket12: st.builds(NewSessionTicket12, u32, blob(0, 80)),
    Finished: st.builds(Finished, blob(12, 12)),
}


def decode_args12(msg: Any) -> tuple[ProtocolVersion, KeyExchange | None]:
    """The ``version`` and ``key_exchange`` that decode ``msg``'s TLS 1.2-era form."""
    version = ProtocolVersion.TLS1_2
    if isinstance(msg, ServerKeyExchange):
        if msg.signed is not None and msg.signed.algorithm is None:
            version = ProtocolVersion.TLS1_0
        dhe = isinstance(msg.params, ServerDHParams)
        return version, KeyExchange.DHE if dhe else KeyExchange.ECDHE
    if isinstance(msg, CertificateRequest12) and msg.supported_signature_algorithms is None:
        return ProtocolVersion.TLS1_1, None
    if isinstance(msg, ClientKeyExchangeRSA):
        return (ProtocolVersion.SSL3 if msg.ssl3 else version), KeyExchange.RSA
    if isinstance(msg, ClientKeyExchangeDHE):
        return version, KeyExchange.DHE
    if isinstance(msg, ClientKeyExchangeECDHE):
        return version, KeyExchange.ECDHE
    return version, None


alerts = st.builds(Alert, u8.map(AlertLevel), u8.map(AlertDescription))
