"""Fetching OCSP responses (tlslens.pki.ocsp_fetch) when the responder misbehaves: an HTTP error, an answer
over the size limit (announced or not), one that never comes, garbage, a response for another
certificate, nobody listening; and when to fetch again. (A real responder, ``openssl ocsp``, is in
tests/interop/test_openssl_ocsp.py.)

The misbehaving responder is a small real HTTP server on loopback (``http.server``), answering as told.
"""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from cryptography import x509

from tests.pki.factory import DAY, NOW, make_intermediate, make_leaf, make_root
from tests.pki.ocsp_factory import HOUR, ocsp_response
from tlslens.config import CertifiedKey
from tlslens.pki.ocsp_fetch import (
    MAX_INTERVAL,
    RETRY_INTERVALS,
    FetchError,
    OcspRefresher,
    fetch_ocsp,
    ocsp_request,
)

ROOT = make_root("Fetch Root")
INTER = make_intermediate(ROOT, "Fetch Intermediate")
Answer = Callable[[http.server.BaseHTTPRequestHandler, bytes], None]


@pytest.fixture
def responder() -> Iterator[Callable[[Answer], str]]:
    """Start a loopback HTTP server answering each POST with ``answer(handler, body)``; returns its URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                assert self.headers["Content-Type"] == "application/ocsp-request"
                answer(self, body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/ocsp"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(status: int, body: bytes, *, length: int | None = None) -> Answer:
    def answer(handler: http.server.BaseHTTPRequestHandler, request: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/ocsp-response")
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def leaf_with_responder(url: str, *, alone: bool = False) -> CertifiedKey:
    aia = x509.AuthorityInformationAccess(
        [x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url))]
    )
    leaf = make_leaf(INTER, "localhost", extensions=[(aia, False)])
    chain = [leaf.cert] if alone else [leaf.cert, INTER.cert]
    return CertifiedKey.from_key(chain, leaf.key)  # type: ignore[arg-type]


def test_request_names_the_leaf() -> None:
    leaf = make_leaf(INTER, "x.example.com")
    from cryptography.x509 import ocsp

    request = ocsp.load_der_ocsp_request(ocsp_request(leaf.cert, INTER.cert))
    assert request.serial_number == leaf.cert.serial_number


def test_refresh_installs_a_good_response_and_comes_back_halfway(responder: Callable[[Answer], str]) -> None:
    holder: dict[str, CertifiedKey] = {}

    def answer(handler: http.server.BaseHTTPRequestHandler, request: bytes) -> None:
        der = ocsp_response(holder["key"].chain[0], INTER, this_update=NOW - HOUR, next_update=NOW + 4 * HOUR)
        reply(200, der)(handler, request)

    url = responder(answer)
    certified = holder["key"] = leaf_with_responder(url)
    refresher = OcspRefresher(certified, clock=lambda: NOW.timestamp())
    wait = refresher.refresh()
    assert certified.staple.response is not None
    assert wait == pytest.approx(2 * 3600)  # halfway to nextUpdate
    assert certified.staple.next_update == NOW + 4 * HOUR


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (reply(500, b"oops"), "answered HTTP 500"),
        (reply(200, b"x" * 70_000), "announced 70000 bytes"),
        (reply(200, b""), "an empty answer"),
        (
            reply(200, b"not a response"),
            "the responder's answer was not stapled: the OCSP response is not valid DER",
        ),
    ],
    ids=["http_error", "too_big", "empty", "garbage"],
)
def test_refresh_failures_keep_the_last_response(
    responder: Callable[[Answer], str], answer: Answer, error: str
) -> None:
    certified = leaf_with_responder(responder(answer))
    certified.staple.set(None)
    lines: list[str] = []
    refresher = OcspRefresher(certified, log=lines.append)
    assert refresher.refresh() == RETRY_INTERVALS[0]
    assert certified.staple.response is None
    assert error in lines[0], lines
    assert refresher.refresh() == RETRY_INTERVALS[1]  # backing off


def test_an_answer_without_length_stops_at_the_limit(responder: Callable[[Answer], str]) -> None:
    def endless(handler: http.server.BaseHTTPRequestHandler, request: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"x" * 8192
        try:
            for _ in range(64):
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # (the client hung up at its limit)

    url = responder(endless)
    with pytest.raises(FetchError, match="over 1000 bytes"):
        fetch_ocsp(url, b"request", max_size=1000)


def test_a_responder_that_never_answers_times_out() -> None:
    with socket.socket() as listener:  # accepts (the backlog does), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(FetchError, match=r"timed out|took too long"):
            fetch_ocsp(url, b"request", timeout=0.3)


def test_nobody_listening() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match="failed"):
        fetch_ocsp(f"http://127.0.0.1:{port}/", b"request")


def test_only_http_responders() -> None:
    with pytest.raises(FetchError, match="an http:// responder URL is needed"):
        fetch_ocsp("https://ocsp.example.com/", b"request")


def test_a_response_for_another_certificate_is_not_stapled(responder: Callable[[Answer], str]) -> None:
    other = make_leaf(INTER, "other.example.com")
    url = responder(reply(200, ocsp_response(other, INTER)))
    certified = leaf_with_responder(url)
    lines: list[str] = []
    OcspRefresher(certified, log=lines.append).refresh()
    assert certified.staple.response is None
    assert "about another certificate" in lines[0]


def test_a_far_next_update_is_fetched_again_within_the_max_interval(
    responder: Callable[[Answer], str],
) -> None:
    holder: dict[str, CertifiedKey] = {}

    def answer(handler: http.server.BaseHTTPRequestHandler, request: bytes) -> None:
        reply(200, ocsp_response(holder["key"].chain[0], INTER, next_update=NOW + 7 * DAY))(handler, request)

    certified = holder["key"] = leaf_with_responder(responder(answer))
    assert OcspRefresher(certified, clock=lambda: NOW.timestamp()).refresh() == MAX_INTERVAL


def test_the_refresher_needs_a_responder_and_an_issuer() -> None:
    leaf = make_leaf(INTER, "localhost")
    with pytest.raises(ValueError, match="names no OCSP responder"):
        OcspRefresher(CertifiedKey.from_key([leaf.cert, INTER.cert], leaf.key))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no issuer certificate"):
        OcspRefresher(leaf_with_responder("http://127.0.0.1:9/", alone=True))


def test_now_is_utc() -> None:
    assert NOW.tzinfo is dt.UTC
