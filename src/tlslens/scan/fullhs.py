"""Complete handshakes (through ``tlslens.aio.start_tls`` on the target's route), one HTTP request, and
AIA downloads: the I/O the hello-only probes cannot do.

A complete handshake gives what TLS 1.3 encrypts and what only a finished TLS 1.2 handshake proves: the
certificate chain, a stapled OCSP response (TLS 1.3: in the Certificate entry; TLS 1.2: the
CertificateStatus message, RFC 6066 §8), ALPN, sessions (and so resumption and 0-RTT), the extended
master secret and secure renegotiation as the engine checked them, and an HTTP response for HSTS. It
uses ``dangerous.NoVerification``: the scanner judges the chain itself afterwards, so a bad chain never
stops the scan. ``FULL_HANDSHAKE_VERSIONS`` is the one place that says which versions the engine
completes: every check that needs a handshake follows it.

What a handshake offers is an ``Offer``: versions, one key type's signature schemes and TLS 1.2 suites
(to ask a server with RSA and ECDSA certificates for each), ALPN, and whether a TLS 1.2 hello offers
session tickets (without, a server hands out a session ID: RFC 5077 §3.4). Every ClientHello also
offers status_request.

Every read is bounded in size and in time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import h11
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from tlslens.adapters.proxy import Proxy
from tlslens.adapters.starttls import StartTLSError
from tlslens.aio import start_tls
from tlslens.config import ClientConfig
from tlslens.crypto.signatures import TLS12_SIGNATURE_SCHEMES
from tlslens.crypto.suites import DEFAULT_CIPHER_SUITES
from tlslens.crypto.suites12 import TLS12_SUITES
from tlslens.dangerous import NoVerification
from tlslens.errors import TLSError
from tlslens.events import Event, HandshakeCompleted, MessageReceived, SessionTicketReceived
from tlslens.scan.net import Prober
from tlslens.wire.enums import (
    CertificateStatusType,
    CipherSuite,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    CertificateStatus,
    OCSPStatusRequest,
    RenegotiationInfo,
    StatusRequest,
    SupportedVersionsServerHello,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import Certificate
from tlslens.wire.messages12 import CertificateStatusMessage

if TYPE_CHECKING:
    from tlslens.session.cache import Session

__all__ = [
    "FULL_HANDSHAKE_VERSIONS",
    "AiaDownload",
    "HandshakeResult",
    "HttpResponse",
    "Offer",
    "fetch_aia",
    "full_handshake",
]

TLS13, TLS12 = ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2
FULL_HANDSHAKE_VERSIONS: frozenset[ProtocolVersion] = frozenset({TLS13, TLS12})
"""Versions the engine can complete a handshake in (checks needing one are "not tested" otherwise)."""
FULL_HANDSHAKE_SUITES12 = "ECDHE with AES-GCM or ChaCha20-Poly1305"
"""The TLS 1.2 suites the engine completes (``crypto.suites12``), for the reports."""

MAX_HTTP_HEAD = 64 * 1024
MAX_AIA_BYTES = 64 * 1024
USER_AGENT = "tlslens-scan"

KeyType = Literal["ecdsa", "rsa"]


def _is_ecdsa(scheme: SignatureScheme) -> bool:
    return scheme.name.startswith(("ECDSA", "ED25519", "ED448"))


@dataclass(frozen=True, slots=True)
class Offer:
    """What one complete handshake offers."""

    versions: tuple[ProtocolVersion, ...] = (TLS13, TLS12)
    key_type: KeyType | None = None
    """Only this key type's signature schemes (and, in TLS 1.2, its ECDHE_ECDSA / ECDHE_RSA suites)."""
    alpn: tuple[str, ...] = ()
    tickets: bool = True
    """TLS 1.2: offer session_ticket (RFC 5077). Without it a server keeps the session by its ID."""

    @property
    def schemes(self) -> tuple[SignatureScheme, ...]:
        """What a TLS 1.3 or 1.2 server may sign with (RSA PKCS#1 v1.5 counts in TLS 1.2 only)."""
        if self.key_type is None:
            return TLS12_SIGNATURE_SCHEMES
        return tuple(s for s in TLS12_SIGNATURE_SCHEMES if _is_ecdsa(s) == (self.key_type == "ecdsa"))

    @property
    def suites12(self) -> tuple[CipherSuite, ...]:
        wanted = {"ecdsa": "ECDSA", "rsa": "RSA"}.get(self.key_type or "")
        return tuple(c for c, s in TLS12_SUITES.items() if wanted is None or s.authentication.name == wanted)


@functools.cache
def client_config(offer: Offer) -> ClientConfig:
    """The scanner's client for ``offer`` (made once per offer: configs are shared by connections)."""
    return ClientConfig(
        versions=offer.versions,
        cipher_suites=(*DEFAULT_CIPHER_SUITES, *offer.suites12),
        signature_schemes=offer.schemes,
        verifier=NoVerification(),
        alpn_protocols=offer.alpn,
        client_hello_hook=functools.partial(_shape_hello, tickets=offer.tickets),
    )


def _shape_hello(hello: ClientHello, *, tickets: bool) -> ClientHello:
    """status_request on every hello (RFC 6066 §8); session_ticket left out when ``tickets`` is off."""
    exts = [e for e in hello.extensions or () if tickets or e.ext_type != ExtensionType.SESSION_TICKET]
    exts.append(StatusRequest(CertificateStatusType.OCSP, OCSPStatusRequest()))
    return replace(hello, extensions=tuple(exts))


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """The status line and headers of one HTTP response (names lower-cased), or why there was none."""

    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    error: str | None = None

    def header(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    """One complete handshake (or why it failed) and what came with it."""

    ok: bool
    error: str | None = None
    version: ProtocolVersion | None = None
    cipher_suite: str | None = None
    group: NamedGroup | None = None
    signature_scheme: SignatureScheme | None = None
    alpn: str | None = None
    chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    ocsp_response: bytes | None = field(default=None, repr=False)
    resumed: bool = False
    early_data_accepted: bool = False
    early_data_offered: bool = False
    session: Session | None = field(default=None, repr=False)
    http: HttpResponse | None = None
    extended_master_secret: bool | None = None
    """TLS 1.2: the session uses RFC 7627's extended master secret (None: TLS 1.3, or no handshake)."""
    secure_renegotiation: bool | None = None
    """TLS 1.2: the ServerHello carried renegotiation_info (RFC 5746), known even when the handshake
    failed after it (the engine refuses a server without it). None: TLS 1.3, or no ServerHello."""
    session_offered: bool = False


class _Seen:
    """What the trace of one handshake showed: the ServerHello, the stapled OCSP response, the session."""

    def __init__(self) -> None:
        self.server_hello: ServerHello | None = None
        self.ocsp: bytes | None = None
        self.session: Session | None = None
        self.ticket = asyncio.Event()

    def __call__(self, event: Event) -> None:
        if isinstance(event, SessionTicketReceived):
            self.session = event.session  # type: ignore[assignment]
            self.ticket.set()
            return
        if not isinstance(event, MessageReceived):
            return
        msg = event.message
        if isinstance(msg, ServerHello) and self.server_hello is None:
            self.server_hello = msg
        elif isinstance(msg, CertificateStatusMessage) and self.ocsp is None:
            self.ocsp = msg.response
        elif isinstance(msg, Certificate) and msg.certificate_list:
            status = msg.certificate_list[0].extension(CertificateStatus)
            if status is not None and self.ocsp is None:
                self.ocsp = status.response

    @property
    def secure_renegotiation(self) -> bool | None:
        sh = self.server_hello
        if sh is None or sh.extension(SupportedVersionsServerHello) is not None:
            return None
        return sh.extension(RenegotiationInfo) is not None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TLSError):
        return str(exc).removeprefix("tls: ")
    if isinstance(exc, StartTLSError):
        return f"STARTTLS {exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


async def full_handshake(
    prober: Prober,
    check: str,
    offer: Offer,
    *,
    server_name: str | None,
    http_host: str | None = None,
    session: Session | None = None,
    early_data: bytes | None = None,
    want_ticket: bool = False,
) -> HandshakeResult:
    """A complete handshake on the target's route; with ``http_host``, one ``GET /`` and its response
    head. ``session`` resumes (``early_data`` is then sent as 0-RTT when the ticket allows it).

    TLS 1.3 tickets come after the handshake: the response to the GET always follows them; without one,
    ``want_ticket`` waits for a ticket, a few times as long as the handshake took (a ticket is sent one
    round trip after it, RFC 8446 §4.6.1), so a server that sends none costs little."""
    seen = _Seen()
    async with prober.slot(check):
        try:
            async with asyncio.timeout(prober.timeout):
                result, still_open = await _run(
                    prober, offer, server_name, http_host, session, early_data, want_ticket, seen
                )
        except (TLSError, OSError, TimeoutError, StartTLSError) as exc:
            return HandshakeResult(
                False,
                _reason(exc),
                secure_renegotiation=seen.secure_renegotiation,
                session_offered=session is not None,
            )
        if still_open is not None:
            await _close(*still_open)
        return result


_Open = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]


async def _run(
    prober: Prober,
    offer: Offer,
    server_name: str | None,
    http_host: str | None,
    session: Session | None,
    early_data: bytes | None,
    want_ticket: bool,
    seen: _Seen,
) -> tuple[HandshakeResult, _Open | None]:
    """The handshake and what follows it; the connection is aborted, or handed back still open (with the
    handshake's duration) when its session is to be resumed by ID (see ``_close``)."""
    send_early = early_data if session is not None and session.max_early_data_size > 0 else None
    start = time.perf_counter()
    reader, writer = await prober.open_plain()
    try:
        reader, writer = await start_tls(
            reader,
            writer,
            config=client_config(offer),
            server_name=server_name,
            session=session,
            early_data=send_early,
            ssl_handshake_timeout=prober.timeout,
            limit=MAX_HTTP_HEAD,
            trace=True,
            on_event=seen,
        )
    except BaseException:
        writer.transport.abort()
        raise
    took = time.perf_counter() - start
    try:
        hs: HandshakeCompleted = writer.get_extra_info("tlslens")
        http = None
        if http_host is not None:
            http = await _http_head(reader, writer, http_host, already_sent=hs.early_data_accepted)
        elif want_ticket and hs.version == TLS13:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.ticket.wait(), min(_patience(took), (prober.timeout - took) / 2))
        result = HandshakeResult(
            True,
            version=hs.version,
            cipher_suite=hs.cipher_suite.name,
            group=hs.group,
            signature_scheme=hs.signature_scheme,
            alpn=hs.alpn_protocol,
            chain=hs.peer_certificates,
            ocsp_response=seen.ocsp,
            resumed=hs.resumed,
            early_data_accepted=hs.early_data_accepted,
            early_data_offered=send_early is not None,
            session=seen.session,
            http=http,
            extended_master_secret=hs.extended_master_secret,
            secure_renegotiation=seen.secure_renegotiation,
            session_offered=session is not None,
        )
    except BaseException:
        writer.transport.abort()
        raise
    if offer.tickets or session is not None:
        writer.transport.abort()
        return result, None
    return result, (reader, writer, took)


def _patience(took: float) -> float:
    """How long to wait for what a server sends one round trip after something (a TLS 1.3 ticket after
    our Finished, its close_notify after ours), given that the handshake took ``took`` seconds (at least
    two round trips): four times that, and at least a quarter second for a busy machine."""
    return max(4 * took, 0.25)


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, took: float) -> None:
    """close_notify, then the peer's EOF (its close_notify comes one round trip after ours: see
    ``_patience``): a server that sees a connection cut without close_notify may drop
    the session from its cache (OpenSSL does, RFC 5246 §7.2.1), and resumption by session ID would then
    be judged wrongly. Other handshakes just abort."""
    try:
        async with asyncio.timeout(_patience(took)):
            writer.write_eof()
            while await reader.read(16384):
                pass
    except (TLSError, OSError, TimeoutError):
        pass
    finally:
        writer.transport.abort()


def http_request(host: str) -> bytes:
    """The one request the scanner sends: ``GET /``, idempotent (safe as 0-RTT data too)."""
    return (
        f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")


async def _http_head(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, *, already_sent: bool
) -> HttpResponse:
    if not already_sent:
        writer.write(http_request(host))
    return await read_response_head(reader)


async def read_response_head(reader: asyncio.StreamReader) -> HttpResponse:
    """Read until h11 has a whole response head (at most ``MAX_HTTP_HEAD`` bytes)."""
    client = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HTTP_HEAD)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "scan")]))
    client.send(h11.EndOfMessage())
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError as exc:
            return HttpResponse(None, error=f"not an HTTP/1.1 response: {exc}")
        if isinstance(event, h11.Response):
            headers = tuple((n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in event.headers)
            return HttpResponse(event.status_code, headers)
        if isinstance(event, h11.ConnectionClosed):
            return HttpResponse(None, error="the server closed the connection without an HTTP response")
        if event is h11.NEED_DATA:
            data = await reader.read(16384)
            client.receive_data(data)
        elif isinstance(event, h11.InformationalResponse):
            continue


def proxy_authorization(proxy: Proxy) -> list[tuple[str, str]]:
    """Basic credentials for ``proxy`` (RFC 9110 §11.7.1), as its CONNECT requests send them."""
    if proxy.username is None:
        return []
    secret = f"{proxy.username}:{proxy.password or ''}".encode()
    return [("Proxy-Authorization", "Basic " + base64.b64encode(secret).decode("ascii"))]


# --- AIA ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AiaDownload:
    """One caIssuers URL and what it gave: certificates, or why not."""

    url: str
    certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    error: str | None = None


def decode_ca_issuers(data: bytes) -> tuple[x509.Certificate, ...]:
    """A caIssuers body: DER certificate (RFC 5280 §4.2.2.1), a PKCS#7 "certs-only" bundle, or PEM."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return tuple(x509.load_pem_x509_certificates(data))
    try:
        return (x509.load_der_x509_certificate(data),)
    except ValueError:
        return tuple(pkcs7.load_der_pkcs7_certificates(data))


async def fetch_aia(
    url: str, timeout: float, limit: int = MAX_AIA_BYTES, proxy: Proxy | None = None
) -> AiaDownload:
    """GET an ``http://`` caIssuers URL (HTTP only, as RFC 5280 allows; at most ``limit`` bytes), through
    ``proxy`` when given (a plain proxied GET with the absolute URL, RFC 9112 §3.2.2)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return AiaDownload(url, error="only http:// caIssuers URLs are fetched")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = [("Host", parts.netloc), ("User-Agent", USER_AGENT), ("Connection", "close")]
    if proxy is not None:
        path = f"http://{parts.netloc}{path}"
        headers += proxy_authorization(proxy)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            if proxy is not None:
                reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
            else:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
            client = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HTTP_HEAD)
            request = h11.Request(method="GET", target=path, headers=headers)
            writer.write(client.send(request) + client.send(h11.EndOfMessage()))
            body = bytearray()
            status = None
            while True:
                event = client.next_event()
                if event is h11.NEED_DATA:
                    client.receive_data(await reader.read(16384))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > limit:
                        return AiaDownload(url, error=f"more than {limit} bytes")
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    break
        if status != 200:
            return AiaDownload(url, error=f"HTTP status {status}")
        return AiaDownload(url, decode_ca_issuers(bytes(body)))
    except (OSError, TimeoutError, h11.ProtocolError) as exc:
        return AiaDownload(url, error=_reason(exc))
    except ValueError as exc:
        return AiaDownload(url, error=f"not a certificate: {exc}")
    finally:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.transport.abort()
