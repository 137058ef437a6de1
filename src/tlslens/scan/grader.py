"""The grade, the SSL Labs way (SSL Server Rating Guide 2009r, 16 May 2025): findings in, grade out.

Pure: ``grade(findings, metrics)`` looks at nothing else. The procedure of the guide (``SCANNER.md`` §1):

1. Certificate first: a name mismatch gives **M**, any other trust problem **T**; the grade the server
   would have if the trust issues were fixed is computed as well (``if_trusted``).
2. Three category scores, 0-100: protocol support (30 %), key exchange (30 %), cipher strength (40 %).
   A zero in any category makes the total 0. The total maps to A (>= 80) ... F (< 20).
3. Caps: every rule of ``RULES`` whose finding is present limits the grade; each applied cap is kept
   with its reason and source. A+ is an A with no warning (no A- cap) and HSTS for at least 6 months.

``improvements`` then says which findings to fix, step by step, to raise the grade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tlslens.scan.model import Finding

__all__ = [
    "GRADES",
    "HSTS_A_PLUS_MIN_AGE",
    "RULES",
    "TRUST_CODES",
    "Cap",
    "Grade",
    "KeyExchangeStrength",
    "Metrics",
    "Rule",
    "Step",
    "cipher_score",
    "grade",
    "improvements",
    "key_exchange_score",
    "letter_for",
    "protocol_score",
]

GRADES: tuple[str, ...] = ("A+", "A", "A-", "B", "C", "D", "E", "F")
_ORDER = {g: i for i, g in enumerate(GRADES)}
HSTS_A_PLUS_MIN_AGE = 15_552_000
"""Six months, the max-age the guide asks for A+."""

_GUIDE = "SSL Server Rating Guide"


# --- category scores (guide §1.2) ------------------------------------------------------------------

PROTOCOL_SCORES: dict[str, int] = {
    "SSLv2": 20,  # the guide's table (testssl.sh uses 0); SSL 2.0 caps at F anyway
    "SSLv3": 80,
    "TLSv1": 90,
    "TLSv1.1": 95,
    "TLSv1.2": 100,
    "TLSv1.3": 100,  # not in the table (ssllabs-scan#838); graders use 100
}


def protocol_score(protocols: Iterable[str]) -> int:
    """(best + worst) / 2 over the protocols offered; 0 when none."""
    scores = [PROTOCOL_SCORES[p] for p in protocols if p in PROTOCOL_SCORES]
    return (max(scores) + min(scores)) // 2 if scores else 0


@dataclass(frozen=True, slots=True)
class KeyExchangeStrength:
    """One key exchange parameter the server uses: its kind and size.

    ``kind``: "rsa" (server key or key transport), "dh" (finite field), "ec" (elliptic curve or
    hybrid), "anon" (no authentication: scores 0), "export" (export-grade: at most 512 bits).
    """

    kind: str
    bits: int
    what: str = ""


def _kx_one(k: KeyExchangeStrength) -> int:
    if k.kind == "anon":
        return 0
    if k.kind == "ec":  # by equivalent strength (testssl.sh's mapping; SCANNER.md: unconfirmed)
        for limit, score in ((110, 20), (123, 40), (163, 80), (225, 90)):
            if k.bits < limit:
                return score
        return 100
    bits = min(k.bits, 512) if k.kind == "export" else k.bits
    for limit, score in ((512, 20), (1024, 40), (2048, 80), (4096, 90)):
        if bits < limit:
            return score
    return 100


def key_exchange_score(strengths: Iterable[KeyExchangeStrength]) -> int:
    """The weakest of the server key and the ephemeral parameters (guide §1.2)."""
    scores = [_kx_one(k) for k in strengths]
    return min(scores) if scores else 0


def _cipher_one(bits: int) -> int:
    if bits <= 0:
        return 0
    if bits < 128:
        return 20
    if bits < 256:
        return 80
    return 100


def cipher_score(bits: Iterable[int]) -> int:
    """(strongest + weakest) / 2 over the suites offered."""
    scores = [_cipher_one(b) for b in bits]
    return (max(scores) + min(scores)) // 2 if scores else 0


def letter_for(total: int) -> str:
    for limit, letter in ((80, "A"), (65, "B"), (50, "C"), (35, "D"), (20, "E")):
        if total >= limit:
            return letter
    return "F"


@dataclass(frozen=True, slots=True)
class Metrics:
    """What the scores are computed from (besides the findings)."""

    protocols: tuple[str, ...]
    key_exchange: tuple[KeyExchangeStrength, ...]
    cipher_bits: tuple[int, ...]
    hsts_max_age: int | None = None
    """max-age of a valid HSTS header, or None (no header, or not tested)."""
    hsts_tested: bool = True
    """False when no HTTP response could be read (the A+ step then says HSTS is untested)."""
    https: bool = True
    """False for a STARTTLS service: HSTS, an HTTP header, does not apply, so A is the best grade and
    no step asks for it."""


# --- the rules (guide §1.3 and the Qualys posts it cites) ------------------------------------------


def _data(f: Finding, key: str, default: Any = None) -> Any:
    return f.data.get(key, default)


def _with_newer_protocols(f: Finding) -> bool:
    return any(p in ("TLSv1.1", "TLSv1.2") for p in _data(f, "protocols", ()))


@dataclass(frozen=True, slots=True)
class Rule:
    """When a finding with ``code`` is present (and ``when`` holds), the grade is at most ``cap``."""

    code: str
    cap: str
    reason: str
    source: str
    when: Callable[[Finding], bool] = field(default=lambda f: True, compare=False)


RULES: tuple[Rule, ...] = (
    Rule("protocol-sslv2", "F", "SSL 2.0 is supported (DROWN)", f"{_GUIDE} 2009c; live reports"),
    Rule(
        "protocol-sslv3",
        "F",
        "SSL 3.0 is the best protocol offered",
        "testssl.sh run_rating() (SCANNER.md: unconfirmed against the guide)",
        lambda f: bool(_data(f, "best")),
    ),
    Rule("protocol-sslv3", "B", "SSL 3.0 is supported (POODLE)", "live SSL Labs reports: 'uses SSL 3'"),
    Rule("no-tls1.2", "C", "TLS 1.2 is not supported", "Qualys blog 2015-05 (SSL Labs 1.17)"),
    Rule("protocol-tls1.0", "B", "TLS 1.0 is supported", f"{_GUIDE} 2009q (31 Jan 2020); blog 2018-11"),
    Rule("protocol-tls1.1", "B", "TLS 1.1 is supported", f"{_GUIDE} 2009q (31 Jan 2020); blog 2018-11"),
    Rule("no-tls1.3", "A-", "TLS 1.3 is not supported", f"{_GUIDE} 2009r (16 May 2025)"),
    Rule("export-suites", "F", "export cipher suites are offered", "testssl.sh (SSL Labs list; unconfirmed)"),
    Rule("null-suites", "F", "cipher suites without encryption are offered", f"{_GUIDE} §1.2: 0-bit cipher"),
    Rule(
        "anon-suites", "F", "anonymous (unauthenticated) suites are offered", f"{_GUIDE} §1.2: anonymous 0 %"
    ),
    Rule("weak-cipher", "F", "ciphers weaker than 112 bits are offered", "testssl.sh (SSL Labs list)"),
    Rule(
        "rc4",
        "C",
        "RC4 is offered with TLS 1.1 or 1.2",
        "Qualys blog 2015-05 (1.17.10)",
        _with_newer_protocols,
    ),
    Rule("rc4", "B", "RC4 is offered (with old protocols only)", "live SSL Labs reports"),
    Rule(
        "3des",
        "C",
        "64-bit block ciphers (3DES) are offered with TLS 1.1 or newer (SWEET32)",
        "Qualys blog 2017-01; live 2017-04 (1.28.3)",
        _with_newer_protocols,
    ),
    Rule(
        "weak-dh",
        "F",
        "Diffie-Hellman group under 1024 bits",
        "Qualys blog 2015-05 (Logjam)",
        lambda f: _data(f, "bits", 2048) < 1024,
    ),
    Rule("weak-dh", "B", "Diffie-Hellman group under 2048 bits (Logjam)", "Qualys blog 2015-05 (Logjam)"),
    Rule(
        "weak-key",
        "F",
        "server key under 1024 bits",
        "Qualys blog 2014-01",
        lambda f: _data(f, "bits", 0) < 1024,
    ),
    Rule("weak-key", "B", "server key under 2048 bits", "Qualys blog 2014-01"),
    Rule(
        "weak-signature",
        "F",
        "certificate signed with MD5",
        "Qualys blog 2014-01",
        lambda f: "MD5" in f.detail.upper(),
    ),
    Rule(
        "missing-intermediate",
        "B",
        "the certificate chain is incomplete (completed through AIA)",
        f"{_GUIDE} 2009i (8 Dec 2014)",
        lambda f: bool(_data(f, "completed_by_aia")),
    ),
    Rule("compression", "B", "TLS compression is enabled (CRIME)", f"{_GUIDE} 2009c"),
    Rule(
        "no-forward-secrecy",
        "B",
        "a modern browser would negotiate a suite without forward secrecy",
        "Qualys blog 2018-02 (1.31.0)",
    ),
    Rule("no-aead", "B", "no AEAD cipher suite is offered", "Qualys blog 2018-02 (1.31.0)"),
    Rule(
        "insecure-renegotiation",
        "A-",
        "secure renegotiation (RFC 5746) is not supported",
        "Qualys blog 2014-01 (warnings cap at A-)",
    ),
    Rule("no-hsts", "A-", "HSTS is not enabled", f"{_GUIDE} 2009r (16 May 2025)"),
    Rule("hsts-invalid", "A-", "the HSTS header is invalid", f"{_GUIDE} 2009r (16 May 2025)"),
)
"""One table: each rule with its reason and where it comes from. The first matching rule per code
wins (so a finding gets its most specific cap). Not tested here, so never applied: insecure
client-initiated renegotiation (F: the engine, like OpenSSL 3, completes no handshake with a server
without RFC 5746, so it cannot try renegotiating there; such a server gets ``insecure-renegotiation``,
A-), ROBOT, Heartbleed, CCS injection, Ticketbleed, padding oracles, revocation."""

TRUST_CODES: frozenset[str] = frozenset(
    {
        "missing-intermediate",
        "self-signed",
        "untrusted-root",
        "invalid-signature",
        "expired",
        "not-yet-valid",
        "not-a-ca",
        "path-length-exceeded",
        "name-constraints",
        "bad-key-usage",
        "bad-extended-key-usage",
        "weak-signature",
        "wrong-order",
        "invalid-chain",
    }
)
"""Chain finding codes (``tlslens verify``'s) that make a certificate untrusted: grade T."""
NAME_MISMATCH = "name-mismatch"


def _is_trust_issue(f: Finding) -> bool:
    if f.code == NAME_MISMATCH:
        return True
    if f.code not in TRUST_CODES or f.severity != "critical":
        return False
    return not (f.code == "missing-intermediate" and _data(f, "completed_by_aia"))


# --- grading ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cap:
    """A rule that applied: the grade it allows, why, where the rule comes from, and the finding."""

    grade: str
    code: str
    reason: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {"grade": self.grade, "code": self.code, "reason": self.reason, "source": self.source}


@dataclass(frozen=True, slots=True)
class Grade:
    grade: str
    """A+ ... F, or T (not trusted) / M (name mismatch)."""
    if_trusted: str
    """The grade with the certificate's trust issues ignored."""
    scores: dict[str, int]
    caps: tuple[Cap, ...]
    """Every cap that applied, lowest first (the lowest is the one that decided, below the score)."""
    trust_issues: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    """Why the grade is what it is, in order: certificate, score, caps, A+."""


def _min_grade(a: str, b: str) -> str:
    return a if _ORDER[a] >= _ORDER[b] else b


def _caps(findings: Sequence[Finding]) -> list[Cap]:
    caps: list[Cap] = []
    for f in findings:
        for rule in RULES:
            if rule.code == f.code and rule.when(f):
                caps.append(Cap(rule.cap, f.code, rule.reason, rule.source))
                break
    unique = list(dict.fromkeys(caps))
    return sorted(unique, key=lambda c: -_ORDER[c.grade])


def grade(findings: Sequence[Finding], metrics: Metrics) -> Grade:
    """Grade a scan from its findings and metrics (see the module docstring for the procedure)."""
    scores = {
        "protocol": protocol_score(metrics.protocols),
        "key_exchange": key_exchange_score(metrics.key_exchange),
        "cipher": cipher_score(metrics.cipher_bits),
    }
    zero = min(scores.values()) == 0
    total = (
        0 if zero else round(0.3 * scores["protocol"] + 0.3 * scores["key_exchange"] + 0.4 * scores["cipher"])
    )
    scores["total"] = total
    letter = letter_for(total)
    reasons = [f"score {total} ({letter})" + (": a category scored 0" if zero else "")]
    caps = _caps([f for f in findings if not _is_trust_issue(f)])
    result = letter
    for cap in caps:
        if _ORDER[cap.grade] > _ORDER[result]:
            reasons.append(f"capped at {cap.grade}: {cap.reason}")
        result = _min_grade(result, cap.grade)
    if result == "A":
        age = metrics.hsts_max_age
        if age is not None and age >= HSTS_A_PLUS_MIN_AGE:
            result = "A+"
            reasons.append(f"A+: no warnings, and HSTS with max-age {age} (at least {HSTS_A_PLUS_MIN_AGE})")
        elif not metrics.https:
            reasons.append("A is the best grade of a STARTTLS service: A+ asks for HSTS, an HTTP header")
        else:
            reasons.append(f"not A+: HSTS with max-age of at least {HSTS_A_PLUS_MIN_AGE} s is needed")
    trust = [f for f in findings if _is_trust_issue(f)]
    final = result
    if trust:
        final = "M" if any(f.code == NAME_MISMATCH for f in trust) else "T"
        names = ", ".join(dict.fromkeys(f.code for f in trust))
        reasons.insert(
            0, f"{final}: the certificate is not trusted ({names}); if trust issues were ignored: {result}"
        )
    return Grade(
        final, result, scores, tuple(caps), tuple(dict.fromkeys(f.code for f in trust)), tuple(reasons)
    )


# --- what would raise the grade --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """Fixing ``codes`` (with ``fixes``) raises the grade to ``to``."""

    to: str
    codes: tuple[str, ...]
    fixes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"grade": self.to, "fix_codes": list(self.codes), "fixes": list(self.fixes)}


_HSTS_FIX = (
    f"Send Strict-Transport-Security: max-age={31_536_000}; includeSubDomains on every HTTPS response "
    f"(at least {HSTS_A_PLUS_MIN_AGE} s for A+)."
)


def improvements(findings: Sequence[Finding], metrics: Metrics, limit: int = 6) -> list[Step]:
    """The smallest sets of fixes that raise the grade, one step per grade reached, best last.

    Each step removes the findings that decide the current grade: the trust issues first, then the
    caps at the current grade; the last step to A+ is HSTS. Score-limited grades end the list (the
    fix then is stronger keys or ciphers, which the findings already say).
    """
    steps: list[Step] = []
    current = list(findings)
    now = grade(current, metrics)
    for _ in range(limit):
        if now.grade == "A+":
            break
        if now.grade in ("T", "M"):
            binding = [f for f in current if _is_trust_issue(f)]
        elif now.grade == "A" and not any(c.grade == "A-" for c in now.caps):
            binding = [f for f in current if f.code in ("hsts-short", "no-hsts", "hsts-invalid")]
            if not metrics.https:
                break
            if not binding and (metrics.hsts_max_age or 0) < HSTS_A_PLUS_MIN_AGE:
                fix = _HSTS_FIX if metrics.hsts_tested else f"HSTS could not be tested here. {_HSTS_FIX}"
                steps.append(Step("A+", ("hsts",), (fix,)))
                break
        else:
            decisive = {c.code for c in now.caps if c.grade == now.grade}
            binding = [f for f in current if f.code in decisive]
        if not binding:
            break
        current = [f for f in current if f not in binding]
        new_metrics = metrics
        if any(f.code in ("no-hsts", "hsts-short", "hsts-invalid") for f in binding):
            new_metrics = replace(metrics, hsts_max_age=max(metrics.hsts_max_age or 0, 31_536_000))
        metrics = new_metrics
        after = grade(current, metrics)
        if after.grade == now.grade:
            break
        codes = tuple(dict.fromkeys(f.code for f in binding))
        fixes = tuple(dict.fromkeys(f.fix for f in binding if f.fix))
        steps.append(Step(after.grade, codes, fixes))
        now = after
    return steps
