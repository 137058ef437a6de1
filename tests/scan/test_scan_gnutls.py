"""A real server without secure renegotiation: GnuTLS's ``gnutls-serv`` with
``%DISABLE_SAFE_RENEGOTIATION`` (OpenSSL 3 always sends renegotiation_info)."""

from __future__ import annotations

import pytest

from .conftest import LeafFiles, ScanPki, codes, run_scan
from .servers import GNUTLS_SERV, gnutls_server

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(GNUTLS_SERV is None, reason="gnutls-serv not installed (Debian gnutls-bin)"),
]


def test_a_server_without_rfc5746_is_seen_in_a_real_handshake(scan_pki: ScanPki, ec_leaf: LeafFiles) -> None:
    priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2:%DISABLE_SAFE_RENEGOTIATION"
    args = ["--http", "--priority", priority, "--x509certfile", str(ec_leaf.chain), "--x509keyfile"]
    with gnutls_server(*args, str(ec_leaf.key)) as port:
        report = run_scan(port, scan_pki)
    assert report["error"] is None
    assert {p for p, on in report["protocols"].items() if on} == {"TLSv1.2"}
    server = report["server"]
    # The engine read the ServerHello, saw no renegotiation_info and refused to go on (as OpenSSL 3 does).
    assert server["secure_renegotiation"] is False
    assert server["proved_by_tls12_handshake"] == ["secure_renegotiation"]
    finding = next(f for f in report["findings"] if f["code"] == "insecure-renegotiation")
    assert "in a TLS 1.2 handshake" in finding["detail"] and finding["fix"]
    assert {"grade": "A-", "code": "insecure-renegotiation"}.items() <= next(
        c for c in report["caps"] if c["code"] == "insecure-renegotiation"
    ).items()
    # Without a complete handshake: the chain from the hellos' plaintext flights, and the reasons.
    [cert] = report["certificates"]
    assert cert["valid"] and all(" hello" in s["how"] for s in cert["served"])
    assert "secure renegotiation" in report["hsts"]["reason"]
    assert "secure renegotiation" in report["not_tested"]["tls12_resumption"]
    assert "no-tls1.3" in codes(report)
