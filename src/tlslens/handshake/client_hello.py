"""The client's context and its ClientHellos: the first one (key shares, a ticket with its binder, early
data) and the second one after a HelloRetryRequest (RFC 8446 §4.1.2, §4.2.10, §4.2.11)."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives import hashes

from tlslens import keylog
from tlslens.config import ClientConfig
from tlslens.crypto.groups import KeyShare
from tlslens.crypto.key_schedule import EarlySecret
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
    session: Session | None  # the ticket offered, if any
    early_data_sent: bool  # 0-RTT records follow the hello under the early key
    retry_suite: Tls13Suite | None = None  # after a HelloRetryRequest: the suite it named

    @property
    def session_id(self) -> bytes:
        return self.hello.legacy_session_id

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
) -> ClientHelloSent:
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
    if out.tracing:
        out.decide("key_share", "sent key shares for " + ", ".join(g.iana_name for g in shares))
        if session is not None:
            out.decide(
                "resumption", f"offering a ticket for {sni} received {now - session.received_at:.0f} s ago"
            )
    early_data_sent = False
    if session is not None and early_data is not None:
        _send_early_data(session, first_raw, early_data, bool(hello.legacy_session_id), out)
        early_data_sent = True
    return ClientHelloSent(config, sni, verify_name, hello, shares, transcript, session, early_data_sent)


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
    session = sent.session
    if session is not None and TLS13_SUITES[session.suite].hash.name == suite.hash.name:
        hello = client_psk.with_psk(hello, session, config.provider.now(), sent.transcript)
    else:  # the ticket cannot be used with the suite the server chose
        session = None
    if sent.session_id:
        out.send_compatibility_ccs()
    sent.transcript.update(out.send(hello))
    return replace(
        sent, hello=hello, shares=shares, session=session, early_data_sent=False, retry_suite=suite
    )
