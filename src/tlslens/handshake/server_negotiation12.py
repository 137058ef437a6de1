"""What a server picks from a TLS 1.2 ClientHello, and why (RFC 5246 §7.4.1, RFC 8422, RFC 7627, RFC 5746).

Only the modern suites: ECDHE with an AEAD, signed with ECDSA or RSA (PKCS#1 v1.5 with SHA-2, or PSS).
The suite is chosen in ``ServerConfig.cipher_preference`` order among those for which we hold a fitting
certificate and share a signature scheme; the curve in the server's order. A client that offers none of
these (static RSA only, CBC only, no usable curve, SHA-1 signatures only) gets handshake_failure, with a
message naming both sides' lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from tlslens.config import CertifiedKey, ServerConfig
from tlslens.crypto.suites12 import TLS12_SUITES, Tls12Suite
from tlslens.errors import HandshakeFailure, IllegalParameter
from tlslens.handshake.server_negotiation import choose_alpn, names, server_name_of
from tlslens.output import Output
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
    ExtendedMasterSecret,
    RecordSizeLimit,
    RenegotiationInfo,
    SessionTicket,
    SignatureAlgorithms,
    SupportedGroups,
)
from tlslens.wire.hello import ClientHello
from tlslens.wire.suite_info import Authentication

_TLS1_2 = ProtocolVersion.TLS1_2


@dataclass(frozen=True, slots=True)
class Negotiated12:
    suite: Tls12Suite
    group: NamedGroup
    certificate: CertifiedKey
    scheme: SignatureScheme
    alpn_protocol: bytes | None
    server_name: str | None
    sni_used: bool
    extended_master_secret: bool
    secure_renegotiation: bool  # the client sent renegotiation_info or the SCSV
    point_formats: bool  # the client sent ec_point_formats (we answer with ours)
    ticket: SessionTicket | None  # the client's session_ticket extension (its ticket, or empty)
    peer_record_size_limit: int | None


def negotiate12(config: ServerConfig, ch: ClientHello, out: Output) -> Negotiated12:
    if CompressionMethod.NULL not in ch.legacy_compression_methods:
        raise IllegalParameter("ClientHello does not offer the null compression method")
    # 1. Secure renegotiation (RFC 5746 §3.6): an initial handshake carries an empty renegotiation_info.
    ri = ch.extension(RenegotiationInfo)
    if ri is not None and ri.renegotiated_connection:
        raise HandshakeFailure("client sent a non-empty renegotiation_info on an initial handshake")
    secure = ri is not None or CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV in ch.cipher_suites
    # 2. What the client can verify: signature_algorithms (RFC 5246 §7.4.1.4.1: without it, SHA-1).
    sa = ch.extension(SignatureAlgorithms)
    if sa is None:
        raise HandshakeFailure(
            "client sent no signature_algorithms, so TLS 1.2 assumes SHA-1 signatures, which tlslens refuses"
        )
    client_schemes = sa.supported_signature_algorithms
    # 3. The curve (RFC 8422 §5.1): the server's order among the client's; secp256r1 if it names none.
    sg = ch.extension(SupportedGroups)
    client_groups = sg.named_group_list if sg is not None else (NamedGroup.SECP256R1,)
    ours = config.tls12_groups
    group = next((g for g in ours if g in client_groups), None)
    if group is None:
        raise HandshakeFailure(
            f"no ECDHE curve in common: client supports {names(client_groups)}; server accepts {names(ours)}"
        )
    points = ch.extension(ECPointFormats)
    if points is not None and ECPointFormat.UNCOMPRESSED not in points.ec_point_format_list:
        raise IllegalParameter("client's ec_point_formats lacks the uncompressed format (RFC 8422 §5.1.2)")
    # 4. Suite, certificate and signature scheme together: the suite says which key signs.
    server_name = server_name_of(ch)
    suite, certified, scheme = _choose_suite(config, ch, server_name, client_schemes, client_groups)
    sni_used = server_name is not None and certified.matches_name(server_name)
    if out.tracing:
        order = "client's" if config.cipher_preference == "client" else "server"
        out.decide("cipher_suite", f"chose {suite.name}: first in {order} preference that both allow")
        out.decide("group", f"chose {group.iana_name} for ECDHE: first in server preference")
        subject = certified.chain[0].subject.rfc4514_string()
        why = f"its names match {server_name}" if sni_used else "the default certificate"
        out.decide(
            "certificate", f"presenting {subject} ({why}); signing ServerKeyExchange with {scheme.iana_name}"
        )
    # 5. ALPN, EMS, tickets, record_size_limit.
    alpn_protocol = choose_alpn(config, ch, out)
    ems = ch.extension(ExtendedMasterSecret) is not None
    rsl = ch.extension(RecordSizeLimit)
    if rsl is not None and rsl.record_size_limit < 64:
        raise IllegalParameter(f"record_size_limit {rsl.record_size_limit} is below 64")
    return Negotiated12(
        suite=suite,
        group=group,
        certificate=certified,
        scheme=scheme,
        alpn_protocol=alpn_protocol,
        server_name=server_name,
        sni_used=sni_used,
        extended_master_secret=ems,
        secure_renegotiation=secure,
        point_formats=points is not None,
        ticket=ch.extension(SessionTicket),
        peer_record_size_limit=rsl.record_size_limit if rsl is not None else None,
    )


def _choose_suite(
    config: ServerConfig,
    ch: ClientHello,
    server_name: str | None,
    client_schemes: tuple[SignatureScheme, ...],
    client_groups: tuple[NamedGroup, ...],
) -> tuple[Tls12Suite, CertifiedKey, SignatureScheme]:
    ours = config.tls12_suites
    if config.cipher_preference == "client":
        candidates = [c for c in ch.cipher_suites if c in ours]
    else:
        candidates = [c for c in ours if c in ch.cipher_suites]
    if not candidates:
        raise HandshakeFailure(
            f"no cipher suite in common: client offers {names(ch.cipher_suites)};"
            f" server accepts {names(ours)} (ECDHE with AES-GCM or ChaCha20-Poly1305 only)"
        )
    allowed = config.schemes_for(_TLS1_2)
    certificates = list(config.certified_keys)
    if server_name is not None:  # (a certificate for the name the client asked for wins, as in TLS 1.3)
        matching = [c for c in certificates if c.matches_name(server_name)]
        certificates = matching + [c for c in certificates if c not in matching]
    for certified in certificates:
        schemes = [s for s in certified.signer.schemes_for(_TLS1_2) if s in client_schemes and s in allowed]
        if not schemes:
            continue
        for code in candidates:
            suite = TLS12_SUITES[code]
            if _key_fits(certified, suite.authentication, client_groups):
                return suite, certified, schemes[0]
    raise HandshakeFailure(
        f"no usable suite: the client offers {names(candidates)} and accepts signatures"
        f" {names(client_schemes)}, which none of our certificates can give for those suites"
    )


def _key_fits(
    certified: CertifiedKey, authentication: Authentication, client_groups: tuple[NamedGroup, ...]
) -> bool:
    """The certificate's key signs for the suite; an ECDSA key's curve is one the client supports
    (RFC 8422 §5.1: supported_groups covers the certificate's curve too)."""
    key = certified.chain[0].public_key()
    if authentication == Authentication.ECDSA:  # (EdDSA signs ECDHE_ECDSA suites too: RFC 8422 §5.1.3)
        if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            return True
        return isinstance(key, ec.EllipticCurvePublicKey) and _CURVES.get(key.curve.name) in client_groups
    return isinstance(key, rsa.RSAPublicKey)


_CURVES = {
    "secp256r1": NamedGroup.SECP256R1,
    "secp384r1": NamedGroup.SECP384R1,
    "secp521r1": NamedGroup.SECP521R1,
}
