"""Client certificates, both sides (RFC 8446 §4.3.2, §4.4.2, §4.4.3).

The client answers a CertificateRequest with its certificate (or an empty Certificate when it has none
that fits); the server checks what comes back.
"""

from __future__ import annotations

from tlslens.config import ClientConfig
from tlslens.crypto.signatures import certificate_verify_input
from tlslens.crypto.transcript import Transcript
from tlslens.errors import IllegalParameter, MissingExtension
from tlslens.handshake.certificate_compression import send_certificate
from tlslens.output import Output
from tlslens.wire.extensions import CompressCertificate, SignatureAlgorithms
from tlslens.wire.messages import Certificate, CertificateRequest, CertificateVerify


def check_certificate_request(message: CertificateRequest) -> CertificateRequest:
    if message.certificate_request_context:
        raise IllegalParameter("CertificateRequest during the handshake must have an empty context")
    if message.extension(SignatureAlgorithms) is None:
        raise MissingExtension("CertificateRequest has no signature_algorithms")
    return message


def send_client_certificate(
    config: ClientConfig, request: CertificateRequest, transcript: Transcript, out: Output
) -> None:
    """Certificate (+ CertificateVerify when we have a certificate whose key fits the server's list)."""
    asked = request.extension(SignatureAlgorithms)
    assert asked is not None  # checked on arrival
    certified = config.client_certificate
    scheme = None
    if certified is not None:
        scheme = next((s for s in certified.schemes if s in asked.supported_signature_algorithms), None)
    if certified is None or scheme is None:
        if out.tracing:
            why = "none is configured" if certified is None else "its key fits none of the server's schemes"
            out.decide("client_certificate", f"server asked for a client certificate; sending none: {why}")
        transcript.update(out.send(Certificate(request.certificate_request_context, ())))
        return
    message = Certificate(request.certificate_request_context, certified.entries)
    compress = request.extension(CompressCertificate)  # RFC 8879: the server takes it compressed
    ours = config.compression_algorithms
    transcript.update(send_certificate(out, message, compress, ours, certified.compressed))
    signature = certified.signer.sign(scheme, certificate_verify_input(False, transcript.digest()))
    transcript.update(out.send(CertificateVerify(scheme, signature)))
    if out.tracing:
        out.decide("client_certificate", f"sent the client certificate, signed with {scheme.iana_name}")
