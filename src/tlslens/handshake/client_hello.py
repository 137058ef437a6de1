"""The client's context and its ClientHellos: the first one (key shares, a ticket with its binder, early
data) and the second one after a HelloRetryRequest (RFC 8446 §4.1.2, §4.2.10, §4.2.11)."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, replace

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tlslens import keylog
from tlslens.config import ClientConfig
from tlslens.crypto.groups import KeyShare
from tlslens.crypto.key_schedule import EarlySecret, HandshakeSecret
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.crypto.transcript import Transcript
from tlslens.errors import LocalProtocolError
from tlslens.handshake import client_psk
from tlslens.output import Output
from tlslens.session.cache import Session
from tlslens.wire.enums import (
    CompressionMethod,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    Cookie,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    PskKeyExchangeModes,
    RecordSizeLimit,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import CertificateRequest

_T = ExtensionType


@dataclass(slots=True)
class ClientHandshake:
    """Everything the client's states share while the handshake runs."""

    config: ClientConfig
    server_name: str | None  # sent as SNI (never an IP literal)
    verify_name: str | None  # checked against the certificate: the host name or the IP address
    client_random: bytes
    session_id: bytes
    hello: ClientHello
    shares: dict[NamedGroup, KeyShare] = field(repr=False)
    transcript: Transcript
    hello_retry: bool = False
    suite: Tls13Suite | None = None
    group: NamedGroup | None = None
    secrets: HandshakeSecret | None = field(default=None, repr=False)
    client_hs_secret: bytes = field(default=b"", repr=False)
    server_hs_secret: bytes = field(default=b"", repr=False)
    alpn_protocol: bytes | None = None
    certificate_request: CertificateRequest | None = None
    peer_chain: tuple[x509.Certificate, ...] = ()
    peer_chain_der: tuple[bytes, ...] = field(default=(), repr=False)  # as received, for sessions
    signature_scheme: SignatureScheme | None = None
    session: Session | None = None  # the ticket offered, if any
    early_data_sent: bool = False
    resumed: bool = False
    early_data_accepted: bool = False

    @property
    def offered_extensions(self) -> frozenset[ExtensionType]:
        return frozenset(e.ext_type for e in self.hello.extensions or ())


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
) -> ClientHandshake:
    """Build and queue the ClientHello (with a ticket and early data when given)."""
    sni, verify_name = _sni_and_verify_name(server_name)
    if verify_name is None and config.verifier is None:
        raise LocalProtocolError(
            "a server_name is needed to verify the server's certificate (pass the host name or IP address)"
        )
    provider = config.provider
    now = provider.now()
    if session is None and config.session_cache is not None:
        session = config.session_cache.take(sni, config.alpn_ids, now)
    session = client_psk.usable_session(config, session, sni, now)
    client_psk.check_early_data(session, early_data)
    client_random = provider.random(32)
    session_id = provider.random(32) if config.middlebox_compatibility else b""
    groups = tuple(config.groups)
    shares = {g: provider.generate_key_share(g) for g in config.key_share_groups or ()}
    extensions: list[Extension] = []
    if sni is not None:
        extensions.append(ServerName((sni,)))
    extensions += [
        SupportedGroups(groups),
        SignatureAlgorithms(tuple(config.signature_schemes)),
        KeyShareClientHello(tuple(KeyShareEntry(g, s.public_bytes) for g, s in shares.items())),
        SupportedVersionsClientHello((ProtocolVersion.TLS1_3,)),
        PskKeyExchangeModes((PskKeyExchangeMode.PSK_DHE_KE,)),
    ]
    if config.alpn_protocols:
        extensions.append(ALPN(config.alpn_ids))
    if config.record_size_limit is not None:
        extensions.append(RecordSizeLimit(config.record_size_limit))
    hello = ClientHello(
        legacy_version=ProtocolVersion.TLS1_2,
        random=client_random,
        legacy_session_id=session_id,
        cipher_suites=tuple(config.cipher_suites),
        legacy_compression_methods=(CompressionMethod.NULL,),
        extensions=tuple(extensions),
    )
    if early_data is not None:
        hello = client_psk.with_early_data_offer(hello)
    if config.client_hello_hook is not None:
        hello = config.client_hello_hook(hello)
    if session is not None:
        hello = client_psk.with_psk(hello, session, now, None)
    out.set_client_random(hello.random)
    transcript = Transcript()
    first_raw = out.send(hello)
    transcript.update(first_raw)
    hs = ClientHandshake(
        config,
        sni,
        verify_name,
        hello.random,
        hello.legacy_session_id,
        hello,
        shares,
        transcript,
        session=session,
    )
    if out.tracing:
        out.decide("key_share", "sent key shares for " + ", ".join(g.iana_name for g in shares))
        if session is not None:
            out.decide(
                "resumption", f"offering a ticket for {sni} received {now - session.received_at:.0f} s ago"
            )
    if session is not None and early_data is not None:
        _send_early_data(hs, session, first_raw, early_data, out)
    return hs


def _send_early_data(
    hs: ClientHandshake, session: Session, hello_raw: bytes, data: bytes, out: Output
) -> None:
    """0-RTT: CCS (compatibility mode), then the data under the client_early_traffic_secret."""
    suite = TLS13_SUITES[session.suite]
    digest = hashes.Hash(suite.hash)
    digest.update(hello_raw)
    early = EarlySecret.from_psk(suite, session.psk)
    hello_hash = digest.finalize()
    secret = early.client_early_traffic(hello_hash)
    out.keylog(keylog.EARLY_EXPORTER_SECRET, early.early_exporter(hello_hash))
    if hs.session_id:
        out.send_compatibility_ccs()
    out.set_write_key(suite, secret, keylog.CLIENT_EARLY_TRAFFIC_SECRET)
    out.seal_application_data(data)
    hs.early_data_sent = True
    if out.tracing:
        out.decide("early_data", f"sent {len(data)} bytes of 0-RTT data with the ClientHello")


def send_second_client_hello(
    hs: ClientHandshake, suite: Tls13Suite, cookie: Cookie | None, out: Output
) -> None:
    """RFC 8446 §4.1.2: after a HelloRetryRequest, the same ClientHello with the new key share, the
    cookie, no early_data, and a binder recomputed over the new transcript."""
    shares = hs.shares
    extensions = []
    for ext in hs.hello.extensions or ():
        if isinstance(ext, KeyShareClientHello):
            ext = KeyShareClientHello(tuple(KeyShareEntry(g, s.public_bytes) for g, s in shares.items()))
        elif ext.ext_type in (_T.EARLY_DATA, _T.COOKIE, _T.PRE_SHARED_KEY):
            continue
        extensions.append(ext)
        if isinstance(ext, KeyShareClientHello) and cookie is not None:
            extensions.append(cookie)
    hs.hello = replace(hs.hello, extensions=tuple(extensions))
    if hs.config.client_hello_hook is not None:
        hs.hello = hs.config.client_hello_hook(hs.hello)
    if hs.session is not None and TLS13_SUITES[hs.session.suite].hash.name == suite.hash.name:
        hs.hello = client_psk.with_psk(hs.hello, hs.session, hs.config.provider.now(), hs.transcript)
    elif hs.session is not None:  # the ticket cannot be used with the suite the server chose
        hs.session = None
    if hs.session_id:
        out.send_compatibility_ccs()
    hs.transcript.update(out.send(hs.hello))
