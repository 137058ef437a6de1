"""ClientConfig and ServerConfig: frozen, keyword-only, validated, shared by many connections.

Derive variants with ``dataclasses.replace``. Names may be given as IANA strings
(``"TLS_AES_128_GCM_SHA256"``, ``"x25519"``, ``"TLSv1.2"``) or enum members; they are normalised to enum
members. Secure by default: TLS 1.3 and TLS 1.2 (modern AEAD suites with ECDHE only), verification on,
the system trust store.

``cipher_suites`` holds the suites of both versions in one preference list (TLS 1.3's
``TLS_AES_...`` and TLS 1.2's ``TLS_ECDHE_...``); a version in ``versions`` none of whose suites is
listed is not offered (``enabled_versions``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from tlslens.compression import AVAILABLE as _COMPRESSION
from tlslens.compression import CompressionCache
from tlslens.compression import normalise as _compression_algorithms
from tlslens.config_auth import check_client_psks, check_server_auth
from tlslens.credentials import CertificateRequestInfo, ExternalPsk, PskLookup
from tlslens.crypto.ecdhe12 import TLS12_GROUPS
from tlslens.crypto.groups import SUPPORTED_GROUPS
from tlslens.crypto.provider import CryptoProvider, DefaultProvider
from tlslens.crypto.signatures import (
    TLS12_SIGNATURE_SCHEMES,
    KeySigner,
    Signer,
    handshake_schemes,
    is_rsa_pss_certificate,
    schemes_for_private_key,
)
from tlslens.crypto.suites import DEFAULT_CIPHER_SUITES, TLS13_SUITES
from tlslens.crypto.suites12 import TLS12_DEFAULT_CIPHER_SUITES, TLS12_SUITES
from tlslens.errors import ConfigurationError
from tlslens.parsed_certificates import ParsedCertificates
from tlslens.pki.ocsp import OcspStaple
from tlslens.session.cache import SessionCache
from tlslens.session.replay import MemoryReplayStore, ReplayStore
from tlslens.session.tickets import TicketKeyRing
from tlslens.verifier import CertificateVerifier, WebPkiVerifier
from tlslens.wire.enums import (
    CertificateCompressionAlgorithm,
    CipherSuite,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import CertificateEntry, EncryptedExtensions

KeyLogCallback = Callable[[str], None]
"""Receives one NSS key log line (without newline) per secret; see ``tlslens.keylog``."""

E = TypeVar("E", CipherSuite, NamedGroup, SignatureScheme)


def _group_by_name(name: str) -> NamedGroup:
    for g in NamedGroup:
        if g.iana_name.lower() == name.lower() or g.name.lower() == name.lower():
            return g
    raise KeyError(name)


def _by_name(enum: type[E], name: str) -> E:
    if enum is NamedGroup:
        return _group_by_name(name)  # type: ignore[return-value]
    return enum[name.upper()]


def _normalise(
    what: str, enum: type[E], values: Sequence[E | str | int], supported: Sequence[E]
) -> tuple[E, ...]:
    out: list[E] = []
    for v in values:
        try:
            member = _by_name(enum, v) if isinstance(v, str) else enum(v)
        except (KeyError, ValueError):
            valid = ", ".join(_display(s) for s in supported)
            raise ConfigurationError(f"unknown {what} {v!r}; valid names: {valid}") from None
        if member not in supported:
            valid = ", ".join(_display(s) for s in supported)
            raise ConfigurationError(f"{what} {_display(member)} is not supported; valid names: {valid}")
        if member in out:
            raise ConfigurationError(f"{what} {_display(member)} is listed twice")
        out.append(member)
    if not out:
        raise ConfigurationError(f"at least one {what} is needed")
    return tuple(out)


def _display(member: CipherSuite | NamedGroup | SignatureScheme) -> str:
    return member.iana_name if isinstance(member, NamedGroup | SignatureScheme) else member.name


SUPPORTED_VERSIONS = (ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2)
_ALL_SUITES = (*TLS13_SUITES, *TLS12_SUITES)


def _versions(values: Sequence[ProtocolVersion | str | int]) -> tuple[ProtocolVersion, ...]:
    """Normalised to the supported versions, newest first (the order given does not matter)."""
    chosen = set()
    for v in values:
        if isinstance(v, str):
            found = [p for p in SUPPORTED_VERSIONS if v.lower() in (p.label.lower(), p.name.lower())]
            if not found:
                raise ConfigurationError(f"unknown protocol version {v!r}; valid names: TLSv1.3, TLSv1.2")
            chosen.add(found[0])
        elif v in SUPPORTED_VERSIONS:
            chosen.add(ProtocolVersion(v))
        else:
            raise ConfigurationError(f"protocol version {v!r} is not supported (TLSv1.3 and TLSv1.2 are)")
    if not chosen:
        raise ConfigurationError("at least one protocol version is needed")
    return tuple(p for p in SUPPORTED_VERSIONS if p in chosen)


def _alpn(protocols: Sequence[str | bytes]) -> tuple[bytes, ...]:
    out = []
    for p in protocols:
        b = p.encode("ascii") if isinstance(p, str) else bytes(p)
        if not 1 <= len(b) <= 255:
            raise ConfigurationError(f"ALPN protocol {p!r} must be 1 to 255 bytes")
        out.append(b)
    return tuple(out)


def _public_bytes(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class CertifiedKey:
    """A certificate chain (leaf first) with the key that signs for its leaf."""

    chain: tuple[x509.Certificate, ...]
    signer: Signer = field(repr=False)
    dns_names: tuple[str, ...] = ()
    entries: tuple[CertificateEntry, ...] = field(default=(), repr=False, compare=False)
    """The chain as a Certificate message carries it, encoded once (filled in when not given)."""
    compressed: CompressionCache = field(default_factory=CompressionCache, repr=False, compare=False)
    """The chain's Certificate message compressed (RFC 8879), once per algorithm."""
    staple: OcspStaple = field(default_factory=OcspStaple, repr=False, compare=False)
    """The OCSP response stapled for the leaf when a client asks (RFC 6066, RFC 8446 §4.4.2.1): set at
    start (``ocsp_response``), or kept fresh by ``tlslens.pki.ocsp_fetch.OcspRefresher``."""

    def __post_init__(self) -> None:
        if not self.entries:
            der = tuple(CertificateEntry(c.public_bytes(serialization.Encoding.DER)) for c in self.chain)
            object.__setattr__(self, "entries", der)

    @classmethod
    def from_key(
        cls,
        chain: Sequence[x509.Certificate],
        private_key: CertificateIssuerPrivateKeyTypes,
        *,
        ocsp_response: bytes | None = None,
    ) -> CertifiedKey:
        if not chain:
            raise ConfigurationError("a certificate chain needs at least the leaf certificate")
        if _public_bytes(private_key.public_key()) != _public_bytes(chain[0].public_key()):
            raise ConfigurationError("the private key does not match the leaf certificate's public key")
        # cryptography loads an RSASSA-PSS key as a plain RSA key: the certificate says which it is, and
        # such a key signs with rsa_pss_pss_* only (RFC 8446 §4.2.3).
        rsa_pss_key = is_rsa_pss_certificate(chain[0])
        if not schemes_for_private_key(private_key, rsa_pss_key=rsa_pss_key):
            raise ConfigurationError(f"no TLS 1.3 signature scheme fits a {type(private_key).__name__}")
        signer = KeySigner(private_key, rsa_pss_key=rsa_pss_key)
        try:
            staple = OcspStaple(ocsp_response)
        except ValueError as exc:
            raise ConfigurationError(f"ocsp_response is not a usable OCSP response: {exc}") from None
        return cls(tuple(chain), signer, _dns_names(chain[0]), staple=staple)

    @property
    def schemes(self) -> tuple[SignatureScheme, ...]:
        return tuple(self.signer.schemes)

    def matches_name(self, server_name: str) -> bool:
        name = server_name.lower().rstrip(".")
        for pattern in self.dns_names:
            if pattern == name:
                return True
            if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
                return True
        return False


def _dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName))


@dataclass(frozen=True, kw_only=True)
class _CommonConfig:
    # Typed as enums; IANA name strings are accepted too and normalised to enum members (a tuple).
    versions: Sequence[ProtocolVersion | str] = SUPPORTED_VERSIONS
    """TLS 1.3 and TLS 1.2 by default; ``("TLSv1.3",)`` or ``("TLSv1.2",)`` narrows it."""
    cipher_suites: Sequence[CipherSuite] = (*DEFAULT_CIPHER_SUITES, *TLS12_DEFAULT_CIPHER_SUITES)
    groups: Sequence[NamedGroup] = SUPPORTED_GROUPS
    signature_schemes: Sequence[SignatureScheme] = TLS12_SIGNATURE_SCHEMES
    """Offered / accepted for handshake signatures; the RSA PKCS#1 v1.5 ones count for TLS 1.2 only."""
    alpn_protocols: Sequence[str | bytes] = ()
    provider: CryptoProvider = field(default_factory=DefaultProvider)
    record_size_limit: int | None = None
    """RFC 8449: the largest record plaintext we accept (64..16385); None = do not send the extension."""
    keylog: KeyLogCallback | None = field(default=None, repr=False)
    certificate_compression: Sequence[CertificateCompressionAlgorithm | str] = _COMPRESSION
    """RFC 8879 (TLS 1.3): the algorithms offered for the peer's certificate and used for ours, in
    preference order: ``"brotli"``, ``"zstd"`` (each with its PyPI package: ``tlslens[compression]``),
    ``"zlib"``. The default is every one installed; ``()`` turns compression off."""
    certificate_decompression_limit: int = 2**18
    """The largest uncompressed Certificate a peer may announce in a CompressedCertificate: above it the
    message is refused (bad_certificate) before anything is inflated."""
    parsed_certificates: ParsedCertificates | None = field(default_factory=ParsedCertificates, compare=False)
    """The peers' certificates parsed once by DER, for every connection of this config; None: off."""

    @property
    def alpn_ids(self) -> tuple[bytes, ...]:
        """The ALPN protocol IDs as sent on the wire."""
        return _alpn(self.alpn_protocols)

    @property
    def enabled_versions(self) -> tuple[ProtocolVersion, ...]:
        """``versions`` that have at least one cipher suite (and, for TLS 1.2, a curve), newest first."""
        return self._enabled_versions  # type: ignore[attr-defined, no-any-return]

    @property
    def compression_algorithms(self) -> tuple[CertificateCompressionAlgorithm, ...]:
        """``certificate_compression`` as normalised (enum members)."""
        return tuple(self.certificate_compression)  # type: ignore[arg-type]

    @property
    def tls13_suites(self) -> tuple[CipherSuite, ...]:
        return tuple(s for s in self.cipher_suites if s in TLS13_SUITES)

    @property
    def tls12_suites(self) -> tuple[CipherSuite, ...]:
        return tuple(s for s in self.cipher_suites if s in TLS12_SUITES)

    @property
    def tls12_groups(self) -> tuple[NamedGroup, ...]:
        """The ECDHE curves TLS 1.2 can use (the post-quantum hybrids are TLS 1.3 only)."""
        return tuple(g for g in self.groups if g in TLS12_GROUPS)

    def schemes_for(self, version: ProtocolVersion) -> tuple[SignatureScheme, ...]:
        """``signature_schemes`` that may sign handshake messages in ``version``."""
        allowed = handshake_schemes(version)
        return tuple(s for s in self.signature_schemes if s in allowed)

    def _normalise_common(self) -> None:
        set_ = object.__setattr__
        set_(self, "versions", _versions(self.versions))
        set_(
            self,
            "cipher_suites",
            _normalise("cipher suite", CipherSuite, self.cipher_suites, _ALL_SUITES),
        )
        set_(self, "groups", _normalise("group", NamedGroup, self.groups, SUPPORTED_GROUPS))
        set_(
            self,
            "signature_schemes",
            _normalise("signature scheme", SignatureScheme, self.signature_schemes, TLS12_SIGNATURE_SCHEMES),
        )
        set_(self, "alpn_protocols", _alpn(self.alpn_protocols))
        try:
            set_(self, "certificate_compression", _compression_algorithms(self.certificate_compression))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if not 0 < self.certificate_decompression_limit <= 0xFFFFFF:
            raise ConfigurationError("certificate_decompression_limit must be 1 to 2^24-1 bytes")
        if self.record_size_limit is not None and not 64 <= self.record_size_limit <= 16385:
            raise ConfigurationError("record_size_limit must be between 64 and 16385")
        enabled = []
        if ProtocolVersion.TLS1_3 in self.versions and self.tls13_suites:
            enabled.append(ProtocolVersion.TLS1_3)
        if ProtocolVersion.TLS1_2 in self.versions and self.tls12_suites and self.tls12_groups:
            enabled.append(ProtocolVersion.TLS1_2)
        if not enabled:
            wanted = ", ".join(v.label for v in self.versions)  # type: ignore[union-attr]
            raise ConfigurationError(
                f"no protocol version can be used: {wanted} enabled, but cipher_suites (and groups, for"
                " TLS 1.2) have nothing for them"
            )
        set_(self, "_enabled_versions", tuple(enabled))
        if not self.schemes_for(ProtocolVersion.TLS1_3) and ProtocolVersion.TLS1_3 in enabled:
            raise ConfigurationError("signature_schemes has no scheme TLS 1.3 can use")


@dataclass(frozen=True, kw_only=True)
class ClientConfig(_CommonConfig):
    trust_anchors: Sequence[x509.Certificate] | None = None
    """None = the system trust store."""
    verifier: CertificateVerifier | None = None
    """None = a WebPkiVerifier over ``trust_anchors``; ``tlslens.dangerous.NoVerification()`` to turn off."""
    key_share_groups: Sequence[NamedGroup] | None = None
    """Groups to send key shares for. None: the first group, plus the next classical group when the
    first is a post-quantum hybrid (so a server without ML-KEM needs no HelloRetryRequest)."""
    certificate_chain: Sequence[x509.Certificate] | None = None
    private_key: CertificateIssuerPrivateKeyTypes | None = field(default=None, repr=False)
    """Client certificate and key, sent when a server asks for one."""
    session_cache: SessionCache | None = None
    """Tickets from servers are kept here and offered on the next connection to the same name."""
    ocsp_stapling: bool = True
    """Ask the server to staple an OCSP response (RFC 6066 status_request) and check what it staples:
    revoked is refused (bad_certificate), so is a must-staple leaf (RFC 7633) without a usable one; a
    stale or invalid response is a finding (``HandshakeCompleted.ocsp``)."""
    middlebox_compatibility: bool = True
    """RFC 8446 §D.4: a fake session id and a change_cipher_spec record, so middleboxes let TLS 1.3 pass."""
    client_hello_hook: Callable[[ClientHello], ClientHello] | None = field(default=None, repr=False)
    """Rewrites each ClientHello (the first, and the second after a HelloRetryRequest) before it is sent:
    fingerprint shaping, scanners, trace replays. The handshake checks the server's answers against the
    hello as sent."""
    certificates: Sequence[CertifiedKey] = ()
    """More client certificates (after certificate_chain/private_key): when a server asks, the first
    whose chain reaches one of the certificate authorities it names, and whose key signs with a scheme
    it accepts, is sent (see ``handshake/client_auth.py``)."""
    certificate_callback: Callable[[CertificateRequestInfo], CertifiedKey | None] | None = field(
        default=None, repr=False
    )
    """Chooses the certificate when a server asks for one (in the handshake or after it, RFC 8446
    §4.6.2), instead of the choice among certificate_chain and certificates; None sends none."""
    external_psks: Sequence[ExternalPsk] = ()
    """External pre-shared keys offered in every TLS 1.3 ClientHello (RFC 8446 §2.2), after a
    resumption ticket if there is one; a server that knows one authenticates with it instead of a
    certificate."""
    psk_key_exchange_modes: Sequence[PskKeyExchangeMode | str] = (PskKeyExchangeMode.PSK_DHE_KE,)
    """How a PSK (resumption or external) may be used (RFC 8446 §4.2.9): ``psk_dhe_ke`` (with a fresh
    key exchange, the default) and/or ``psk_ke`` (the PSK alone: no forward secrecy; a server uses it
    only when it allows it too and the client does not offer psk_dhe_ke)."""

    def __post_init__(self) -> None:
        self._normalise_common()
        groups = tuple(self.groups)
        if self.key_share_groups is None:
            shares = [groups[0]]
            if groups[0] in _HYBRIDS:
                shares += [g for g in groups[1:] if g not in _HYBRIDS][:1]
            object.__setattr__(self, "key_share_groups", tuple(shares))
        else:
            ks = _normalise("key share group", NamedGroup, self.key_share_groups, groups)
            object.__setattr__(self, "key_share_groups", ks)
        if self.trust_anchors is not None:
            object.__setattr__(self, "trust_anchors", tuple(self.trust_anchors))
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ConfigurationError("a client certificate needs both certificate_chain and private_key")
        certs = list(self.certificates)
        if self.certificate_chain is not None and self.private_key is not None:
            certs.insert(0, CertifiedKey.from_key(self.certificate_chain, self.private_key))
        object.__setattr__(self, "certificates", tuple(self.certificates))
        object.__setattr__(self, "_client_certificates", tuple(certs))
        object.__setattr__(self, "_verifier", self.verifier or WebPkiVerifier(self.trust_anchors))
        check_client_psks(self)

    @property
    def client_certificates(self) -> tuple[CertifiedKey, ...]:
        """Every client certificate, certificate_chain/private_key's first."""
        return self._client_certificates  # type: ignore[attr-defined, no-any-return]

    @property
    def psk_modes(self) -> tuple[PskKeyExchangeMode, ...]:
        """``psk_key_exchange_modes`` as enum members."""
        return self.psk_key_exchange_modes  # type: ignore[return-value]  # (normalised)

    @property
    def offers_post_handshake_auth(self) -> bool:
        """A TLS 1.3 ClientHello offers post_handshake_auth (RFC 8446 §4.2.6) when there is a
        certificate to answer with, or a callback to choose one."""
        return bool(self.client_certificates) or self.certificate_callback is not None

    @property
    def effective_verifier(self) -> CertificateVerifier:
        return self._verifier  # type: ignore[attr-defined, no-any-return]

    @property
    def client_certificate(self) -> CertifiedKey | None:
        """The first client certificate (what a TLS 1.2 CertificateRequest without authorities gets)."""
        certs = self.client_certificates
        return certs[0] if certs else None


_HYBRIDS = frozenset({NamedGroup.X25519MLKEM768, NamedGroup.SECP256R1MLKEM768})


@dataclass(frozen=True, kw_only=True)
class ServerConfig(_CommonConfig):
    certificate_chain: Sequence[x509.Certificate] | None = None
    private_key: CertificateIssuerPrivateKeyTypes | None = field(default=None, repr=False)
    certificates: Sequence[CertifiedKey] = ()
    """More certificates: chosen by SNI and by the client's signature_algorithms. The first one (or
    certificate_chain/private_key) is the default."""
    ocsp_response: bytes | None = None
    """A DER OCSP response for ``certificate_chain``'s leaf, stapled when a client asks (other
    certificates: ``CertifiedKey.from_key(..., ocsp_response=...)``)."""
    ocsp_fetch: bool = False
    """Fetch each certificate's OCSP response from its leaf's authorityInfoAccess responder and keep it
    fresh (before nextUpdate) in the background: the faces and ``tlslens server`` run the refresher
    (``tlslens.pki.ocsp_fetch``); a handshake never waits for it."""
    client_verifier: CertificateVerifier | None = None
    """When set, the server asks for a client certificate and checks it with this verifier."""
    require_client_certificate: bool = True
    encrypted_extensions_hook: Callable[[EncryptedExtensions], EncryptedExtensions] | None = field(
        default=None, repr=False
    )
    """Rewrites EncryptedExtensions before it is sent (for trace replays and interop experiments)."""
    tickets: int = 2
    """NewSessionTickets sent after each handshake, full or resumed (0: none). Tickets from a resumed
    handshake live no longer than the ticket it used (RFC 8446 §4.6.1: one full handshake's keys have
    a bounded total lifetime)."""
    ticket_lifetime: int = 7200
    """Seconds a ticket may be used (at most 7 days; also bounded by the ticket key rotation)."""
    ticket_keys: TicketKeyRing | None = None
    """Keys that seal tickets; share one ring (``TicketKeyRing.from_file``) across a fleet. None: a
    ring of this config's own (tickets then resume on this config only)."""
    max_early_data_size: int = 0
    """0-RTT: accept up to this many bytes of early data on resumption (0: refuse 0-RTT). Early data
    can be replayed by anyone who captured it: enable it only for idempotent requests."""
    replay_store: ReplayStore | None = None
    """Where 0-RTT ClientHellos are remembered so each is accepted at most once. None: in memory (one
    process); ``SqliteReplayStore`` for processes on one host, ``RedisReplayStore`` for a fleet."""
    cipher_preference: str = "server"
    """Whose order picks the cipher suite: ``"server"`` (``cipher_suites``' order, the default) or
    ``"client"`` (the client's order, among the suites both allow)."""
    allow_psk_ke: bool = False
    """Resume without a fresh key exchange when the client asks (psk_ke: no forward secrecy)."""
    cookie_secret: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    """Key for HelloRetryRequest cookies (so the server can stay stateless across an HRR)."""
    psk_lookup: PskLookup | None = field(default=None, repr=False)
    """External PSKs (RFC 8446 §2.2): the ``ExternalPsk`` an identity the client offers names, or None
    (``tlslens.credentials.psk_table(psks)`` makes one from a list). With it a server needs no
    certificate: a PSK-only server speaks TLS 1.3 only, and refuses a client without a PSK it knows."""
    defer_client_auth: bool = False
    """With client_verifier: ask for the client certificate only after the handshake, when the
    application calls ``request_client_certificate()`` (RFC 8446 §4.6.2), not during it."""
    advertise_client_cas: bool = False
    """Name the client_verifier's trust anchors in CertificateRequest.certificate_authorities (RFC 8446
    §4.2.4), so a client with several certificates sends one they issued."""

    def __post_init__(self) -> None:
        self._normalise_common()
        certs = list(self.certificates)
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ConfigurationError("certificate_chain and private_key go together")
        if self.certificate_chain is not None and self.private_key is not None:
            first = CertifiedKey.from_key(
                self.certificate_chain, self.private_key, ocsp_response=self.ocsp_response
            )
            certs.insert(0, first)
        elif self.ocsp_response is not None:
            raise ConfigurationError("ocsp_response goes with certificate_chain (see CertifiedKey.from_key)")
        if not certs and self.psk_lookup is None:
            raise ConfigurationError("a server needs a certificate_chain and private_key (or a psk_lookup)")
        object.__setattr__(self, "_certified_keys", tuple(certs))
        check_server_auth(self)
        if self.cipher_preference not in ("server", "client"):
            raise ConfigurationError('cipher_preference must be "server" or "client"')
        if len(self.cookie_secret) < 16:
            raise ConfigurationError("cookie_secret must be at least 16 bytes")
        if not 0 <= self.tickets <= 16:
            raise ConfigurationError("tickets must be between 0 and 16")
        if not 0 < self.ticket_lifetime <= 604800:
            raise ConfigurationError("ticket_lifetime must be 1 to 604800 seconds (7 days)")
        if not 0 <= self.max_early_data_size <= 0xFFFFFFFF:
            raise ConfigurationError("max_early_data_size must fit in 32 bits")
        # ``is None``, not truthiness: an empty store has len() 0 and must still be the one shared.
        ring = self.ticket_keys if self.ticket_keys is not None else TicketKeyRing(provider=self.provider)
        store = self.replay_store if self.replay_store is not None else MemoryReplayStore()
        object.__setattr__(self, "_ticket_keys", ring)
        object.__setattr__(self, "_replay_store", store)

    @property
    def certified_keys(self) -> tuple[CertifiedKey, ...]:
        """Every certificate the server can present, the default first."""
        return self._certified_keys  # type: ignore[attr-defined, no-any-return]

    @property
    def effective_ticket_keys(self) -> TicketKeyRing:
        return self._ticket_keys  # type: ignore[attr-defined, no-any-return]

    @property
    def effective_replay_store(self) -> ReplayStore:
        return self._replay_store  # type: ignore[attr-defined, no-any-return]

    @property
    def client_ca_names(self) -> tuple[bytes, ...]:
        """The DER subjects sent in certificate_authorities (empty unless advertise_client_cas)."""
        return self._client_ca_names  # type: ignore[attr-defined, no-any-return]
