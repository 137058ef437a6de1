"""An HTTP CONNECT tunnel (RFC 9110 §9.3.6) to reach a TLS server through a proxy, as curl and
``openssl s_client -proxy`` do, on asyncio streams.

    proxy = parse_proxy("http://proxy.example:3128")      # or proxy_from_environment(host)
    reader, writer = await open_tunnel(proxy, "example.com", 443)
    reader, writer = await tlslens.aio.start_tls(reader, writer, config=config, server_name="example.com")

The proxy's answer is read line by line up to its blank line and parsed with h11, so nothing the
server sends after it (an SMTP greeting, for STARTTLS) is taken from the reader. ``proxy_from_environment``
follows curl for https: ``https_proxy`` (then ``HTTPS_PROXY``), skipped for hosts in ``no_proxy`` /
``NO_PROXY``.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import h11

__all__ = ["Proxy", "ProxyError", "open_tunnel", "parse_proxy", "proxy_from_environment"]

DEFAULT_PROXY_PORT = 1080
"""curl's port for a proxy URL that names none."""

MAX_HEAD = 16 * 1024
"""Bytes of the proxy's answer (status line and headers) we read at most."""

LineHook = Callable[[str, str], None]
"""``(direction, text)``: each line of the exchange, "sent" or "received", for a trace."""


class ProxyError(ConnectionError):
    """The proxy could not give us a tunnel; ``str(exc)`` says why in one line."""


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_proxy(url: str) -> Proxy:
    """``http://[user:password@]host[:port]`` (a bare ``host:port`` means http too). Raises
    ``ValueError`` naming what is wrong."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() != "http":
        raise ValueError(f"{url!r}: only http:// proxies (HTTP CONNECT) are supported")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{url!r}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{url!r} names no proxy host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{url!r}: a proxy URL is http://host:port, without a path")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Proxy(parts.hostname, port or DEFAULT_PROXY_PORT, user, password)


def _bypassed(host: str, no_proxy: str) -> bool:
    """curl's ``NO_PROXY``: ``*``, or comma-separated names (matching the host and its subdomains,
    a leading dot allowed) and IP addresses."""
    name = host.strip("[]").lower().rstrip(".")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.lstrip(".").strip("[]").rstrip(".")
        try:
            if ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False):
                return True
            continue
        except ValueError:
            pass
        if name == entry or name.endswith("." + entry):
            return True
    return False


def proxy_from_environment(host: str, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy curl would use for ``https://host``: ``https_proxy`` or ``HTTPS_PROXY``, unless
    ``no_proxy`` / ``NO_PROXY`` exempts the host. None when there is none."""
    env = os.environ if environ is None else environ
    url = env.get("https_proxy") or env.get("HTTPS_PROXY")
    if not url:
        return None
    if _bypassed(host, env.get("no_proxy") or env.get("NO_PROXY") or ""):
        return None
    return parse_proxy(url)


def _target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def open_tunnel(
    proxy: Proxy, host: str, port: int, *, on_line: LineHook | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to ``proxy`` and ask it for a tunnel to ``host:port``; returns the stream pair that
    now reaches the server. Connection errors to the proxy propagate as ``OSError``; a proxy that
    refuses, closes, or does not answer in HTTP raises ``ProxyError``. Bound it with a timeout."""
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    try:
        await _connect(reader, writer, proxy, _target(host, port), on_line or (lambda d, t: None))
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def _connect(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proxy: Proxy, target: str, on_line: LineHook
) -> None:
    http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
    headers = [("Host", target), ("User-Agent", "tlslens")]
    if proxy.username is not None:
        secret = f"{proxy.username}:{proxy.password or ''}".encode()
        headers.append(("Proxy-Authorization", "Basic " + base64.b64encode(secret).decode("ascii")))
    writer.write(http.send(h11.Request(method="CONNECT", target=target, headers=headers)) or b"")
    on_line("sent", f"CONNECT {target} HTTP/1.1")
    read = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial or read:
                raise ProxyError(f"the proxy {proxy.address} closed the connection in its answer") from None
            raise ProxyError(f"the proxy {proxy.address} closed the connection without answering") from None
        except asyncio.LimitOverrunError:
            raise ProxyError(f"the proxy {proxy.address} sent a line longer than we accept") from None
        read += len(line)
        if read > MAX_HEAD:
            raise ProxyError(f"the proxy {proxy.address} sent more than {MAX_HEAD} bytes of headers")
        http.receive_data(line)
        try:
            event = http.next_event()
        except h11.RemoteProtocolError:
            shown = line.decode("latin-1").strip()[:80]
            raise ProxyError(f"{proxy.address} does not answer as an HTTP proxy: {shown!r}") from None
        if event is h11.NEED_DATA or isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            reason = event.reason.decode("latin-1")
            on_line("received", f"HTTP/{event.http_version.decode()} {event.status_code} {reason}".rstrip())
            if 200 <= event.status_code < 300:
                return
            status = f"{event.status_code} {reason}".rstrip()
            raise ProxyError(f"the proxy {proxy.address} refused CONNECT to {target}: {status}")
        raise ProxyError(f"the proxy {proxy.address} closed the connection without answering")
