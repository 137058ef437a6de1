"""Post-handshake client authentication (RFC 8446 §4.6.2), both sides.

A client offers post_handshake_auth when it has a certificate to answer with (or a callback to choose
one). After the handshake its traffic state takes a CertificateRequest (only then: without the offer the
header is refused as unexpected_message) and answers at once, as one flight: Certificate,
CertificateVerify when it has a certificate that fits, and Finished. The transcript of each exchange is
the handshake's through the client Finished plus the exchange's own messages (§4.4), and the Finished
is keyed from the client's current application traffic secret.

The server asks with ``ServerConnection.request_client_certificate()``: a CertificateRequest whose
certificate_request_context is unique on the connection (a counter, then random bytes). Several may be
outstanding; the client's Certificate names the one it answers. Its Certificate, CertificateVerify and
Finished must then arrive in a row (each state accepts only the next one). A chain the client verifier
refuses, or an empty Certificate, does not end the connection (RFC 8446 §4.4.2.4 leaves that to the
server): the answer is still checked through its Finished, and ``ClientCertificateRefused`` says why. A
bad signature or Finished is a protocol failure (decrypt_error). A chain accepted, its signature and the
Finished checked: ``ClientCertificateVerified``, and the connection's client authentication becomes
``PostHandshake``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from tlslens.config import ClientConfig, ServerConfig
from tlslens.crypto.key_schedule import finished_verify_data
from tlslens.crypto.suites import Tls13Suite
from tlslens.crypto.transcript import Transcript
from tlslens.errors import CertificateError, IllegalParameter, LocalProtocolError
from tlslens.events import ClientCertificateRefused, ClientCertificateVerified
from tlslens.handshake.certificate_compression import accepting_certificate, receive_compressed
from tlslens.handshake.client_auth import (
    certificate_request,
    check_certificate_request,
    send_client_certificate,
)
from tlslens.handshake.common import accepting, check_certificate_entries, parse_certificate_chain
from tlslens.handshake.verify import (
    CertAndSig,
    CertificateVerified,
    PostHandshake,
    SignatureVerified,
    verify_certificate_verify,
    verify_client_certificates,
    verify_finished,
)
from tlslens.output import Output
from tlslens.record.reassembly import MessageLimits
from tlslens.wire.enums import ExtensionType, HandshakeType, SignatureScheme
from tlslens.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    CompressedCertificate,
    Finished,
)

_H = HandshakeType
MAX_PENDING_REQUESTS = 8
"""CertificateRequests a server may have waiting for an answer at once."""

_WHERE = "after the handshake"
_IDLE = accepting(_H.KEY_UPDATE, where=_WHERE)
_AFTER_CERTIFICATE = accepting(_H.CERTIFICATE_VERIFY, where="after the client's post-handshake Certificate")
_BEFORE_FINISHED = accepting(_H.FINISHED, where="to end the client's post-handshake authentication")
_NO_ENTRY_EXTENSIONS: frozenset[ExtensionType] = frozenset()  # our CertificateRequest asks for none


# --- the client ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class ClientPha:
    """Client: what answering a post-handshake CertificateRequest needs."""

    config: ClientConfig
    suite: Tls13Suite
    transcript: Transcript  # through our Finished; each request works on a copy

    def answer(self, request: CertificateRequest, raw: bytes, out: Output) -> None:
        """Certificate, CertificateVerify (when a certificate fits) and Finished (RFC 8446 §4.6.2)."""
        check_certificate_request(request, post_handshake=True)
        if not out.can_send:  # we closed: nothing more may leave (the server sees close_notify)
            out.decide("post_handshake_auth", "server asked for a certificate after we closed: no answer")
            return
        transcript = self.transcript.copy()
        transcript.update(raw)
        send_client_certificate(self.config, request, transcript, out, post_handshake=True)
        verify_data = finished_verify_data(self.suite, out.traffic_secret(write=True), transcript.digest())
        out.send(Finished(verify_data))


# --- the server ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Answer:
    """A client's answer in progress: its Certificate is in, CertificateVerify and Finished to come."""

    context: bytes
    transcript: Transcript
    chain: tuple[x509.Certificate, ...]
    cert_ok: CertificateVerified | None  # None: refused (``refusal`` says why) or no certificate
    refusal: str | None
    error: CertificateError | None = None
    signed: tuple[SignatureVerified, SignatureScheme] | None = None


@dataclass(slots=True)
class ServerPha:
    """Server: the requests waiting for an answer, and the answer being read."""

    config: ServerConfig
    suite: Tls13Suite
    transcript: Transcript = field(repr=False)  # through the client's Finished; each request copies it
    offered: bool  # the client sent post_handshake_auth
    pending: dict[bytes, Transcript] = field(default_factory=dict, repr=False)
    answer: _Answer | None = None
    requests: int = 0

    @property
    def accepts(self) -> MessageLimits:
        if self.answer is not None:
            return _BEFORE_FINISHED if self.answer.chain == () or self.answer.signed else _AFTER_CERTIFICATE
        if not self.pending:
            return _IDLE
        # Our CertificateRequest offered compress_certificate when we have algorithms (RFC 8879).
        compressed = bool(self.config.compression_algorithms)
        return accepting_certificate(compressed, _H.KEY_UPDATE, where=_WHERE)

    def request(self, out: Output) -> bytes:
        """Send a CertificateRequest; returns its certificate_request_context."""
        if not self.offered:
            raise LocalProtocolError("the client did not offer post_handshake_auth: it cannot be asked")
        if self.config.client_verifier is None:
            raise LocalProtocolError("a client certificate needs ServerConfig.client_verifier to check it")
        if len(self.pending) >= MAX_PENDING_REQUESTS:
            raise LocalProtocolError(
                f"{MAX_PENDING_REQUESTS} certificate requests already wait for an answer"
            )
        self.requests += 1
        context = self.requests.to_bytes(4, "big") + self.config.provider.random(4)
        raw = out.send(certificate_request(self.config, context))
        transcript = self.transcript.copy()
        transcript.update(raw)
        self.pending[context] = transcript
        out.decide("post_handshake_auth", f"asked the client for a certificate (context {context.hex()})")
        return context

    def handle(
        self,
        message: Certificate | CompressedCertificate | CertificateVerify | Finished,
        raw: bytes,
        out: Output,
    ) -> PostHandshake | None:
        """One message of the client's answer; the proof of who the client is once it is complete and
        accepted."""
        if isinstance(message, CompressedCertificate):  # RFC 8879: checked, then inflated
            config = self.config
            limit = config.certificate_decompression_limit
            message = receive_compressed(message, config.compression_algorithms, limit, out)
        if isinstance(message, Certificate):
            self._certificate(message, raw)
            return None
        answer = self.answer
        assert answer is not None  # (``accepts`` takes CertificateVerify and Finished only during one)
        if isinstance(message, CertificateVerify):
            sig_ok = verify_certificate_verify(
                answer.chain[0],
                message.algorithm,
                message.signature,
                tuple(self.config.signature_schemes),
                server=False,
                transcript_hash=answer.transcript.digest(),
            )
            answer.transcript.update(raw)
            answer.signed = (sig_ok, message.algorithm)
            return None
        return self._finished(answer, message, out)

    def _certificate(self, message: Certificate, raw: bytes) -> None:
        context = message.certificate_request_context
        transcript = self.pending.pop(context, None)
        if transcript is None:
            raise IllegalParameter(
                f"the client's Certificate answers no request of ours (context {context.hex() or 'empty'})"
            )
        transcript.update(raw)
        if not message.certificate_list:
            self.answer = _Answer(context, transcript, (), None, "the client sent no certificate")
            return
        check_certificate_entries(message, _NO_ENTRY_EXTENSIONS)
        ders = tuple(e.cert_data for e in message.certificate_list)
        chain = parse_certificate_chain(ders, "client", self.config.parsed_certificates)
        verifier = self.config.client_verifier
        assert verifier is not None  # (``request`` needs one)
        try:
            cert_ok = verify_client_certificates(verifier, chain, self.config.provider.now())
        except CertificateError as exc:
            reason = f"the client certificate was refused: {str(exc).removeprefix('tls: ')}"
            # (kept without its traceback, whose frames would hold this connection alive with the event)
            self.answer = _Answer(context, transcript, chain, None, reason, exc.with_traceback(None))
            return
        self.answer = _Answer(context, transcript, chain, cert_ok, None)

    def _finished(self, answer: _Answer, message: Finished, out: Output) -> PostHandshake | None:
        self.answer = None
        base = out.traffic_secret(write=False)  # the client's application traffic secret, now
        fin_ok = verify_finished(self.suite, base, answer.transcript.digest(), message.verify_data)
        context, chain = answer.context, answer.chain
        if answer.cert_ok is not None and answer.signed is not None:
            sig_ok, scheme = answer.signed
            out.emit(ClientCertificateVerified(context, chain, scheme))
            if out.tracing:
                subject = chain[0].subject.rfc4514_string()
                out.decide("post_handshake_auth", f"client authenticated as {subject} ({scheme.iana_name})")
            return PostHandshake(CertAndSig(answer.cert_ok, sig_ok), fin_ok)
        reason = answer.refusal or "the client sent no certificate"
        out.emit(ClientCertificateRefused(context, reason, chain, answer.error))
        out.decide("post_handshake_auth", f"the client is not authenticated: {reason}")
        return None


__all__ = ["MAX_PENDING_REQUESTS", "ClientPha", "ServerPha"]
