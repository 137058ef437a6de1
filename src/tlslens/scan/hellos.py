"""ClientHellos a scanner sends: any version from SSL 3.0 to TLS 1.3, any suite and group list.

Pure: ``HelloSpec`` says what to offer, ``encode_hello(spec)`` gives the record bytes to send. Nothing
here needs a key: TLS 1.3 hellos carry key shares made once per process (public halves only are
used; the scanner never completes these handshakes), or none at all, which asks the server for a
HelloRetryRequest naming the group it wants (RFC 8446 §4.2.8: ``client_shares`` MAY be empty).

``encode_sslv2_hello()`` is the SSL 2.0 CLIENT-HELLO (draft-hickman-netscape-ssl-00 §B), for the cheap
"does it still speak SSL 2.0" probe.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from tlslens.crypto.groups import generate_key_share
from tlslens.record.deframer import encode_plaintext
from tlslens.wire.enums import (
    CertificateStatusType,
    CipherSuite,
    CompressionMethod,
    ECPointFormat,
    HeartbeatMode,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    ECPointFormats,
    ExtendedMasterSecret,
    Extension,
    Heartbeat,
    KeyShareClientHello,
    KeyShareEntry,
    OCSPStatusRequest,
    PskKeyExchangeModes,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SignedCertificateTimestampEmpty,
    StatusRequest,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import encode_handshake

__all__ = [
    "SSL3",
    "TLS10",
    "TLS11",
    "TLS12",
    "TLS13",
    "HelloSpec",
    "encode_hello",
    "encode_sslv2_hello",
]

SSL3 = ProtocolVersion.SSL3
TLS10 = ProtocolVersion.TLS1_0
TLS11 = ProtocolVersion.TLS1_1
TLS12 = ProtocolVersion.TLS1_2
TLS13 = ProtocolVersion.TLS1_3

S = SignatureScheme
#: Every signature scheme a TLS 1.2 or 1.3 server may want, strongest first (SHA-1 last, so a server
#: that can sign with something better does).
SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = (
    S.ECDSA_SECP256R1_SHA256,
    S.ECDSA_SECP384R1_SHA384,
    S.ECDSA_SECP521R1_SHA512,
    S.ED25519,
    S.ED448,
    S.RSA_PSS_RSAE_SHA256,
    S.RSA_PSS_RSAE_SHA384,
    S.RSA_PSS_RSAE_SHA512,
    S.RSA_PSS_PSS_SHA256,
    S.RSA_PSS_PSS_SHA384,
    S.RSA_PSS_PSS_SHA512,
    S.RSA_PKCS1_SHA256,
    S.RSA_PKCS1_SHA384,
    S.RSA_PKCS1_SHA512,
    S.ECDSA_SHA224,
    S.RSA_PKCS1_SHA224,
    S(0x0402),  # dsa_sha256 (RFC 5246 §7.4.1.4.1 pair form)
    S.ECDSA_SHA1,
    S.RSA_PKCS1_SHA1,
    S(0x0202),  # dsa_sha1
)

G = NamedGroup
#: Groups for ECDHE in TLS 1.2 and older (RFC 8422): what a TLS 1.2 ClientHello offers. FFDHE groups
#: are left out on purpose: a server that implements RFC 7919 would then refuse its DHE suites with a
#: custom prime instead of showing them.
ECDHE_GROUPS: tuple[NamedGroup, ...] = (
    G.X25519,
    G.SECP256R1,
    G.SECP384R1,
    G.SECP521R1,
    G.X448,
    G.BRAINPOOLP256R1,
    G.BRAINPOOLP384R1,
    G.BRAINPOOLP512R1,
    G.SECP224R1,
    G.SECP192R1,
    G.SECT163K1,
)
#: Every group a TLS 1.3 server might choose: hybrids, ECDHE, FFDHE, pure ML-KEM.
TLS13_GROUPS: tuple[NamedGroup, ...] = (
    G.X25519MLKEM768,
    G.SECP256R1MLKEM768,
    G.SECP384R1MLKEM1024,
    G.X25519KYBER768DRAFT00,
    G.X25519,
    G.SECP256R1,
    G.SECP384R1,
    G.SECP521R1,
    G.X448,
    G.BRAINPOOLP256R1TLS13,
    G.BRAINPOOLP384R1TLS13,
    G.BRAINPOOLP512R1TLS13,
    G.FFDHE2048,
    G.FFDHE3072,
    G.FFDHE4096,
    G.FFDHE6144,
    G.FFDHE8192,
    G.MLKEM512,
    G.MLKEM768,
    G.MLKEM1024,
)
#: Key shares a TLS 1.3 probe sends by default (cheap, and what nearly every server accepts).
DEFAULT_KEY_SHARES: tuple[NamedGroup, ...] = (G.X25519, G.SECP256R1)

_SCSV = CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV


@dataclass(frozen=True, slots=True, kw_only=True)
class HelloSpec:
    """What one ClientHello offers.

    ``version`` is the highest version offered: TLS 1.3 adds supported_versions (``versions``, default
    TLS 1.3 alone) and key shares; older versions go in ``legacy_version`` the way pre-1.3 clients do.
    ``cipher_suites`` are offered in the given order (SCSVs are added by the flags, not listed here).
    """

    version: ProtocolVersion
    cipher_suites: tuple[int, ...]
    server_name: str | None = None
    groups: tuple[NamedGroup, ...] = ECDHE_GROUPS
    key_shares: tuple[NamedGroup, ...] = DEFAULT_KEY_SHARES
    versions: tuple[int, ...] | None = None
    """supported_versions to send (TLS 1.3 hellos); None = (TLS 1.3,)."""
    legacy_version: int | None = None
    """Overrides ClientHello.legacy_version (version-intolerance probes)."""
    signature_schemes: tuple[SignatureScheme, ...] = SIGNATURE_SCHEMES
    alpn: tuple[bytes, ...] = ()
    compression: bool = False
    """Offer DEFLATE before NULL (TLS compression, CRIME)."""
    fallback_scsv: bool = False
    """Add TLS_FALLBACK_SCSV (RFC 7507): a server that supports a higher version must refuse."""
    heartbeat: bool = True
    status_request: bool = True
    session_ticket: bool = True
    extensions: bool = True
    """False: no extensions block at all (SSL 3.0 hellos; renegotiation SCSV instead)."""
    random: bytes = field(default_factory=lambda: os.urandom(32), repr=False, compare=False)


@functools.cache
def _key_share(group: NamedGroup) -> bytes:
    """A public key share for ``group``, made once per process: probes never use the private half."""
    return generate_key_share(group).public_bytes


def _tls12_extensions(spec: HelloSpec) -> list[Extension]:
    exts: list[Extension] = []
    ecc = [g for g in spec.groups if g < 256]  # RFC 8422 curves (x25519 and x448 included)
    if spec.groups:
        exts.append(SupportedGroups(spec.groups))
    if ecc:
        exts.append(ECPointFormats((ECPointFormat.UNCOMPRESSED,)))
    if spec.version >= TLS12 and spec.signature_schemes:
        exts.append(SignatureAlgorithms(spec.signature_schemes))
    exts.append(RenegotiationInfo(b""))
    exts.append(ExtendedMasterSecret())
    if spec.session_ticket:
        exts.append(SessionTicket(b""))
    if spec.status_request:
        exts.append(StatusRequest(CertificateStatusType.OCSP, OCSPStatusRequest()))
        exts.append(SignedCertificateTimestampEmpty())
    if spec.heartbeat:
        exts.append(Heartbeat(HeartbeatMode.PEER_ALLOWED_TO_SEND))
    if spec.alpn:
        exts.append(ALPN(spec.alpn))
    return exts


def client_hello(spec: HelloSpec) -> ClientHello:
    """The ClientHello message ``spec`` describes."""
    suites = list(spec.cipher_suites)
    if spec.fallback_scsv:
        suites.append(CipherSuite.TLS_FALLBACK_SCSV)
    exts: list[Extension] | None = None
    if spec.extensions:
        exts = []
        if spec.server_name is not None:
            exts.append(ServerName((spec.server_name,)))
        exts += _tls12_extensions(spec)
        if spec.version >= TLS13:
            versions = spec.versions if spec.versions is not None else (TLS13,)
            shares = tuple(KeyShareEntry(g, _key_share(g)) for g in spec.key_shares)
            exts += [
                SupportedVersionsClientHello(ProtocolVersion.tuple_of(versions)),
                KeyShareClientHello(shares),
                PskKeyExchangeModes((PskKeyExchangeMode.PSK_DHE_KE,)),
            ]
    else:
        suites.append(_SCSV)
    if spec.legacy_version is not None:
        legacy = ProtocolVersion(spec.legacy_version)
    else:
        legacy = min(spec.version, TLS12)
    methods = (
        (CompressionMethod.DEFLATE, CompressionMethod.NULL) if spec.compression else (CompressionMethod.NULL,)
    )
    return ClientHello(
        legacy_version=legacy,
        random=spec.random,
        # TLS 1.3 middlebox compatibility mode (RFC 8446 §D.4) looks like a resumption attempt to old
        # servers; a fresh 32-byte id costs nothing and is what browsers send.
        legacy_session_id=os.urandom(32) if spec.version >= TLS13 else b"",
        cipher_suites=CipherSuite.tuple_of(suites),
        legacy_compression_methods=methods,
        extensions=None if exts is None else tuple(exts),
    )


def encode_hello(spec: HelloSpec) -> bytes:
    """The record(s) carrying ``spec``'s ClientHello: record version 0x0300 for SSL 3.0, else 0x0301
    (what deployed clients send on a first hello, so version-intolerant servers still answer)."""
    raw = encode_handshake(client_hello(spec))
    record_version = 0x0300 if spec.version == SSL3 else 0x0301
    return encode_plaintext(22, raw, legacy_version=record_version)


# --- SSL 2.0 ---------------------------------------------------------------------------------------

#: SSL 2.0 cipher kinds (3 bytes each): RC4-MD5, RC4-EXPORT40, RC2-CBC, RC2-EXPORT40, IDEA, DES-64,
#: DES-192-EDE3.
SSL2_CIPHER_KINDS: tuple[int, ...] = (0x010080, 0x020080, 0x030080, 0x040080, 0x050080, 0x060040, 0x0700C0)


def encode_sslv2_hello() -> bytes:
    """An SSL 2.0 CLIENT-HELLO in a two-byte-header record: msg type 1, version 0x0002, the cipher
    kinds, no session id, a 16-byte challenge."""
    specs = b"".join(k.to_bytes(3, "big") for k in SSL2_CIPHER_KINDS)
    challenge = os.urandom(16)
    body = (
        b"\x01\x00\x02"
        + len(specs).to_bytes(2, "big")
        + (0).to_bytes(2, "big")
        + len(challenge).to_bytes(2, "big")
        + specs
        + challenge
    )
    return (0x8000 | len(body)).to_bytes(2, "big") + body
