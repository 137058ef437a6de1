"""What a chain diagnosis reports: findings with stable codes, and the report that gathers them.

Codes are stable strings that tools and tests rely on. Each finding is about one certificate (or none),
says in one plain sentence what is wrong, and in one sentence what to do about it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

__all__ = [
    "CODES",
    "ChainReport",
    "Finding",
    "Severity",
    "describe",
    "describe_key",
    "format_date",
    "format_duration",
]

Severity = Literal["error", "warning"]

# Errors, in the order a report lists them (the first one names the failure).
MALFORMED_CERTIFICATE = "malformed-certificate"  # cannot be parsed fully, or cannot be processed
TOO_COMPLEX = "too-complex"  # the diagnosis ran out of its work budget: refused, never slow
MISSING_INTERMEDIATE = "missing-intermediate"
SELF_SIGNED = "self-signed"
UNTRUSTED_ROOT = "untrusted-root"
INVALID_SIGNATURE = "invalid-signature"
EXPIRED = "expired"
NOT_YET_VALID = "not-yet-valid"
NAME_MISMATCH = "name-mismatch"
NOT_A_CA = "not-a-ca"
PATH_LENGTH_EXCEEDED = "path-length-exceeded"
NAME_CONSTRAINTS = "name-constraints"
BAD_KEY_USAGE = "bad-key-usage"
BAD_EXTENDED_KEY_USAGE = "bad-extended-key-usage"
WEAK_SIGNATURE = "weak-signature"
WEAK_KEY = "weak-key"
BAD_SERIAL = "bad-serial"  # RFC 5280 §4.1.2.2: positive, at most 20 octets
NONCRITICAL_CONSTRAINTS = "noncritical-constraints"  # name/policy constraints must be critical (RFC 5280)
# Web PKI rules (CA/Browser Forum baseline requirements): errors under "webpki", warnings under "rfc5280".
EKU_MISSING = "eku-missing"
EKU_ANY = "eku-any"
WILDCARD_PUBLIC_SUFFIX = "wildcard-public-suffix"
CN_NOT_IN_SAN = "cn-not-in-san"
AKI_MISSING = "aki-missing"
BAD_AKI = "bad-aki"
SKI_MISSING = "ski-missing"
RSA_MODULUS = "rsa-modulus"
OCSP_REVOKED = "ocsp-revoked"  # the stapled OCSP response says the leaf is revoked
MUST_STAPLE_MISSING = "must-staple-missing"  # RFC 7633: the leaf requires a staple, none usable came
WRONG_ORDER = "wrong-order"  # an error when the leaf is not first, else a warning
INVALID_CHAIN = "invalid-chain"  # the verifier refused the chain for a reason the diagnosis did not name
# Warnings only.
EXPIRING_SOON = "expiring-soon"
OCSP_STALE = "ocsp-stale"  # the stapled response is past its nextUpdate (or not yet valid)
OCSP_INVALID = "ocsp-invalid"  # unsigned by the issuer or its responder, about another certificate...
DUPLICATE_CERTIFICATE = "duplicate-certificate"
UNNECESSARY_ROOT = "unnecessary-root"
UNUSED_CERTIFICATE = "unused-certificate"

CODES: tuple[str, ...] = (
    MALFORMED_CERTIFICATE,
    TOO_COMPLEX,
    MISSING_INTERMEDIATE,
    SELF_SIGNED,
    UNTRUSTED_ROOT,
    INVALID_SIGNATURE,
    EXPIRED,
    NOT_YET_VALID,
    NAME_MISMATCH,
    NOT_A_CA,
    PATH_LENGTH_EXCEEDED,
    NAME_CONSTRAINTS,
    BAD_KEY_USAGE,
    BAD_EXTENDED_KEY_USAGE,
    WEAK_SIGNATURE,
    WEAK_KEY,
    BAD_SERIAL,
    NONCRITICAL_CONSTRAINTS,
    EKU_MISSING,
    EKU_ANY,
    WILDCARD_PUBLIC_SUFFIX,
    CN_NOT_IN_SAN,
    AKI_MISSING,
    BAD_AKI,
    SKI_MISSING,
    RSA_MODULUS,
    OCSP_REVOKED,
    MUST_STAPLE_MISSING,
    WRONG_ORDER,
    INVALID_CHAIN,
    EXPIRING_SOON,
    OCSP_STALE,
    OCSP_INVALID,
    DUPLICATE_CERTIFICATE,
    UNNECESSARY_ROOT,
    UNUSED_CERTIFICATE,
)
_RANK = {code: i for i, code in enumerate(CODES)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a chain: a stable ``code``, its severity, the certificate, what and what to do."""

    code: str
    severity: Severity
    certificate: x509.Certificate | None
    message: str
    fix: str

    @property
    def subject(self) -> str | None:
        """The RFC 4514 subject of the certificate this finding is about."""
        return None if self.certificate is None else self.certificate.subject.rfc4514_string()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }


def sort_findings(findings: list[Finding], path: tuple[x509.Certificate, ...]) -> tuple[Finding, ...]:
    """Errors first, each group by code rank, then by position of the certificate in the path."""
    position: dict[x509.Certificate, int] = {}
    for i, cert in enumerate(path):
        position.setdefault(cert, i)

    def key(f: Finding) -> tuple[int, int, int]:
        where = position.get(f.certificate, len(path)) if f.certificate is not None else -1
        return (0 if f.severity == "error" else 1, _RANK.get(f.code, len(_RANK)), where)

    return tuple(sorted(findings, key=key))


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The verdict on a chain and its diagnosis.

    ``valid`` is True only when the diagnosis found no error and ``cryptography``'s verifier accepted the
    chain, or (``notes`` say so) the path uses an RFC 5280 feature that verifier does not implement and
    tlslens's own path validation accepted it. ``path`` runs from the leaf to a trusted root when one was
    found (``trusted``), else it is the best partial path. ``findings`` lists errors first. ``profile``
    is the rule set in force (``"webpki"`` or ``"rfc5280"``) and ``profile_reason`` why;
    ``trusted_directly``: the leaf itself is in the trust store.
    """

    valid: bool
    path: tuple[x509.Certificate, ...]
    findings: tuple[Finding, ...]
    trusted: bool
    presented: tuple[x509.Certificate, ...] = field(repr=False)
    server_name: str | None = None
    purpose: Literal["server", "client"] = "server"
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    verifier_error: str | None = None
    profile: Literal["webpki", "rfc5280"] = "webpki"
    profile_reason: str = ""
    trusted_directly: bool = False
    notes: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(f.code for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: verdict, path subjects (leaf first) and findings."""
        return {
            "valid": self.valid,
            "trusted": self.trusted,
            "server_name": self.server_name,
            "purpose": self.purpose,
            "at": self.at.isoformat(),
            "profile": self.profile,
            "profile_reason": self.profile_reason,
            "trusted_directly": self.trusted_directly,
            "path": [c.subject.rfc4514_string() for c in self.path],
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "verifier_error": self.verifier_error,
        }


def add_findings(report: ChainReport, more: tuple[Finding, ...] | list[Finding]) -> ChainReport:
    """``report`` with ``more`` findings (an error among them makes it invalid)."""
    if not more:
        return report
    found = sort_findings([*report.findings, *more], report.path)
    valid = report.valid and not any(f.severity == "error" for f in more)
    return replace(report, findings=found, valid=valid)


# --- wording helpers -------------------------------------------------------------------------------


def describe(cert: x509.Certificate) -> str:
    """A certificate's subject as people write it: ``"CN=www.example.com,O=Example"``."""
    subject = cert.subject.rfc4514_string()
    if subject:
        return f'"{subject}"'
    return f"the certificate with serial {cert.serial_number:x} (empty subject)"


def describe_name(name: x509.Name) -> str:
    text = name.rfc4514_string()
    return f'"{text}"' if text else "(empty name)"


def format_date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(delta: dt.timedelta) -> str:
    """A rough, readable length of time: ``"3 days"``, ``"5 hours"``, ``"1 minute"``."""
    seconds = abs(int(delta.total_seconds()))
    for unit, size in (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= (2 * size if unit == "year" else size):
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def hash_name(algorithm: hashes.HashAlgorithm | None) -> str:
    """``SHA-1``, ``SHA-256``, ``MD5``..."""
    if algorithm is None:
        return "none"
    name = algorithm.name.lower()
    if name.startswith("sha") and name[3:].isdigit():
        return f"SHA-{name[3:]}"
    return name.upper()


def describe_key(cert: x509.Certificate, *, with_bits: bool = False) -> str:
    """``"EC secp256r1"``, ``"RSA 2048"``, ``"Ed25519"``... for displays (``with_bits``: ``"RSA 2048 bits"``,
    ``"EC secp256r1 (256 bits)"``). Never raises: a key cryptography cannot load is named by its OID."""
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        oid = cert.public_key_algorithm_oid.dotted_string
        return f"unsupported ({oid})" if with_bits else oid
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
        name = "RSA" if isinstance(key, rsa.RSAPublicKey) else "DSA"
        return f"{name} {key.key_size}" + (" bits" if with_bits else "")
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}" + (f" ({key.curve.key_size} bits)" if with_bits else "")
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519" + (" (256 bits)" if with_bits else "")
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448" + (" (456 bits)" if with_bits else "")
    return type(key).__name__
