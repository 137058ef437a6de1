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


def describe_ocsp_response(der: bytes) -> dict[str, Any]:
    """What an OCSP response (RFC 6960) says, read but not judged (the handshake judges it)."""
    from cryptography.x509 import ocsp

    try:
        response = ocsp.load_der_ocsp_response(der)
        out: dict[str, Any] = {"response_status": response.response_status.name.lower()}
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            out["length"] = len(der)
            return out
        single = next(iter(response.responses))
        out["cert_status"] = single.certificate_status.name.lower()
        if single.revocation_time_utc is not None:
            out["revocation_time"] = single.revocation_time_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
            reason = single.revocation_reason
            out["revocation_reason"] = reason.name if reason is not None else "unspecified"
        out["serial"] = f"{single.serial_number:x}"
        out["this_update"] = single.this_update_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
        nxt = single.next_update_utc
        out["next_update"] = nxt.strftime("%Y-%m-%d %H:%M:%S UTC") if nxt is not None else "(none)"
        name = response.responder_name
        key_hash = response.responder_key_hash
        out["responder"] = name.rfc4514_string() if name is not None else f"key {(key_hash or b'').hex()}"
        out["length"] = len(der)
        return out
    except Exception as exc:  # a peer's bytes: show what is known, never raise
        return {"unparsed": f"{len(der)} bytes ({type(exc).__name__}: {exc})"}
