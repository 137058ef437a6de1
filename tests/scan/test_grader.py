"""The grader, table-driven and without a network: scores, letters, caps, T/M, A+, improvements."""

from __future__ import annotations

import pytest

from tlslens.scan.grader import (
    HSTS_A_PLUS_MIN_AGE,
    RULES,
    KeyExchangeStrength,
    Metrics,
    cipher_score,
    grade,
    improvements,
    key_exchange_score,
    letter_for,
    protocol_score,
)
from tlslens.scan.model import Finding

YEAR = 31_536_000
GOOD = Metrics(
    protocols=("TLSv1.2", "TLSv1.3"),
    key_exchange=(KeyExchangeStrength("ec", 256, "server key EC secp256r1"), KeyExchangeStrength("ec", 256)),
    cipher_bits=(128, 256),
    hsts_max_age=YEAR,
)


def finding(code: str, severity: str = "medium", **data: object) -> Finding:
    return Finding(code, severity, code, f"{code} detail", f"fix {code}", dict(data))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("protocols", "score"),
    [
        (("TLSv1.3",), 100),
        (("TLSv1.2", "TLSv1.3"), 100),
        (("TLSv1", "TLSv1.2"), 95),
        (("TLSv1", "TLSv1.1", "TLSv1.2"), 95),
        (("SSLv3", "TLSv1.2"), 90),
        (("SSLv2", "TLSv1.2"), 60),
        (("TLSv1",), 90),
        ((), 0),
    ],
    ids=lambda v: ",".join(v) if isinstance(v, tuple) else str(v),
)
def test_protocol_score_is_best_plus_worst_over_two(protocols: tuple[str, ...], score: int) -> None:
    assert protocol_score(protocols) == score


@pytest.mark.parametrize(
    ("strengths", "score"),
    [
        ([("rsa", 2048)], 90),
        ([("rsa", 4096)], 100),
        ([("rsa", 2048), ("dh", 1024)], 80),  # SCANNER.md: RSA-2048 with DHE-1024 scores 80
        ([("rsa", 1024)], 80),
        ([("rsa", 1023)], 40),
        ([("rsa", 511)], 20),
        ([("export", 1024)], 40),
        ([("anon", 0), ("ec", 256)], 0),
        ([("ec", 256)], 100),
        ([("ec", 224)], 90),
        ([("ec", 160)], 80),
        ([("ec", 112)], 40),
        ([("ec", 100)], 20),
        ([], 0),
    ],
)
def test_key_exchange_score_takes_the_weakest(strengths: list[tuple[str, int]], score: int) -> None:
    assert key_exchange_score(KeyExchangeStrength(k, b) for k, b in strengths) == score


@pytest.mark.parametrize(
    ("bits", "score"),
    [((128, 256), 90), ((256,), 100), ((128,), 80), ((112, 256), 60), ((0, 256), 50), ((40,), 20), ((), 0)],
)
def test_cipher_score_is_strongest_plus_weakest_over_two(bits: tuple[int, ...], score: int) -> None:
    assert cipher_score(bits) == score


@pytest.mark.parametrize(
    ("total", "letter"),
    [
        (100, "A"),
        (80, "A"),
        (79, "B"),
        (65, "B"),
        (64, "C"),
        (50, "C"),
        (49, "D"),
        (35, "D"),
        (34, "E"),
        (20, "E"),
        (19, "F"),
        (0, "F"),
    ],
)
def test_total_maps_to_letter(total: int, letter: str) -> None:
    assert letter_for(total) == letter


def test_a_clean_modern_server_with_long_hsts_gets_a_plus() -> None:
    g = grade([], GOOD)
    assert (g.grade, g.if_trusted) == ("A+", "A+")
    assert g.scores == {"protocol": 100, "key_exchange": 100, "cipher": 90, "total": 96}
    assert g.caps == ()


@pytest.mark.parametrize(
    ("age", "expected"), [(None, "A"), (HSTS_A_PLUS_MIN_AGE - 1, "A"), (HSTS_A_PLUS_MIN_AGE, "A+")]
)
def test_a_plus_needs_six_months_of_hsts(age: int | None, expected: str) -> None:
    metrics = Metrics(GOOD.protocols, GOOD.key_exchange, GOOD.cipher_bits, age)
    assert grade([], metrics).grade == expected


# Each rule of the table applied alone to a clean server: the grade it leaves.
CAP_CASES = [
    ([finding("protocol-sslv2", "critical")], "F"),
    ([finding("protocol-sslv3", "high", best=False)], "B"),
    ([finding("protocol-sslv3", "critical", best=True)], "F"),
    ([finding("no-tls1.2", "high")], "C"),
    ([finding("protocol-tls1.0")], "B"),
    ([finding("protocol-tls1.1")], "B"),
    ([finding("no-tls1.3", "low")], "A-"),
    ([finding("export-suites", "critical")], "F"),
    ([finding("null-suites", "critical")], "F"),
    ([finding("anon-suites", "critical")], "F"),
    ([finding("weak-cipher", "critical")], "F"),
    ([finding("rc4", "high", protocols=["TLSv1.2"])], "C"),
    ([finding("rc4", "high", protocols=["TLSv1"])], "B"),
    ([finding("3des", protocols=["TLSv1.1", "TLSv1.2"])], "C"),
    ([finding("3des", protocols=["TLSv1"])], "A+"),
    ([finding("weak-dh", "high", bits=1024)], "B"),
    ([finding("weak-dh", "critical", bits=768)], "F"),
    ([finding("weak-key", "high", bits=1024)], "B"),
    ([finding("weak-key", "critical", bits=512)], "F"),
    ([finding("compression", "high")], "B"),
    ([finding("no-forward-secrecy", "high")], "B"),
    ([finding("no-aead", "high")], "B"),
    ([finding("insecure-renegotiation", "high")], "A-"),
    ([finding("no-hsts")], "A-"),
    ([finding("hsts-invalid")], "A-"),
    ([finding("missing-intermediate", "high", completed_by_aia=True)], "B"),
    ([finding("cbc-suites", "low")], "A+"),
    ([finding("protocol-tls1.0"), finding("no-tls1.2", "high"), finding("no-tls1.3", "low")], "C"),
]


@pytest.mark.parametrize(
    ("findings", "expected"),
    CAP_CASES,
    ids=lambda v: "+".join(f.code for f in v) if isinstance(v, list) else v,
)
def test_each_rule_caps_the_grade(findings: list[Finding], expected: str) -> None:
    g = grade(findings, GOOD)
    assert g.grade == expected
    if expected not in ("A+", "A"):
        assert any(c.grade == expected for c in g.caps)
        assert any(expected in r and "capped" in r for r in g.reasons)


def test_every_rule_names_its_reason_and_source() -> None:
    for rule in RULES:
        assert rule.reason and rule.source, rule
        assert rule.cap in ("A-", "B", "C", "D", "E", "F"), rule


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("expired", "T"),
        ("self-signed", "T"),
        ("untrusted-root", "T"),
        ("name-mismatch", "M"),
        ("missing-intermediate", "T"),
        ("not-yet-valid", "T"),
        ("invalid-signature", "T"),
    ],
)
def test_certificate_problems_give_t_or_m_with_the_grade_if_trusted(code: str, expected: str) -> None:
    g = grade([finding(code, "critical"), finding("no-tls1.3", "low")], GOOD)
    assert g.grade == expected
    assert g.if_trusted == "A-"
    assert g.trust_issues == (code,)
    assert g.reasons[0].startswith(f"{expected}: the certificate is not trusted ({code})")


def test_name_mismatch_wins_over_other_trust_issues() -> None:
    g = grade([finding("expired", "critical"), finding("name-mismatch", "critical")], GOOD)
    assert g.grade == "M"


def test_warning_level_chain_findings_are_not_trust_issues() -> None:
    g = grade([finding("expiring-soon"), finding("unnecessary-root", "info")], GOOD)
    assert g.grade == "A+"


def test_a_zero_category_makes_the_total_zero() -> None:
    metrics = Metrics(GOOD.protocols, (KeyExchangeStrength("anon", 0),), GOOD.cipher_bits, YEAR)
    g = grade([], metrics)
    assert g.scores["total"] == 0
    assert g.grade == "F"


def test_improvements_fix_the_certificate_then_the_caps_then_hsts() -> None:
    findings = [
        finding("expired", "critical"),
        finding("protocol-tls1.0"),
        finding("protocol-tls1.1"),
        finding("no-tls1.3", "low"),
        finding("no-hsts"),
    ]
    steps = improvements(findings, Metrics(GOOD.protocols, GOOD.key_exchange, GOOD.cipher_bits, None))
    assert [(s.to, s.codes) for s in steps] == [
        ("B", ("expired",)),
        ("A-", ("protocol-tls1.0", "protocol-tls1.1")),
        ("A+", ("no-tls1.3", "no-hsts")),
    ]
    assert all(s.fixes for s in steps)


def test_improvements_end_with_hsts_for_a_plus() -> None:
    steps = improvements([], Metrics(GOOD.protocols, GOOD.key_exchange, GOOD.cipher_bits, None))
    assert [s.to for s in steps] == ["A+"]
    assert "Strict-Transport-Security" in steps[0].fixes[0]


def test_no_improvements_at_a_plus() -> None:
    assert improvements([], GOOD) == []


def test_findings_of_low_severity_or_worse_need_a_fix() -> None:
    with pytest.raises(ValueError, match="needs a fix"):
        Finding("x", "low", "t", "d", "")
    Finding("x", "info", "t", "d", "")


def test_the_a_plus_step_says_when_hsts_was_not_tested() -> None:
    metrics = Metrics(GOOD.protocols, GOOD.key_exchange, GOOD.cipher_bits, None, hsts_tested=False)
    [step] = improvements([], metrics)
    assert step.to == "A+" and step.fixes[0].startswith("HSTS could not be tested here.")


def test_a_starttls_service_is_graded_a_at_best_and_never_asked_for_hsts() -> None:
    metrics = Metrics(
        GOOD.protocols, GOOD.key_exchange, GOOD.cipher_bits, None, hsts_tested=False, https=False
    )
    result = grade([], metrics)
    assert result.grade == "A" and "STARTTLS" in result.reasons[-1]
    assert improvements([], metrics) == []
    steps = improvements([finding("protocol-tls1.0")], metrics)
    assert [(s.to, s.codes) for s in steps] == [("A", ("protocol-tls1.0",))]
