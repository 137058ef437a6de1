"""Certificates that cannot be processed: what ``cryptography`` cannot parse, and what tlslens must not
accept without understanding.

``cryptography`` parses a certificate lazily: a duplicate extension, a malformed authorityInfoAccess or a
bad name encoding surfaces as an exception only when that part is first read, which may be deep inside
the diagnosis or a verifier. :func:`certificate_fault` reads every part once, up front, and turns the
first failure into words; a critical extension that tlslens does not process is a fault too (RFC 5280
§4.2: such a certificate must be refused). Faults become ``malformed-certificate`` findings, and in a
handshake ``bad_certificate`` (or ``unsupported_certificate`` when the certificate is well formed but
uses what tlslens does not support).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import ExtensionOID

__all__ = ["Fault", "certificate_fault", "serial_number"]

# Extensions whose criticality tlslens honours: it (or cryptography's verifier) enforces what they say.
_PROCESSED = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.NAME_CONSTRAINTS,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        ExtensionOID.TLS_FEATURE,  # RFC 7633 must-staple: the handshake enforces it (pki/ocsp.py)
    }
)
_POLICY_EXTENSIONS = frozenset(
    {
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.POLICY_CONSTRAINTS,
        ExtensionOID.POLICY_MAPPINGS,
        ExtensionOID.INHIBIT_ANY_POLICY,
    }
)


@dataclass(frozen=True, slots=True)
class Fault:
    """Why a certificate cannot be processed. ``unsupported``: well formed, but tlslens cannot honour it
    (alert ``unsupported_certificate``); otherwise it is malformed (alert ``bad_certificate``)."""

    message: str
    unsupported: bool = False


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "")
    return f"{name} ({oid.dotted_string})" if name and name != "Unknown OID" else oid.dotted_string


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:160] + "…") if len(text) > 160 else text or type(exc).__name__


def _header(der: bytes, pos: int) -> tuple[int, int]:
    """(offset of the content, content length) of the DER element at ``pos``."""
    first = der[pos + 1]
    if first < 0x80:
        return pos + 2, first
    size = first & 0x7F
    return pos + 2 + size, int.from_bytes(der[pos + 2 : pos + 2 + size], "big")


def serial_number(cert: x509.Certificate) -> int:
    """The serial number read from the TBSCertificate's DER (``cert.serial_number`` warns on the zero and
    negative ones this module exists to report, from every thread that reads them)."""
    tbs = cert.tbs_certificate_bytes
    pos, _ = _header(tbs, 0)
    if tbs[pos] == 0xA0:  # [0] EXPLICIT version
        start, length = _header(tbs, pos)
        pos = start + length
    start, length = _header(tbs, pos)
    return int.from_bytes(tbs[start : start + length], "big", signed=True)


def _parse_fault(cert: x509.Certificate) -> Fault | None:
    try:
        cert.version  # noqa: B018  (reading is the check)
    except x509.InvalidVersion as exc:
        return Fault(f"has an unknown version ({exc.parsed_version})")
    parts = (
        ("serial number", lambda: serial_number(cert)),
        ("subject", lambda: cert.subject.rfc4514_string()),
        ("issuer", lambda: cert.issuer.rfc4514_string()),
        ("validity", lambda: (cert.not_valid_before_utc, cert.not_valid_after_utc)),
        ("signature algorithm", lambda: cert.signature_algorithm_oid),
    )
    for what, read in parts:
        try:
            read()
        except Exception as exc:
            return Fault(f"has a {what} that cannot be decoded ({_short(exc)})")
    try:
        extensions = cert.extensions
    except x509.DuplicateExtension as exc:
        return Fault(f"has the {_oid_name(exc.oid)} extension twice (RFC 5280 §4.2 allows one of each)")
    except Exception as exc:
        return Fault(f"has an extension that cannot be decoded ({_short(exc)})")
    for ext in extensions:
        if not ext.critical or ext.oid in _PROCESSED:
            continue
        if ext.oid in _POLICY_EXTENSIONS:
            return Fault(
                f"has a critical {_oid_name(ext.oid)} extension; tlslens does not process certificate "
                "policies, and RFC 5280 §4.2 says a certificate with a critical extension that cannot be "
                "processed must be refused",
                unsupported=True,
            )
        unknown = isinstance(ext.value, x509.UnrecognizedExtension)
        how = "that tlslens does not know" if unknown else "that tlslens does not process"
        return Fault(
            f"has a critical extension {_oid_name(ext.oid)} {how}; "
            "RFC 5280 §4.2 says such a certificate must be refused",
            unsupported=True,
        )
    try:
        cert.public_key()
    except UnsupportedAlgorithm:
        pass  # named as weak-key: a key type TLS and the Web PKI do not use
    except Exception as exc:
        return Fault(f"has a public key that cannot be decoded ({_short(exc)})")
    return None


@lru_cache(maxsize=1024)
def certificate_fault(cert: x509.Certificate) -> Fault | None:
    """The first part of ``cert`` that cannot be parsed or processed, in words; None when it is sound.

    Never raises. Cached: certificates hash and compare by their DER.
    """
    try:
        return _parse_fault(cert)
    except Exception as exc:  # a part this function does not know how to read; never crash
        return Fault(f"cannot be processed ({type(exc).__name__}: {_short(exc)})")
