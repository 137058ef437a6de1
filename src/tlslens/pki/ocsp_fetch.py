"""Fetching a certificate's OCSP response and keeping it fresh, for a server to staple.

:func:`fetch_ocsp` asks the responder named in the leaf's authorityInfoAccess (RFC 6960 Appendix A.1:
an HTTP POST of ``application/ocsp-request``, over ``h11``), within a time limit and a size limit, and
never follows redirects. :class:`OcspRefresher` fetches, checks what it got (``check_response``: the
leaf's, signed by its issuer or a delegated responder, fresh) and installs it on
``CertifiedKey.staple``; then fetches again halfway to nextUpdate (sooner after a failure, keeping the
last good response meanwhile). It runs on a daemon thread of its own, so a handshake never waits for a
responder: the engine only reads the staple's current value. :func:`start_refreshers` starts one per
certificate of a ``ServerConfig(ocsp_fetch=True)``, once; the blocking and asyncio faces and ``tlslens
server`` call it.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

import h11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tlslens.pki.ocsp import MAX_OCSP_RESPONSE, OcspCheck, check_response, ocsp_urls

if TYPE_CHECKING:
    from tlslens.config import CertifiedKey, ServerConfig

__all__ = ["FetchError", "OcspRefresher", "fetch_ocsp", "ocsp_request", "start_refreshers"]

FETCH_TIMEOUT = 10.0
"""Seconds a whole fetch may take (connect, send, read)."""
MIN_INTERVAL = 60.0
"""Never fetch more often than this."""
MAX_INTERVAL = 12 * 3600.0
"""Fetch at least this often, whatever nextUpdate says."""
RETRY_INTERVALS = (60.0, 300.0, 900.0, 3600.0)
"""After failures in a row: wait this long before the next try (the last one from then on)."""


class FetchError(Exception):
    """The responder could not be reached, answered with something other than a response, too much, or
    too late. The message says which."""


def ocsp_request(leaf: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """The DER OCSPRequest for ``leaf`` (CertID in SHA-1, what responders universally accept)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())
    return builder.build().public_bytes(serialization.Encoding.DER)


def fetch_ocsp(
    url: str, request: bytes, *, timeout: float = FETCH_TIMEOUT, max_size: int = MAX_OCSP_RESPONSE
) -> bytes:
    """POST ``request`` to ``url`` (http only) and return the response body; ``FetchError`` otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise FetchError(f"cannot fetch OCSP from {url!r}: an http:// responder URL is needed")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout) as sock:
            return _exchange(sock, parts.netloc, target, request, deadline, max_size)
    except FetchError:
        raise
    except (OSError, h11.ProtocolError) as exc:
        raise FetchError(f"OCSP fetch from {url} failed: {exc}") from None


def _exchange(
    sock: socket.socket, host: str, target: str, body: bytes, deadline: float, max_size: int
) -> bytes:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=16 * 1024)
    headers = [
        ("Host", host),
        ("Content-Type", "application/ocsp-request"),
        ("Accept", "application/ocsp-response"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("User-Agent", "tlslens"),
    ]
    data = conn.send(h11.Request(method="POST", target=target, headers=headers))
    data = (data or b"") + (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
    sock.sendall(data)
    out = bytearray()
    status = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchError("the OCSP responder took too long")
            sock.settimeout(left)
            conn.receive_data(sock.recv(16384))
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            length = dict(event.headers).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > max_size:
                raise FetchError(f"the OCSP responder announced {int(length)} bytes (limit {max_size})")
        elif isinstance(event, h11.Data):
            out += event.data
            if len(out) > max_size:
                raise FetchError(f"the OCSP response is over {max_size} bytes")
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    if status != 200:
        raise FetchError(f"the OCSP responder answered HTTP {status}")
    if not out:
        raise FetchError("the OCSP responder sent an empty answer")
    return bytes(out)


class OcspRefresher:
    """Keeps ``certified.staple`` holding a fresh response from the leaf's OCSP responder.

    ``url``: the responder (default: the leaf's authorityInfoAccess OCSP URL); ``issuer``: the leaf's
    issuer (default: the chain's second certificate). ``log`` receives one line per fetch. ``clock``:
    the time (seconds since the epoch), for tests.
    """

    def __init__(
        self,
        certified: CertifiedKey,
        *,
        url: str | None = None,
        issuer: x509.Certificate | None = None,
        timeout: float = FETCH_TIMEOUT,
        max_size: int = MAX_OCSP_RESPONSE,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        chain = certified.chain
        urls = ocsp_urls(chain[0])
        self.url = url or (urls[0] if urls else None)
        self.issuer = issuer or (chain[1] if len(chain) > 1 else None)
        if self.url is None:
            raise ValueError("the leaf names no OCSP responder (authorityInfoAccess); give url=")
        if self.issuer is None:
            raise ValueError("the chain has no issuer certificate after the leaf; give issuer=")
        self.certified = certified
        self.timeout = timeout
        self.max_size = max_size
        self.log = log or (lambda line: None)
        self.clock = clock
        self.failures = 0
        self.last: OcspCheck | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> float:
        """Fetch and install once; returns the seconds to wait before the next refresh."""
        leaf = self.certified.chain[0]
        assert self.url is not None and self.issuer is not None  # (checked at construction)
        now = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        try:
            der = fetch_ocsp(
                self.url, ocsp_request(leaf, self.issuer), timeout=self.timeout, max_size=self.max_size
            )
        except FetchError as exc:
            return self._failed(str(exc))
        check = check_response(der, leaf, [self.issuer], now)
        self.last = check
        if check.status not in ("good", "revoked", "unknown"):
            return self._failed(f"the responder's answer was not stapled: {check.message}")
        self.certified.staple.set(der)
        self.failures = 0
        self.log(f"OCSP response from {self.url}: {check.status} ({check.message}); stapling it")
        if check.next_update is None:
            return MIN_INTERVAL * 60
        half = (check.next_update - now).total_seconds() / 2
        return min(max(half, MIN_INTERVAL), MAX_INTERVAL)

    def _failed(self, why: str) -> float:
        self.failures += 1
        wait = RETRY_INTERVALS[min(self.failures, len(RETRY_INTERVALS)) - 1]
        self.log(f"OCSP fetch from {self.url} failed: {why}; trying again in {wait:.0f} s")
        return wait

    # --- in the background ------------------------------------------------------------------------------

    def start(self) -> None:
        """Refresh now and from then on, on a daemon thread (until ``stop``)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"tlslens OCSP {self.url}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.refresh()
            except Exception as exc:  # keep serving the last response whatever goes wrong here
                wait = self._failed(f"{type(exc).__name__}: {exc}")
            self._stop.wait(wait)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1)


_started: dict[int, OcspRefresher] = {}
_started_lock = threading.Lock()


def start_refreshers(config: ServerConfig, log: Callable[[str], None] | None = None) -> list[OcspRefresher]:
    """For ``ServerConfig(ocsp_fetch=True)``: a running refresher for each certificate whose leaf names
    an OCSP responder (one per certificate, however often this is called). Returns them."""
    if not config.ocsp_fetch:
        return []
    running = []
    for certified in config.certified_keys:
        with _started_lock:
            refresher = _started.get(id(certified.staple))
            if refresher is None:
                if not ocsp_urls(certified.chain[0]) or len(certified.chain) < 2:
                    if log is not None:
                        name = certified.chain[0].subject.rfc4514_string()
                        log(f"OCSP: {name} names no responder (or no issuer follows it): not fetching")
                    continue
                refresher = OcspRefresher(certified, log=log)
                _started[id(certified.staple)] = refresher
                refresher.start()
        running.append(refresher)
    return running
