"""Scans that take another route to the server: STARTTLS (an SMTP speaker in front of ``openssl
s_server``), an HTTP CONNECT proxy (every probe through it, AIA downloads too), and the command line's
``--starttls``, ``--proxy`` and ``HTTPS_PROXY`` / ``NO_PROXY``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.cli.procs import run_tlslens
from tests.cli.speakers import LoopThread, loop_thread, smtp
from tests.pki.factory import make_leaf
from tlslens.adapters.proxy import parse_proxy

from .conftest import LeafFiles, ScanPki, codes, requires_openssl, run_scan
from .servers import HttpProxy, http_server, openssl_server, smtp_relay

pytestmark = [pytest.mark.interop, requires_openssl, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    with loop_thread() as runner:
        yield runner


def serve(leaf: LeafFiles, *args: str) -> list[str]:
    return ["-cert", str(leaf.cert), "-key", str(leaf.key), "-cert_chain", str(leaf.chain), "-www", *args]


def without_proxy_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}


@pytest.fixture
def smtp_port(loop: LoopThread, ec_leaf: LeafFiles) -> Iterator[int]:
    with openssl_server(*serve(ec_leaf)) as tls_port:
        server, port = loop.serve(smtp_relay(tls_port))
        try:
            yield port
        finally:
            loop.loop.call_soon_threadsafe(server.close)


def test_starttls_smtp_in_front_of_openssl(scan_pki: ScanPki, smtp_port: int) -> None:
    report = run_scan(smtp_port, scan_pki, starttls="smtp")
    assert report["error"] is None, report
    assert report["starttls"] == "smtp" and report["proxy"] is None and report["ip"] == "127.0.0.1"
    assert {p for p, on in report["protocols"].items() if on} == {"TLSv1.2", "TLSv1.3"}
    assert report["cipher_suites"]["TLSv1.3"]["suites"] and report["groups"]["TLSv1.3"]["groups"]
    # The chain through complete handshakes after STARTTLS, in both versions.
    [cert] = report["certificates"]
    assert cert["valid"]
    hows = {s["how"] for s in cert["served"]}
    assert {
        "TLSv1.3 handshake, all schemes, SNI localhost",
        "TLSv1.2 handshake, all schemes, SNI localhost",
    } <= hows
    assert report["server"]["resumption"]["tls13_resumed"] is True
    assert report["server"]["resumption"]["tls12_resumed_by_session_id"] is True
    assert report["server"]["alpn"]["offered"] == []  # not HTTP: nothing to offer
    # Grading: the TLS configuration's grade; no HTTP, so no HSTS finding, cap or step, and A at best.
    assert report["hsts"] == {"tested": False, "reason": "not an HTTPS server (STARTTLS smtp)"}
    assert not codes(report) & {"no-hsts", "hsts-short", "hsts-invalid"}
    assert report["grade"] == "A"
    assert report["grade_reasons"][-1].startswith("A is the best grade of a STARTTLS service")
    assert report["improvements"] == []
    starttls = next(f for f in report["findings"] if f["code"] == "starttls")
    assert starttls["severity"] == "info" and "MTA-STS" in starttls["fix"]


def test_starttls_refused_is_one_clear_reason(scan_pki: ScanPki, loop: LoopThread) -> None:

    async def no_starttls(reader: Any, writer: Any) -> None:
        try:
            await smtp(reader, writer, False)
            await reader.read()
        except OSError:
            pass
        finally:
            writer.close()

    server, port = loop.serve(no_starttls)
    try:
        report = run_scan(port, scan_pki, starttls="smtp")
    finally:
        loop.loop.call_soon_threadsafe(server.close)
    assert report["grade"] is None
    assert report["error"].startswith("STARTTLS smtp: the server does not offer STARTTLS")


def test_every_probe_goes_through_the_connect_proxy(
    scan_pki: ScanPki, ec_leaf: LeafFiles, loop: LoopThread
) -> None:
    proxy = HttpProxy()
    proxy_server, proxy_port = loop.serve(proxy)
    try:
        with openssl_server(*serve(ec_leaf)) as port:
            report = run_scan(port, scan_pki, proxy=parse_proxy(f"127.0.0.1:{proxy_port}"))
    finally:
        loop.loop.call_soon_threadsafe(proxy_server.close)
    assert report["error"] is None
    assert report["ip"] is None and report["proxy"] == f"127.0.0.1:{proxy_port}"
    # Hello probes and complete handshakes alike: one CONNECT each, to the target as named.
    assert proxy.connects == [f"127.0.0.1:{port}"] * report["probes"]
    assert report["checks"]["handshakes"]["probes"] >= 4 and report["checks"]["cipher_suites"]["probes"] >= 2
    assert report["hsts"]["tested"] is True and report["certificates"][0]["valid"]
    assert report["grade"] == "A-"


def test_aia_download_goes_through_the_proxy(scan_pki: ScanPki, tmp_path: Path, loop: LoopThread) -> None:
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "intermediate.cer").write_bytes(scan_pki.inter.cert.public_bytes(Encoding.DER))
    proxy = HttpProxy()
    proxy_server, proxy_port = loop.serve(proxy)
    try:
        with http_server(tmp_path / "ca") as http_port:
            url = f"http://127.0.0.1:{http_port}/intermediate.cer"
            issued = make_leaf(scan_pki.inter, "localhost", sans=["localhost"], aia_url=url)
            leaf = scan_pki.leaf("aia-proxy", issued)
            args = ["-cert", str(leaf.cert), "-key", str(leaf.key), "-www", "-tls1_3"]
            with openssl_server(*args) as port:
                report = run_scan(port, scan_pki, proxy=parse_proxy(f"http://127.0.0.1:{proxy_port}"))
    finally:
        loop.loop.call_soon_threadsafe(proxy_server.close)
    assert proxy.gets == [url]
    assert report["certificates"][0]["aia"]["completes_chain"] is True
    assert report["grade"] == "B"


def scan_cli(pki: ScanPki, *args: str, env: dict[str, str]) -> tuple[int, list[dict[str, Any]], str]:
    result = run_tlslens(
        "scan", "--servername", "localhost", "--cafile", str(pki.root_pem), "--json", *args, env=env
    )
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.returncode, reports, result.stderr


def test_cli_https_proxy_from_the_environment_and_no_proxy(
    scan_pki: ScanPki, ec_leaf: LeafFiles, loop: LoopThread
) -> None:
    proxy = HttpProxy()
    proxy_server, proxy_port = loop.serve(proxy)
    env = {**without_proxy_env(), "HTTPS_PROXY": f"http://127.0.0.1:{proxy_port}"}
    try:
        with openssl_server(*serve(ec_leaf, "-tls1_3")) as port:
            code, [used], err = scan_cli(scan_pki, f"127.0.0.1:{port}", env=env)
            through = len(proxy.connects)
            code2, [bypassed], _ = scan_cli(
                scan_pki, f"127.0.0.1:{port}", env={**env, "NO_PROXY": "127.0.0.1"}
            )
            code3, [direct], _ = scan_cli(scan_pki, f"127.0.0.1:{port}", "--proxy", "", env=env)
    finally:
        loop.loop.call_soon_threadsafe(proxy_server.close)
    assert code == code2 == code3 == 0, err
    assert used["proxy"] == f"127.0.0.1:{proxy_port}" and through == used["probes"]
    assert bypassed["proxy"] is None and direct["proxy"] is None
    assert len(proxy.connects) == through  # NO_PROXY and --proxy '' went direct
    assert used["grade"] == bypassed["grade"] == direct["grade"] == "A-"


def test_cli_bad_proxy_is_a_usage_error(scan_pki: ScanPki) -> None:
    code, reports, err = scan_cli(
        scan_pki, "127.0.0.1:1", env={**without_proxy_env(), "HTTPS_PROXY": "socks5://x"}
    )
    assert code == 2 and reports == []
    assert "HTTPS_PROXY" in err and "only http:// proxies" in err


def test_cli_starttls_uses_the_protocol_default_port_and_an_explicit_one(
    scan_pki: ScanPki, smtp_port: int
) -> None:
    code, [report], err = scan_cli(
        scan_pki, f"127.0.0.1:{smtp_port}", "--starttls", "smtp", env=without_proxy_env()
    )
    assert code == 0, err
    assert report["starttls"] == "smtp" and report["grade"] == "A"
    assert report["target"] == f"127.0.0.1:{smtp_port}"
    _code, [default], _ = scan_cli(
        scan_pki, "127.0.0.1", "--starttls", "smtp", "--timeout", "2", env=without_proxy_env()
    )
    assert default["target"] == "127.0.0.1:25"
