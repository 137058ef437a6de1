"""The TLS 1.3 server handshake (RFC 8446 §4), one class per state.

    ExpectClientHello ─(no key share we accept)─► HelloRetryRequest ─► ExpectClientHello (with cookie)
            │
            ▼  ServerHello, {EncryptedExtensions}      send_server_parameters
            │  [{CertificateRequest}], {Certificate}, {CertificateVerify}      send_certificate
            │  {Finished}                                send_finished
            ▼
    [ExpectEndOfEarlyData] [ExpectClientCertificate ─► ExpectClientCertificateVerify]
            ─► ExpectClientFinished ─► ServerTraffic

What the server chooses (suite, group, certificate, ALPN) is decided in ``server_negotiation.py``;
resumption and 0-RTT in ``server_psk.py``. ``ServerTraffic`` takes the client's Finished and how the
client was authenticated (``CertAndSig``, ``Resumed`` or ``NoClientCertificate``), never None.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from cryptography import x509

from tlslens import keylog
from tlslens.config import ServerConfig
from tlslens.crypto import groups
from tlslens.crypto.key_schedule import EarlySecret, HandshakeSecret, MasterSecret, finished_verify_data
from tlslens.crypto.signatures import certificate_verify_input
from tlslens.crypto.transcript import Transcript
from tlslens.errors import IllegalParameter, InternalError
from tlslens.events import HandshakeCompleted
from tlslens.handshake import server12
from tlslens.handshake.certificate_compression import (
    accepting_certificate,
    receive_compressed,
    send_certificate,
)
from tlslens.handshake.certificate_status import stapled_entries
from tlslens.handshake.client_auth import certificate_request
from tlslens.handshake.common import State, accepting, expect
from tlslens.handshake.cookie import build_hello_retry_request, open_cookie, seal_cookie
from tlslens.handshake.external_psk import ExternalPskChoice, ServerPsk, choose_server_psk
from tlslens.handshake.peer_certificate import (
    PeerCertificates,
    receive_certificate,
    receive_certificate_verify,
)
from tlslens.handshake.post_handshake_auth import ServerPha
from tlslens.handshake.server_negotiation import Negotiated, choose_version, negotiate
from tlslens.handshake.server_psk import (
    PskChoice,
    decide_early_data,
    early_data_extension_ok,
    send_tickets,
)
from tlslens.handshake.traffic import ServerTraffic
from tlslens.handshake.verify import (
    CertificateVerified,
    ClientAuth,
    Resumed,
    verify_client_certificates,
    verify_finished,
    verify_no_client_certificate,
)
from tlslens.output import Output
from tlslens.record.reassembly import MessageLimits
from tlslens.wire.enums import ExtensionType, HandshakeType, ProtocolVersion
from tlslens.wire.extensions import (
    ALPN,
    CompressCertificate,
    Cookie,
    EarlyData,
    Extension,
    KeyShareEntry,
    KeyShareServerHello,
    PreSharedKeyServerHello,
    RecordSizeLimit,
    ServerNameEmpty,
    SupportedVersionsServerHello,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import (
    Certificate,
    CertificateVerify,
    CompressedCertificate,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeMessage,
)

_H = HandshakeType
_TLS13 = SupportedVersionsServerHello(ProtocolVersion.TLS1_3)
# Before a ClientHello only a ClientHello may arrive, within the ClientHello limit (hardening 2).
_FIRST_HELLO = accepting(_H.CLIENT_HELLO, where="from the client")
_SECOND_HELLO = accepting(_H.CLIENT_HELLO, where="after HelloRetryRequest")
_REQUESTED_ENTRY_EXTENSIONS: frozenset[ExtensionType] = frozenset()  # our CertificateRequest asks for none


def start_server(config: ServerConfig) -> State:
    return ExpectClientHello(config)


@dataclass(frozen=True, slots=True)
class ServerHandshake:
    """What the server's states share after its Finished."""

    config: ServerConfig
    chosen: Negotiated
    psk: ServerPsk | None  # the ticket that resumes this session, or the external PSK, if one does
    transcript: Transcript
    master: MasterSecret = field(repr=False)
    client_hs_secret: bytes = field(repr=False)
    client_ap_secret: bytes = field(repr=False)
    exporter_secret: bytes = field(repr=False)


@dataclass(slots=True)
class ExpectClientHello:
    """Awaiting a ClientHello: the first one, or the second after our HelloRetryRequest (with cookie)."""

    config: ServerConfig
    after_retry: bool = False
    first: ClientHello | None = None  # after our HRR on this connection: ClientHello1 (to name changes)

    @property
    def accepts(self) -> MessageLimits:
        return _SECOND_HELLO if self.after_retry else _FIRST_HELLO

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        ch = expect(
            message, ClientHello, "from the client" if not self.after_retry else "after HelloRetryRequest"
        )
        config = self.config
        out.set_client_random(ch.random)
        version = choose_version(config, ch, out)
        if version == ProtocolVersion.TLS1_2:
            if self.after_retry:  # RFC 8446 §4.1.4: the second ClientHello must be TLS 1.3 again
                raise IllegalParameter("a second ClientHello that no longer offers TLS 1.3")
            return server12.start(config, ch, raw, out)
        out.negotiated(version)
        cookie_ext = ch.extension(Cookie)
        transcript: Transcript | None = None
        retry = None
        if cookie_ext is not None:
            # A second ClientHello: everything we need to continue is in the cookie (stateless HRR).
            # 0-RTT records sent with the first one were skipped until now; from here on a record that
            # does not open is bad_record_mac (RFC 8446 §4.2.10: no early data after a HelloRetryRequest).
            out.skip_early_data(0)
            retry = open_cookie(config.cookie_secret, cookie_ext.cookie, config.provider.now())
            retry.check_second_hello(ch, self.first)  # RFC 8446 §4.1.2: what may change, and no more
            transcript = retry.rebuild_transcript(ch)
        elif self.after_retry:
            raise IllegalParameter("second ClientHello without the cookie we sent")
        chosen = negotiate(config, ch, out)
        if not early_data_extension_ok(ch):
            raise IllegalParameter("early_data offered without a pre_shared_key")
        psk = choose_server_psk(config, ch, raw, chosen, transcript, out)
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
        if isinstance(psk, PskChoice):
            psk = decide_early_data(config, ch, psk, chosen.alpn_protocol, retry is not None, out)
        if transcript is None:
            transcript = Transcript(chosen.suite.hash)
        transcript.update(raw)
        if retry is not None:  # our HelloRetryRequest (on this connection or another) sent it
            out.compatibility_ccs_sent()
        return _send_server_flight(config, ch, chosen, psk, transcript, out)

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
            client_hello1=ch,
            client_hello1_hash=client_hello1_hash,
        )
        out.send(build_hello_retry_request(ch.legacy_session_id, chosen.suite.code, chosen.group, cookie))
        if ch.legacy_session_id:  # middlebox compatibility: CCS after our first handshake message
            out.send_compatibility_ccs()
        if ch.extension(EarlyData) is not None:  # 0-RTT records may follow ClientHello1: skip them
            out.skip_early_data(_skip_limit(config))
        if out.tracing:
            offered = ", ".join(g.iana_name for g in chosen.client_share_groups) or "no groups"
            out.decide(
                "hello_retry_request",
                f"HelloRetryRequest: client sent key shares for {offered}, none in a group the server"
                f" accepts; asking for {chosen.group.iana_name}, which the client supports",
            )
        return ExpectClientHello(config, after_retry=True, first=ch)


def _send_server_flight(
    config: ServerConfig,
    ch: ClientHello,
    chosen: Negotiated,
    psk: ServerPsk | None,
    transcript: Transcript,
    out: Output,
) -> State:
    """Our flight in three steps (as Go's sendServerParameters / sendServerCertificate /
    sendServerFinished), then the state that waits for the client's answer."""
    secrets, client_hs, server_hs, early_traffic = _send_server_parameters(
        config, ch, chosen, psk, transcript, out
    )
    ask_client = config.client_verifier is not None and psk is None and not config.defer_client_auth
    if psk is None:  # a PSK (resumption or external) authenticates the server: no certificates
        _send_certificate(config, ch, chosen, transcript, ask_client, out)
    hs = _send_finished(config, chosen, psk, transcript, secrets.next_stage(), client_hs, server_hs, out)
    if psk is not None:
        client_chain = psk.client_chain
        if isinstance(psk, PskChoice) and psk.accept_early_data:
            out.set_read_key(chosen.suite, early_traffic, keylog.CLIENT_EARLY_TRAFFIC_SECRET)
            out.accept_early_data(psk.contents.max_early_data_size)
            return ExpectEndOfEarlyData(hs, psk.auth, client_chain)
    out.set_read_key(chosen.suite, client_hs, keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET)
    if ch.extension(EarlyData) is not None:
        out.skip_early_data(_skip_limit(config))
    if psk is not None:
        return ExpectClientFinished(hs, psk.auth, client_chain)
    if ask_client:
        return ExpectClientCertificate(hs)
    return ExpectClientFinished(hs, verify_no_client_certificate(required=False), ())


def _send_server_parameters(
    config: ServerConfig,
    ch: ClientHello,
    chosen: Negotiated,
    psk: ServerPsk | None,
    transcript: Transcript,
    out: Output,
) -> tuple[HandshakeSecret, bytes, bytes, bytes]:
    """ServerHello, the compatibility CCS, handshake keys, {EncryptedExtensions}. Returns the handshake
    secret, the client's and our handshake traffic secrets, and the client's early traffic secret (when
    0-RTT is accepted; else empty)."""
    suite = chosen.suite
    provider = config.provider
    sh_extensions: list[Extension] = []
    shared_secret = None
    if psk is not None:
        sh_extensions.append(PreSharedKeyServerHello(psk.index))
    if psk is None or psk.dhe:
        if chosen.client_share is None:  # (a HelloRetryRequest was sent instead: never here)
            raise InternalError(f"no client key share for {chosen.group.iana_name}")
        server_share, shared_secret = groups.server_key_exchange(chosen.group, chosen.client_share, provider)
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
    if ch.legacy_session_id:
        out.send_compatibility_ccs()
    out.set_write_key(suite, server_hs, keylog.SERVER_HANDSHAKE_TRAFFIC_SECRET)
    if chosen.peer_record_size_limit is not None:
        out.set_peer_record_size_limit(chosen.peer_record_size_limit)
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
    return secrets, client_hs, server_hs, early_traffic


def _send_certificate(
    config: ServerConfig,
    ch: ClientHello,
    chosen: Negotiated,
    transcript: Transcript,
    ask_client: bool,
    out: Output,
) -> None:
    """[{CertificateRequest}], {Certificate} (or {CompressedCertificate}), {CertificateVerify}."""
    certificate, scheme = chosen.certificate, chosen.scheme
    if certificate is None or scheme is None:  # (choose_server_psk refuses a client without a PSK)
        raise InternalError("no certificate to present")
    if ask_client:
        transcript.update(out.send(certificate_request(config, b"")))
    if out.tracing:
        subject = certificate.chain[0].subject.rfc4514_string()
        why = f"its names match {chosen.server_name}" if chosen.sni_used else "the default certificate"
        out.decide("certificate", f"presenting {subject} ({why}); signing with {scheme.iana_name}")
    message = Certificate(b"", stapled_entries(certificate, ch))  # with the OCSP staple when asked
    compress, ours = ch.extension(CompressCertificate), config.compression_algorithms
    transcript.update(send_certificate(out, message, compress, ours, certificate.compressed))
    signature = certificate.signer.sign(scheme, certificate_verify_input(True, transcript.digest()))
    transcript.update(out.send(CertificateVerify(scheme, signature)))


def _send_finished(
    config: ServerConfig,
    chosen: Negotiated,
    psk: ServerPsk | None,
    transcript: Transcript,
    master: MasterSecret,
    client_hs: bytes,
    server_hs: bytes,
    out: Output,
) -> ServerHandshake:
    """{Finished}, then the application write key and the exporter secret."""
    suite = chosen.suite
    transcript.update(out.send(Finished(finished_verify_data(suite, server_hs, transcript.digest()))))
    th = transcript.digest()
    out.set_write_key(suite, master.server_application_traffic(th), keylog.SERVER_TRAFFIC_SECRET_0)
    exporter_secret = master.exporter(th)
    out.keylog(keylog.EXPORTER_SECRET, exporter_secret)
    return ServerHandshake(
        config,
        chosen,
        psk,
        transcript,
        master,
        client_hs,
        master.client_application_traffic(th),
        exporter_secret,
    )


def _skip_limit(config: ServerConfig) -> int:
    """How much refused 0-RTT data we skip: what our tickets allow, and at least one full record."""
    return max(config.max_early_data_size, 2**14) + 2**14


@dataclass(slots=True)
class ExpectEndOfEarlyData:
    """0-RTT accepted: early data arrives as EarlyDataReceived until EndOfEarlyData (RFC 8446 §4.5)."""

    accepts: ClassVar[MessageLimits] = accepting(_H.END_OF_EARLY_DATA, where="during 0-RTT")

    hs: ServerHandshake
    auth: Resumed
    client_chain: tuple[x509.Certificate, ...]  # from the ticket

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        expect(message, EndOfEarlyData, "during 0-RTT")
        hs = self.hs
        out.end_early_data()
        hs.transcript.update(raw)
        out.set_read_key(hs.chosen.suite, hs.client_hs_secret, keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET)
        return ExpectClientFinished(hs, self.auth, self.client_chain)


@dataclass(slots=True)
class ExpectClientCertificate:
    hs: ServerHandshake

    @property
    def accepts(self) -> MessageLimits:
        # Our CertificateRequest offered compress_certificate when we have algorithms.
        compressed = bool(self.hs.config.compression_algorithms)
        return accepting_certificate(compressed, where="after the server's Finished")

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        hs = self.hs
        config = hs.config
        if isinstance(message, CompressedCertificate):  # RFC 8879: checked, then inflated
            offered = config.compression_algorithms
            message = receive_compressed(message, offered, config.certificate_decompression_limit, out)
        cert = expect(message, Certificate, "after the server's Finished")
        if not cert.certificate_list and not cert.certificate_request_context:
            client_auth = verify_no_client_certificate(config.require_client_certificate)
            hs.transcript.update(raw)
            return ExpectClientFinished(hs, client_auth, ())
        verifier = config.client_verifier
        assert verifier is not None  # (we asked only with one)

        def verify(chain: tuple[x509.Certificate, ...]) -> CertificateVerified:
            return verify_client_certificates(verifier, chain, config.provider.now())

        cache = config.parsed_certificates
        peer = receive_certificate(cert, "client", _REQUESTED_ENTRY_EXTENSIONS, verify, cache)
        hs.transcript.update(raw)
        return ExpectClientCertificateVerify(hs, peer)


@dataclass(slots=True)
class ExpectClientCertificateVerify:
    accepts: ClassVar[MessageLimits] = accepting(_H.CERTIFICATE_VERIFY, where="after the client Certificate")

    hs: ServerHandshake
    peer: PeerCertificates

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cv = expect(message, CertificateVerify, "after the client Certificate")
        hs = self.hs
        auth = receive_certificate_verify(
            cv,
            self.peer,
            tuple(hs.config.signature_schemes),
            server=False,
            transcript_hash=hs.transcript.digest(),
        )
        hs.transcript.update(raw)
        return ExpectClientFinished(hs, auth, self.peer.chain, self.peer.der)


@dataclass(slots=True)
class ExpectClientFinished:
    accepts: ClassVar[MessageLimits] = accepting(_H.FINISHED, where="from the client")

    hs: ServerHandshake
    client_auth: ClientAuth
    client_chain: tuple[x509.Certificate, ...]
    client_chain_der: tuple[bytes, ...] = field(default=(), repr=False)  # as received, for tickets

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
        chosen, psk = hs.chosen, hs.psk
        resumed = psk if isinstance(psk, PskChoice) else None
        if hs.config.tickets:
            send_tickets(hs.config, chosen, resumed, resumption_secret, self.client_chain_der, out)
        out.emit(
            HandshakeCompleted(
                version=ProtocolVersion.TLS1_3,
                cipher_suite=suite.code,
                group=chosen.group if psk is None or psk.dhe else None,
                signature_scheme=chosen.scheme if psk is None else None,
                alpn_protocol=chosen.alpn_protocol.decode("ascii", "replace")
                if chosen.alpn_protocol
                else None,
                server_name=chosen.server_name,
                peer_certificates=self.client_chain,
                resumed=resumed is not None,
                early_data_accepted=psk is not None and psk.accept_early_data,
                psk_identity=psk.psk.identity if isinstance(psk, ExternalPskChoice) else None,
                post_handshake_auth=chosen.post_handshake_auth,
            )
        )
        return ServerTraffic(
            suite=suite,
            exporter_secret=hs.exporter_secret,
            resumption_secret=resumption_secret,
            client_auth=self.client_auth,
            fin_ok=fin_ok,
            pha=ServerPha(hs.config, suite, hs.transcript, offered=chosen.post_handshake_auth),
        )
