"""Each check as a plain function of ScanData, table-driven, without a network."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.pki.factory import DAY, NOW, make_intermediate, make_leaf, make_root
from tlslens.pki import TrustStore
from tlslens.scan.checks_certs import aia_urls_needed, check_certificates, check_server_keys, diagnose
from tlslens.scan.checks_http import check_handshakes, check_hsts, handshake_facts, parse_hsts
from tlslens.scan.checks_protocols import check_protocols
from tlslens.scan.checks_suites import check_suites
from tlslens.scan.enumerate import FallbackResult, Intolerance, SuiteEnumeration
from tlslens.scan.flight import ServerAnswer
from tlslens.scan.fullhs import AiaDownload, HandshakeResult, HttpResponse
from tlslens.scan.model import ScanData, ServedChain
from tlslens.scan.net import Target
from tlslens.wire.enums import CipherSuite, CompressionMethod, ExtensionType, ProtocolVersion
from tlslens.wire.extensions import (
    ExtendedMasterSecret,
    RenegotiationInfo,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlslens.wire.hello import ServerHello

P = ProtocolVersion
C = CipherSuite
GOOD_EXTS = (RenegotiationInfo(b""), ExtendedMasterSecret())


def hello(
    version: P, suite: int = 0xC02F, exts: tuple[object, ...] = GOOD_EXTS, compression: int = 0
) -> ServerAnswer:
    if version == P.TLS1_3:
        exts = (SupportedVersionsServerHello(P.TLS1_3),)
        suite = 0x1301
    sh = ServerHello(
        P.TLS1_2 if version == P.TLS1_3 else version,
        os.urandom(32),
        b"",
        CipherSuite(suite),
        CompressionMethod(compression),
        exts,  # type: ignore[arg-type]
    )
    return ServerAnswer("hello", sh)


REFUSED = ServerAnswer("alert")


def data_with(versions: list[P], **kw: object) -> ScanData:
    data = ScanData(Target("localhost", 443, "127.0.0.1", "localhost"), NOW)
    for v in (P.SSL3, P.TLS1_0, P.TLS1_1, P.TLS1_2, P.TLS1_3):
        data.protocols[v] = hello(v, **kw) if v in versions else REFUSED  # type: ignore[arg-type]
    data.sslv2 = ServerAnswer("closed")
    return data


def codes(findings: list[object]) -> set[str]:
    return {f.code for f in findings}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        ([P.TLS1_2, P.TLS1_3], set()),
        ([P.TLS1_3], {"tls1.3-only"}),
        ([P.TLS1_2], {"no-tls1.3"}),
        ([P.TLS1_0, P.TLS1_1, P.TLS1_2], {"protocol-tls1.0", "protocol-tls1.1", "no-tls1.3"}),
        ([P.TLS1_0], {"protocol-tls1.0", "no-tls1.2", "no-tls1.3"}),
        ([P.SSL3, P.TLS1_2], {"protocol-sslv3", "no-tls1.3"}),
    ],
    ids=lambda v: "+".join(x.label for x in v) if isinstance(v, list) else None,
)
def test_protocol_findings(versions: list[P], expected: set[str]) -> None:
    assert codes(check_protocols(data_with(versions))) == expected


def test_sslv3_as_best_protocol_is_critical() -> None:
    findings = [f for f in check_protocols(data_with([P.SSL3])) if f.code == "protocol-sslv3"]
    assert findings[0].severity == "critical" and findings[0].data["best"] is True


def test_sslv2_server_hello_is_critical() -> None:
    data = data_with([P.TLS1_2, P.TLS1_3])
    data.sslv2 = ServerAnswer("sslv2", sslv2_cipher_kinds=(0x010080,))
    assert "protocol-sslv2" in codes(check_protocols(data))


@pytest.mark.parametrize(
    ("exts", "compression", "expected"),
    [
        (GOOD_EXTS, 0, set()),
        ((ExtendedMasterSecret(),), 0, {"insecure-renegotiation"}),
        ((RenegotiationInfo(b""),), 0, {"no-ems"}),
        (GOOD_EXTS, 1, {"compression"}),
        ((*GOOD_EXTS, UnknownExtension(ExtensionType.HEARTBEAT, b"\x01")), 0, {"heartbeat"}),
    ],
    ids=["good", "no-renegotiation-info", "no-ems", "deflate", "heartbeat"],
)
def test_server_hello_behaviour(exts: tuple[object, ...], compression: int, expected: set[str]) -> None:
    data = data_with([P.TLS1_2, P.TLS1_3], exts=exts, compression=compression)
    assert codes(check_protocols(data)) == expected


def test_version_intolerance_names_the_failing_hello() -> None:
    data = data_with([P.TLS1_2])
    data.intolerance = Intolerance(ServerAnswer("closed"), hello(P.TLS1_2))
    found = [f for f in check_protocols(data) if f.code == "version-intolerance"]
    assert found and "TLS 1.3 ClientHello" in found[0].detail


def test_fallback_scsv_must_be_refused() -> None:
    data = data_with([P.TLS1_2, P.TLS1_3])
    data.fallback = FallbackResult(P.TLS1_2, False, hello(P.TLS1_2))
    assert codes(check_protocols(data)) == {"no-fallback-scsv"}
    data.fallback = FallbackResult(P.TLS1_2, True, ServerAnswer("alert"))
    assert codes(check_protocols(data)) == set()


def suites_data(per_version: dict[P, list[int]], order: str = "server", tls13: bool = True) -> ScanData:
    versions = [*per_version, *([P.TLS1_3] if tls13 else [])]
    data = data_with(versions)
    for v, suites in per_version.items():
        data.suites[v] = SuiteEnumeration(v, tuple(CipherSuite(s) for s in suites), order, len(suites))  # type: ignore[arg-type]
    if tls13:
        data.suites[P.TLS1_3] = SuiteEnumeration(P.TLS1_3, (C.TLS_AES_128_GCM_SHA256,), None, 1)
    return data


ECDHE_GCM = C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
SUITE_CASES = [
    ({P.TLS1_2: [ECDHE_GCM]}, set()),
    ({P.TLS1_2: [ECDHE_GCM, C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]}, {"cbc-suites"}),
    ({P.TLS1_2: [ECDHE_GCM, C.TLS_RSA_WITH_AES_128_GCM_SHA256]}, {"static-rsa"}),
    ({P.TLS1_2: [ECDHE_GCM, C.TLS_RSA_WITH_RC4_128_SHA]}, {"rc4", "static-rsa"}),
    ({P.TLS1_2: [ECDHE_GCM, C.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA]}, {"3des", "cbc-suites"}),
    ({P.TLS1_2: [ECDHE_GCM, C.TLS_RSA_EXPORT_WITH_RC4_40_MD5]}, {"export-suites", "rc4", "static-rsa"}),
    ({P.TLS1_2: [ECDHE_GCM, C.TLS_RSA_WITH_NULL_SHA256]}, {"null-suites", "static-rsa"}),
    ({P.TLS1_2: [ECDHE_GCM, C.TLS_DH_anon_WITH_AES_128_GCM_SHA256]}, {"anon-suites"}),
    (
        {P.TLS1_2: [ECDHE_GCM, C.TLS_RSA_WITH_DES_CBC_SHA]},
        {"weak-cipher", "3des", "cbc-suites", "static-rsa"},
    ),
]


@pytest.mark.parametrize(
    ("suites", "expected"),
    SUITE_CASES,
    ids=lambda v: (
        None
        if isinstance(v, set)
        else "+".join(CipherSuite(s).name.removeprefix("TLS_") for s in next(iter(v.values()))[1:]) or "gcm"
    ),
)
def test_suite_findings(suites: dict[P, list[int]], expected: set[str]) -> None:
    assert codes(check_suites(suites_data(suites))) == expected


def test_no_aead_and_no_forward_secrecy_without_tls13() -> None:
    data = suites_data(
        {P.TLS1_2: [C.TLS_RSA_WITH_AES_128_CBC_SHA, C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]}, tls13=False
    )
    found = codes(check_suites(data))
    assert {"no-aead", "no-forward-secrecy", "static-rsa", "cbc-suites"} <= found


def test_client_order_matters_only_with_weaker_suites() -> None:
    weak = suites_data({P.TLS1_2: [ECDHE_GCM, C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]}, order="client")
    assert "client-order" in codes(check_suites(weak))
    strong = suites_data({P.TLS1_2: [ECDHE_GCM, C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]}, order="client")
    assert "client-order" not in codes(check_suites(strong))


@pytest.mark.parametrize(
    ("header", "max_age", "subdomains", "preload", "error"),
    [
        ("max-age=31536000; includeSubDomains; preload", 31536000, True, True, None),
        ('max-age="600"', 600, False, False, None),
        ("MAX-AGE=10 ; INCLUDESUBDOMAINS", 10, True, False, None),
        ("includeSubDomains", None, True, False, "max-age is missing"),
        ("max-age=1; max-age=2", None, False, False, "appears twice"),
        ("max-age=abc", None, False, False, "not a number"),
    ],
)
def test_parse_hsts(
    header: str, max_age: int | None, subdomains: bool, preload: bool, error: str | None
) -> None:
    hsts = parse_hsts(header)
    assert (hsts.max_age, hsts.include_subdomains, hsts.preload) == (max_age, subdomains, preload)
    assert (hsts.error is None) == (error is None)
    if error:
        assert error in (hsts.error or "")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((), {"no-hsts"}),
        ((("strict-transport-security", "max-age=31536000"),), set()),
        ((("strict-transport-security", "max-age=86400"),), {"hsts-short"}),
        ((("strict-transport-security", "max-age=0"),), {"no-hsts"}),
        ((("strict-transport-security", "includeSubDomains"),), {"hsts-invalid"}),
    ],
    ids=["none", "one-year", "one-day", "zero", "invalid"],
)
def test_hsts_findings(headers: tuple[tuple[str, str], ...], expected: set[str]) -> None:
    data = data_with([P.TLS1_3])
    data.handshakes["main"] = HandshakeResult(True, http=HttpResponse(200, headers))
    assert codes(check_hsts(data)) == expected


def test_hsts_not_tested_gives_no_finding() -> None:
    data = data_with([P.TLS1_2])
    data.not_tested["hsts"] = "needs a TLS 1.2 handshake"
    assert check_hsts(data) == []


def test_accepted_zero_rtt_is_reported() -> None:
    data = data_with([P.TLS1_3])
    data.handshakes["resumed"] = HandshakeResult(
        True, resumed=True, early_data_offered=True, early_data_accepted=True
    )
    assert "zero-rtt" in codes(check_handshakes(data))


def test_a_tls12_handshake_decides_renegotiation_and_ems_over_the_hello() -> None:
    data = data_with([P.TLS1_2])  # the hello probes saw renegotiation_info and EMS
    data.handshakes["main"] = HandshakeResult(
        True, version=P.TLS1_2, extended_master_secret=False, secure_renegotiation=True
    )
    facts = handshake_facts(data)
    assert (facts["secure_renegotiation"], facts["extended_master_secret"]) == (True, False)
    assert facts["proved_by_tls12_handshake"] == ["extended_master_secret", "secure_renegotiation"]
    no_ems = next(f for f in check_protocols(data) if f.code == "no-ems")
    assert no_ems.detail.startswith("A complete TLS 1.2 handshake ran without it")


def test_a_refused_server_hello_still_tells_insecure_renegotiation() -> None:
    data = data_with([P.TLS1_2], exts=(ExtendedMasterSecret(),))
    data.handshakes["main"] = HandshakeResult(False, "no renegotiation_info", secure_renegotiation=False)
    finding = next(f for f in check_protocols(data) if f.code == "insecure-renegotiation")
    assert "in a TLS 1.2 handshake" in finding.detail and "not tested" in finding.detail
    assert handshake_facts(data)["proved_by_tls12_handshake"] == ["secure_renegotiation"]


def _tls12(ok: bool = True, ems: bool = True, resumed: bool = False) -> HandshakeResult:
    return HandshakeResult(ok, version=P.TLS1_2 if ok else None, extended_master_secret=ems, resumed=resumed)


@pytest.mark.parametrize(
    ("handshakes", "expected"),
    [
        ({}, (None, None, None)),
        (
            {"main": _tls12(), "tls12_no_ticket": _tls12(), "resumed12_ticket": _tls12(resumed=True)},
            (True, True, False),  # no session ID given: nothing to resume by
        ),
        (
            {
                "main": _tls12(),
                "tls12_no_ticket": _tls12(),
                "resumed12_ticket": _tls12(resumed=False),
                "resumed12_id": _tls12(resumed=False),
            },
            (False, False, False),
        ),
        ({"main": _tls12(ems=False), "tls12_no_ticket": _tls12(ems=False)}, (None, None, None)),
        ({"main": _tls12(ok=False), "tls12_no_ticket": _tls12(ok=False)}, (None, None, None)),
        ({"main": _tls12(), "resumed12_id": _tls12(ok=False)}, (None, False, None)),
    ],
    ids=["none", "ticket-only", "neither", "no-ems", "failed", "id-attempt-failed"],
)
def test_tls12_resumption_by_ticket_and_by_session_id(
    handshakes: dict[str, HandshakeResult], expected: tuple[bool | None, ...]
) -> None:
    data = data_with([P.TLS1_2])
    data.handshakes.update(handshakes)
    r = handshake_facts(data)["resumption"]
    assert (r["tls12_resumed"], r["tls12_resumed_by_ticket"], r["tls12_resumed_by_session_id"]) == expected


# --- certificates ----------------------------------------------------------------------------------

AIA_URL = "http://127.0.0.1:9/intermediate.cer"


@pytest.fixture(scope="module")
def hierarchy() -> tuple[object, object]:
    root = make_root("Scan Test Root")
    inter = make_intermediate(root, "Scan Test Intermediate")
    return root, inter


def cert_data(chain: list[object], name: str = "localhost") -> ScanData:
    data = data_with([P.TLS1_3])
    data.target = Target(name, 443, "127.0.0.1", name)
    data.chains.append(ServedChain(tuple(c.cert for c in chain), "TLSv1.3 handshake", True))  # type: ignore[attr-defined]
    return data


def test_good_chain_has_no_findings(hierarchy: tuple[object, object]) -> None:
    root, inter = hierarchy
    leaf = make_leaf(inter, "localhost")  # type: ignore[arg-type]
    store = TrustStore([root.cert])  # type: ignore[attr-defined]
    assert check_certificates(diagnose(cert_data([leaf, inter]), store)) == []


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("expired", "expired"),
        ("wrong-name", "name-mismatch"),
        ("self-signed", "self-signed"),
        ("no-intermediate", "missing-intermediate"),
    ],
)
def test_chain_problems_use_the_verify_codes(
    hierarchy: tuple[object, object], kind: str, expected: str
) -> None:
    root, inter = hierarchy
    if kind == "expired":
        chain = [make_leaf(inter, "localhost", not_before=NOW - 400 * DAY, not_after=NOW - 3 * DAY), inter]  # type: ignore[arg-type]
    elif kind == "wrong-name":
        chain = [make_leaf(inter, "www.example.org"), inter]  # type: ignore[arg-type]
    elif kind == "self-signed":
        chain = [make_leaf(None, "localhost")]
    else:
        chain = [make_leaf(inter, "localhost")]  # type: ignore[arg-type]
    findings = check_certificates(diagnose(cert_data(chain), TrustStore([root.cert])))  # type: ignore[attr-defined]
    by_code = {f.code: f for f in findings}
    assert expected in by_code
    assert by_code[expected].severity == "critical"
    assert by_code[expected].fix


def test_missing_intermediate_completed_through_aia(hierarchy: tuple[object, object]) -> None:
    root, inter = hierarchy
    leaf = make_leaf(inter, "localhost", aia_url=AIA_URL)  # type: ignore[arg-type]
    store = TrustStore([root.cert])  # type: ignore[attr-defined]
    data = cert_data([leaf])
    assert aia_urls_needed(data, store) == [AIA_URL]
    data.aia[AIA_URL] = AiaDownload(AIA_URL, (inter.cert,))  # type: ignore[attr-defined]
    findings = check_certificates(diagnose(data, store))
    assert [f.code for f in findings] == ["missing-intermediate"]
    f = findings[0]
    assert f.severity == "high" and f.data["completed_by_aia"] is True
    assert "Scan Test Intermediate" in f.detail and "ssl_certificate" in f.fix


def test_aia_that_fails_leaves_the_chain_untrusted(hierarchy: tuple[object, object]) -> None:
    root, inter = hierarchy
    leaf = make_leaf(inter, "localhost", aia_url=AIA_URL)  # type: ignore[arg-type]
    data = cert_data([leaf])
    data.aia[AIA_URL] = AiaDownload(AIA_URL, error="connection refused")
    findings = check_certificates(diagnose(data, TrustStore([root.cert])))  # type: ignore[attr-defined]
    f = next(f for f in findings if f.code == "missing-intermediate")
    assert f.severity == "critical" and f.data["completed_by_aia"] is False
    assert "connection refused" in f.detail


@pytest.mark.parametrize(
    ("key_type", "expected"), [("rsa1024", {"weak-key"}), ("rsa2048", set()), ("ec", set())]
)
def test_server_key_strength(hierarchy: tuple[object, object], key_type: str, expected: set[str]) -> None:
    root, inter = hierarchy
    leaf = make_leaf(inter, "localhost", key_type=key_type)  # type: ignore[arg-type]
    verdicts = diagnose(cert_data([leaf, inter]), TrustStore([root.cert]))  # type: ignore[attr-defined]
    assert codes(check_server_keys(verdicts)) == expected


def test_expired_detail_says_when(hierarchy: tuple[object, object]) -> None:
    root, inter = hierarchy
    leaf = make_leaf(inter, "localhost", not_before=NOW - 400 * DAY, not_after=NOW - 30 * DAY)  # type: ignore[arg-type]
    findings = check_certificates(diagnose(cert_data([leaf, inter]), TrustStore([root.cert])))  # type: ignore[attr-defined]
    expired = next(f for f in findings if f.code == "expired")
    assert "30 days ago" in expired.detail
    assert dt.datetime.now(dt.UTC) > NOW - DAY
