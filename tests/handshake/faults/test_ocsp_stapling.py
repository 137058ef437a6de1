"""OCSP stapling faults (RFC 6066 §8, RFC 8446 §4.4.2.1): a status type we did not ask for, in either
version, and a revoked certificate refused by the configured verifier or by tlslens's own rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cryptography import x509

from tests.handshake.faults.fault import Fault, faults
from tests.handshake.helpers import pki, replacing
from tests.pki.ocsp_factory import ocsp_response
from tlslens.errors import BadCertificate, IllegalParameter
from tlslens.wire.enums import CertificateStatusType
from tlslens.wire.extensions import CertificateStatus
from tlslens.wire.messages import Certificate, CertificateEntry
from tlslens.wire.messages12 import CertificateStatusMessage

replace = dataclasses.replace
TLS12 = {"versions": ("TLSv1.2",)}


def good() -> dict:
    p = pki()
    return {"ocsp_response": ocsp_response(p.leaf, p.intermediate)}


def revoked() -> dict:
    p = pki()
    return {"ocsp_response": ocsp_response(p.leaf, p.intermediate, status="revoked")}


class AcceptsAll:
    """A verifier without ``verify_ocsp``."""

    def verify_server(self, chain: Sequence[x509.Certificate], server_name: str | None, now: float) -> None:
        return None

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None:
        return None


def _other_status_type(m: Certificate) -> Certificate:
    leaf = CertificateEntry(
        m.certificate_list[0].cert_data, (CertificateStatus(CertificateStatusType(2), b"x"),)
    )
    return Certificate(b"", (leaf, *m.certificate_list[1:]))


FAULTS = [
    Fault(
        id="certificate_entry-status_type_not_ocsp",
        fails="client",
        raises=IllegalParameter,
        site="handshake/certificate_status.py:leaf_response",
        match="status type UNKNOWN_0x0002",
        server=good,
        tamper=replacing(Certificate, _other_status_type),
    ),
    Fault(
        id="certificate_status12-type_not_ocsp",
        fails="client",
        raises=IllegalParameter,
        site="handshake/client12.py:ExpectCertificateStatus.receive",
        match="we asked for OCSP",
        client=TLS12,
        server=good,
        tamper=replacing(
            CertificateStatusMessage, lambda m: CertificateStatusMessage(CertificateStatusType(2), b"x")
        ),
    ),
    Fault(
        id="certificate-revoked_by_webpki_verifier",
        fails="client",
        raises=BadCertificate,
        site="verifier.py:WebPkiVerifier.verify_ocsp",
        match=r"ocsp-revoked: .* revoked on .* \(reason: key_compromise\)",
        server=revoked,
    ),
    Fault(
        id="certificate12-revoked_by_webpki_verifier",
        fails="client",
        raises=BadCertificate,
        site="verifier.py:WebPkiVerifier.verify_ocsp",
        match="ocsp-revoked",
        client=TLS12,
        server=revoked,
    ),
    Fault(
        id="certificate-revoked_by_own_verifier",
        fails="client",
        raises=BadCertificate,
        site="handshake/verify.py:verify_stapled_ocsp",
        match="ocsp-revoked",
        client=lambda: {"verifier": AcceptsAll()},
        server=revoked,
    ),
]


@faults(FAULTS)
def test_ocsp_stapling_faults(fault: Fault) -> None:
    fault.check()
