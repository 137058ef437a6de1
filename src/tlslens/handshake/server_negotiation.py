"""What a server picks from a ClientHello, and why: the version (TLS 1.3 or TLS 1.2, RFC 8446 §4.2.1,
RFC 7507), then for TLS 1.3 everything else (RFC 8446 §4.1.1, §4.2); TLS 1.2's choices are in
``server_negotiation12.py``.

Everything is chosen by the server's own preference among what the client offers. A ClientHello that
breaks the rules gets the alert the RFC names; one that shares nothing with us gets handshake_failure
(or protocol_version / no_application_protocol), with a message naming both sides' lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tlslens.config import CertifiedKey, ServerConfig
from tlslens.crypto.groups import SHARE_LENGTHS
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.errors import (
    HandshakeFailure,
    IllegalParameter,
    InappropriateFallback,
    MissingExtension,
    NoApplicationProtocol,
    ProtocolVersionMismatch,
)
from tlslens.output import Output
from tlslens.wire.enums import CipherSuite, CompressionMethod, NamedGroup, ProtocolVersion, SignatureScheme
from tlslens.wire.extensions import (
    ALPN,
    KeyShareClientHello,
    PostHandshakeAuth,
    RecordSizeLimit,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlslens.wire.hello import ClientHello


@dataclass(frozen=True, slots=True)
class Negotiated:
    suite: Tls13Suite
    group: NamedGroup
    client_share: bytes | None  # None: the client sent no share for ``group`` → HelloRetryRequest
    client_share_groups: tuple[NamedGroup, ...]
    certificate: CertifiedKey | None  # None: a PSK-only server (config.psk_lookup, no certificates)
    scheme: SignatureScheme | None
    alpn_protocol: bytes | None
    server_name: str | None
    sni_used: bool
    peer_record_size_limit: int | None
    post_handshake_auth: bool = False  # the client offered post_handshake_auth (RFC 8446 §4.2.6)


def names(items: Iterable[object]) -> str:
    return ", ".join(getattr(i, "iana_name", getattr(i, "name", str(i))) for i in items) or "nothing"


_names = names
_LEGACY = (ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_0, ProtocolVersion.SSL3)


def choose_version(config: ServerConfig, ch: ClientHello, out: Output) -> ProtocolVersion:
    """The newest version both speak: from supported_versions (RFC 8446 §4.2.1), else legacy_version
    (a TLS 1.2 client). TLS_FALLBACK_SCSV from a client whose best is below ours is refused (RFC 7507).
    RFC 8446 Appendix D.5: a legacy_version of 0x0300 (SSL 3.0) or less aborts the handshake, whatever
    supported_versions offers."""
    if ch.legacy_version <= ProtocolVersion.SSL3:
        raise ProtocolVersionMismatch(
            f"ClientHello.legacy_version is 0x{ch.legacy_version:04x}: 0x0300 or lower is refused"
        )
    sv = ch.extension(SupportedVersionsClientHello)
    if sv is not None:
        offered = tuple(v for v in sv.versions if v.known)
    else:
        offered = tuple(v for v in _LEGACY if v <= ch.legacy_version)
    ours = config.enabled_versions
    chosen = next((v for v in ours if v in offered), None)
    if chosen is None:
        client = ", ".join(v.label for v in offered) or ProtocolVersion(ch.legacy_version).label
        raise ProtocolVersionMismatch(
            f"client offers {client}; this server speaks {', '.join(v.label for v in ours)}"
        )
    if CipherSuite.TLS_FALLBACK_SCSV in ch.cipher_suites and offered and max(offered) < ours[0]:
        raise InappropriateFallback(
            f"client signals a fallback (TLS_FALLBACK_SCSV) to {max(offered).label}, but this server"
            f" speaks {ours[0].label}: a downgrade, refused (RFC 7507)"
        )
    if out.tracing:
        why = "the newest version both speak"
        if chosen != ours[0]:
            why = f"the client does not offer {ours[0].label}"
        out.decide("version", f"chose {chosen.label}: {why}")
    return chosen


def server_name_of(ch: ClientHello) -> str | None:
    sni = ch.extension(ServerName)
    return sni.host_names[0].lower() if sni is not None and sni.host_names else None


def choose_alpn(config: ServerConfig, ch: ClientHello, out: Output) -> bytes | None:
    """The first of our ALPN protocols the client offers (no_application_protocol when none)."""
    alpn = ch.extension(ALPN)
    if alpn is None or not config.alpn_protocols:
        return None
    ours = config.alpn_ids
    alpn_protocol = next((p for p in ours if p in alpn.protocol_name_list), None)
    if alpn_protocol is None:
        raise NoApplicationProtocol(
            f"no ALPN protocol in common: client offers {_alpn(alpn.protocol_name_list)};"
            f" server accepts {_alpn(ours)}"
        )
    if out.tracing:
        out.decide(
            "alpn", f"chose ALPN {alpn_protocol.decode('ascii', 'replace')}: first in server preference"
        )
    return alpn_protocol


def negotiate(config: ServerConfig, ch: ClientHello, out: Output) -> Negotiated:
    # 1. The version is TLS 1.3 (``choose_version``).
    if ch.legacy_compression_methods != (CompressionMethod.NULL,):
        raise IllegalParameter("a TLS 1.3 ClientHello must offer only the null compression method")
    # (pre_shared_key must come last: the strict extension decoder refuses it elsewhere.)
    # 2. Cipher suite.
    suites = config.tls13_suites
    if config.cipher_preference == "client":
        suite_code = next((s for s in ch.cipher_suites if s in suites), None)
    else:
        suite_code = next((s for s in suites if s in ch.cipher_suites), None)
    if suite_code is None:
        raise HandshakeFailure(
            f"no cipher suite in common: client offers {_names(ch.cipher_suites)};"
            f" server accepts {_names(suites)}"
        )
    suite = TLS13_SUITES[suite_code]
    if out.tracing:
        order = "client's" if config.cipher_preference == "client" else "server"
        out.decide("cipher_suite", f"chose {suite.name}: first in {order} preference that the client offered")
    # 3. Group and key share.
    sg, ks = ch.extension(SupportedGroups), ch.extension(KeyShareClientHello)
    if sg is None or ks is None:
        missing = "supported_groups" if sg is None else "key_share"
        raise MissingExtension(f"ClientHello has no {missing} (needed without a PSK)")
    # Groups we do not know are ignored, however many there are (RFC 8446 §4.2.7, §9.3): the lists are
    # bounded by the ClientHello's size, and every check here is linear in them.
    client_groups = sg.named_group_list
    client_group_set = frozenset(client_groups)
    share_groups = tuple(e.group for e in ks.client_shares)
    if len(set(share_groups)) != len(share_groups):
        raise IllegalParameter("two key shares for the same group")
    if not client_group_set.issuperset(share_groups):
        raise IllegalParameter("a key share for a group missing from supported_groups")
    for entry in ks.client_shares:  # RFC 8446 §4.2.8.2: each group fixes its share's length
        sizes = SHARE_LENGTHS.get(entry.group)
        if sizes is not None and len(entry.key_exchange) != sizes[0]:
            raise IllegalParameter(
                f"client {entry.group.iana_name} key share is {len(entry.key_exchange)} octets,"
                f" expected {sizes[0]}"
            )
    # A share the client already sent wins over a round trip: the first group in our preference among
    # those it sent shares for; a HelloRetryRequest (client_share None) only when no share fits, for our
    # first choice among the groups it supports (as OpenSSL, Go and rustls choose).
    groups = tuple(config.groups)
    common = [g for g in groups if g in client_group_set]
    if not common:
        raise HandshakeFailure(
            f"no group in common: client supports {_names(client_groups)}; server accepts {_names(groups)}"
        )
    shares = {e.group: e.key_exchange for e in ks.client_shares}
    group = next((g for g in common if g in shares), common[0])
    client_share = shares.get(group)
    if out.tracing and client_share is not None:
        if group is common[0]:
            why = "first in server preference; the client sent its key share"
        else:
            why = (
                f"the client sent its key share (the server prefers {common[0].iana_name},"
                " but a share in hand saves a HelloRetryRequest)"
            )
        out.decide("group", f"chose {group.iana_name}: {why}")
    # 4. Certificate and signature scheme (a PSK-only server has none: the PSK must authenticate it).
    server_name = server_name_of(ch)
    certificate, scheme, sni_used = None, None, False
    if config.certified_keys:
        sa = ch.extension(SignatureAlgorithms)
        if sa is None:
            raise MissingExtension("ClientHello has no signature_algorithms")
        certificate, scheme, sni_used = _choose_certificate(
            config, server_name, sa.supported_signature_algorithms
        )
    # 5. ALPN.
    alpn_protocol = choose_alpn(config, ch, out)
    # 6. record_size_limit (RFC 8449).
    rsl = ch.extension(RecordSizeLimit)
    if rsl is not None and rsl.record_size_limit < 64:
        raise IllegalParameter(f"record_size_limit {rsl.record_size_limit} is below 64")
    return Negotiated(
        suite=suite,
        group=group,
        client_share=client_share,
        client_share_groups=share_groups,
        certificate=certificate,
        scheme=scheme,
        alpn_protocol=alpn_protocol,
        server_name=server_name,
        sni_used=sni_used,
        peer_record_size_limit=rsl.record_size_limit if rsl is not None else None,
        post_handshake_auth=ch.extension(PostHandshakeAuth) is not None,
    )


def _alpn(protocols: tuple[bytes, ...]) -> str:
    return ", ".join(p.decode("ascii", "replace") for p in protocols) or "nothing"


def _choose_certificate(
    config: ServerConfig, server_name: str | None, client_schemes: tuple[SignatureScheme, ...]
) -> tuple[CertifiedKey, SignatureScheme, bool]:
    """A certificate whose names match the SNI (else the default), with a scheme the client accepts."""
    allowed = config.schemes_for(ProtocolVersion.TLS1_3)
    candidates = list(config.certified_keys)
    if server_name is not None:
        matching = [c for c in candidates if c.matches_name(server_name)]
        candidates = matching + [c for c in candidates if c not in matching]
    for certified in candidates:
        for scheme in certified.schemes:
            if scheme in client_schemes and scheme in allowed:
                return certified, scheme, server_name is not None and certified.matches_name(server_name)
    raise HandshakeFailure(
        f"no signature scheme in common: client accepts {_names(client_schemes)};"
        f" our certificates sign with {_names({s for c in config.certified_keys for s in c.schemes})}"
    )
