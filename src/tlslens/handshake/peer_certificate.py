"""The peer's Certificate and CertificateVerify (RFC 8446 §4.4.2, §4.4.3), checked the same way by the
client (the server's chain) and the server (a client certificate), as Go shares
``verifyServerCertificate``: parse within limits, let the configured verifier judge the chain, then
check the signature over the transcript with the leaf's key."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from tlslens.errors import IllegalParameter
from tlslens.handshake.common import check_certificate_entries, parse_certificate_chain
from tlslens.handshake.verify import CertAndSig, CertificateVerified, verify_certificate_verify
from tlslens.parsed_certificates import ParsedCertificates
from tlslens.pki.ocsp import OcspOutcome
from tlslens.wire.enums import ExtensionType, SignatureScheme
from tlslens.wire.messages import Certificate, CertificateVerify


@dataclass(frozen=True, slots=True)
class PeerCertificates:
    """A chain the verifier accepted: parsed (leaf first) and as received (for sessions)."""

    chain: tuple[x509.Certificate, ...]
    der: tuple[bytes, ...] = field(repr=False)
    cert_ok: CertificateVerified
    ocsp: OcspOutcome | None = None  # TLS 1.2 client: what the stapled OCSP response said, once read


def receive_certificate(
    message: Certificate,
    who: str,
    offered: frozenset[ExtensionType],
    verify: Callable[[tuple[x509.Certificate, ...]], CertificateVerified],
    cache: ParsedCertificates | None = None,
) -> PeerCertificates:
    """A non-empty Certificate in the handshake: no request context, a chain the verifier accepts
    (``verify`` raises a ``CertificateError`` otherwise)."""
    if message.certificate_request_context:
        raise IllegalParameter(f"{who} Certificate carries a certificate_request_context we did not send")
    check_certificate_entries(message, offered)
    der = tuple(e.cert_data for e in message.certificate_list)
    chain = parse_certificate_chain(der, who, cache)
    cert_ok = verify(chain)
    return PeerCertificates(chain, der, cert_ok)


def receive_certificate_verify(
    message: CertificateVerify,
    peer: PeerCertificates,
    offered: Sequence[SignatureScheme],
    *,
    server: bool,
    transcript_hash: bytes,
) -> CertAndSig:
    """The signature over the transcript through Certificate, in a scheme we offered (IllegalParameter)
    that fits the leaf's key; DecryptError when it does not verify. ``server``: whose signature."""
    sig_ok = verify_certificate_verify(
        peer.chain[0],
        message.algorithm,
        message.signature,
        offered,
        server=server,
        transcript_hash=transcript_hash,
    )
    return CertAndSig(peer.cert_ok, sig_ok)
