"""The TLS 1.2 client handshake (RFC 5246 §7.3; ECDHE RFC 8422; EMS RFC 7627; tickets RFC 5077), one
class per state, entered from ``client13.ExpectServerHello`` when the ServerHello picks TLS 1.2.

    ServerHello ─(full)─► ExpectCertificate ─► [ExpectCertificateStatus] ─► ExpectServerKeyExchange
         │                                                                   │
         │                                                   ExpectCertificateRequestOrDone
         │                                                                   │ (CertificateRequest)
         │                                                                   ▼
         │                               [Certificate], ClientKeyExchange, ◄─ ExpectServerHelloDone
         │                               [CertificateVerify], CCS, Finished
         │                                                 │
         └─(resumed: abbreviated)──────────────────────────┤
                                                           ▼
            [ExpectNewSessionTicket] ─► ExpectChangeCipherSpec ─► ExpectFinished ─► ClientTraffic12

The last states (the server's ticket, CCS and Finished; the session kept) are in ``client12_finish.py``.
A client that offered status_request (a ``client_hello_hook`` adds it: scanners) reads the stapled OCSP
response in a CertificateStatus message after Certificate when the ServerHello echoed the extension
(RFC 6066 §8); the server may still leave it out. The engine only carries it (the trace shows it): what
the response says is the caller's to judge.
A resumed session (by ticket or session ID, only with the extended master secret) is proven by the
server's Finished under the session's master secret; after it the client sends its CCS and Finished.
``ClientTraffic12`` takes the proof tokens as in TLS 1.3: a Finished, and ``CertAndSig`` (chain and
ServerKeyExchange signature) or ``Resumed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tlslens.config import CertifiedKey
from tlslens.crypto import ecdhe12
from tlslens.crypto.key_schedule12 import MasterSecret12
from tlslens.crypto.suites12 import TLS12_SUITES, Tls12Suite
from tlslens.errors import HandshakeFailure, IllegalParameter, ProtocolVersionMismatch, UnexpectedMessage
from tlslens.handshake import certificate_status
from tlslens.handshake.client12_finish import (
    ExpectChangeCipherSpec,
    ExpectNewSessionTicket,
    Finishing,
)
from tlslens.handshake.client_auth import choose_certificate, request_info
from tlslens.handshake.client_hello import ClientHelloSent
from tlslens.handshake.common import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    State,
    check_allowed_extensions,
    expect,
    parse_certificate_chain,
)
from tlslens.handshake.common12 import (
    SERVER_HELLO12_EXTENSIONS,
    ClientState12,
    HandshakeLog,
    accepting12,
    check_renegotiation_info,
    record_protection,
)
from tlslens.handshake.peer_certificate import PeerCertificates
from tlslens.handshake.verify import (
    CertAndSig,
    verify_server_certificates,
    verify_signature12,
)
from tlslens.output import Output
from tlslens.record.reassembly import MessageLimits
from tlslens.session.cache import Session
from tlslens.wire.enums import (
    CertificateStatusType,
    ClientCertificateType,
    CompressionMethod,
    ECPointFormat,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    ECPointFormats,
    ExtendedMasterSecret,
    RecordSizeLimit,
    RenegotiationInfo,
    SessionTicket,
    SignatureAlgorithms,
    StatusRequestEmpty,
    SupportedGroups,
)
from tlslens.wire.hello import ServerHello
from tlslens.wire.messages import CertificateVerify, Finished, HandshakeMessage
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    CertificateStatusMessage,
    ClientKeyExchangeECDHE,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)

_TLS1_2 = ProtocolVersion.TLS1_2
_H = HandshakeType
_T = ExtensionType
CLIENT_RANDOM = "CLIENT_RANDOM"


@dataclass(frozen=True, slots=True)
class Client12:
    """What the TLS 1.2 ServerHello settled."""

    sent: ClientHelloSent
    suite: Tls12Suite
    server_random: bytes
    session_id: bytes  # the server's
    extended_master_secret: bool
    alpn_protocol: bytes | None
    ticket_expected: bool  # the server will send a NewSessionTicket
    resumed: Session | None  # the session the server resumes (abbreviated handshake)
    log: HandshakeLog
    status_expected: bool = False  # the ServerHello answered status_request: CertificateStatus may follow


def receive_server_hello(sent: ClientHelloSent, sh: ServerHello, raw: bytes, out: Output) -> State:
    """A ServerHello without supported_versions: TLS 1.2 if we offered it, else protocol_version."""
    config = sent.config
    offered = config.enabled_versions
    label = ProtocolVersion(sh.legacy_version).label
    if ProtocolVersion.TLS1_3 in offered and sh.random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
        # RFC 8446 §4.1.3: a server that speaks TLS 1.3 would not choose less of a client offering it.
        raise IllegalParameter(
            f"ServerHello.random carries the TLS 1.3 downgrade sentinel ({label} chosen): an attack, or a"
            " broken middlebox"
        )
    if _TLS1_2 not in offered or sh.legacy_version != _TLS1_2:
        speaks = ", ".join(v.label for v in offered)
        raise ProtocolVersionMismatch(f"server chose {label}; this client speaks {speaks}")
    if sent.retry_suite is not None:
        raise IllegalParameter("a TLS 1.2 ServerHello after a HelloRetryRequest")
    suite = TLS12_SUITES.get(sh.cipher_suite)
    if suite is None or sh.cipher_suite not in sent.hello.cipher_suites:
        raise IllegalParameter(f"server chose cipher suite {sh.cipher_suite.name}, which was not offered")
    if sh.legacy_compression_method != CompressionMethod.NULL:
        raise IllegalParameter("server chose a compression method")
    present = [e.ext_type for e in sh.extensions or ()]
    check_allowed_extensions(
        present, SERVER_HELLO12_EXTENSIONS, "a TLS 1.2 ServerHello", offered=sent.offered_extensions
    )
    ri = sh.extension(RenegotiationInfo)
    check_renegotiation_info(ri.renegotiated_connection if ri is not None else None, "the server")
    points = sh.extension(ECPointFormats)
    if points is not None and ECPointFormat.UNCOMPRESSED not in points.ec_point_format_list:
        raise IllegalParameter("server's ec_point_formats lacks the uncompressed format")
    alpn_protocol = _alpn(sent, sh)
    rsl = sh.extension(RecordSizeLimit)
    if rsl is not None:
        if rsl.record_size_limit < 64:
            raise IllegalParameter(f"record_size_limit {rsl.record_size_limit} is below 64")
        out.set_peer_record_size_limit(rsl.record_size_limit)
        if config.record_size_limit is not None:
            out.set_own_record_size_limit(config.record_size_limit)
    ems = sh.extension(ExtendedMasterSecret) is not None
    offered_session = sent.session if sent.session and sent.session.version == _TLS1_2 else None
    resumed = None
    if offered_session is not None and sh.legacy_session_id_echo == sent.session_id:
        resumed = offered_session
        if sh.cipher_suite != resumed.suite:
            raise IllegalParameter("server resumed the session with another cipher suite")
        if not ems:  # RFC 7627 §5.3: a session with EMS resumes only with EMS
            raise HandshakeFailure("server resumed an extended-master-secret session without the extension")
    out.negotiated(_TLS1_2)
    ctx = Client12(
        sent,
        suite,
        sh.random,
        sh.legacy_session_id_echo,
        ems,
        alpn_protocol,
        sh.extension(SessionTicket) is not None,
        resumed,
        HandshakeLog(suite.hash, sent.raw, raw),
        status_expected=sh.extension(StatusRequestEmpty) is not None,
    )
    if out.tracing:
        _decide_server_hello(ctx, out)
    if resumed is not None:
        master = MasterSecret12.resume(suite, resumed.psk, sent.hello.random, sh.random, extended=True)
        out.keylog(CLIENT_RANDOM, master.secret)
        chain = tuple(x509.load_der_x509_certificate(d) for d in resumed.peer_certificates)
        finishing = Finishing(ctx, master, None, chain, resumed.peer_certificates, None, None)
        return ExpectNewSessionTicket(finishing) if ctx.ticket_expected else ExpectChangeCipherSpec(finishing)
    if not ems and out.tracing:
        out.decide(
            "extended_master_secret",
            "server does not do the extended master secret (RFC 7627): talking to it, but this session"
            " will never be resumed",
        )
    return ExpectCertificate(ctx)


def _alpn(sent: ClientHelloSent, sh: ServerHello) -> bytes | None:
    alpn = sh.extension(ALPN)
    if alpn is None:
        return None
    if len(alpn.protocol_name_list) != 1 or alpn.protocol_name_list[0] not in sent.config.alpn_ids:
        raise IllegalParameter("server selected an ALPN protocol that was not offered")
    return alpn.protocol_name_list[0]


def _decide_server_hello(ctx: Client12, out: Output) -> None:
    offered13 = ProtocolVersion.TLS1_3 in ctx.sent.config.enabled_versions
    why = "the server does not speak TLS 1.3" if offered13 else "TLS 1.2 only was offered"
    how = "resuming the session" if ctx.resumed else "a full handshake"
    if ctx.resumed is not None:
        how += " (by ticket)" if ctx.resumed.ticket else " (by session ID)"
    elif ctx.sent.session is not None and ctx.sent.session.version == _TLS1_2:
        how += " (our session was not resumed)"
    ems = "with" if ctx.extended_master_secret else "without"
    out.decide("version", f"TLSv1.2: {why}")
    out.decide("server_hello", f"server chose {ctx.suite.name}, {ems} extended master secret: {how}")


@dataclass(slots=True)
class ExpectCertificate(ClientState12):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.CERTIFICATE, _H.HELLO_REQUEST, where="after a TLS 1.2 ServerHello"
    )

    ctx: Client12

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cert = expect(message, Certificate12, "after a TLS 1.2 ServerHello")
        ctx = self.ctx
        config = ctx.sent.config
        chain = parse_certificate_chain(cert.certificate_list, "server", config.parsed_certificates)
        cert_ok = verify_server_certificates(
            config.effective_verifier, chain, ctx.sent.verify_name, config.provider.now()
        )
        ctx.log.update(raw)
        peer = PeerCertificates(chain, cert.certificate_list, cert_ok)
        if ctx.status_expected:  # RFC 6066 §8: a CertificateStatus may come next
            return ExpectCertificateStatus(ctx, peer)
        if certificate_status.asked(ctx.sent.hello):  # asked, and the server will staple nothing
            peer = replace(peer, ocsp=certificate_status.check_staple(config, chain, None, out))
        return ExpectServerKeyExchange(ctx, peer)


@dataclass(slots=True)
class ExpectCertificateStatus(ClientState12):
    """The ServerHello said the server may staple: CertificateStatus, or (RFC 6066 §8 lets it change its
    mind) ServerKeyExchange at once."""

    accepts: ClassVar[MessageLimits] = accepting12(
        _H.CERTIFICATE_STATUS, _H.SERVER_KEY_EXCHANGE, _H.HELLO_REQUEST, where="after the server Certificate"
    )

    ctx: Client12
    peer: PeerCertificates

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        ctx, peer = self.ctx, self.peer
        config = ctx.sent.config
        if not isinstance(message, CertificateStatusMessage):
            ocsp = certificate_status.check_staple(config, peer.chain, None, out)
            return ExpectServerKeyExchange(ctx, replace(peer, ocsp=ocsp)).receive(message, raw, out)
        if message.status_type != CertificateStatusType.OCSP:
            raise IllegalParameter(f"CertificateStatus of type {message.status_type.name}: we asked for OCSP")
        ocsp = certificate_status.check_staple(config, peer.chain, message.response, out)
        ctx.log.update(raw)
        return ExpectServerKeyExchange(ctx, replace(peer, ocsp=ocsp))


@dataclass(frozen=True, slots=True)
class ServerKey:
    """The server's signed ECDHE share."""

    group: NamedGroup
    public: bytes = field(repr=False)
    scheme: SignatureScheme
    auth: CertAndSig


@dataclass(slots=True)
class ExpectServerKeyExchange(ClientState12):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.SERVER_KEY_EXCHANGE, _H.HELLO_REQUEST, where="after the server Certificate"
    )

    ctx: Client12
    peer: PeerCertificates

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        ske = expect(message, ServerKeyExchange, "after the server Certificate")
        ctx = self.ctx
        params = ske.params
        if not isinstance(params, ServerECDHParams) or ske.signed is None:  # (the decoder's ECDHE form)
            raise UnexpectedMessage("ServerKeyExchange without signed ECDHE parameters")
        offered_groups = ctx.sent.hello.extension(SupportedGroups)
        if (
            offered_groups is None
            or params.named_curve not in ctx.sent.config.tls12_groups
            or (params.named_curve not in offered_groups.named_group_list)
        ):
            raise IllegalParameter(
                f"server chose curve {params.named_curve.iana_name}, which was not offered"
            )
        offered_schemes = ctx.sent.hello.extension(SignatureAlgorithms)
        scheme = ske.signed.algorithm
        if scheme is None:  # (the TLS 1.2 decoder always reads one)
            raise IllegalParameter("ServerKeyExchange signature has no algorithm")
        leaf = self.peer.chain[0]
        _check_suite_fits(ctx.suite, scheme)
        content = ecdhe12.server_key_exchange_input(
            ctx.sent.hello.random, ctx.server_random, ske.params_bytes
        )
        sig_ok = verify_signature12(
            leaf,
            scheme,
            ske.signed.signature,
            offered_schemes.supported_signature_algorithms if offered_schemes else (),
            content,
            "ServerKeyExchange",
        )
        ctx.log.update(raw)
        if out.tracing:
            out.decide(
                "server_key_exchange",
                f"server's {params.named_curve.iana_name} key signed with {scheme.iana_name}: verified",
            )
        key = ServerKey(params.named_curve, params.public, scheme, CertAndSig(self.peer.cert_ok, sig_ok))
        return ExpectCertificateRequestOrDone(ctx, self.peer, key)


def _check_suite_fits(suite: Tls12Suite, scheme: SignatureScheme) -> None:
    """An ECDHE_ECDSA suite is signed with ECDSA or EdDSA (RFC 8422 §5.1.3), an ECDHE_RSA one with RSA."""
    ecdsa = scheme.name.startswith(("ECDSA", "ED25519", "ED448"))
    if ecdsa != (suite.authentication.name == "ECDSA"):
        raise IllegalParameter(f"{suite.name} cannot be signed with {scheme.iana_name}")


@dataclass(slots=True)
class ExpectCertificateRequestOrDone(ClientState12):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.CERTIFICATE_REQUEST, _H.SERVER_HELLO_DONE, _H.HELLO_REQUEST, where="after ServerKeyExchange"
    )

    ctx: Client12
    peer: PeerCertificates
    key: ServerKey

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, CertificateRequest12):
            if not message.supported_signature_algorithms:
                raise IllegalParameter("CertificateRequest lists no signature algorithm")
            self.ctx.log.update(raw)
            return ExpectServerHelloDone(self.ctx, self.peer, self.key, message)
        return ExpectServerHelloDone(self.ctx, self.peer, self.key, None).receive(message, raw, out)


@dataclass(slots=True)
class ExpectServerHelloDone(ClientState12):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.SERVER_HELLO_DONE, _H.HELLO_REQUEST, where="after CertificateRequest"
    )

    ctx: Client12
    peer: PeerCertificates
    key: ServerKey
    request: CertificateRequest12 | None

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        expect(message, ServerHelloDone, "after ServerKeyExchange")
        ctx = self.ctx
        ctx.log.update(raw)
        return _send_client_flight(ctx, self.peer, self.key, self.request, out)


def _send_client_flight(
    ctx: Client12, peer: PeerCertificates, key: ServerKey, request: CertificateRequest12 | None, out: Output
) -> State:
    """[Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished (§7.4.6-§7.4.9)."""
    config = ctx.sent.config
    log = ctx.log
    signing = _client_certificate(ctx, request, out) if request is not None else None
    if request is not None:
        entries = tuple(e.cert_data for e in signing[0].entries) if signing is not None else ()
        log.update(out.send(Certificate12(entries)))
    public, pre_master = ecdhe12.client_key_exchange(key.group, key.public, config.provider)
    log.update(out.send(ClientKeyExchangeECDHE(public)))
    client_random = ctx.sent.hello.random
    if ctx.extended_master_secret:  # RFC 7627 §4: the session hash runs through ClientKeyExchange
        master = MasterSecret12.derive_extended(
            ctx.suite, pre_master, log.digest(), client_random, ctx.server_random
        )
    else:
        master = MasterSecret12.derive(ctx.suite, pre_master, client_random, ctx.server_random)
    out.keylog(CLIENT_RANDOM, master.secret)
    if signing is not None:
        certified, scheme = signing
        signature = certified.signer.sign(scheme, log.messages, version=_TLS1_2)
        log.update(out.send(CertificateVerify(scheme, signature)))
    sealer, opener = record_protection(master, client=True)
    out.send_change_cipher_spec()
    out.set_write_protection(sealer)
    log.update(out.send(Finished(master.client_finished(log.digest()))))
    finishing = Finishing(ctx, master, opener, peer.chain, peer.der, key.auth, key, ocsp=peer.ocsp)
    return ExpectNewSessionTicket(finishing) if ctx.ticket_expected else ExpectChangeCipherSpec(finishing)


def _client_certificate(
    ctx: Client12, request: CertificateRequest12, out: Output
) -> tuple[CertifiedKey, SignatureScheme] | None:
    """Our certificate and a scheme the server accepts for it, or None (then an empty Certificate); the
    choice is ``client_auth.choose_certificate``'s (certificate_authorities, the callback)."""
    asked = request.supported_signature_algorithms or ()
    info = request_info(ctx.sent.config, asked, request.certificate_authorities, b"", False)

    def scheme_for(certified: CertifiedKey) -> SignatureScheme | None:
        if not _type_accepted(certified.chain[0], request.certificate_types):
            return None
        return next((s for s in certified.signer.schemes_for(_TLS1_2) if s in asked), None)

    chosen, why = choose_certificate(ctx.sent.config, info, scheme_for)
    if chosen is None:
        out.decide("client_certificate", f"server asked for a client certificate; sending none: {why}")
        return None
    if out.tracing:
        subject = chosen[0].chain[0].subject.rfc4514_string()
        out.decide(
            "client_certificate",
            f"sent the client certificate {subject} ({why}), signed with {chosen[1].iana_name}",
        )
    return chosen


def _type_accepted(leaf: x509.Certificate, types: tuple[ClientCertificateType, ...]) -> bool:
    key = leaf.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ClientCertificateType.ECDSA_SIGN in types
    if isinstance(key, rsa.RSAPublicKey):
        return ClientCertificateType.RSA_SIGN in types
    return False
