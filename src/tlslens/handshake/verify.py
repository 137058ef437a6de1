"""Proof tokens: the only way to obtain them is to pass the check they name.

The traffic states take these tokens in their constructors, none of them optional: how the peer was
authenticated is an explicit union (``CertAndSig`` | ``Resumed`` | ``ByExternalPsk``, and for a client
of ours also ``NoClientCertificate``, or ``PostHandshake`` once it answered a post-handshake
CertificateRequest), so a state machine that skipped a check cannot build ``Traffic``, and mypy
says so. Each token's constructor wants the module-private ``_MINT`` sentinel; only the functions below
hold it.
"""

from __future__ import annotations

import contextlib
import datetime
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509

from tlslens.crypto import signatures
from tlslens.crypto.key_schedule import HandshakeSecret, finished_verify_data
from tlslens.crypto.suites import Tls13Suite
from tlslens.errors import (
    BadCertificate,
    CertificateError,
    CertificateRequired,
    DecodeError,
    DecryptError,
    HandshakeFailure,
    IllegalParameter,
)
from tlslens.pki.ocsp import OcspOutcome, refused, staple_outcome
from tlslens.verifier import CertificateVerifier
from tlslens.wire.enums import SignatureScheme

_MINT: Final = object()
_TLS1_2 = 0x0303
_TLS1_3 = 0x0304


class _Token:
    __slots__ = ()

    def __init__(self, mint: object) -> None:
        if mint is not _MINT:
            raise TypeError(f"{type(self).__name__} can only be created by handshake/verify.py")


class CertificateVerified(_Token):
    """The peer's chain was accepted by the configured verifier."""

    __slots__ = ()


class SignatureVerified(_Token):
    """The peer's CertificateVerify signature checked out against its leaf certificate."""

    __slots__ = ()


class FinishedVerified(_Token):
    """The peer's Finished MAC matched our transcript."""

    __slots__ = ()


class PskAuthenticated(_Token):
    """The peer proved knowledge of a resumption PSK: the client by its binder, the server by a Finished
    keyed from the PSK."""

    __slots__ = ()


class ExternalPskAuthenticated(_Token):
    """The peer proved knowledge of an external PSK: the client by its binder, the server by a Finished
    keyed from the PSK."""

    __slots__ = ()


class NoClientCertificate(_Token):
    """Server: the client has no certificate, and this server does not require one."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class CertAndSig:
    """Authenticated by certificate: the chain was accepted and the CertificateVerify signature checked."""

    cert_ok: CertificateVerified
    sig_ok: SignatureVerified


@dataclass(frozen=True, slots=True)
class Resumed:
    """Authenticated by the resumption PSK (the certificates were checked on the original connection)."""

    psk_ok: PskAuthenticated


@dataclass(frozen=True, slots=True)
class ByExternalPsk:
    """Authenticated by an external PSK (RFC 8446 §2.2), which only the two ends were given: no
    certificates."""

    psk_ok: ExternalPskAuthenticated


@dataclass(frozen=True, slots=True)
class PostHandshake:
    """Server: the client authenticated after the handshake (RFC 8446 §4.6.2): its chain accepted, its
    CertificateVerify and its Finished over the request checked."""

    auth: CertAndSig
    fin_ok: FinishedVerified


ServerAuth = CertAndSig | Resumed | ByExternalPsk
ClientAuth = CertAndSig | Resumed | NoClientCertificate | ByExternalPsk | PostHandshake


def verify_server_certificates(
    verifier: CertificateVerifier, chain: Sequence[x509.Certificate], server_name: str | None, now: float
) -> CertificateVerified:
    """Raises a ``CertificateError`` subclass when the chain is refused."""
    with _unparsable_as_bad_certificate():
        verifier.verify_server(chain, server_name, now)
    return CertificateVerified(_MINT)


def verify_client_certificates(
    verifier: CertificateVerifier, chain: Sequence[x509.Certificate], now: float
) -> CertificateVerified:
    with _unparsable_as_bad_certificate():
        verifier.verify_client(chain, now)
    return CertificateVerified(_MINT)


@contextlib.contextmanager
def _unparsable_as_bad_certificate() -> Iterator[None]:
    """``cryptography`` parses certificates lazily: a malformed field can surface as ValueError or
    KeyError deep inside a verifier. Peer bytes must only ever give a TLS alert, so those become
    bad_certificate (as does any other failure of a verifier, rather than escaping receive_data)."""
    try:
        yield
    except CertificateError:
        raise
    except Exception as exc:
        raise BadCertificate(f"the certificate chain cannot be checked: {type(exc).__name__}: {exc}") from exc


def verify_certificate_verify(
    leaf: x509.Certificate,
    scheme: SignatureScheme,
    signature: bytes,
    offered: Sequence[SignatureScheme],
    *,
    server: bool,
    transcript_hash: bytes,
) -> SignatureVerified:
    """RFC 8446 §4.4.3: the scheme must be one we offered and fit the key; the signature must verify."""
    if scheme not in offered:
        raise IllegalParameter(f"CertificateVerify uses {scheme.name}, which was not offered")
    with _unparsable_as_bad_certificate():
        public_key = leaf.public_key()
        # rsa_pss_pss_* only for RSASSA-PSS keys, rsa_pss_rsae_* only for rsaEncryption keys (§4.2.3).
        pss_key = signatures.is_rsa_pss_certificate(leaf)
    if not signatures.scheme_fits_public_key(scheme, public_key, rsa_pss_key=pss_key, version=_TLS1_3):
        raise IllegalParameter(f"CertificateVerify scheme {scheme.name} does not fit the certificate's key")
    content = signatures.certificate_verify_input(server, transcript_hash)
    # DecryptError if bad; rsa_pkcs1_* (offered for TLS 1.2) is refused here: not a TLS 1.3 scheme.
    signatures.verify(public_key, scheme, content, signature, rsa_pss_key=pss_key, version=_TLS1_3)
    return SignatureVerified(_MINT)


def verify_signature12(
    leaf: x509.Certificate,
    scheme: SignatureScheme | None,
    signature: bytes,
    offered: Sequence[SignatureScheme],
    content: bytes,
    what: str,
) -> SignatureVerified:
    """A TLS 1.2 handshake signature (ServerKeyExchange params, or the client's CertificateVerify over
    the handshake messages): a scheme we offered (IllegalParameter), allowed in TLS 1.2 (no SHA-1) and
    fitting the leaf's key; DecryptError when it does not verify."""
    if scheme is None or scheme not in offered:
        name = scheme.iana_name if scheme is not None else "no algorithm"
        raise IllegalParameter(f"{what} is signed with {name}, which was not offered")
    with _unparsable_as_bad_certificate():
        public_key = leaf.public_key()
        pss_key = signatures.is_rsa_pss_certificate(leaf)
    if not signatures.scheme_fits_public_key(scheme, public_key, rsa_pss_key=pss_key, version=_TLS1_2):
        raise IllegalParameter(f"{what} scheme {scheme.iana_name} does not fit the certificate's key")
    signatures.verify(public_key, scheme, content, signature, rsa_pss_key=pss_key, version=_TLS1_2)
    return SignatureVerified(_MINT)


def verify_finished12(expected: bytes, verify_data: bytes) -> FinishedVerified:
    """RFC 5246 §7.4.9: the peer's 12-octet verify_data (DecodeError for another length), compared in
    constant time (DecryptError)."""
    if len(verify_data) != len(expected):
        raise DecodeError(f"Finished verify_data is {len(verify_data)} octets, not {len(expected)}")
    if not hmac.compare_digest(expected, verify_data):
        raise DecryptError("Finished verify_data does not match the handshake messages")
    return FinishedVerified(_MINT)


def resumed_by_session12(fin_ok: FinishedVerified, master_secret_from_session: bool) -> Resumed:
    """TLS 1.2, abbreviated handshake: the peer's Finished, keyed from the session's master secret that
    only the original connection's ends hold, proves it is that peer."""
    if not master_secret_from_session:
        raise TypeError("a full handshake cannot authenticate the peer by a session")
    return Resumed(PskAuthenticated(_MINT))


def verify_finished(
    suite: Tls13Suite, base_secret: bytes, transcript_hash: bytes, verify_data: bytes
) -> FinishedVerified:
    """RFC 8446 §4.4.4, compared in constant time. verify_data is Hash.length bytes: another length is
    a malformed message (decode_error, §6), not a wrong MAC."""
    if len(verify_data) != suite.hash.digest_size:
        size = suite.hash.digest_size
        raise DecodeError(f"Finished of {len(verify_data)} bytes (the suite's hash has {size})")
    expected = finished_verify_data(suite, base_secret, transcript_hash)
    if not hmac.compare_digest(expected, verify_data):
        raise DecryptError("Finished verify_data does not match the transcript")
    return FinishedVerified(_MINT)


def verify_resumed_finished(
    secrets: HandshakeSecret, base_secret: bytes, transcript_hash: bytes, verify_data: bytes
) -> tuple[FinishedVerified, Resumed]:
    """Client, resumed: the server's Finished under keys derived from the PSK proves it holds the PSK."""
    if not secrets.psk_keyed:
        raise TypeError("a handshake without a PSK cannot authenticate the server by one")
    return verify_finished(secrets.suite, base_secret, transcript_hash, verify_data), Resumed(
        PskAuthenticated(_MINT)
    )


def verify_external_psk_finished(
    secrets: HandshakeSecret, base_secret: bytes, transcript_hash: bytes, verify_data: bytes
) -> tuple[FinishedVerified, ByExternalPsk]:
    """Client: the server's Finished under keys derived from the external PSK proves it holds the PSK."""
    if not secrets.psk_keyed:
        raise TypeError("a handshake without a PSK cannot authenticate the server by one")
    return verify_finished(secrets.suite, base_secret, transcript_hash, verify_data), ByExternalPsk(
        ExternalPskAuthenticated(_MINT)
    )


def verify_external_binder(expected: bytes, received: bytes) -> ByExternalPsk:
    """Server: the binder of an external PSK, compared in constant time (RFC 8446 §4.2.11.2): a client
    with another key for this identity fails here (decrypt_error)."""
    if not hmac.compare_digest(expected, received):
        raise DecryptError("external PSK binder does not verify: the client holds another key")
    return ByExternalPsk(ExternalPskAuthenticated(_MINT))


def verify_binder(expected: bytes, received: bytes) -> Resumed:
    """Server: the client's PSK binder, compared in constant time (RFC 8446 §4.2.11.2)."""
    if not hmac.compare_digest(expected, received):
        raise DecryptError("PSK binder does not verify")
    return Resumed(PskAuthenticated(_MINT))


def verify_no_client_certificate(required: bool, *, tls12: bool = False) -> NoClientCertificate:
    """Server: going on without a client certificate is allowed only when none is required
    (certificate_required; TLS 1.2 has no such alert: handshake_failure, RFC 5246 §7.4.6)."""
    if required:
        if tls12:
            raise HandshakeFailure("the client sent no certificate, and this server requires one")
        raise CertificateRequired("the client sent no certificate")
    return NoClientCertificate(_MINT)


def verify_stapled_ocsp(
    verifier: CertificateVerifier, chain: Sequence[x509.Certificate], response: bytes | None, now: float
) -> OcspOutcome:
    """The OCSP response a server stapled (None: none) for a chain its verifier accepted, judged by that
    verifier's ``verify_ocsp`` (which raises ``CertificateError`` to refuse); a verifier without one gets
    tlslens's rule, with the presented chain: revoked, or must-staple (RFC 7633) without a usable
    staple, is bad_certificate."""
    hook = getattr(verifier, "verify_ocsp", None)
    with _unparsable_as_bad_certificate():
        if hook is not None:
            outcome: OcspOutcome = hook(chain, response, now)
            return outcome
        outcome = staple_outcome(chain, response, (), datetime.datetime.fromtimestamp(now, tz=datetime.UTC))
    if outcome.errors:
        raise refused(outcome)
    return outcome
