"""The TLS 1.2 server handshake (RFC 5246 §7.3; ECDHE RFC 8422; EMS RFC 7627; tickets RFC 5077), entered
from ``server13.ExpectClientHello`` when the version choice is TLS 1.2.

    full:       ServerHello, Certificate, ServerKeyExchange, [CertificateRequest], ServerHelloDone
                  ─► [ExpectClientCertificate] ─► ExpectClientKeyExchange ─► [ExpectCertificateVerify]
                  ─► ExpectChangeCipherSpec ─► ExpectFinished ─► [NewSessionTicket], CCS, Finished
    resumed:    ServerHello, [NewSessionTicket], CCS, Finished ─► ExpectChangeCipherSpec ─► ExpectFinished

Sessions resume by ticket only (sealed with the config's ``TicketKeyRing``, as TLS 1.3 tickets are, but
never accepted in place of one), and only with the extended master secret. A ServerHello that picks TLS
1.2 while TLS 1.3 is enabled carries RFC 8446's downgrade sentinel in its random.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509

from tlslens.config import ServerConfig
from tlslens.crypto import ecdhe12
from tlslens.crypto.groups import KeyShare
from tlslens.crypto.key_schedule12 import MASTER_SECRET_LEN, MasterSecret12
from tlslens.crypto.suites12 import TLS12_SUITES
from tlslens.errors import UnexpectedMessage
from tlslens.events import HandshakeCompleted
from tlslens.handshake import certificate_status
from tlslens.handshake.common import DOWNGRADE_TLS12, State, expect, parse_certificate_chain
from tlslens.handshake.common12 import HandshakeLog, Tls12State, accepting12, record_protection
from tlslens.handshake.peer_certificate import PeerCertificates
from tlslens.handshake.server_negotiation12 import Negotiated12, negotiate12
from tlslens.handshake.traffic12 import ServerTraffic12
from tlslens.handshake.verify import (
    CertAndSig,
    CertificateVerified,
    ClientAuth,
    resumed_by_session12,
    verify_client_certificates,
    verify_finished12,
    verify_no_client_certificate,
    verify_signature12,
)
from tlslens.output import Output
from tlslens.record.protection12 import Tls12RecordOpener, Tls12RecordSealer
from tlslens.record.reassembly import MessageLimits
from tlslens.session.tickets import TicketContents
from tlslens.wire.enums import (
    CertificateStatusType,
    ClientCertificateType,
    ECPointFormat,
    HandshakeType,
    ProtocolVersion,
)
from tlslens.wire.extensions import (
    ALPN,
    ECPointFormats,
    ExtendedMasterSecret,
    Extension,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerNameEmpty,
    SessionTicket,
    StatusRequestEmpty,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import CertificateVerify, Finished, HandshakeMessage
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    CertificateStatusMessage,
    ClientKeyExchangeECDHE,
    DigitallySigned,
    NewSessionTicket12,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)

_TLS1_2 = ProtocolVersion.TLS1_2
_H = HandshakeType
CLIENT_RANDOM = "CLIENT_RANDOM"


@dataclass(frozen=True, slots=True)
class Server12:
    """What the server settled with its ServerHello."""

    config: ServerConfig
    chosen: Negotiated12
    client_random: bytes
    server_random: bytes
    log: HandshakeLog
    issue_ticket: bool  # a NewSessionTicket goes before our ChangeCipherSpec
    ocsp_response: bytes | None = None  # stapled in a CertificateStatus (RFC 6066 §8), when the client asked

    @property
    def client_certificate_requested(self) -> bool:
        return self.config.client_verifier is not None


def start(config: ServerConfig, ch: ClientHello, raw: bytes, out: Output) -> State:
    """The ClientHello chose TLS 1.2: answer it (abbreviated when its ticket resumes a session)."""
    out.negotiated(_TLS1_2)
    chosen = negotiate12(config, ch, out)
    issue_ticket = chosen.ticket is not None and chosen.extended_master_secret and config.tickets > 0
    resumed = _resumable_session(config, ch, chosen, out)
    provider = config.provider
    server_random = provider.random(32)
    if ProtocolVersion.TLS1_3 in config.enabled_versions:  # RFC 8446 §4.1.3
        server_random = server_random[:24] + DOWNGRADE_TLS12
    # RFC 5077 §3.4: the client's session ID is echoed to say its ticket was accepted; with no ticket to
    # issue there is nothing to resume later, and the session ID stays empty.
    session_id = ch.legacy_session_id if resumed else provider.random(32) if issue_ticket else b""
    log = HandshakeLog(chosen.suite.hash, raw)
    staple = certificate_status.staple(chosen.certificate, ch) if resumed is None else None
    srv = Server12(config, chosen, ch.random, server_random, log, issue_ticket, staple)
    if chosen.peer_record_size_limit is not None:  # RFC 8449: in force from each side's CCS on
        out.set_peer_record_size_limit(chosen.peer_record_size_limit)
        if config.record_size_limit is not None:
            out.set_own_record_size_limit(min(config.record_size_limit, 2**14))
    srv.log.update(out.send(_server_hello(srv, session_id)))
    if resumed is not None:
        return _resume(srv, resumed, out)
    share = _send_certificate_and_key(srv, out)
    if srv.client_certificate_requested:
        return ExpectClientCertificate(srv, share)
    return ExpectClientKeyExchange(srv, share, verify_no_client_certificate(required=False))


def _server_hello(srv: Server12, session_id: bytes) -> ServerHello:
    chosen = srv.chosen
    extensions: list[Extension] = []
    if chosen.secure_renegotiation:  # RFC 5746 §3.6: answer the client's signal
        extensions.append(RenegotiationInfo(b""))
    if chosen.extended_master_secret:
        extensions.append(ExtendedMasterSecret())
    if chosen.point_formats:
        extensions.append(ECPointFormats((ECPointFormat.UNCOMPRESSED,)))
    if srv.issue_ticket:
        extensions.append(SessionTicket(b""))
    if srv.ocsp_response is not None:  # RFC 6066 §8: a CertificateStatus follows our Certificate
        extensions.append(StatusRequestEmpty())
    if chosen.sni_used:
        extensions.append(ServerNameEmpty())
    if chosen.alpn_protocol is not None:
        extensions.append(ALPN((chosen.alpn_protocol,)))
    if chosen.peer_record_size_limit is not None and srv.config.record_size_limit is not None:
        extensions.append(RecordSizeLimit(min(srv.config.record_size_limit, 2**14)))
    return ServerHello(
        legacy_version=_TLS1_2,
        random=srv.server_random,
        legacy_session_id_echo=session_id,
        cipher_suite=chosen.suite.code,
        extensions=tuple(extensions),
    )


def _send_certificate_and_key(srv: Server12, out: Output) -> KeyShare:
    """Certificate, ServerKeyExchange (signed ECDHE share), [CertificateRequest], ServerHelloDone."""
    chosen, log, config = srv.chosen, srv.log, srv.config
    certified = chosen.certificate
    log.update(out.send(Certificate12(tuple(e.cert_data for e in certified.entries))))
    if srv.ocsp_response is not None:
        log.update(out.send(CertificateStatusMessage(CertificateStatusType.OCSP, srv.ocsp_response)))
    share = ecdhe12.server_key_share(chosen.group, config.provider)
    params = ServerECDHParams(chosen.group, share.public_bytes)
    content = ecdhe12.server_key_exchange_input(srv.client_random, srv.server_random, _encoded(params))
    signature = certified.signer.sign(chosen.scheme, content, version=_TLS1_2)
    log.update(out.send(ServerKeyExchange(params, DigitallySigned(chosen.scheme, signature))))
    if srv.client_certificate_requested:
        request = CertificateRequest12(
            (ClientCertificateType.ECDSA_SIGN, ClientCertificateType.RSA_SIGN),
            config.schemes_for(_TLS1_2),
            config.client_ca_names,  # (empty unless advertise_client_cas)
        )
        log.update(out.send(request))
    log.update(out.send(ServerHelloDone()))
    return share


def _encoded(params: ServerECDHParams) -> bytes:
    return ServerKeyExchange(params, None).params_bytes


# --- resumption -------------------------------------------------------------------------------------


def _resumable_session(
    config: ServerConfig, ch: ClientHello, chosen: Negotiated12, out: Output
) -> TicketContents | None:
    """The session the client's ticket stands for, if it may resume here; else None (a full handshake,
    never an error: RFC 5077 §3.4)."""
    offer = chosen.ticket
    if offer is None or not offer.ticket:
        return None
    contents, rejection = config.effective_ticket_keys.open_with_reason(offer.ticket, config.provider.now())
    why = str(rejection) if contents is None else _refusal(contents, ch, chosen, config)
    if why is not None or contents is None:
        if out.tracing:
            out.decide("resumption", f"full handshake: the client's ticket was refused ({why})")
        return None
    if out.tracing:
        age = config.provider.now() - contents.created_at
        out.decide("resumption", f"resuming a TLSv1.2 session by ticket, issued {age:.0f} s ago")
    return contents


def _refusal(
    contents: TicketContents, ch: ClientHello, chosen: Negotiated12, config: ServerConfig
) -> str | None:
    if not contents.tls12:
        return "it is a TLS 1.3 ticket"
    if not chosen.extended_master_secret:  # RFC 7627 §5.3
        return "the client no longer offers the extended master secret"
    if contents.suite not in ch.cipher_suites:
        return f"the client no longer offers its suite {contents.suite.name}"
    if contents.suite not in config.tls12_suites or len(contents.psk) != MASTER_SECRET_LEN:
        return f"{contents.suite.name} is not allowed here"
    if contents.server_name != chosen.server_name:
        return f"it was issued for {contents.server_name}, not {chosen.server_name}"
    if not ch.legacy_session_id:  # (RFC 5077 §3.4: the echo is how the client learns of it)
        return "the ClientHello has no session ID to echo"
    return None


def _resume(srv: Server12, contents: TicketContents, out: Output) -> State:
    """Abbreviated handshake: [NewSessionTicket], ChangeCipherSpec, Finished; the client answers."""
    suite = TLS12_SUITES[contents.suite]
    master = MasterSecret12.resume(suite, contents.psk, srv.client_random, srv.server_random, extended=True)
    out.keylog(CLIENT_RANDOM, master.secret)
    chain = tuple(x509.load_der_x509_certificate(d) for d in contents.client_certificates or ())
    if srv.issue_ticket:
        srv.log.update(out.send(_new_ticket(srv, master, contents.client_certificates)))
    sealer, opener = record_protection(master, client=False)
    out.send_change_cipher_spec()
    out.set_write_protection(sealer)
    srv.log.update(out.send(Finished(master.server_finished(srv.log.digest()))))
    return ExpectChangeCipherSpec(_Keyed(srv, master, opener, None, chain, contents.client_certificates))


def _new_ticket(
    srv: Server12, master: MasterSecret12, client_certificates: tuple[bytes, ...] | None
) -> NewSessionTicket12:
    config, chosen = srv.config, srv.chosen
    ring = config.effective_ticket_keys
    now = config.provider.now()
    lifetime = min(config.ticket_lifetime, int(ring.guaranteed_lifetime))
    contents = TicketContents(
        suite=chosen.suite.code,
        psk=master.secret,
        created_at=now,
        ticket_age_add=0,
        lifetime=lifetime,
        server_name=chosen.server_name,
        alpn=chosen.alpn_protocol,
        client_certificates=client_certificates,
        tls12=True,
    )
    return NewSessionTicket12(lifetime, ring.seal(contents, now=now))


# --- the client's flight ----------------------------------------------------------------------------


@dataclass(slots=True)
class ExpectClientCertificate(Tls12State):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.CERTIFICATE, where="after ServerHelloDone (we asked for a certificate)"
    )

    srv: Server12
    share: KeyShare = field(repr=False)

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cert = expect(message, Certificate12, "after ServerHelloDone (we asked for a certificate)")
        srv = self.srv
        config = srv.config
        if not cert.certificate_list:
            client_auth = verify_no_client_certificate(config.require_client_certificate, tls12=True)
            srv.log.update(raw)
            return ExpectClientKeyExchange(srv, self.share, client_auth)
        verifier = config.client_verifier
        if verifier is None:  # (we ask only with one)
            raise UnexpectedMessage("a client Certificate that was not asked for")
        chain = parse_certificate_chain(cert.certificate_list, "client", config.parsed_certificates)
        cert_ok: CertificateVerified = verify_client_certificates(verifier, chain, config.provider.now())
        srv.log.update(raw)
        peer = PeerCertificates(chain, cert.certificate_list, cert_ok)
        return ExpectClientKeyExchange(srv, self.share, peer)


@dataclass(slots=True)
class ExpectClientKeyExchange(Tls12State):
    accepts: ClassVar[MessageLimits] = accepting12(_H.CLIENT_KEY_EXCHANGE, where="after ServerHelloDone")

    srv: Server12
    share: KeyShare = field(repr=False)
    # How the client is authenticated so far: not at all where allowed (a ClientAuth token), or by a
    # certificate whose CertificateVerify comes after this message.
    client: ClientAuth | PeerCertificates

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cke = expect(message, ClientKeyExchangeECDHE, "after the client's Certificate or ServerHelloDone")
        srv = self.srv
        chosen, log = srv.chosen, srv.log
        pre_master = self.share.exchange(cke.public)  # IllegalParameter for a bad point
        log.update(raw)
        if chosen.extended_master_secret:  # RFC 7627 §4: the session hash runs through this message
            master = MasterSecret12.derive_extended(
                chosen.suite, pre_master, log.digest(), srv.client_random, srv.server_random
            )
        else:
            master = MasterSecret12.derive(chosen.suite, pre_master, srv.client_random, srv.server_random)
            if out.tracing:
                out.decide(
                    "extended_master_secret",
                    "client does not do the extended master secret (RFC 7627): talking to it, but this"
                    " session will never be resumed",
                )
        out.keylog(CLIENT_RANDOM, master.secret)
        sealer, opener = record_protection(master, client=False)
        keyed = _Keyed(srv, master, opener, sealer, (), None)
        if isinstance(self.client, PeerCertificates):
            return ExpectCertificateVerify(keyed, self.client)
        keyed.client_auth = self.client
        return ExpectChangeCipherSpec(keyed)


@dataclass(slots=True)
class _Keyed:
    """Keys made; the client's ChangeCipherSpec and Finished are next."""

    srv: Server12
    master: MasterSecret12 = field(repr=False)
    opener: Tls12RecordOpener = field(repr=False)
    sealer: Tls12RecordSealer | None = field(repr=False)  # ours (None when resumed: already in force)
    client_chain: tuple[x509.Certificate, ...]
    client_chain_der: tuple[bytes, ...] | None = field(repr=False)
    client_auth: ClientAuth | None = None  # None when resumed: the client's Finished proves the session


@dataclass(slots=True)
class ExpectCertificateVerify(Tls12State):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.CERTIFICATE_VERIFY, where="after ClientKeyExchange (the client sent a certificate)"
    )

    keyed: _Keyed
    peer: PeerCertificates

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cv = expect(message, CertificateVerify, "after the ClientKeyExchange (the client sent a certificate)")
        keyed = self.keyed
        srv = keyed.srv
        sig_ok = verify_signature12(
            self.peer.chain[0],
            cv.algorithm,
            cv.signature,
            srv.config.schemes_for(_TLS1_2),
            srv.log.messages,
            "client CertificateVerify",
        )
        srv.log.update(raw)
        keyed.client_auth = CertAndSig(self.peer.cert_ok, sig_ok)
        keyed.client_chain = self.peer.chain
        keyed.client_chain_der = self.peer.der
        return ExpectChangeCipherSpec(keyed)


@dataclass(slots=True)
class ExpectChangeCipherSpec(Tls12State):
    accepts: ClassVar[MessageLimits] = MessageLimits.of({}, "while waiting for the client's ChangeCipherSpec")

    keyed: _Keyed

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        raise UnexpectedMessage(f"expected the client's ChangeCipherSpec, got {type(message).__name__}")

    def handle_change_cipher_spec(self, out: Output) -> State:
        out.set_read_protection(self.keyed.opener)
        return ExpectFinished(self.keyed)


@dataclass(slots=True)
class ExpectFinished(Tls12State):
    accepts: ClassVar[MessageLimits] = accepting12(_H.FINISHED, where="after the client's ChangeCipherSpec")

    keyed: _Keyed

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        fin = expect(message, Finished, "after the client's ChangeCipherSpec")
        keyed = self.keyed
        srv, master = keyed.srv, keyed.master
        log, chosen = srv.log, srv.chosen
        fin_ok = verify_finished12(master.client_finished(log.digest()), fin.verify_data)
        log.update(raw)
        resumed = keyed.client_auth is None
        client_auth: ClientAuth
        if keyed.client_auth is None:  # abbreviated: our Finished went first
            client_auth = resumed_by_session12(fin_ok, master_secret_from_session=True)
        else:
            client_auth = keyed.client_auth
            if srv.issue_ticket:
                log.update(out.send(_new_ticket(srv, master, keyed.client_chain_der)))
                if out.tracing:
                    out.decide("tickets", "sent a TLSv1.2 session ticket")
            if keyed.sealer is None:  # (a full handshake always has one)
                raise UnexpectedMessage("no write keys for the server Finished")
            out.send_change_cipher_spec()
            out.set_write_protection(keyed.sealer)
            log.update(out.send(Finished(master.server_finished(log.digest()))))
        out.peer_finished()
        out.handshake_finished()
        out.emit(
            HandshakeCompleted(
                version=_TLS1_2,
                cipher_suite=chosen.suite.code,
                group=None if resumed else chosen.group,
                signature_scheme=None if resumed else chosen.scheme,
                alpn_protocol=chosen.alpn_protocol.decode("ascii", "replace")
                if chosen.alpn_protocol
                else None,
                server_name=chosen.server_name,
                peer_certificates=keyed.client_chain,
                resumed=resumed,
                extended_master_secret=chosen.extended_master_secret,
            )
        )
        return ServerTraffic12(master, client_auth, fin_ok)
