"""OCSP stapling in the handshake (RFC 6066 §8 status_request; RFC 8446 §4.4.2.1; RFC 6960; RFC 7633).

Client: offers ``status_request`` (``ClientConfig.ocsp_stapling``) and has what the server staples
judged by its verifier once the chain is accepted (``verify.verify_stapled_ocsp``): TLS 1.3 carries the
response in the leaf's CertificateEntry, TLS 1.2 in a CertificateStatus message after Certificate
(when the ServerHello answered status_request). Revoked, or a must-staple leaf without a usable staple,
is bad_certificate; a stale or invalid staple is a finding in ``HandshakeCompleted.ocsp``.

Server: staples the certificate's current response (``CertifiedKey.staple``) when the client asked for
OCSP, and only then (RFC 8446 §4.4.2.1).
"""

from __future__ import annotations

from cryptography import x509

from tlslens.config import CertifiedKey, ClientConfig
from tlslens.errors import IllegalParameter
from tlslens.handshake.verify import verify_stapled_ocsp
from tlslens.output import Output
from tlslens.pki.ocsp import OcspOutcome
from tlslens.wire.enums import CertificateStatusType
from tlslens.wire.extensions import CertificateStatus, Extension, OCSPStatusRequest, StatusRequest
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import Certificate, CertificateEntry

__all__ = [
    "asked",
    "check_staple",
    "leaf_response",
    "offer",
    "staple",
    "stapled_entries",
]

_OCSP = CertificateStatusType.OCSP


def offer(config: ClientConfig) -> list[Extension]:
    """``status_request`` for OCSP in the ClientHello, unless ``ocsp_stapling`` is off."""
    return [StatusRequest(_OCSP, OCSPStatusRequest())] if config.ocsp_stapling else []


def asked(hello: ClientHello) -> bool:
    """Whether a ClientHello asks for an OCSP staple."""
    request = hello.extension(StatusRequest)
    return request is not None and request.status_type == _OCSP


def staple(certified: CertifiedKey, hello: ClientHello) -> bytes | None:
    """Server: the response to staple for ``certified`` in answer to ``hello`` (None: staple nothing)."""
    return certified.staple.response if asked(hello) else None


def stapled_entries(certified: CertifiedKey, hello: ClientHello) -> tuple[CertificateEntry, ...]:
    """Server, TLS 1.3: the chain's entries, the leaf's carrying the OCSP response when the client asked
    and we have one (RFC 8446 §4.4.2.1)."""
    entries = certified.entries
    response = staple(certified, hello)
    if response is None:
        return entries
    leaf = CertificateEntry(entries[0].cert_data, (CertificateStatus(_OCSP, response),))
    return (leaf, *entries[1:])


def leaf_response(message: Certificate) -> bytes | None:
    """Client, TLS 1.3: the OCSP response in the leaf's CertificateEntry (status_request, which
    ``check_certificate_entries`` allowed only because we offered it)."""
    status = message.certificate_list[0].extension(CertificateStatus) if message.certificate_list else None
    if status is None:
        return None
    if status.status_type != _OCSP:
        raise IllegalParameter(f"the leaf's status_request carries status type {status.status_type.name}")
    return status.response


def check_staple(
    config: ClientConfig, chain: tuple[x509.Certificate, ...], response: bytes | None, out: Output
) -> OcspOutcome:
    """Client: the verifier's verdict on what was stapled for an accepted chain (raises
    ``CertificateError`` to refuse); traced."""
    outcome = verify_stapled_ocsp(config.effective_verifier, chain, response, config.provider.now())
    if out.tracing:
        check = outcome.check
        what = check.message if check is not None else "the server stapled no OCSP response"
        more = "; ".join(f"{f.code}: {f.message}" for f in outcome.findings)
        out.decide("ocsp", f"OCSP status {outcome.status}: {what}" + (f" ({more})" if more else ""))
    return outcome
