"""The client's context and its ClientHellos: the first one (key shares, a ticket with its binder, early
data) and the second one after a HelloRetryRequest (RFC 8446 §4.1.2, §4.2.10, §4.2.11).

With TLS 1.2 enabled the first ClientHello offers it too (RFC 8446 §4.2.1, RFC 5246 §7.4.1.2): its
suites, supported_versions listing both, ec_point_formats, extended_master_secret (RFC 7627, always),
renegotiation_info (RFC 5746) and session_ticket (RFC 5077, carrying a TLS 1.2 session's ticket when
one is resumed; a session ID goes in legacy_session_id). A TLS 1.2-only client sends no TLS 1.3
extension at all. One session is offered: a TLS 1.3 ticket as a PSK, or a TLS 1.2 session as above,
never one in the other's place."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives import hashes

from tlslens import keylog
from tlslens.config import ClientConfig
from tlslens.credentials import ExternalPsk
from tlslens.crypto.groups import KeyShare
from tlslens.crypto.key_schedule import EarlySecret
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.crypto.transcript import Transcript
from tlslens.errors import LocalProtocolError
from tlslens.handshake import certificate_compression, certificate_status, client_psk
from tlslens.output import Output
from tlslens.session.cache import Session
from tlslens.wire.enums import (
    CompressionMethod,
    ECPointFormat,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
)
from tlslens.wire.extensions import (
    ALPN,
    Cookie,
    ECPointFormats,
    ExtendedMasterSecret,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    PostHandshakeAuth,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlslens.wire.hello import ClientHello

_T = ExtensionType


@dataclass(frozen=True, slots=True)
class ClientHelloSent:
    """What the client said: its ClientHello (the first, or the second after a HelloRetryRequest) and
    what the rest of the handshake answers to. Built complete when the hello is sent."""

    config: ClientConfig
    server_name: str | None  # sent as SNI (never an IP literal)
    verify_name: str | None  # checked against the certificate: the host name or the IP address
    hello: ClientHello
    shares: dict[NamedGroup, KeyShare] = field(repr=False)
    transcript: Transcript  # through this hello (its hash is chosen by the ServerHello)
    session: Session | None  # the session offered, if any (TLS 1.3 ticket, or TLS 1.2 session)
    early_data_sent: bool  # 0-RTT records follow the hello under the early key
    raw: bytes = field(repr=False, default=b"")  # the first hello as sent (a TLS 1.2 handshake log)
    retry_suite: Tls13Suite | None = None  # after a HelloRetryRequest: the suite it named
    external_psks: tuple[ExternalPsk, ...] = ()  # offered in pre_shared_key, after the session's ticket

    @property
    def session_id(self) -> bytes:
        return self.hello.legacy_session_id

    @property
    def psk_offers(self) -> tuple[client_psk.PskOffer, ...]:
        """What each identity of our pre_shared_key stands for, in order."""
        session = self.session
        first = (session,) if session is not None and session.version == ProtocolVersion.TLS1_3 else ()
        return (*first, *self.external_psks)

    @property
    def offered_extensions(self) -> frozenset[ExtensionType]:
        return frozenset(e.ext_type for e in self.hello.extensions or ())

    def offers(self, ext_type: ExtensionType) -> bool:
        return any(e.ext_type == ext_type for e in self.hello.extensions or ())


@functools.lru_cache(maxsize=1024)
def _sni_and_verify_name(server_name: str | None) -> tuple[str | None, str | None]:
    if server_name is None:
        return None, None
    name = server_name.strip().rstrip(".")
    if not name:
        raise LocalProtocolError("server_name is empty")
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None, name.strip("[]")  # RFC 6066 §3: literal IP addresses are not sent as SNI
    except ValueError:
        pass
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise LocalProtocolError(f"server_name {server_name!r} is not a valid host name") from exc
    return ascii_name, ascii_name


def send_first_client_hello(
    config: ClientConfig,
    server_name: str | None,
    out: Output,
    session: Session | None,
    early_data: bytes | None,
) -> ClientHelloSent:
    """Build and queue the ClientHello (with a ticket and early data when given)."""
    sni, verify_name = _sni_and_verify_name(server_name)
    if verify_name is None and config.verifier is None:
        raise LocalProtocolError(
            "a server_name is needed to verify the server's certificate (pass the host name or IP address)"
        )
    provider = config.provider
    now = provider.now()
    versions = config.enabled_versions
    tls13, tls12 = ProtocolVersion.TLS1_3 in versions, ProtocolVersion.TLS1_2 in versions
    if session is None and config.session_cache is not None:
        session = config.session_cache.take(sni, config.alpn_ids, now, versions)
    session = client_psk.usable_session(config, session, sni, now)
    client_psk.check_early_data(session, early_data)
    session12 = session if session is not None and session.version == ProtocolVersion.TLS1_2 else None
    client_random = provider.random(32)
    if session12 is not None:  # the server echoes it when it resumes (RFC 5077 §3.4 for tickets)
        session_id = session12.session_id or provider.random(32)
    else:
        session_id = provider.random(32) if tls13 and config.middlebox_compatibility else b""
    groups = tuple(config.groups) if tls13 else config.tls12_groups
    shares = {g: provider.generate_key_share(g) for g in config.key_share_groups or ()} if tls13 else {}
    extensions: list[Extension] = []
    if sni is not None:
        extensions.append(ServerName((sni,)))
    schemes = config.signature_schemes if tls12 else config.schemes_for(ProtocolVersion.TLS1_3)
    extensions += [SupportedGroups(groups), SignatureAlgorithms(tuple(schemes))]
    if tls13:
        extensions += [
            KeyShareClientHello(tuple(KeyShareEntry(g, s.public_bytes) for g, s in shares.items())),
            SupportedVersionsClientHello(versions),
            PskKeyExchangeModes(config.psk_modes),
            *certificate_compression.offer(config.compression_algorithms),  # RFC 8879: TLS 1.3 only
        ]
        if config.offers_post_handshake_auth:  # RFC 8446 §4.2.6
            extensions.append(PostHandshakeAuth())
    if tls12:
        extensions += [
            ECPointFormats((ECPointFormat.UNCOMPRESSED,)),
            ExtendedMasterSecret(),
            RenegotiationInfo(b""),
            SessionTicket(session12.ticket if session12 is not None else b""),
        ]
    extensions += certificate_status.offer(config)  # RFC 6066 §8: OCSP stapling
    if config.alpn_protocols:
        extensions.append(ALPN(config.alpn_ids))
    if config.record_size_limit is not None:
        extensions.append(RecordSizeLimit(config.record_size_limit))
    hello = ClientHello(
        legacy_version=ProtocolVersion.TLS1_2,
        random=client_random,
        legacy_session_id=session_id,
        cipher_suites=(config.tls13_suites if tls13 else ()) + (config.tls12_suites if tls12 else ()),
        legacy_compression_methods=(CompressionMethod.NULL,),
        extensions=tuple(extensions),
    )
    if early_data is not None:
        hello = client_psk.with_early_data_offer(hello)
    if config.client_hello_hook is not None:
        hello = config.client_hello_hook(hello)
    externals = tuple(config.external_psks) if tls13 else ()
    if (session is not None and session12 is None) or externals:
        offers = (*((session,) if session is not None and session12 is None else ()), *externals)
        hello, encoded = client_psk.with_psks(hello, offers, now, None)
    else:
        encoded = None
    out.set_client_random(hello.random)
    first_raw = out.send(hello, encoded)
    transcript = Transcript()
    transcript.update(first_raw)
    if out.tracing:
        out.decide("version", "offering " + ", ".join(v.label for v in versions))
        if shares:
            out.decide("key_share", "sent key shares for " + ", ".join(g.iana_name for g in shares))
        if session12 is not None:
            how = "a session ticket" if session12.ticket else "a session ID"
            age = now - session12.received_at
            out.decide("resumption", f"offering a TLSv1.2 session for {sni} by {how} ({age:.0f} s old)")
        elif session is not None:
            out.decide(
                "resumption", f"offering a ticket for {sni} received {now - session.received_at:.0f} s ago"
            )
        if externals:
            out.decide("psk", "offering external PSKs " + ", ".join(p.shown for p in externals))
    early_data_sent = False
    if session is not None and early_data is not None:
        _send_early_data(session, first_raw, early_data, bool(hello.legacy_session_id), out)
        early_data_sent = True
    return ClientHelloSent(
        config,
        sni,
        verify_name,
        hello,
        shares,
        transcript,
        session,
        early_data_sent,
        first_raw,
        external_psks=externals,
    )


def _send_early_data(
    session: Session, hello_raw: bytes, data: bytes, compatibility_mode: bool, out: Output
) -> None:
    """0-RTT: CCS (compatibility mode), then the data under the client_early_traffic_secret."""
    suite = TLS13_SUITES[session.suite]
    digest = hashes.Hash(suite.hash)
    digest.update(hello_raw)
    early = EarlySecret.from_psk(suite, session.psk)
    hello_hash = digest.finalize()
    secret = early.client_early_traffic(hello_hash)
    out.keylog(keylog.EARLY_EXPORTER_SECRET, early.early_exporter(hello_hash))
    if compatibility_mode:  # a CCS before the first protected record (RFC 8446 §D.4)
        out.send_compatibility_ccs()
    out.set_write_key(suite, secret, keylog.CLIENT_EARLY_TRAFFIC_SECRET)
    out.seal_application_data(data)
    if out.tracing:
        out.decide("early_data", f"sent {len(data)} bytes of 0-RTT data with the ClientHello")


def send_second_client_hello(
    sent: ClientHelloSent,
    suite: Tls13Suite,
    shares: dict[NamedGroup, KeyShare],
    cookie: Cookie | None,
    out: Output,
) -> ClientHelloSent:
    """RFC 8446 §4.1.2: after a HelloRetryRequest, the same ClientHello with the new key share, the
    cookie, no early_data, and a binder recomputed over the new transcript (``sent.transcript`` holds
    message_hash + HelloRetryRequest by now)."""
    extensions = []
    for ext in sent.hello.extensions or ():
        if isinstance(ext, KeyShareClientHello):
            ext = KeyShareClientHello(tuple(KeyShareEntry(g, s.public_bytes) for g, s in shares.items()))
        elif ext.ext_type in (_T.EARLY_DATA, _T.COOKIE, _T.PRE_SHARED_KEY):
            continue
        extensions.append(ext)
        if isinstance(ext, KeyShareClientHello) and cookie is not None:
            extensions.append(cookie)
    hello = replace(sent.hello, extensions=tuple(extensions))
    config = sent.config
    if config.client_hello_hook is not None:
        hello = config.client_hello_hook(hello)
    # The PSKs that can still be used with the suite the HelloRetryRequest named (its hash).
    session = sent.session
    session_suite = TLS13_SUITES.get(session.suite) if session is not None else None
    if session_suite is None or session_suite.hash.name != suite.hash.name:
        session = None
    externals = tuple(p for p in sent.external_psks if p.hash_algorithm.name == suite.hash.name)
    if session is not None or externals:
        offers = (*((session,) if session is not None else ()), *externals)
        hello, encoded = client_psk.with_psks(hello, offers, config.provider.now(), sent.transcript)
    else:
        encoded = None
    if sent.session_id:
        out.send_compatibility_ccs()
    sent.transcript.update(out.send(hello, encoded))
    return replace(
        sent,
        hello=hello,
        shares=shares,
        session=session,
        early_data_sent=False,
        retry_suite=suite,
        external_psks=externals,
    )
