"""Client certificates, both sides (RFC 8446 §4.3.2, §4.4.2, §4.4.3, §4.2.4).

The server builds its CertificateRequest (``certificate_request``: signature_algorithms, and the
subjects of its client CAs in certificate_authorities when ``advertise_client_cas``). The client checks
it, chooses a certificate (``choose_certificate``: the config's ``certificate_callback``, else the first
of its certificates whose key fits the server's schemes, preferring one whose chain reaches a named
authority) and answers with it (or an empty Certificate when it has none that fits); the server checks
what comes back. After the handshake the same request and answer serve post-handshake authentication
(``post_handshake_auth.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509

from tlslens.config import CertifiedKey, ClientConfig, ServerConfig
from tlslens.credentials import CertificateRequestInfo
from tlslens.crypto.signatures import certificate_verify_input
from tlslens.crypto.transcript import Transcript
from tlslens.errors import IllegalParameter, MissingExtension
from tlslens.handshake.certificate_compression import offer, send_certificate
from tlslens.output import Output
from tlslens.pki.dn import name_from_der, names_match
from tlslens.wire.enums import SignatureScheme
from tlslens.wire.extensions import (
    CertificateAuthorities,
    CompressCertificate,
    Extension,
    SignatureAlgorithms,
)
from tlslens.wire.messages import Certificate, CertificateRequest, CertificateVerify

MAX_CERTIFICATE_AUTHORITIES = 1024
"""Names a CertificateRequest's certificate_authorities may list (more is illegal_parameter)."""


def certificate_request(config: ServerConfig, context: bytes) -> CertificateRequest:
    """Our CertificateRequest: the schemes we accept, and our client CAs when we advertise them."""
    extensions: list[Extension] = [SignatureAlgorithms(tuple(config.signature_schemes))]
    if config.client_ca_names:
        extensions.append(CertificateAuthorities(config.client_ca_names))
    extensions += offer(config.compression_algorithms)  # RFC 8879: the client may compress its chain
    return CertificateRequest(context, tuple(extensions))


def check_certificate_request(
    message: CertificateRequest, *, post_handshake: bool = False
) -> CertificateRequest:
    """A CertificateRequest we can answer: signature_algorithms, a context only after the handshake,
    certificate_authorities within our limit."""
    if message.certificate_request_context and not post_handshake:
        raise IllegalParameter("CertificateRequest during the handshake must have an empty context")
    if message.extension(SignatureAlgorithms) is None:
        raise MissingExtension("CertificateRequest has no signature_algorithms")
    cas = message.extension(CertificateAuthorities)
    if cas is not None and len(cas.authorities) > MAX_CERTIFICATE_AUTHORITIES:
        raise IllegalParameter(
            f"CertificateRequest names {len(cas.authorities)} certificate authorities"
            f" (limit {MAX_CERTIFICATE_AUTHORITIES})"
        )
    return message


def request_info(
    config: ClientConfig,
    schemes: tuple[SignatureScheme, ...],
    authorities: tuple[bytes, ...],
    context: bytes,
    post_handshake: bool,
) -> CertificateRequestInfo:
    """What the server asked for; the authorities are parsed only for a ``certificate_callback`` (the
    choice among our certificates compares their DER)."""
    parsed: tuple[x509.Name, ...] = ()
    if config.certificate_callback is not None:
        parsed = tuple(n for n in (name_from_der(a) for a in authorities) if n is not None)
    return CertificateRequestInfo(schemes, parsed, authorities, context, post_handshake)


Chosen = tuple[CertifiedKey, SignatureScheme]


def choose_certificate(
    config: ClientConfig,
    info: CertificateRequestInfo,
    scheme_for: Callable[[CertifiedKey], SignatureScheme | None],
) -> tuple[Chosen | None, str]:
    """The certificate to send and its scheme (``scheme_for``: the scheme a certificate would sign with
    for this request, or None), or None; with the reason, for the trace."""
    if config.certificate_callback is not None:
        picked = config.certificate_callback(info)
        if picked is None:
            return None, "the certificate callback chose none"
        scheme = scheme_for(picked)
        if scheme is None:
            return None, "the key of the certificate the callback chose fits none of the server's schemes"
        return (picked, scheme), "chosen by the certificate callback"
    candidates = config.client_certificates
    if not candidates:
        return None, "none is configured"
    fitting = [(c, s) for c in candidates if (s := scheme_for(c)) is not None]
    if not fitting:
        return None, "no certificate's key fits the server's schemes"
    if info.authorities_der:
        for chosen in fitting:
            if names_match(chosen[0].chain, info.authorities_der):
                return chosen, "it was issued under a certificate authority the server named"
        return fitting[
            0
        ], "none was issued under the authorities the server named: sending the first that fits"
    return fitting[0], "the first whose key fits the server's schemes"


def send_client_certificate(
    config: ClientConfig,
    request: CertificateRequest,
    transcript: Transcript,
    out: Output,
    *,
    post_handshake: bool = False,
) -> None:
    """Certificate (+ CertificateVerify when we have a certificate whose key fits the server's list)."""
    asked = request.extension(SignatureAlgorithms)
    assert asked is not None  # checked on arrival
    schemes = asked.supported_signature_algorithms
    cas = request.extension(CertificateAuthorities)
    context = request.certificate_request_context
    info = request_info(config, schemes, cas.authorities if cas else (), context, post_handshake)

    def scheme_for(certified: CertifiedKey) -> SignatureScheme | None:
        return next((s for s in certified.schemes if s in schemes), None)

    chosen, why = choose_certificate(config, info, scheme_for)
    when = " after the handshake" if post_handshake else ""
    if chosen is None:
        if out.tracing:
            out.decide(
                "client_certificate",
                f"server asked for a client certificate{when}; sending none: {why}",
            )
        transcript.update(out.send(Certificate(context, ())))
        return
    certified, scheme = chosen
    message = Certificate(context, certified.entries)
    compress = request.extension(CompressCertificate)  # RFC 8879: the server takes it compressed
    ours = config.compression_algorithms
    transcript.update(send_certificate(out, message, compress, ours, certified.compressed))
    signature = certified.signer.sign(scheme, certificate_verify_input(False, transcript.digest()))
    transcript.update(out.send(CertificateVerify(scheme, signature)))
    if out.tracing:
        subject = certified.chain[0].subject.rfc4514_string()
        out.decide(
            "client_certificate",
            f"sent the client certificate {subject}{when} ({why}), signed with {scheme.iana_name}",
        )
