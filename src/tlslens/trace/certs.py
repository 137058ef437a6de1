"""A certificate from a Certificate message, described for the trace (parsed with ``cryptography``)."""

from __future__ import annotations

from typing import Any

from cryptography import x509

from tlslens.pki.findings import describe_key


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    out = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
    out += [f"IP:{n}" for n in san.get_values_for_type(x509.IPAddress)]
    return out


def _date(cert: x509.Certificate, which: str) -> str:
    when = cert.not_valid_before_utc if which == "before" else cert.not_valid_after_utc
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_certificate(der: bytes) -> dict[str, Any]:
    """Subject, issuer, validity, names and key of a DER certificate; what is known when it won't parse."""
    try:
        cert = x509.load_der_x509_certificate(der)
        out: dict[str, Any] = {
            "subject": cert.subject.rfc4514_string() or "(empty)",
            "issuer": cert.issuer.rfc4514_string() or "(empty)",
            "not_before": _date(cert, "before"),
            "not_after": _date(cert, "after"),
        }
        names = _names(cert)
        if names:
            out["names"] = names
        out["key"] = describe_key(cert)
        algorithm = cert.signature_algorithm_oid
        out["signed_with"] = getattr(algorithm, "_name", None) or algorithm.dotted_string
        out["der_length"] = len(der)
        return out
    except Exception as exc:  # cryptography parses lazily: a bad field may raise ValueError, KeyError...
        return {"unparsed": f"{len(der)} bytes ({type(exc).__name__}: {exc})"}
