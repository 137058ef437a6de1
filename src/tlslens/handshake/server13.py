"""The TLS 1.3 server handshake (RFC 8446 §4), one class per state.

    ExpectClientHello ─(no fitting key share)─► HelloRetryRequest ─► ExpectClientHello (with cookie)
            │
            ▼  ServerHello, {EncryptedExtensions}, [{CertificateRequest}], {Certificate},
            │  {CertificateVerify}, {Finished}
            ▼
    [ExpectClientCertificate ─► ExpectClientCertificateVerify] ─► ExpectClientFinished ─► ServerTraffic

What the server chooses (suite, group, certificate, ALPN) is decided in ``server_negotiation.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cryptography import x509

from tlslens import keylog
from tlslens.config import ServerConfig
from tlslens.crypto.groups import server_key_exchange
from tlslens.crypto.key_schedule import EarlySecret, HandshakeSecret, MasterSecret, finished_verify_data
from tlslens.crypto.signatures import certificate_verify_input
from tlslens.crypto.transcript import Transcript
from tlslens.errors import CertificateRequired, IllegalParameter
from tlslens.events import HandshakeCompleted
from tlslens.handshake.common import Output, State, expect, parse_certificate_chain
from tlslens.handshake.cookie import build_hello_retry_request, open_cookie, seal_cookie
from tlslens.handshake.server_negotiation import Negotiated, negotiate
from tlslens.handshake.server_psk import (
    PskChoice,
    choose_psk,
    decide_early_data,
    early_data_extension_ok,
    ticket_messages,
)
from tlslens.handshake.traffic import ServerTraffic
from tlslens.handshake.verify import (
    CertificateVerified,
    SignatureVerified,
    verify_certificate_verify,
    verify_client_certificates,
    verify_finished,
)
from tlslens.wire.enums import ExtensionType, ProtocolVersion
from tlslens.wire.extensions import (
    ALPN,
    Cookie,
    EarlyData,
    Extension,
    KeyShareEntry,
    KeyShareServerHello,
    PreSharedKeyServerHello,
    RecordSizeLimit,
    ServerNameEmpty,
    SignatureAlgorithms,
    SupportedVersionsServerHello,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeMessage,
)

_TLS13 = SupportedVersionsServerHello(ProtocolVersion.TLS1_3)
_REQUESTED_ENTRY_EXTENSIONS: frozenset[ExtensionType] = frozenset()  # our CertificateRequest asks for none


def start_server(config: ServerConfig) -> State:
    return ExpectClientHello(config)


@dataclass(slots=True)
class ServerHandshake:
    """What the server's states share after the ServerHello."""

    config: ServerConfig
    chosen: Negotiated
    transcript: Transcript
    secrets: HandshakeSecret = field(repr=False)
    master: MasterSecret = field(repr=False)
    client_hs_secret: bytes = field(repr=False)
    client_ap_secret: bytes = field(repr=False)
    exporter_secret: bytes = field(repr=False)
    client_chain: tuple[x509.Certificate, ...] = ()
    client_chain_der: tuple[bytes, ...] = field(default=(), repr=False)
    psk: PskChoice | None = None


@dataclass(slots=True)
class ExpectClientHello:
    """Awaiting a ClientHello: the first one, or the second after our HelloRetryRequest (with cookie)."""

    config: ServerConfig
    after_retry: bool = False

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        ch = expect(
            message, ClientHello, "from the client" if not self.after_retry else "after HelloRetryRequest"
        )
        config = self.config
        out.set_client_random(ch.random)
        cookie_ext = ch.extension(Cookie)
        transcript: Transcript | None = None
        retry = None
        if cookie_ext is not None:
            # A second ClientHello: everything we need to continue is in the cookie (stateless HRR).
            retry = open_cookie(config.cookie_secret, cookie_ext.cookie, config.provider.now())
            transcript = retry.rebuild_transcript(ch)
        elif self.after_retry:
            raise IllegalParameter("second ClientHello without the cookie we sent")
        chosen = negotiate(config, ch, out)
        if not early_data_extension_ok(ch):
            raise IllegalParameter("early_data offered without a pre_shared_key")
        psk = choose_psk(
            config, ch, raw, chosen.suite, chosen.alpn_protocol, chosen.server_name, transcript, out
        )
        if psk is not None and psk.suite is not chosen.suite:
            chosen = replace(chosen, suite=psk.suite)
        needs_share = psk is None or psk.dhe
        # RFC 8446 §4.1.2: a second ClientHello must now carry a share for the group we named.
        if retry is not None and (
            chosen.suite.code != retry.suite
            or chosen.group != retry.group
            or (needs_share and chosen.client_share is None)
        ):
            raise IllegalParameter("second ClientHello does not answer our HelloRetryRequest")
        if needs_share and chosen.client_share is None:
            return self._hello_retry(ch, raw, chosen, out)
        if psk is not None:
            psk = decide_early_data(config, ch, psk, chosen.alpn_protocol, retry is not None, out)
        if transcript is None:
            transcript = Transcript(chosen.suite.hash)
        transcript.update(raw)
        return _send_server_flight(config, ch, chosen, transcript, out, ccs_sent=retry is not None, psk=psk)

    def _hello_retry(self, ch: ClientHello, raw: bytes, chosen: Negotiated, out: Output) -> State:
        config = self.config
        transcript = Transcript(chosen.suite.hash)
        transcript.update(raw)
        client_hello1_hash = transcript.digest()
        cookie = seal_cookie(
            config.cookie_secret,
            now=config.provider.now(),
            suite=chosen.suite.code,
            group=chosen.group,
            session_id=ch.legacy_session_id,
            client_hello1_hash=client_hello1_hash,
        )
        out.send(build_hello_retry_request(ch.legacy_session_id, chosen.suite.code, chosen.group, cookie))
        if ch.legacy_session_id:  # middlebox compatibility: CCS after our first handshake message
            out.send_change_cipher_spec()
        if ch.extension(EarlyData) is not None:  # 0-RTT records may follow ClientHello1: skip them
            out.skip_early_data(_skip_limit(config))
        if out.tracing:
            offered = ", ".join(g.iana_name for g in chosen.client_share_groups) or "no groups"
            out.decide(
                "hello_retry_request",
                f"HelloRetryRequest: client sent key shares for {offered} only;"
                f" server prefers {chosen.group.iana_name}, which the client supports",
            )
        return ExpectClientHello(config, after_retry=True)


def _send_server_flight(
    config: ServerConfig,
    ch: ClientHello,
    chosen: Negotiated,
    transcript: Transcript,
    out: Output,
    *,
    ccs_sent: bool,
    psk: PskChoice | None,
) -> State:
    suite = chosen.suite
    provider = config.provider
    sh_extensions: list[Extension] = []
    shared_secret = None
    if psk is not None:
        sh_extensions.append(PreSharedKeyServerHello(0))
    if psk is None or psk.dhe:
        assert chosen.client_share is not None
        server_share, shared_secret = server_key_exchange(chosen.group, chosen.client_share, provider)
        sh_extensions.append(KeyShareServerHello(KeyShareEntry(chosen.group, server_share)))
    sh_extensions.append(_TLS13)
    early = psk.early_secret if psk is not None else EarlySecret.from_psk(suite, None)
    early_traffic = b""
    if psk is not None and psk.accept_early_data:
        hello_hash = transcript.digest()
        early_traffic = early.client_early_traffic(hello_hash)
        out.keylog(keylog.EARLY_EXPORTER_SECRET, early.early_exporter(hello_hash))
    sh = ServerHello(
        legacy_version=ProtocolVersion.TLS1_2,
        random=provider.random(32),
        legacy_session_id_echo=ch.legacy_session_id,
        cipher_suite=suite.code,
        extensions=tuple(sh_extensions),
    )
    transcript.update(out.send(sh))
    secrets = early.next_stage(shared_secret)
    th = transcript.digest()
    client_hs = secrets.client_traffic(th)
    server_hs = secrets.server_traffic(th)
    if ch.legacy_session_id and not ccs_sent:
        out.send_change_cipher_spec()
    out.set_write_key(suite, server_hs, keylog.SERVER_HANDSHAKE_TRAFFIC_SECRET)
    if chosen.peer_record_size_limit is not None:
        out.set_peer_record_size_limit(chosen.peer_record_size_limit)
    # {EncryptedExtensions}
    extensions: list[Extension] = []
    if chosen.sni_used:
        extensions.append(ServerNameEmpty())
    if chosen.alpn_protocol is not None:
        extensions.append(ALPN((chosen.alpn_protocol,)))
    if psk is not None and psk.accept_early_data:
        extensions.append(EarlyData())
    if chosen.peer_record_size_limit is not None and config.record_size_limit is not None:
        extensions.append(RecordSizeLimit(config.record_size_limit))
        out.set_own_record_size_limit(config.record_size_limit)
    ee = EncryptedExtensions(tuple(extensions))
    if config.encrypted_extensions_hook is not None:
        ee = config.encrypted_extensions_hook(ee)
    transcript.update(out.send(ee))
    ask_client = config.client_verifier is not None and psk is None
    if psk is None:  # a resumed session is authenticated by the PSK: no certificates
        # [{CertificateRequest}]
        if ask_client:
            request = CertificateRequest(b"", (SignatureAlgorithms(tuple(config.signature_schemes)),))
            transcript.update(out.send(request))
        # {Certificate}, {CertificateVerify}
        if out.tracing:
            subject = chosen.certificate.chain[0].subject.rfc4514_string()
            why = f"its names match {chosen.server_name}" if chosen.sni_used else "the default certificate"
            out.decide("certificate", f"presenting {subject} ({why}); signing with {chosen.scheme.iana_name}")
        transcript.update(out.send(Certificate(b"", chosen.certificate.entries)))
        signature = chosen.certificate.signer.sign(
            chosen.scheme, certificate_verify_input(True, transcript.digest())
        )
        transcript.update(out.send(CertificateVerify(chosen.scheme, signature)))
    # {Finished}
    transcript.update(out.send(Finished(finished_verify_data(suite, server_hs, transcript.digest()))))
    th = transcript.digest()
    master = secrets.next_stage()
    out.set_write_key(suite, master.server_application_traffic(th), keylog.SERVER_TRAFFIC_SECRET_0)
    exporter_secret = master.exporter(th)
    out.keylog(keylog.EXPORTER_SECRET, exporter_secret)
    hs = ServerHandshake(
        config,
        chosen,
        transcript,
        secrets,
        master,
        client_hs,
        master.client_application_traffic(th),
        exporter_secret,
        psk=psk,
    )
    if psk is not None and psk.contents.client_certificates:
        hs.client_chain = tuple(x509.load_der_x509_certificate(c) for c in psk.contents.client_certificates)
    if psk is not None and psk.accept_early_data:
        out.set_read_key(suite, early_traffic, keylog.CLIENT_EARLY_TRAFFIC_SECRET)
        out.accept_early_data(psk.contents.max_early_data_size)
        return ExpectEndOfEarlyData(hs)
    out.set_read_key(suite, client_hs, keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET)
    if ch.extension(EarlyData) is not None:
        out.skip_early_data(_skip_limit(config))
    if ask_client:
        return ExpectClientCertificate(hs)
    return ExpectClientFinished(hs, None, None)


def _skip_limit(config: ServerConfig) -> int:
    """How much refused 0-RTT data we skip: what our tickets allow, and at least one full record."""
    return max(config.max_early_data_size, 2**14) + 2**14


@dataclass(slots=True)
class ExpectEndOfEarlyData:
    """0-RTT accepted: early data arrives as EarlyDataReceived until EndOfEarlyData (RFC 8446 §4.5)."""

    hs: ServerHandshake

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        expect(message, EndOfEarlyData, "during 0-RTT")
        out.end_early_data()
        self.hs.transcript.update(raw)
        out.set_read_key(
            self.hs.chosen.suite, self.hs.client_hs_secret, keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET
        )
        return ExpectClientFinished(self.hs, None, None)


@dataclass(slots=True)
class ExpectClientCertificate:
    hs: ServerHandshake

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cert = expect(message, Certificate, "after the server's Finished")
        hs = self.hs
        if cert.certificate_request_context:
            raise IllegalParameter("client Certificate has a context we did not send")
        if not cert.certificate_list:
            if hs.config.require_client_certificate:
                raise CertificateRequired("the client sent no certificate")
            hs.transcript.update(raw)
            return ExpectClientFinished(hs, None, None)
        chain = parse_certificate_chain(cert, "client", _REQUESTED_ENTRY_EXTENSIONS)
        assert hs.config.client_verifier is not None
        cert_ok = verify_client_certificates(hs.config.client_verifier, chain, hs.config.provider.now())
        hs.client_chain = chain
        hs.client_chain_der = tuple(e.cert_data for e in cert.certificate_list)
        hs.transcript.update(raw)
        return ExpectClientCertificateVerify(hs, cert_ok)


@dataclass(slots=True)
class ExpectClientCertificateVerify:
    hs: ServerHandshake
    cert_ok: CertificateVerified

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cv = expect(message, CertificateVerify, "after the client Certificate")
        hs = self.hs
        sig_ok = verify_certificate_verify(
            hs.client_chain[0],
            cv.algorithm,
            cv.signature,
            tuple(hs.config.signature_schemes),
            server=False,
            transcript_hash=hs.transcript.digest(),
        )
        hs.transcript.update(raw)
        return ExpectClientFinished(hs, self.cert_ok, sig_ok)


@dataclass(slots=True)
class ExpectClientFinished:
    hs: ServerHandshake
    cert_ok: CertificateVerified | None
    sig_ok: SignatureVerified | None

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        fin = expect(message, Finished, "from the client")
        hs = self.hs
        suite = hs.chosen.suite
        fin_ok = verify_finished(suite, hs.client_hs_secret, hs.transcript.digest(), fin.verify_data)
        out.peer_finished()
        hs.transcript.update(raw)
        resumption_secret = hs.master.resumption(hs.transcript.digest())
        out.set_read_key(suite, hs.client_ap_secret, keylog.CLIENT_TRAFFIC_SECRET_0)
        out.handshake_finished()
        chosen = hs.chosen
        if hs.config.tickets and hs.psk is None:
            client_der = hs.client_chain_der or None
            for ticket in ticket_messages(
                hs.config, suite, resumption_secret, chosen.server_name, chosen.alpn_protocol, client_der
            ):
                out.send(ticket)
            if out.tracing:
                out.decide("tickets", f"sent {hs.config.tickets} session tickets")
        out.emit(
            HandshakeCompleted(
                version=ProtocolVersion.TLS1_3,
                cipher_suite=suite.code,
                group=chosen.group,
                signature_scheme=chosen.scheme if hs.psk is None else None,
                alpn_protocol=chosen.alpn_protocol.decode("ascii", "replace")
                if chosen.alpn_protocol
                else None,
                server_name=chosen.server_name,
                peer_certificates=hs.client_chain,
                resumed=hs.psk is not None,
                early_data_accepted=hs.psk is not None and hs.psk.accept_early_data,
            )
        )
        return ServerTraffic(
            suite=suite,
            exporter_secret=hs.exporter_secret,
            resumption_secret=resumption_secret,
            fin_ok=fin_ok,
            client_cert_ok=self.cert_ok,
            client_sig_ok=self.sig_ok,
        )
