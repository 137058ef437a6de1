"""OCSP responses for the tests, built with ``cryptography``'s OCSPResponseBuilder: signed by the issuer or
a delegated responder, for any status, times and CertID hash."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.pki.factory import DAY, NOW, Issued, make_leaf

HOUR = dt.timedelta(hours=1)
AnyIssued = object
"""``tests.pki.factory.Issued`` (cert, key) or ``tlslens.certgen.Issued`` (certificate, private_key); a
bare certificate where no key is needed (the leaf)."""


def _cert(issued: AnyIssued) -> x509.Certificate:
    if isinstance(issued, x509.Certificate):
        return issued
    return getattr(issued, "cert", None) or issued.certificate  # type: ignore[attr-defined, no-any-return]


def _key(issued: AnyIssued) -> object:
    return getattr(issued, "key", None) or issued.private_key  # type: ignore[attr-defined]


def ocsp_response(
    leaf: AnyIssued,
    issuer: AnyIssued,
    *,
    status: str = "good",
    signer: AnyIssued | None = None,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | object | None = ...,
    revoked_at: dt.datetime | None = None,
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
    cert_id_hash: hashes.HashAlgorithm | None = None,
    by_key: bool = False,
    include_signer: bool = True,
) -> bytes:
    """A DER response about ``leaf`` (issued by ``issuer``), signed by ``signer`` (default: the issuer);
    thisUpdate one hour ago and nextUpdate in a day unless given."""
    signer = signer or issuer
    this_update = this_update or NOW - HOUR
    nxt = NOW + DAY if next_update is ... else next_update
    cert_status = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED}.get(
        status, ocsp.OCSPCertStatus.UNKNOWN
    )
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=_cert(leaf),
        issuer=_cert(issuer),
        algorithm=cert_id_hash or hashes.SHA1(),
        cert_status=cert_status,
        this_update=this_update,
        next_update=nxt,  # type: ignore[arg-type]
        revocation_time=(revoked_at or NOW - 2 * DAY) if status == "revoked" else None,
        revocation_reason=reason if status == "revoked" else None,
    )
    encoding = ocsp.OCSPResponderEncoding.HASH if by_key else ocsp.OCSPResponderEncoding.NAME
    builder = builder.responder_id(encoding, _cert(signer))
    if signer is not issuer and include_signer:
        builder = builder.certificates([_cert(signer)])
    signed = builder.sign(_key(signer), hashes.SHA256())  # type: ignore[arg-type]
    return signed.public_bytes(serialization.Encoding.DER)


def unsuccessful(status: ocsp.OCSPResponseStatus = ocsp.OCSPResponseStatus.TRY_LATER) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def responder(issuer: Issued, *, ocsp_signing: bool = True) -> Issued:
    """A delegated OCSP responder certificate issued by ``issuer`` (id-kp-OCSPSigning unless told)."""
    eku = [x509.ExtendedKeyUsageOID.OCSP_SIGNING] if ocsp_signing else [x509.ExtendedKeyUsageOID.SERVER_AUTH]
    return make_leaf(issuer, "OCSP responder", eku=eku, sans=None)


def must_staple_leaf(issuer: Issued, cn: str = "www.example.com") -> Issued:
    """A leaf with RFC 7633's TLS Feature extension (status_request): must-staple."""
    feature = x509.TLSFeature([x509.TLSFeatureType.status_request])
    return make_leaf(issuer, cn, extensions=[(feature, False)])
