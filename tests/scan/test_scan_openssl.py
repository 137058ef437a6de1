"""Scans of real ``openssl s_server`` processes in several configurations: grade, scores, findings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import LeafFiles, ScanPki, codes, requires_openssl, run_scan
from .servers import http_server, openssl_server

pytestmark = [pytest.mark.interop, requires_openssl]

CHAIN_CODES = {
    "missing-intermediate",
    "self-signed",
    "untrusted-root",
    "expired",
    "name-mismatch",
    "invalid-chain",
}


def serve(leaf: LeafFiles, *args: str, chain: bool = True) -> list[str]:
    cert = ["-cert", str(leaf.cert), "-key", str(leaf.key)]
    if chain:
        cert += ["-cert_chain", str(leaf.chain)]
    return [*cert, "-www", *args]


def test_tls13_only_server(scan_pki: ScanPki, ec_leaf: LeafFiles) -> None:
    with openssl_server(*serve(ec_leaf, "-tls1_3")) as port:
        report = run_scan(port, scan_pki)
    assert report["error"] is None
    assert {p for p, on in report["protocols"].items() if on} == {"TLSv1.3"}
    assert report["grade"] == "A-" and report["grade_if_trusted"] == "A-"
    assert report["scores"] == {"protocol": 100, "key_exchange": 100, "cipher": 90, "total": 96}
    assert codes(report) >= {"no-hsts", "tls1.3-only"}
    assert not codes(report) & CHAIN_CODES
    assert [c["code"] for c in report["caps"]] == ["no-hsts"]
    suites = [s["name"] for s in report["cipher_suites"]["TLSv1.3"]["suites"]]
    assert set(suites) == {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
    groups = report["groups"]["TLSv1.3"]["groups"]
    assert {"x25519", "secp256r1", "secp384r1", "ffdhe2048"} <= set(groups)
    assert report["server"]["hello_retry_request"]["sent"] is True
    assert report["server"]["resumption"]["tls13_resumed"] is True
    cert = report["certificates"][0]
    assert cert["valid"] and cert["chain"][0]["subject"].startswith("CN=localhost")
    assert report["hsts"]["tested"] is True and report["hsts"]["header"] is None
    assert report["probes"] == sum(c["probes"] for c in report["checks"].values())
    assert report["improvements"][-1]["grade"] == "A+"


def test_tls12_only_server(scan_pki: ScanPki, ec_leaf: LeafFiles) -> None:
    with openssl_server(*serve(ec_leaf, "-tls1_2", "-serverpref")) as port:
        report = run_scan(port, scan_pki)
    assert {p for p, on in report["protocols"].items() if on} == {"TLSv1.2"}
    assert "no-tls1.3" in codes(report)
    assert report["grade"] == report["grade_if_trusted"] == "A-"
    assert report["cipher_suites"]["TLSv1.2"]["order"] == "server"
    first = report["cipher_suites"]["TLSv1.2"]["suites"][0]
    assert first["forward_secrecy"] and first["aead"]
    # Complete TLS 1.2 handshakes: HSTS from a real GET, the chain, resumption both ways.
    assert report["hsts"] == {"tested": True, "http_status": 200, "header": None}
    assert "no-hsts" in codes(report)
    assert {c["code"] for c in report["caps"]} == {"no-tls1.3", "no-hsts"}
    [cert] = report["certificates"]
    assert cert["valid"] and cert["chain"][0]["subject"].startswith("CN=localhost")
    hows = [s["how"] for s in cert["served"]]
    assert "TLSv1.2 handshake, all schemes, SNI localhost" in hows and "TLSv1.2 handshake, no SNI" in hows
    server = report["server"]
    assert server["resumption"] | {"tls12_session_id": None} == {
        "tls13_ticket_issued": None,
        "tls13_resumed": None,
        "tls12_session_id": None,
        "tls12_session_ticket": True,
        "tls12_resumed": True,
        "tls12_resumed_by_ticket": True,
        "tls12_resumed_by_session_id": True,
    }
    assert server["secure_renegotiation"] is True and server["extended_master_secret"] is True
    assert server["proved_by_tls12_handshake"] == ["extended_master_secret", "secure_renegotiation"]
    assert server["zero_rtt"] is None and "TLS 1.3" in report["not_tested"]["zero_rtt"]
    assert set(report["not_tested"]) == {"zero_rtt"}
    assert report["checks"]["resumption"]["probes"] == 2


def test_tls12_server_without_tickets_resumes_by_session_id_only(
    scan_pki: ScanPki, rsa_leaf: LeafFiles
) -> None:
    with openssl_server(*serve(rsa_leaf, "-tls1_2", "-no_ticket")) as port:
        report = run_scan(port, scan_pki)
    resumption = report["server"]["resumption"]
    assert resumption["tls12_session_ticket"] is False
    assert (resumption["tls12_resumed_by_ticket"], resumption["tls12_resumed_by_session_id"]) == (False, True)
    assert resumption["tls12_resumed"] is True
    assert report["certificates"][0]["chain"][0]["key"] == "RSA 2048 bits"


def test_tls12_server_without_resumption(scan_pki: ScanPki, ec_leaf: LeafFiles) -> None:
    with openssl_server(*serve(ec_leaf, "-tls1_2", "-no_ticket", "-no_cache")) as port:
        report = run_scan(port, scan_pki)
    resumption = report["server"]["resumption"]
    assert (resumption["tls12_resumed_by_ticket"], resumption["tls12_resumed_by_session_id"]) == (
        False,
        False,
    )
    assert resumption["tls12_resumed"] is False


NO_EMS_CONF = """openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret
"""


def test_tls12_server_without_extended_master_secret(
    scan_pki: ScanPki, ec_leaf: LeafFiles, tmp_path: Path
) -> None:
    """OpenSSL with SSL_OP_NO_EXTENDED_MASTER_SECRET (through OPENSSL_CONF): the handshake completes and
    says so, and resumption is not tested (tlslens resumes no session without EMS)."""
    conf = tmp_path / "no-ems.cnf"
    conf.write_text(NO_EMS_CONF)
    env = {**os.environ, "OPENSSL_CONF": str(conf)}
    with openssl_server(*serve(ec_leaf, "-tls1_2"), env=env) as port:
        report = run_scan(port, scan_pki)
    server = report["server"]
    assert server["extended_master_secret"] is False
    assert "extended_master_secret" in server["proved_by_tls12_handshake"]
    no_ems = next(f for f in report["findings"] if f["code"] == "no-ems")
    assert no_ems["detail"].startswith("A complete TLS 1.2 handshake ran without it")
    assert server["resumption"]["tls12_resumed"] is None
    assert "extended master secret" in report["not_tested"]["tls12_resumption"]
    assert report["hsts"]["tested"] is True  # the rest of what a handshake gives is there


def test_tls12_server_with_suites_the_engine_cannot_complete(scan_pki: ScanPki, rsa_leaf: LeafFiles) -> None:
    """CBC suites only: no complete handshake, so the certificates come from the plaintext flights of
    the hellos (per key type and without SNI) and what needs a handshake says why it was not tested."""
    ciphers = "ECDHE-RSA-AES128-SHA:AES128-SHA:@SECLEVEL=0"
    with openssl_server(*serve(rsa_leaf, "-tls1_2", "-cipher", ciphers)) as port:
        report = run_scan(port, scan_pki)
    assert report["error"] is None
    [cert] = report["certificates"]
    assert cert["valid"]
    hows = {s["how"] for s in cert["served"]}
    assert {"TLSv1.2 hello, RSA suites, SNI localhost", "TLSv1.2 hello, no SNI"} <= hows
    assert not any("handshake" in h for h in hows)
    assert report["hsts"]["tested"] is False and "handshake_failure" in report["hsts"]["reason"]
    assert report["not_tested"]["tls12_resumption"].startswith("no complete TLS 1.2 handshake")
    assert report["server"]["resumption"]["tls12_resumed"] is None
    assert report["server"]["proved_by_tls12_handshake"] == []  # no ServerHello: no shared suite
    assert report["server"]["extended_master_secret"] is True  # from the hello probes


def test_legacy_protocols_and_cbc_suites(scan_pki: ScanPki, rsa_leaf: LeafFiles) -> None:
    ciphers = "ECDHE-RSA-AES128-SHA:AES128-SHA:AES256-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
    args = serve(rsa_leaf, "-cipher", ciphers, "-no_tls1_3")
    with openssl_server(*args) as port:
        report = run_scan(port, scan_pki)
    on = {p for p, v in report["protocols"].items() if v}
    assert on == {"TLSv1", "TLSv1.1", "TLSv1.2"}
    assert codes(report) >= {"protocol-tls1.0", "protocol-tls1.1", "cbc-suites", "static-rsa", "no-tls1.3"}
    assert report["grade"] == "B"
    assert report["scores"]["protocol"] == 95
    names = {s["name"] for s in report["cipher_suites"]["TLSv1"]["suites"]}
    assert names == {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"}
    names12 = {s["name"] for s in report["cipher_suites"]["TLSv1.2"]["suites"]}
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in names12 and "TLS_RSA_WITH_AES_256_CBC_SHA256" in names12
    caps = {c["code"]: c["grade"] for c in report["caps"]}
    assert caps["protocol-tls1.0"] == "B" and caps["protocol-tls1.1"] == "B"
    assert report["server"]["fallback_scsv"] is True  # OpenSSL refuses the SCSV from below its best


@pytest.mark.parametrize(
    ("leaf_fixture", "grade", "code"),
    [
        ("expired_leaf", "T", "expired"),
        ("misnamed_leaf", "M", "name-mismatch"),
        ("self_signed_leaf", "T", "self-signed"),
    ],
)
def test_certificate_problems(
    request: pytest.FixtureRequest, scan_pki: ScanPki, leaf_fixture: str, grade: str, code: str
) -> None:
    leaf: LeafFiles = request.getfixturevalue(leaf_fixture)
    with openssl_server(*serve(leaf, "-tls1_3", chain=leaf_fixture != "self_signed_leaf")) as port:
        report = run_scan(port, scan_pki)
    assert report["grade"] == grade
    assert report["grade_if_trusted"] == "A-"
    finding = next(f for f in report["findings"] if f["code"] == code)
    assert finding["severity"] == "critical" and finding["fix"]
    assert report["improvements"][0]["fix_codes"][0] == code
    if code == "expired":
        assert "9 days ago" in finding["detail"]


def test_missing_intermediate_is_completed_through_aia(scan_pki: ScanPki, tmp_path: Path) -> None:
    from tests.pki.factory import make_leaf

    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "intermediate.cer").write_bytes(scan_pki.inter.cert.public_bytes(_DER))
    with http_server(tmp_path / "ca") as http_port:
        url = f"http://127.0.0.1:{http_port}/intermediate.cer"
        leaf = scan_pki.leaf("aia", make_leaf(scan_pki.inter, "localhost", sans=["localhost"], aia_url=url))
        with openssl_server(*serve(leaf, "-tls1_3", chain=False)) as port:
            report = run_scan(port, scan_pki)
    assert report["grade"] == "B"
    finding = next(f for f in report["findings"] if f["code"] == "missing-intermediate")
    assert finding["severity"] == "high"
    assert finding["data"]["completed_by_aia"] is True and finding["data"]["aia_url"] == url
    assert "tlslens scan test intermediate" in finding["detail"]
    assert "ssl_certificate" in finding["fix"]
    aia = report["certificates"][0]["aia"]
    assert aia["completes_chain"] is True and aia["fetched"] == [
        "CN=tlslens scan test intermediate,O=tlslens tests"
    ]
    assert {"grade": "B", "code": "missing-intermediate"}.items() <= report["caps"][0].items()


def test_missing_intermediate_without_aia_is_untrusted(scan_pki: ScanPki, ec_leaf: LeafFiles) -> None:
    with openssl_server(*serve(ec_leaf, "-tls1_3", chain=False)) as port:
        report = run_scan(port, scan_pki)
    assert report["grade"] == "T"
    assert "missing-intermediate" in codes(report)


from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402

_DER = Encoding.DER


def test_dhe_with_a_1024_bit_group(scan_pki: ScanPki, rsa_leaf: LeafFiles, tmp_path: Path) -> None:
    import subprocess

    from .servers import OPENSSL

    assert OPENSSL is not None
    dh = tmp_path / "dh1024.pem"
    subprocess.run(
        [OPENSSL, "dhparam", "-out", str(dh), "1024"], check=True, capture_output=True, timeout=120
    )
    ciphers = "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
    with openssl_server(*serve(rsa_leaf, "-tls1_2", "-dhparam", str(dh), "-cipher", ciphers)) as port:
        report = run_scan(port, scan_pki)
    weak = next(f for f in report["findings"] if f["code"] == "weak-dh")
    assert weak["data"]["bits"] == 1024 and weak["data"]["prime"] == "custom"
    assert report["dh"]["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"]["bits"] == 1024
    assert report["scores"]["key_exchange"] == 80  # RSA 2048 with DHE 1024 (SCANNER.md §1.2)
    assert report["grade"] == "B"
    assert {"grade": "B", "code": "weak-dh"}.items() <= next(
        c for c in report["caps"] if c["code"] == "weak-dh"
    ).items()
    # TLS 1.2 only: the certificate comes from the plaintext Certificate message.
    cert = report["certificates"][0]
    assert cert["valid"] and cert["chain"][0]["key"] == "RSA 2048 bits"
    assert any(s["how"].startswith("TLSv1.2 hello") for s in cert["served"])
    assert report["groups"]["TLSv1.2"]["groups"][:2] == ["x25519", "secp256r1"]


def test_rsa_and_ecdsa_certificates_are_both_found(
    scan_pki: ScanPki, rsa_leaf: LeafFiles, ec_leaf: LeafFiles
) -> None:
    dual = ["-dcert", str(ec_leaf.cert), "-dkey", str(ec_leaf.key), "-dcert_chain", str(ec_leaf.chain)]
    with openssl_server(*serve(rsa_leaf, *dual)) as port:
        report = run_scan(port, scan_pki)
    keys = {c["chain"][0]["key"] for c in report["certificates"]}
    assert keys == {"RSA 2048 bits", "EC secp256r1 (256 bits)"}
    assert all(c["valid"] for c in report["certificates"])
    auths = {s["authentication"] for s in report["cipher_suites"]["TLSv1.2"]["suites"]}
    assert auths == {"RSA", "ECDSA"}
    assert report["grade"] == "A-"


def ocsp_response(leaf: Path, pki: ScanPki) -> bytes:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509 import ocsp

    cert = x509.load_pem_x509_certificate(leaf.read_bytes())
    now = dt.datetime.now(dt.UTC)
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert,
            pki.inter.cert,
            hashes.SHA256(),
            ocsp.OCSPCertStatus.GOOD,
            now,
            now + dt.timedelta(days=1),
            None,
            None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, pki.inter.cert)
    )
    return builder.sign(pki.inter.key, hashes.SHA256()).public_bytes(_DER)  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", ["-tls1_3", "-tls1_2"])
def test_ocsp_stapling_is_seen(scan_pki: ScanPki, ec_leaf: LeafFiles, tmp_path: Path, protocol: str) -> None:
    status = tmp_path / "ocsp.der"
    status.write_bytes(ocsp_response(ec_leaf.cert, scan_pki))
    with openssl_server(*serve(ec_leaf, protocol, "-status_file", str(status))) as port:
        report = run_scan(port, scan_pki)
    assert report["server"]["ocsp_stapling"] is True
    assert "no-ocsp-stapling" not in codes(report)
    served = [s for c in report["certificates"] for s in c["served"]]
    # Complete handshakes read the stapled response too: TLS 1.3 in the Certificate entry, TLS 1.2 in
    # the CertificateStatus message.
    handshakes = [s for s in served if " handshake, " in s["how"]]
    assert handshakes and all(s["ocsp_stapled"] for s in handshakes)
