"""OCSP responses (RFC 6960) about a certificate, checked: what a stapled (RFC 6066) or fetched response
says, whether it may be believed, and what to do when it may not.

:func:`check_response` reads one DER response against the certificate and its issuer, never raising for
what a peer sent: the response must be successful, answer for this certificate (its CertID: serial,
issuer name hash and issuer key hash), be signed by the issuer or by a responder the issuer delegated
(id-kp-OCSPSigning, issued by it, valid then), and be fresh (thisUpdate ≤ now ≤ nextUpdate, with
``skew`` either way). :func:`staple_outcome` adds RFC 7633's must-staple rule and turns the result into
findings with fixes: ``ocsp-revoked`` and ``must-staple-missing`` (errors), ``ocsp-stale`` and
``ocsp-invalid`` (warnings: the handshake goes on, as browsers do).

:class:`OcspStaple` holds the response a server staples for one certificate; a refresher
(``tlslens.pki.ocsp_fetch``) may replace it while the server runs.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, ExtensionOID

from tlslens.errors import BadCertificate
from tlslens.pki import findings as F
from tlslens.pki.findings import Finding, describe, format_date

__all__ = [
    "DEFAULT_SKEW",
    "MAX_OCSP_RESPONSE",
    "OcspCheck",
    "OcspOutcome",
    "OcspStaple",
    "Status",
    "check_response",
    "must_staple",
    "ocsp_urls",
    "refused",
    "staple_outcome",
]

MAX_OCSP_RESPONSE = 0xFFFF - 4
"""The largest response tlslens staples or accepts: what a TLS 1.3 CertificateEntry extension can carry
(RFC 8446 §4.4.2: extension_data<0..2^16-1>, less the status type and the response's own length)."""
DEFAULT_SKEW = dt.timedelta(minutes=5)
"""Clock difference tolerated on thisUpdate / nextUpdate."""
MAX_AGE_WITHOUT_NEXT_UPDATE = dt.timedelta(days=7)
"""A response without nextUpdate (RFC 6960 §2.4: newer information is always available) counts as stale
once its thisUpdate is older than this."""

Status = Literal["good", "revoked", "unknown", "stale", "invalid", "none"]
"""``none``: nothing was stapled. ``unknown``: a valid response in which the responder does not know the
certificate."""


@dataclass(frozen=True, slots=True)
class OcspCheck:
    """What one response says about one certificate, and whether it may be believed (``status``)."""

    status: Status
    message: str  # one plain sentence
    this_update: dt.datetime | None = None
    next_update: dt.datetime | None = None
    revocation_time: dt.datetime | None = None
    revocation_reason: str | None = None
    responder: str | None = None  # who signed it: "the issuer" or the delegated responder's subject


@dataclass(frozen=True, slots=True)
class OcspOutcome:
    """The OCSP verdict of a handshake (``HandshakeCompleted.ocsp``): the status, the check it comes from
    (None when nothing was stapled), and its findings (``errors`` refuse the certificate)."""

    status: Status
    check: OcspCheck | None = None
    findings: tuple[Finding, ...] = ()
    response: bytes | None = field(default=None, repr=False)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def to_dict(self) -> dict[str, object]:
        check = self.check
        return {
            "status": self.status,
            "message": check.message if check is not None else "no OCSP response was stapled",
            "this_update": check.this_update.isoformat() if check and check.this_update else None,
            "next_update": check.next_update.isoformat() if check and check.next_update else None,
            "revocation_time": check.revocation_time.isoformat() if check and check.revocation_time else None,
            "revocation_reason": check.revocation_reason if check else None,
            "findings": [f.to_dict() for f in self.findings],
        }


# --- reading a response ------------------------------------------------------------------------------


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    return None if when is None else when.astimezone(dt.UTC)


def _reason(single: ocsp.OCSPSingleResponse | ocsp.OCSPResponse) -> str | None:
    reason = single.revocation_reason
    return None if reason is None else reason.name


def _key_hash(cert: x509.Certificate) -> bytes:
    """SHA-1 of the subjectPublicKey bits: RFC 6960's ResponderID byKey (RFC 5280's key identifier)."""
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _cert_id(
    leaf: x509.Certificate, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> tuple[bytes, bytes] | None:
    """(issuerNameHash, issuerKeyHash) of the leaf's CertID in ``algorithm``, as cryptography computes
    them for a request; None for a hash it does not allow there."""
    try:
        request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm).build()
    except (ValueError, TypeError):
        return None
    return request.issuer_name_hash, request.issuer_key_hash


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def _find_issuer(leaf: x509.Certificate, candidates: Iterable[x509.Certificate]) -> x509.Certificate | None:
    for cert in candidates:
        if cert.subject == leaf.issuer and _issued_by(leaf, cert):
            return cert
    return None


def _verify_signature(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    key = signer.public_key()
    data, signature = response.tbs_response_bytes, response.signature
    algorithm = response.signature_hash_algorithm
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _signed_by_responder(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, at: dt.datetime
) -> tuple[str | None, str]:
    """(who signed it, "") when the signature verifies under the issuer or a responder it delegated;
    (None, why not) otherwise."""

    def named(cert: x509.Certificate) -> bool:
        if response.responder_name is not None:
            return response.responder_name == cert.subject
        key_hash = response.responder_key_hash
        return key_hash is not None and key_hash == _key_hash(cert)

    if named(issuer):
        if _verify_signature(response, issuer):
            return "the issuer", ""
        return None, "its signature does not verify under the issuer's key"
    for cert in response.certificates:
        if not named(cert):
            continue
        if not _issued_by(cert, issuer):
            return None, f"the responder {describe(cert)} was not issued by the certificate's issuer"
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            eku = None
        if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            return (
                None,
                f"the responder {describe(cert)} is not authorised to sign OCSP (no id-kp-OCSPSigning)",
            )
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            return None, f"the responder certificate {describe(cert)} is not valid now"
        if _verify_signature(response, cert):
            return f"the delegated responder {describe(cert)}", ""
        return None, f"its signature does not verify under the responder {describe(cert)}"
    return None, "it is signed by neither the issuer nor a responder certificate it carries"


def check_response(
    der: bytes,
    leaf: x509.Certificate,
    issuers: Sequence[x509.Certificate],
    at: dt.datetime,
    *,
    skew: dt.timedelta = DEFAULT_SKEW,
) -> OcspCheck:
    """What ``der`` says about ``leaf``, judged at ``at``; ``issuers``: where the leaf's issuer may be
    found (the rest of the chain, the trust store). Never raises."""
    try:
        return _check(der, leaf, issuers, at.astimezone(dt.UTC), skew)
    except Exception as exc:  # a response that breaks in a way no check foresaw: invalid, never a crash
        return OcspCheck("invalid", f"the OCSP response cannot be processed ({type(exc).__name__}: {exc})")


def _check(
    der: bytes,
    leaf: x509.Certificate,
    issuers: Sequence[x509.Certificate],
    at: dt.datetime,
    skew: dt.timedelta,
) -> OcspCheck:
    if len(der) > MAX_OCSP_RESPONSE:
        return OcspCheck("invalid", f"the OCSP response is {len(der)} bytes (limit {MAX_OCSP_RESPONSE})")
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        return OcspCheck("invalid", f"the OCSP response is not valid DER ({exc})")
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return OcspCheck("invalid", f"the OCSP responder answered {response.response_status.name}")
    issuer = _find_issuer(leaf, issuers)
    if issuer is None:
        return OcspCheck("invalid", "the leaf's issuer is not known, so its OCSP response cannot be checked")
    single = _single_for(response, leaf, issuer)
    if single is None:
        serials = ", ".join(f"{s.serial_number:x}" for s in response.responses)
        return OcspCheck(
            "invalid", f"the OCSP response is about another certificate (serial {serials}), not this one"
        )
    responder, why = _signed_by_responder(response, issuer, at)
    this_update, next_update = _utc(single.this_update_utc), _utc(single.next_update_utc)
    if responder is None:
        return OcspCheck(
            "invalid",
            f"the OCSP response cannot be trusted: {why}",
            this_update=this_update,
            next_update=next_update,
        )
    if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        when = _utc(single.revocation_time_utc)
        reason = _reason(single)
        text = f"revoked on {format_date(when)}" if when else "revoked"
        return OcspCheck(
            "revoked",
            f"{text} (reason: {reason or 'unspecified'}), says {responder}",
            revocation_time=when,
            revocation_reason=reason or "unspecified",
            responder=responder,
            this_update=this_update,
            next_update=next_update,
        )
    assert this_update is not None  # (thisUpdate is required: cryptography parsed it)
    if this_update > at + skew:
        return OcspCheck(
            "stale",
            f"the OCSP response is from the future (thisUpdate {format_date(this_update)})",
            this_update=this_update,
            next_update=next_update,
        )
    if next_update is not None and next_update < at - skew:
        return OcspCheck(
            "stale",
            f"the OCSP response expired on {format_date(next_update)}",
            this_update=this_update,
            next_update=next_update,
        )
    if next_update is None and this_update < at - MAX_AGE_WITHOUT_NEXT_UPDATE:
        return OcspCheck(
            "stale",
            f"the OCSP response has no nextUpdate and dates from {format_date(this_update)}",
            this_update=this_update,
            next_update=next_update,
        )
    if single.certificate_status == ocsp.OCSPCertStatus.UNKNOWN:
        return OcspCheck(
            "unknown",
            f"{responder} does not know this certificate (status unknown)",
            this_update=this_update,
            next_update=next_update,
        )
    return OcspCheck(
        "good",
        f"good, says {responder}",
        responder=responder,
        this_update=this_update,
        next_update=next_update,
    )


def _single_for(
    response: ocsp.OCSPResponse, leaf: x509.Certificate, issuer: x509.Certificate
) -> ocsp.OCSPSingleResponse | None:
    """The SingleResponse whose CertID is the leaf's (RFC 6960 §4.1.1), in the hash it names."""
    for single in response.responses:
        if single.serial_number != leaf.serial_number:
            continue
        if _cert_id(leaf, issuer, single.hash_algorithm) == (single.issuer_name_hash, single.issuer_key_hash):
            return single
    return None


# --- must-staple and findings -------------------------------------------------------------------------


def must_staple(leaf: x509.Certificate) -> bool:
    """Whether the leaf carries RFC 7633's TLS Feature extension with status_request."""
    try:
        extensions = leaf.extensions
    except ValueError:
        return False
    for extension in extensions:  # (a loop, not get_extension_for_class: no exception when absent)
        if extension.oid == ExtensionOID.TLS_FEATURE:
            return x509.TLSFeatureType.status_request in extension.value
    return False


def ocsp_urls(cert: x509.Certificate) -> tuple[str, ...]:
    """The OCSP responder URLs of ``cert``'s authorityInfoAccess (RFC 5280 §4.2.2.1)."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    )


_FIX_REVOKED = (
    "Replace the certificate (a new key, a new certificate) and install it: a revoked certificate cannot be"
    " made valid again."
)
_FIX_STALE = (
    "Have the server fetch a fresh OCSP response before nextUpdate (tlslens server --ocsp-fetch; nginx"
    " ssl_stapling on), or stop stapling an old one."
)
_FIX_INVALID = (
    "Staple the response the certificate's own CA responder gives for this certificate (openssl ocsp"
    " -issuer ISSUER.pem -cert LEAF.pem -url URL -respout resp.der), or stop stapling."
)
_FIX_MUST_STAPLE = (
    "Turn OCSP stapling on at the server (tlslens server --ocsp FILE or --ocsp-fetch; nginx ssl_stapling"
    " on), or reissue the certificate without the TLS Feature (must-staple) extension."
)


def staple_outcome(
    chain: Sequence[x509.Certificate],
    response: bytes | None,
    issuers: Iterable[x509.Certificate],
    at: dt.datetime,
    *,
    skew: dt.timedelta = DEFAULT_SKEW,
) -> OcspOutcome:
    """The verdict on what a server stapled (``response``, or None) for ``chain[0]``; ``issuers`` adds
    certificates (a trust store) to the chain where the leaf's issuer may be found. Never raises."""
    leaf = chain[0]
    findings: list[Finding] = []
    check = None
    if response is None:
        status: Status = "none"
    else:
        check = check_response(response, leaf, [*chain[1:], *issuers], at, skew=skew)
        status = check.status
        who = f"The OCSP response stapled for {describe(leaf)}"
        if status == "revoked":
            findings.append(Finding(F.OCSP_REVOKED, "error", leaf, f"{who}: {check.message}.", _FIX_REVOKED))
        elif status == "stale":
            text = check.message[:1].upper() + check.message[1:]
            findings.append(Finding(F.OCSP_STALE, "warning", leaf, f"{text} ({who}).", _FIX_STALE))
        elif status in ("invalid", "unknown"):
            findings.append(
                Finding(F.OCSP_INVALID, "warning", leaf, f"{who}: {check.message}.", _FIX_INVALID)
            )
    if status not in ("good", "revoked") and must_staple(leaf):
        why = "the server stapled none" if status == "none" else f"the stapled one is {status}"
        findings.append(
            Finding(
                F.MUST_STAPLE_MISSING,
                "error",
                leaf,
                f"{describe(leaf)} requires a stapled OCSP response (TLS Feature status_request, RFC 7633),"
                f" and {why}.",
                _FIX_MUST_STAPLE,
            )
        )
    return OcspOutcome(status, check, tuple(findings), response)


def refused(outcome: OcspOutcome) -> BadCertificate:
    """The ``BadCertificate`` for an outcome with errors (revoked, must-staple without a usable staple),
    its message from the first error, the findings attached."""
    first = outcome.errors[0] if outcome.errors else None
    if first is None:
        return BadCertificate("the OCSP response refused the certificate", findings=outcome.findings)
    text = first.message[:1].lower() + first.message[1:]
    return BadCertificate(f"{first.code}: {text.rstrip('.')}", findings=outcome.findings)


# --- what a server staples ------------------------------------------------------------------------------


class OcspStaple:
    """The OCSP response a server staples for one certificate (DER, or None: staple nothing). A refresher
    may replace it while connections read it; each handshake staples the response current when its
    Certificate is sent."""

    __slots__ = ("_lock", "_next_update", "_response")

    def __init__(self, response: bytes | None = None) -> None:
        self._lock = threading.Lock()
        self._response: bytes | None = None
        self._next_update: dt.datetime | None = None
        self.set(response)

    @property
    def response(self) -> bytes | None:
        return self._response

    @property
    def next_update(self) -> dt.datetime | None:
        """The current response's nextUpdate (None without a response, or without nextUpdate)."""
        return self._next_update

    def set(self, response: bytes | None) -> None:
        """Staple ``response`` from now on (it must parse and fit: ValueError otherwise)."""
        next_update = None
        if response is not None:
            response = bytes(response)
            if not 0 < len(response) <= MAX_OCSP_RESPONSE:
                raise ValueError(f"an OCSP response to staple must be 1 to {MAX_OCSP_RESPONSE} bytes")
            parsed = ocsp.load_der_ocsp_response(response)  # ValueError when it is not one
            if parsed.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
                next_update = _utc(parsed.next_update_utc)
        with self._lock:
            self._response, self._next_update = response, next_update

    def __repr__(self) -> str:
        size = f"{len(self._response)} bytes" if self._response else "none"
        return f"<OcspStaple {size}>"
