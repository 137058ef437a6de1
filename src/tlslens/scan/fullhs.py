"""Complete handshakes (through ``tlslens.aio``), one HTTP request, and AIA downloads: the I/O the
hello-only probes cannot do.

A complete handshake gives what TLS 1.3 encrypts: the certificate chain, a stapled OCSP response,
ALPN, session tickets (and so resumption and 0-RTT), and an HTTP response for HSTS. It uses
``RecordingVerifier``-style acceptance (``dangerous.NoVerification``): the scanner judges the chain
itself afterwards, so a bad chain never stops the scan. Only TLS 1.3 handshakes exist in the engine so
far; ``FULL_HANDSHAKE_VERSIONS`` is the one place that says so (TLS 1.2 joins it when the engine speaks
it, and every check that needs a handshake switches on with it).

Every read is bounded in size and in time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import h11
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from tlslens.adapters.aio_protocol import TLSProtocol
from tlslens.config import ClientConfig
from tlslens.connection import ClientConnection
from tlslens.crypto.signatures import TLS13_CERTIFICATE_VERIFY_SCHEMES
from tlslens.dangerous import NoVerification
from tlslens.errors import TLSError
from tlslens.events import Event, HandshakeCompleted, MessageReceived
from tlslens.scan.hellos import SIGNATURE_SCHEMES
from tlslens.scan.net import Prober
from tlslens.wire.enums import CertificateStatusType, NamedGroup, ProtocolVersion, SignatureScheme
from tlslens.wire.extensions import CertificateStatus, OCSPStatusRequest, StatusRequest
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import Certificate

if TYPE_CHECKING:
    from tlslens.session.cache import Session

__all__ = [
    "FULL_HANDSHAKE_VERSIONS",
    "AiaDownload",
    "HandshakeResult",
    "HttpResponse",
    "fetch_aia",
    "full_handshake",
]

FULL_HANDSHAKE_VERSIONS: frozenset[ProtocolVersion] = frozenset({ProtocolVersion.TLS1_3})
"""Versions the engine can complete a handshake in (checks needing one are "not tested" otherwise)."""

MAX_HTTP_HEAD = 64 * 1024
MAX_AIA_BYTES = 64 * 1024
USER_AGENT = "tlslens-scan"

_TLS13_SCHEMES = tuple(s for s in SIGNATURE_SCHEMES if s in TLS13_CERTIFICATE_VERIFY_SCHEMES)


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


def _with_status_request(hello: ClientHello) -> ClientHello:
    if hello.extension(StatusRequest) is not None:  # (ClientConfig.ocsp_stapling asks already)
        return hello
    exts = (*(hello.extensions or ()), StatusRequest(CertificateStatusType.OCSP, OCSPStatusRequest()))
    return ClientHello(
        hello.legacy_version,
        hello.random,
        hello.legacy_session_id,
        hello.cipher_suites,
        hello.legacy_compression_methods,
        exts,
    )


def _config(schemes: Sequence[SignatureScheme] | None, alpn: Sequence[str]) -> ClientConfig:
    offered = tuple(schemes) if schemes else _TLS13_SCHEMES
    return ClientConfig(
        verifier=NoVerification(),
        signature_schemes=[s for s in offered if s in _TLS13_SCHEMES],
        alpn_protocols=tuple(alpn),
        client_hello_hook=_with_status_request,
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TLSError):
        return str(exc).removeprefix("tls: ")
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


async def full_handshake(
    prober: Prober,
    check: str,
    *,
    server_name: str | None,
    schemes: Sequence[SignatureScheme] | None = None,
    alpn: Sequence[str] = (),
    http_host: str | None = None,
    session: Session | None = None,
    early_data: bytes | None = None,
) -> HandshakeResult:
    """A complete TLS 1.3 handshake; with ``http_host``, one ``GET /`` and its response head.

    ``session`` resumes (``early_data`` is then sent as 0-RTT when the ticket allows it).
    """
    async with prober.slot(check):
        try:
            async with asyncio.timeout(prober.timeout):
                return await _run(prober, server_name, schemes, alpn, http_host, session, early_data)
        except (TLSError, OSError, TimeoutError) as exc:
            return HandshakeResult(False, _reason(exc))


async def _run(
    prober: Prober,
    server_name: str | None,
    schemes: Sequence[SignatureScheme] | None,
    alpn: Sequence[str],
    http_host: str | None,
    session: Session | None,
    early_data: bytes | None,
) -> HandshakeResult:
    loop = asyncio.get_running_loop()
    ocsp: list[bytes] = []

    def on_event(event: Event) -> None:
        if isinstance(event, MessageReceived) and isinstance(event.message, Certificate):
            entries = event.message.certificate_list
            status = entries[0].extension(CertificateStatus) if entries else None
            if status is not None:
                ocsp.append(status.response)

    send_early = early_data if session is not None and session.max_early_data_size > 0 else None
    conn = ClientConnection(
        _config(schemes, alpn), server_name, session=session, early_data=send_early, trace=True
    )
    reader = asyncio.StreamReader(limit=MAX_HTTP_HEAD, loop=loop)
    app_protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    tls = TLSProtocol(conn, app_protocol, handshake_timeout=prober.timeout, on_event=on_event, loop=loop)
    target = prober.target
    await loop.create_connection(lambda: tls, target.address, target.port)
    try:
        hs: HandshakeCompleted = await tls.handshake_done
        writer = asyncio.StreamWriter(tls.transport, app_protocol, reader, loop)
        http = None
        if http_host is not None:
            http = await _http_head(reader, writer, http_host, already_sent=hs.early_data_accepted)
        return HandshakeResult(
            True,
            version=hs.version,
            cipher_suite=hs.cipher_suite.name,
            group=hs.group,
            signature_scheme=hs.signature_scheme,
            alpn=hs.alpn_protocol,
            chain=hs.peer_certificates,
            ocsp_response=ocsp[0] if ocsp else None,
            resumed=hs.resumed,
            early_data_accepted=hs.early_data_accepted,
            early_data_offered=send_early is not None,
            session=tls.extra_info("session", None),
            http=http,
        )
    finally:
        tls.abort()


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


async def fetch_aia(url: str, timeout: float, limit: int = MAX_AIA_BYTES) -> AiaDownload:
    """GET an ``http://`` caIssuers URL (HTTP only, as RFC 5280 allows; at most ``limit`` bytes)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return AiaDownload(url, error="only http:// caIssuers URLs are fetched")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
            client = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HTTP_HEAD)
            request = h11.Request(
                method="GET",
                target=path,
                headers=[("Host", parts.netloc), ("User-Agent", USER_AGENT), ("Connection", "close")],
            )
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
