"""Scans of a real nginx (Debian nginx-light): real HTTP, HSTS headers, HTTP/2 ALPN, session tickets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.procs import free_port

from .conftest import LeafFiles, ScanPki, codes, requires_nginx, run_scan
from .servers import nginx_block, nginx_server

pytestmark = [pytest.mark.interop, requires_nginx]

MODERN = (
    "ssl_protocols TLSv1.2 TLSv1.3;",
    "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;",
    "ssl_prefer_server_ciphers on;",
)


@pytest.fixture(scope="module")
def nginx_ports(tmp_path_factory: pytest.TempPathFactory, ec_leaf: LeafFiles) -> Iterator[dict[str, int]]:
    ports = {name: free_port() for name in ("hsts-year", "hsts-day", "no-hsts", "tls12-cache")}
    hsts_year = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'
    hsts_day = 'add_header Strict-Transport-Security "max-age=86400" always;'
    blocks = [
        nginx_block(ports["hsts-year"], ec_leaf.chain, ec_leaf.key, *MODERN, hsts_year, http2=True),
        nginx_block(ports["hsts-day"], ec_leaf.chain, ec_leaf.key, *MODERN, hsts_day),
        nginx_block(ports["no-hsts"], ec_leaf.chain, ec_leaf.key, "ssl_protocols TLSv1.2;"),
        nginx_block(
            ports["tls12-cache"],
            ec_leaf.chain,
            ec_leaf.key,
            "ssl_protocols TLSv1.2;",
            "ssl_session_cache shared:tls12:1m;",
            hsts_year,
            http2=True,
        ),
    ]
    prefix: Path = tmp_path_factory.mktemp("nginx")
    with nginx_server(prefix, blocks):
        yield ports


def test_modern_nginx_with_a_year_of_hsts_is_a_plus(scan_pki: ScanPki, nginx_ports: dict[str, int]) -> None:
    report = run_scan(nginx_ports["hsts-year"], scan_pki)
    assert report["grade"] == "A+", report["grade_reasons"]
    assert report["scores"] == {"protocol": 100, "key_exchange": 100, "cipher": 90, "total": 96}
    assert report["hsts"]["max_age"] == 31536000 and report["hsts"]["include_subdomains"] is True
    assert report["hsts"]["http_status"] == 200
    assert report["server"]["alpn"]["selected"] == "h2"
    assert report["server"]["resumption"]["tls13_resumed"] is True
    assert report["cipher_suites"]["TLSv1.2"]["order"] == "server"
    assert [s["name"] for s in report["cipher_suites"]["TLSv1.2"]["suites"]] == [
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ]
    assert not {f["severity"] for f in report["findings"]} & {"critical", "high", "medium"}
    assert report["improvements"] == []


def test_short_hsts_keeps_the_grade_at_a(scan_pki: ScanPki, nginx_ports: dict[str, int]) -> None:
    report = run_scan(nginx_ports["hsts-day"], scan_pki)
    assert report["grade"] == "A"
    assert "hsts-short" in codes(report)
    assert report["improvements"] == [
        {
            "grade": "A+",
            "fix_codes": ["hsts-short"],
            "fixes": [next(f["fix"] for f in report["findings"] if f["code"] == "hsts-short")],
        }
    ]


def test_tls12_nginx_without_hsts(scan_pki: ScanPki, nginx_ports: dict[str, int]) -> None:
    """TLS 1.2 only, nginx's defaults: tickets, but no session cache (ssl_session_cache none)."""
    report = run_scan(nginx_ports["no-hsts"], scan_pki)
    assert {p for p, on in report["protocols"].items() if on} == {"TLSv1.2"}
    assert report["grade"] == "A-"
    assert report["hsts"] == {"tested": True, "http_status": 200, "header": None}
    assert "no-hsts" in codes(report)
    assert report["certificates"][0]["valid"] is True
    resumption = report["server"]["resumption"]
    assert (resumption["tls12_resumed_by_ticket"], resumption["tls12_resumed_by_session_id"]) == (True, False)


def test_tls12_nginx_gets_hsts_resumption_and_the_chain_through_handshakes(
    scan_pki: ScanPki, nginx_ports: dict[str, int]
) -> None:
    report = run_scan(nginx_ports["tls12-cache"], scan_pki)
    assert {p for p, on in report["protocols"].items() if on} == {"TLSv1.2"}
    assert report["hsts"]["max_age"] == 31536000 and report["hsts"]["http_status"] == 200
    assert not codes(report) & {"no-hsts", "hsts-short"}
    assert report["grade"] == "A-"  # no TLS 1.3 (SSL Labs 2009r): the only cap
    assert [c["code"] for c in report["caps"]] == ["no-tls1.3"]
    server = report["server"]
    assert server["alpn"]["selected"] == "h2"
    assert server["resumption"]["tls12_resumed_by_ticket"] is True
    assert server["resumption"]["tls12_resumed_by_session_id"] is True
    assert server["extended_master_secret"] is True and server["secure_renegotiation"] is True
    [cert] = report["certificates"]
    assert cert["valid"] and [c["subject"].split(",")[0] for c in cert["chain"]] == [
        "CN=localhost",
        "CN=tlslens scan test intermediate",
    ]
    hows = [s["how"] for s in cert["served"]]
    assert "TLSv1.2 handshake, all schemes, SNI localhost" in hows
    assert "TLSv1.2 handshake, ECDSA schemes, SNI localhost" in hows
