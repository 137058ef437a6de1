"""verify_server_chain / verify_client_chain: the handshake's entry points.

A good chain goes straight through cryptography's verifier; a bad one raises the CertificateError
subclass named after the alert to send, carrying the diagnosis.
"""

from __future__ import annotations

import pytest

from tests.pki import corpus
from tests.pki.factory import NOW, standard_pki
from tlslens.errors import (
    BadCertificate,
    CertificateError,
    CertificateExpired,
    UnknownCA,
    UnsupportedCertificate,
)
from tlslens.pki import TrustStore, diagnosis, profile, verify_client_chain, verify_server_chain
from tlslens.pki import findings as F
from tlslens.pki.faults import certificate_fault
from tlslens.wire.enums import AlertDescription

BY_ID = {c.id: c for c in corpus.ALL}


def test_good_chain_returns_the_verified_path() -> None:
    p = standard_pki()
    store = TrustStore([p.root.cert])
    path = verify_server_chain([p.leaf.cert, p.inter.cert], "www.example.com", store, NOW)
    assert path == (p.leaf.cert, p.inter.cert, p.root.cert)


def test_good_chain_takes_the_fast_path_without_diagnosis(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_diagnosis(*_args: object) -> None:
        raise AssertionError("the diagnosis ran for a good chain")

    monkeypatch.setattr(diagnosis, "_diagnose", no_diagnosis)
    p = standard_pki()
    store = TrustStore([p.root.cert])
    assert verify_server_chain([p.leaf.cert, p.inter.cert], "example.com", store, NOW)[0] == p.leaf.cert


@pytest.mark.parametrize(
    ("case_id", "error", "alert"),
    [
        ("missing-intermediate", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("untrusted-root-served", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("self-signed-leaf", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("expired-leaf", CertificateExpired, AlertDescription.CERTIFICATE_EXPIRED),
        ("expired-root-in-store", CertificateExpired, AlertDescription.CERTIFICATE_EXPIRED),
        ("leaf-not-yet-valid", CertificateExpired, AlertDescription.CERTIFICATE_EXPIRED),
        ("name-mismatch", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("tampered-leaf-signature", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("sha1-signed-leaf", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("rsa-1024-leaf", BadCertificate, AlertDescription.BAD_CERTIFICATE),  # verifier accepts; TLS 1.3 not
        ("secp256k1-leaf", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("leaf-key-usage-without-digital-signature", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("intermediate-with-ca-false", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("webpki-leaf-without-authority-key-identifier", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("leaf-serial-zero", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("leaf-with-duplicate-extension", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        (
            "leaf-with-malformed-authority-information-access",
            BadCertificate,
            AlertDescription.BAD_CERTIFICATE,
        ),
        (
            "intermediate-with-unknown-critical-extension",
            UnsupportedCertificate,
            AlertDescription.UNSUPPORTED_CERTIFICATE,
        ),
        ("name-constraints-times-names-beyond-the-budget", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("leaf-issued-by-a-namesake-of-the-trusted-root", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("wildcard-meets-an-excluded-subtree", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("webpki-leaf-without-eku", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("webpki-wildcard-over-public-suffix", BadCertificate, AlertDescription.BAD_CERTIFICATE),
    ],
)
def test_bad_server_chain_raises_the_alert_named_error_with_findings(
    case_id: str, error: type[CertificateError], alert: AlertDescription
) -> None:
    case = BY_ID[case_id]
    s = case.build()
    with pytest.raises(error) as info:
        verify_server_chain(s.chain, s.server_name, TrustStore(s.anchors), NOW, profile=s.profile)
    exc = info.value
    assert type(exc) is error and exc.description == alert
    codes = {f.code for f in exc.findings if isinstance(f, F.Finding)}
    assert codes == case.codes - {F.EXPIRING_SOON}  # the handshake's diagnosis is the same as verify's
    first = next(f for f in exc.findings if isinstance(f, F.Finding) and f.severity == "error")
    assert str(exc).startswith(f"tls: {first.code}: ")


def test_error_message_counts_further_problems() -> None:
    s = BY_ID["expired-and-misnamed"].build()
    with pytest.raises(CertificateExpired, match=r"^tls: expired: the leaf .* \(and 1 more problem\)$"):
        verify_server_chain(s.chain, s.server_name, TrustStore(s.anchors), NOW)


def test_no_server_name_skips_the_name_check_only() -> None:
    p = standard_pki()
    store = TrustStore([p.root.cert])
    assert len(verify_server_chain([p.leaf.cert, p.inter.cert], None, store, NOW)) == 3
    with pytest.raises(UnknownCA):
        verify_server_chain([p.leaf.cert], None, store, NOW)


def test_client_chain_without_san_is_accepted() -> None:
    s = BY_ID["client-certificate-without-san"].build()
    path = verify_client_chain(s.chain, TrustStore(s.anchors), NOW)
    assert path[0] == s.chain[0] and path[-1] == s.anchors[0]


def test_client_chain_needs_client_auth() -> None:
    s = BY_ID["client-leaf-with-server-auth-only"].build()
    with pytest.raises(BadCertificate, match="bad-extended-key-usage") as info:
        verify_client_chain(s.chain, TrustStore(s.anchors), NOW)
    assert "clientAuth" in str(info.value)


def test_caller_errors_are_not_certificate_errors() -> None:
    p = standard_pki()
    store = TrustStore([p.root.cert])
    with pytest.raises(ValueError, match="empty"):
        verify_server_chain([], "www.example.com", store, NOW)
    with pytest.raises(ValueError, match="not a valid host name"):
        verify_server_chain([p.leaf.cert], "bad host", store, NOW)


def test_fast_path_checks_each_certificate_once_across_handshakes(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_diagnosis(*_args: object) -> None:
        raise AssertionError("the diagnosis ran for a good chain")

    monkeypatch.setattr(diagnosis, "_diagnose", no_diagnosis)
    p = standard_pki()
    store = TrustStore([p.root.cert])
    chain = [p.leaf.cert, p.inter.cert]
    verify_server_chain(chain, "www.example.com", store, NOW)
    rules, faults = profile.certificate_rules.cache_info(), certificate_fault.cache_info()
    for _ in range(50):
        verify_server_chain(chain, "www.example.com", store, NOW)
    assert profile.certificate_rules.cache_info().misses == rules.misses  # the rules ran once per certificate
    assert certificate_fault.cache_info().misses == faults.misses
