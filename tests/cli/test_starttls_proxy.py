"""`tlslens client/certs --starttls` against a plaintext speaker of each protocol that then hands the
connection to Python's ssl (OpenSSL), and `--proxy` / `https_proxy` through an HTTP CONNECT proxy
written here with asyncio, in front of `tlslens server` and `openssl s_server`."""

from __future__ import annotations

import json
import os
import re
import ssl
from collections.abc import Iterator

import pytest

from tests.cli.conftest import PkiFiles, requires_openssl
from tests.cli.procs import Proc, openssl_server, run_tlslens, summary_lines, tlslens_args, tlslens_server
from tests.cli.speakers import SPEAKERS, ConnectProxy, LoopThread, loop_thread, starttls_speaker

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    with loop_thread() as runner:
        yield runner


@pytest.fixture(scope="module")
def ssl_server(pki: PkiFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(pki.chain, pki.key)
    return context


def _client(pki: PkiFiles, target: str, *more: str) -> tuple[str, ...]:
    return ("client", target, "--cafile", str(pki.ca), "--servername", "localhost", *more)


def _no_proxy_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
    return env


def _echo_through(args: tuple[str, ...], line: bytes, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the client, send ``line``, wait for it to come back, then end stdin. (The speakers run on
    asyncio's ssl, which closes on close_notify instead of answering after it, so the line must be
    back before our half-close.)"""
    proc = Proc(tlslens_args(*args), env=env)
    try:
        proc.send(line)
        proc.wait_for("^" + re.escape(line.decode().strip()) + "$", "stdout")
        code = proc.finish()
    finally:
        proc.kill()
    assert proc.stdout == line.decode(), proc.stderr
    return code, proc.stderr


@pytest.mark.parametrize("protocol", list(SPEAKERS))
def test_client_starttls_then_tls_with_openssl(
    protocol: str, pki: PkiFiles, loop: LoopThread, ssl_server: ssl.SSLContext
) -> None:
    server, port = loop.serve(starttls_speaker(protocol, ssl_server))
    try:
        code, trace = _echo_through(
            _client(pki, f"127.0.0.1:{port}", "--starttls", protocol, "--trace"), b"hello over tls\n"
        )
    finally:
        loop.loop.call_soon_threadsafe(server.close)
    assert code == 0, trace
    # The plaintext exchange is in the trace, before the ClientHello.
    hello = trace.index("→ ClientHello")
    assert trace.index(f"→ {protocol}  ") < hello and trace.index(f"← {protocol}  ") < hello
    assert json.loads(summary_lines(trace)[-1].split(": ", 1)[1])["version"] == "TLSv1.3"


@pytest.mark.parametrize(
    ("protocol", "reason"),
    [
        ("smtp", "does not offer STARTTLS (its EHLO reply lists: PIPELINING, SIZE)"),
        ("imap", "does not offer STARTTLS (capabilities: IMAP4REV2 AUTH=PLAIN)"),
        ("pop3", "the server refused STLS: -ERR STLS not available"),
        ("ftp", "the server refused AUTH TLS: 502 not implemented"),
        ("xmpp", "does not offer STARTTLS (its features: bind)"),
        ("postgres", "does not accept TLS (it answered N to SSLRequest)"),
        ("ldap", "refused StartTLS: resultCode 53 unwillingToPerform"),
        ("nntp", "the server refused STARTTLS: 580 can not initiate TLS"),
        ("sieve", "does not offer STARTTLS (capabilities: IMPLEMENTATION, SIEVE)"),
    ],
)
def test_a_server_without_starttls_is_one_clear_error(
    protocol: str, reason: str, pki: PkiFiles, loop: LoopThread, ssl_server: ssl.SSLContext
) -> None:
    server, port = loop.serve(starttls_speaker(protocol, ssl_server, offer=False))
    try:
        result = run_tlslens(*_client(pki, f"127.0.0.1:{port}", "--starttls", protocol))
    finally:
        loop.loop.call_soon_threadsafe(server.close)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: STARTTLS {protocol}: ") and reason in errors[0]
    assert "Traceback" not in result.stderr


def test_starttls_against_a_peer_that_speaks_another_protocol(
    pki: PkiFiles, loop: LoopThread, ssl_server: ssl.SSLContext
) -> None:
    server, port = loop.serve(starttls_speaker("pop3", ssl_server))  # "+OK ..." is not an SMTP reply
    try:
        result = run_tlslens(*_client(pki, f"127.0.0.1:{port}", "--starttls", "smtp", "--timeout", "5"))
    finally:
        loop.loop.call_soon_threadsafe(server.close)
    assert result.returncode == 1
    assert "error: STARTTLS smtp: the server does not speak SMTP: '+OK POP3 speaker ready'" in result.stderr


def test_certs_starttls_shows_the_chain(pki: PkiFiles, loop: LoopThread, ssl_server: ssl.SSLContext) -> None:
    server, port = loop.serve(starttls_speaker("imap", ssl_server))
    try:
        result = run_tlslens(
            "certs",
            f"127.0.0.1:{port}",
            "--starttls",
            "imap",
            "--servername",
            "localhost",
            "--cafile",
            str(pki.ca),
        )
    finally:
        loop.loop.call_soon_threadsafe(server.close)
    assert result.returncode == 0, result.stderr
    assert "Presented chain (2 certificates)" in result.stdout and "[leaf] CN=localhost" in result.stdout


def test_client_through_a_connect_proxy(pki: PkiFiles, loop: LoopThread) -> None:
    proxy = ConnectProxy()
    proxy_server, proxy_port = loop.serve(proxy)
    try:
        with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
            result = run_tlslens(
                *_client(pki, f"127.0.0.1:{port}", "--proxy", f"http://127.0.0.1:{proxy_port}", "--trace"),
                input=b"through the tunnel\n",
                env=_no_proxy_env(),
            )
    finally:
        loop.loop.call_soon_threadsafe(proxy_server.close)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "through the tunnel\n"
    assert proxy.targets == [f"127.0.0.1:{port}"]
    assert f"→ proxy  CONNECT 127.0.0.1:{port} HTTP/1.1" in result.stderr
    assert "← proxy  HTTP/1.1 200 Connection established" in result.stderr


@requires_openssl
def test_https_proxy_from_the_environment_and_no_proxy(pki: PkiFiles, loop: LoopThread) -> None:
    proxy = ConnectProxy()
    proxy_server, proxy_port = loop.serve(proxy)
    env = {**_no_proxy_env(), "HTTPS_PROXY": f"http://127.0.0.1:{proxy_port}"}
    try:
        with openssl_server("-cert", str(pki.chain), "-key", str(pki.key), "-naccept", "2") as (_s, port):
            used = run_tlslens(
                "certs",
                f"127.0.0.1:{port}",
                "--json",
                "--servername",
                "localhost",
                "--cafile",
                str(pki.ca),
                env=env,
            )
            bypassed = run_tlslens(
                "certs",
                f"127.0.0.1:{port}",
                "--json",
                "--servername",
                "localhost",
                "--cafile",
                str(pki.ca),
                env={**env, "NO_PROXY": "example.org, 127.0.0.1"},
            )
    finally:
        loop.loop.call_soon_threadsafe(proxy_server.close)
    # s_server sends the leaf alone (so the chain is diagnosed incomplete): the handshakes completed.
    for run in (used, bypassed):
        assert json.loads(run.stdout)["handshake_completed"] is True, run.stderr
    assert proxy.targets == [f"127.0.0.1:{port}"]  # the first went through the proxy, the second not


def test_starttls_through_a_proxy(pki: PkiFiles, loop: LoopThread, ssl_server: ssl.SSLContext) -> None:
    proxy = ConnectProxy()
    proxy_server, proxy_port = loop.serve(proxy)
    server, port = loop.serve(starttls_speaker("smtp", ssl_server))
    try:
        code, stderr = _echo_through(
            _client(pki, f"127.0.0.1:{port}", "--starttls", "smtp", "--proxy", f"127.0.0.1:{proxy_port}"),
            b"mail\n",
            env=_no_proxy_env(),
        )
    finally:
        loop.loop.call_soon_threadsafe(proxy_server.close)
        loop.loop.call_soon_threadsafe(server.close)
    assert code == 0, stderr
    assert proxy.targets == [f"127.0.0.1:{port}"]


def test_a_proxy_that_refuses_is_one_clear_error(pki: PkiFiles, loop: LoopThread) -> None:
    proxy_server, proxy_port = loop.serve(ConnectProxy(refuse=b"403 Forbidden"))
    try:
        result = run_tlslens(
            *_client(pki, "127.0.0.1:9", "--proxy", f"http://127.0.0.1:{proxy_port}"), env=_no_proxy_env()
        )
    finally:
        loop.loop.call_soon_threadsafe(proxy_server.close)
    assert result.returncode == 1
    assert (
        f"error: the proxy 127.0.0.1:{proxy_port} refused CONNECT to 127.0.0.1:9: 403 Forbidden"
        in result.stderr
    )


def test_a_bad_proxy_url_is_a_usage_error(pki: PkiFiles) -> None:
    result = run_tlslens(*_client(pki, "127.0.0.1:9", "--proxy", "socks5://127.0.0.1:1080"))
    assert result.returncode == 2
    assert "--proxy" in result.stderr and "only http:// proxies" in result.stderr
