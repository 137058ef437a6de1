"""The peer's Certificate and CertificateVerify (handshake/peer_certificate.py, verify.py, the chain
limits of common.py), checked the same way by both roles: the client refuses the server's, the server
refuses a client certificate it asked for.

Regressions included: certificates ``cryptography`` loads lazily (extensions or names that do not
parse) and keys it does not know once escaped receive_data as ValueError / KeyError /
UnsupportedAlgorithm (found by test_properties.py); they must end in bad_certificate like any unusable
certificate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tests.handshake.faults.fault import Fault, faults
from tests.handshake.faults.scenes import (
    flip_last,
    requiring_client_certificate,
    with_client_certificate,
    with_unknown_client_certificate,
)
from tests.handshake.helpers import NOW, Tamper, replacing, verifier
from tlslens.crypto.provider import DeterministicProvider
from tlslens.dangerous import NoVerification
from tlslens.errors import (
    BadCertificate,
    CertificateExpired,
    DecodeError,
    DecryptError,
    IllegalParameter,
    UnknownCA,
    UnsupportedExtension,
)
from tlslens.handshake.common import MAX_CERTIFICATE_CHAIN_LENGTH
from tlslens.wire.enums import CertificateStatusType, ExtensionType, SignatureScheme
from tlslens.wire.extensions import CertificateStatus, UnknownExtension
from tlslens.wire.messages import Certificate, CertificateEntry, CertificateVerify

S = SignatureScheme
replace = dataclasses.replace

PARSE_CHAIN = "handshake/common.py:parse_certificate_chain"
RECEIVE_CERTIFICATE = "handshake/peer_certificate.py:receive_certificate"
VERIFY_SIGNATURE = "handshake/verify.py:verify_certificate_verify"
UNPARSABLE = "handshake/verify.py:_unparsable_as_bad_certificate"
VERIFIER = "pki/diagnosis.py:_fast_path"  # where the WebPkiVerifier refuses a chain


# --- certificates that load, but only lazily (or not at all) ---------------------------------------


def malformed_extensions(der: bytes) -> bytes:
    """basicConstraints' value re-tagged SEQUENCE → SET: the certificate still loads (``cryptography``
    parses lazily), but reading ``cert.extensions`` raises ValueError."""
    i = der.index(bytes.fromhex("0603551d13"))  # OID 2.5.29.19
    j = der.index(b"\x30", i + 5)
    return der[:j] + b"\x31" + der[j + 1 :]


def malformed_subject(der: bytes) -> bytes:
    """The subject CN's UTF8String (tag 12) re-tagged 13: loads, but ``cert.subject`` raises KeyError."""
    assert der.count(b"\x0c\x09localhost") == 1 or der.count(b"\x0c\x0eclient.example") == 1
    return der.replace(b"\x0c\x09localhost", b"\x0d\x09localhost").replace(
        b"\x0c\x0eclient.example", b"\x0d\x0eclient.example"
    )


def unknown_version(der: bytes) -> bytes:
    """The version field [0] INTEGER 2 (v3) set to 3: ``load_der_x509_certificate`` raises InvalidVersion,
    which is not a ValueError (this once escaped receive_data; found by test_properties.py)."""
    version = bytes.fromhex("a003020102")
    assert der.index(version) < 16
    return der.replace(version, bytes.fromhex("a003020103"), 1)


def unknown_key_algorithm(der: bytes) -> bytes:
    """The SubjectPublicKeyInfo algorithm id-ecPublicKey changed to an unassigned OID: loads, but
    ``cert.public_key()`` raises cryptography.exceptions.UnsupportedAlgorithm."""
    oid = bytes.fromhex("06072a8648ce3d0201")
    assert der.count(oid) == 1
    return der.replace(oid, bytes.fromhex("06072a8648ce3d0209"))


def leaf_changed(change: Callable[[bytes], bytes]) -> Tamper:
    def tamper(m: Certificate) -> Certificate:
        leaf = CertificateEntry(change(m.certificate_list[0].cert_data))
        return Certificate(m.certificate_request_context, (leaf, *m.certificate_list[1:]))

    return replacing(Certificate, tamper)


def certificate(fn: Callable[[Certificate], object]) -> Tamper:
    return replacing(Certificate, fn)


def certificate_verify(fn: Callable[[CertificateVerify], object]) -> Tamper:
    return replacing(CertificateVerify, fn)


# --- the client refuses the server's --------------------------------------------------------------------

SERVER_CERTIFICATE_FAULTS = [  # RFC 8446 §4.4.2
    Fault(
        id="certificate-empty",
        fails="client",
        raises=DecodeError,
        site=PARSE_CHAIN,
        tamper=certificate(lambda m: Certificate(b"", ())),
    ),
    Fault(
        id="certificate-with_request_context",
        fails="client",
        raises=IllegalParameter,
        site=RECEIVE_CERTIFICATE,
        tamper=certificate(lambda m: replace(m, certificate_request_context=b"\x01")),
    ),
    Fault(
        id="certificate-chain_too_long",
        fails="client",
        raises=BadCertificate,
        site=PARSE_CHAIN,
        tamper=certificate(
            lambda m: Certificate(b"", (m.certificate_list[0],) * (MAX_CERTIFICATE_CHAIN_LENGTH + 1))
        ),
    ),
    Fault(
        id="certificate-entry_too_large",
        fails="client",
        raises=BadCertificate,
        site=PARSE_CHAIN,
        tamper=certificate(lambda m: Certificate(b"", (CertificateEntry(b"\x30" * 70_000),))),
    ),
    Fault(
        id="certificate-not_der",
        fails="client",
        raises=BadCertificate,
        site=PARSE_CHAIN,
        tamper=certificate(lambda m: Certificate(b"", (CertificateEntry(b"not DER"),))),
    ),
    Fault(
        id="certificate-entry_with_forbidden_extension",
        fails="client",
        raises=IllegalParameter,
        site="handshake/common.py:check_allowed_extensions",
        tamper=certificate(
            lambda m: Certificate(
                b"",
                (
                    CertificateEntry(
                        m.certificate_list[0].cert_data, (UnknownExtension(ExtensionType.KEY_SHARE, b""),)
                    ),
                ),
            )
        ),
    ),
    Fault(
        id="certificate-entry_with_unsolicited_status_request",
        fails="client",
        raises=UnsupportedExtension,
        site="handshake/common.py:check_allowed_extensions",
        client={"ocsp_stapling": False},  # (a client asks for a staple by default)
        tamper=certificate(
            lambda m: Certificate(
                b"",
                (
                    CertificateEntry(
                        m.certificate_list[0].cert_data,
                        (CertificateStatus(CertificateStatusType.OCSP, b"\x30\x00"),),
                    ),
                    *m.certificate_list[1:],
                ),
            )
        ),
    ),
]

SERVER_CERTIFICATE_VERIFY_FAULTS = [  # RFC 8446 §4.4.3 (the client offers ecdsa_secp256r1_sha256, ed25519)
    Fault(
        id="certificate_verify-scheme_not_offered",
        fails="client",
        raises=IllegalParameter,
        site=VERIFY_SIGNATURE,
        tamper=certificate_verify(lambda m: replace(m, algorithm=S.RSA_PSS_RSAE_SHA256)),
        client={"signature_schemes": (S.ECDSA_SECP256R1_SHA256, S.ED25519)},
    ),
    Fault(
        id="certificate_verify-scheme_does_not_fit_key",
        fails="client",
        raises=IllegalParameter,
        site=VERIFY_SIGNATURE,
        tamper=certificate_verify(lambda m: replace(m, algorithm=S.ED25519)),
        client={"signature_schemes": (S.ECDSA_SECP256R1_SHA256, S.ED25519)},
    ),
    Fault(
        id="certificate_verify-bad_signature",
        fails="client",
        raises=DecryptError,
        site="crypto/signatures.py:verify",
        tamper=certificate_verify(lambda m: replace(m, signature=flip_last(m.signature))),
    ),
    Fault(
        id="certificate_verify-empty_signature",
        fails="client",
        raises=DecryptError,
        site="crypto/signatures.py:verify",
        tamper=certificate_verify(lambda m: replace(m, signature=b"")),
    ),
]

SERVER_CHAIN_REFUSED = [  # the configured verifier says no (CertificateError subclasses)
    Fault(
        id="unknown_ca",
        fails="client",
        raises=UnknownCA,
        site=VERIFIER,
        match="issue",
        client=lambda: {"verifier": verifier("ed25519")},
    ),
    Fault(
        id="name_mismatch",
        fails="client",
        raises=BadCertificate,
        site=VERIFIER,
        match="other.example",
        server_name="other.example",
    ),
    Fault(
        id="expired",
        fails="client",
        raises=CertificateExpired,
        site=VERIFIER,
        match="expired",
        client=lambda: {"provider": DeterministicProvider(seed=b"later", clock=NOW + 30 * 86400)},
    ),
    Fault(
        id="not_yet_valid",
        fails="client",
        raises=CertificateExpired,
        site=VERIFIER,
        match="not valid before",
        client=lambda: {"provider": DeterministicProvider(seed=b"earlier", clock=NOW - 86400)},
    ),
]

SERVER_CERTIFICATE_UNUSABLE = [
    Fault(
        id="extensions",
        fails="client",
        raises=BadCertificate,
        site=VERIFIER,
        tamper=leaf_changed(malformed_extensions),
    ),
    Fault(
        id="subject",
        fails="client",
        raises=BadCertificate,
        site=VERIFIER,
        tamper=leaf_changed(malformed_subject),
    ),
    Fault(
        id="version",
        fails="client",
        raises=BadCertificate,
        site=PARSE_CHAIN,
        tamper=leaf_changed(unknown_version),
    ),
    Fault(  # without verification nothing reads the certificate before CertificateVerify needs its key
        id="unknown_key_algorithm_without_verification",
        fails="client",
        raises=BadCertificate,
        site=UNPARSABLE,
        tamper=leaf_changed(unknown_key_algorithm),
        client=lambda: {"verifier": NoVerification()},
    ),
]


@faults(SERVER_CERTIFICATE_FAULTS)
def test_client_refuses_server_certificate_message(fault: Fault) -> None:
    fault.check()


@faults(SERVER_CERTIFICATE_VERIFY_FAULTS)
def test_client_refuses_server_certificate_verify(fault: Fault) -> None:
    fault.check()


@faults(SERVER_CHAIN_REFUSED)
def test_client_refuses_server_certificate(fault: Fault) -> None:
    fault.check()


@faults(SERVER_CERTIFICATE_UNUSABLE)
def test_client_refuses_certificate_that_only_loads_lazily(fault: Fault) -> None:
    fault.check()


# --- the server refuses a client certificate ------------------------------------------------------------

CLIENT_CERTIFICATE_FAULTS = [
    Fault(
        id="client_certificate-with_context",
        fails="server",
        raises=IllegalParameter,
        site=RECEIVE_CERTIFICATE,
        tamper=certificate(lambda m: replace(m, certificate_request_context=b"\x07")),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_certificate-unknown_ca",
        fails="server",
        raises=UnknownCA,
        site=VERIFIER,
        client=with_unknown_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_certificate_verify-bad_signature",
        fails="server",
        raises=DecryptError,
        site="crypto/signatures.py:verify",
        tamper=certificate_verify(lambda m: replace(m, signature=flip_last(m.signature))),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="client_certificate_verify-scheme_not_requested",
        fails="server",
        raises=IllegalParameter,
        site=VERIFY_SIGNATURE,
        tamper=certificate_verify(lambda m: replace(m, algorithm=S.ECDSA_SECP384R1_SHA384)),
        client=with_client_certificate,
        server=lambda: requiring_client_certificate(signature_schemes=(S.ECDSA_SECP256R1_SHA256, S.ED25519)),
    ),
    Fault(
        id="client_certificate_verify-scheme_does_not_fit_key",
        fails="server",
        raises=IllegalParameter,
        site=VERIFY_SIGNATURE,
        tamper=certificate_verify(lambda m: replace(m, algorithm=S.ED25519)),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
]

CLIENT_CERTIFICATE_UNUSABLE = [
    Fault(
        id="extensions",
        fails="server",
        raises=BadCertificate,
        site=VERIFIER,
        tamper=leaf_changed(malformed_extensions),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="subject",
        fails="server",
        raises=BadCertificate,
        site=VERIFIER,
        tamper=leaf_changed(malformed_subject),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="version",
        fails="server",
        raises=BadCertificate,
        site=PARSE_CHAIN,
        tamper=leaf_changed(unknown_version),
        client=with_client_certificate,
        server=requiring_client_certificate,
    ),
    Fault(
        id="unknown_key_algorithm_without_verification",
        fails="server",
        raises=BadCertificate,
        site=UNPARSABLE,
        tamper=leaf_changed(unknown_key_algorithm),
        client=with_client_certificate,
        server=lambda: {"client_verifier": NoVerification()},
    ),
]


@faults(CLIENT_CERTIFICATE_FAULTS)
def test_server_refuses_client_certificate(fault: Fault) -> None:
    fault.check()


@faults(CLIENT_CERTIFICATE_UNUSABLE)
def test_server_refuses_client_certificate_that_only_loads_lazily(fault: Fault) -> None:
    fault.check()
