"""Certificates: trust stores, chain validation with a diagnosis (what is wrong, and the fix).

The verdict comes from ``cryptography.x509.verification`` under a profile (``webpki`` with the system
store, ``rfc5280`` with your own anchors) plus the checks it leaves out; the diagnosis from tlslens's own
path search, so a report names the missing, expired, misnamed or untrusted link even when no path
exists. Every diagnosis is bounded by a counted :class:`Budget`.
"""

from __future__ import annotations

from tlslens.pki.budget import Budget
from tlslens.pki.diagnosis import certificate_error, verify_chain, verify_client_chain, verify_server_chain
from tlslens.pki.findings import CODES, ChainReport, Finding
from tlslens.pki.trust import (
    CertificateFileError,
    PrivateKey,
    TrustStore,
    load_ca_locations,
    load_pem_certificates,
    load_pem_private_key,
    system_trust_store,
)

__all__ = [
    "CODES",
    "Budget",
    "CertificateFileError",
    "ChainReport",
    "Finding",
    "PrivateKey",
    "TrustStore",
    "certificate_error",
    "load_ca_locations",
    "load_pem_certificates",
    "load_pem_private_key",
    "system_trust_store",
    "verify_chain",
    "verify_client_chain",
    "verify_server_chain",
]
