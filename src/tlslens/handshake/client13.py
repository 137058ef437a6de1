"""The TLS 1.3 client handshake (RFC 8446 §4), one class per state.

    start_client ─► ExpectServerHello ─(HRR)─► ExpectServerHello
                        │
                        ▼
                 ExpectEncryptedExtensions ─► ExpectCertificateOrRequest ─► ExpectCertificate
                                                         │                        │
                                                         ▼                        ▼
                                                ExpectCertificateVerify ◄─────────┘
                                                         │
                                                         ▼
                                                  ExpectFinished ─► ClientTraffic

Each state holds what it needs, complete: ``ClientHelloSent`` (what we said), then ``ClientKeys`` (what
the ServerHello settled), then ``ServerParameters`` (what EncryptedExtensions added). ``ClientTraffic``
can only be built from the proof tokens of ``handshake/verify.py``: a Finished, and either a chain with
its signature (``CertAndSig``) or the resumption PSK (``Resumed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509

from tlslens import keylog
from tlslens.config import ClientConfig
from tlslens.credentials import ExternalPsk
from tlslens.crypto.key_schedule import EarlySecret, HandshakeSecret, finished_verify_data
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.errors import (
    IllegalParameter,
    MissingExtension,
    UnexpectedMessage,
)
from tlslens.events import HandshakeCompleted
from tlslens.handshake import certificate_status, client12, client_auth, client_psk
from tlslens.handshake.certificate_compression import accepting_certificate, offered, receive_compressed
from tlslens.handshake.client_hello import ClientHelloSent, send_first_client_hello, send_second_client_hello
from tlslens.handshake.common import (
    State,
    accepting,
    check_allowed_extensions,
    expect,
)
from tlslens.handshake.peer_certificate import (
    PeerCertificates,
    receive_certificate,
    receive_certificate_verify,
)
from tlslens.handshake.post_handshake_auth import ClientPha
from tlslens.handshake.traffic import ClientTraffic
from tlslens.handshake.verify import (
    CertAndSig,
    CertificateVerified,
    ServerAuth,
    verify_external_psk_finished,
    verify_finished,
    verify_resumed_finished,
    verify_server_certificates,
)
from tlslens.output import Output
from tlslens.pki.ocsp import OcspOutcome
from tlslens.record.reassembly import MessageLimits
from tlslens.session.cache import Session
from tlslens.wire.enums import (
    CertificateCompressionAlgorithm,
    CompressionMethod,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    CompressCertificate,
    Cookie,
    EarlyData,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    PreSharedKeyServerHello,
    RecordSizeLimit,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsServerHello,
)
from tlslens.wire.hello import ServerHello
from tlslens.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    CompressedCertificate,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeMessage,
)

_T = ExtensionType
_H = HandshakeType
_SERVER_HELLO_EXTENSIONS = frozenset({_T.KEY_SHARE, _T.PRE_SHARED_KEY, _T.SUPPORTED_VERSIONS})
_HRR_EXTENSIONS = frozenset({_T.KEY_SHARE, _T.COOKIE, _T.SUPPORTED_VERSIONS})
_EE_EXTENSIONS = frozenset(
    {
        _T.SERVER_NAME,
        _T.MAX_FRAGMENT_LENGTH,
        _T.SUPPORTED_GROUPS,
        _T.USE_SRTP,
        _T.HEARTBEAT,
        _T.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
        _T.CLIENT_CERTIFICATE_TYPE,
        _T.SERVER_CERTIFICATE_TYPE,
        _T.EARLY_DATA,
        _T.RECORD_SIZE_LIMIT,
    }
)
# Servers may send these in EncryptedExtensions without our asking (RFC 8446 §4.2.7).
_EE_UNSOLICITED_OK = frozenset({_T.SUPPORTED_GROUPS})


def start_client(
    config: ClientConfig,
    server_name: str | None,
    out: Output,
    *,
    session: Session | None = None,
    early_data: bytes | None = None,
) -> State:
    """Queue the ClientHello (with a ticket and early data when given); return the first state."""
    return ExpectServerHello(send_first_client_hello(config, server_name, out, session, early_data))


@dataclass(frozen=True, slots=True)
class ClientKeys:
    """What the ServerHello settled: suite, group, handshake secrets, and the session if resumed."""

    sent: ClientHelloSent
    suite: Tls13Suite
    group: NamedGroup | None  # None: psk_ke, no key exchange
    secrets: HandshakeSecret = field(repr=False)
    client_hs_secret: bytes = field(repr=False)
    server_hs_secret: bytes = field(repr=False)
    resumed: Session | None  # the session the server accepted (its chain stands for this one)
    external: ExternalPsk | None = None  # the external PSK the server accepted (no certificates then)


@dataclass(frozen=True, slots=True)
class ServerParameters:
    """What EncryptedExtensions added."""

    keys: ClientKeys
    alpn_protocol: bytes | None
    early_data_accepted: bool


@dataclass(slots=True)
class ExpectServerHello:
    """ClientHello sent; awaiting ServerHello or HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4)."""

    accepts: ClassVar[MessageLimits] = accepting(_H.SERVER_HELLO, where="after ClientHello")

    sent: ClientHelloSent

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        sh = expect(message, ServerHello, "after ClientHello")
        sent = self.sent
        # 1. The version: TLS 1.3 through supported_versions, else a downgrade we refuse.
        sv = sh.extension(SupportedVersionsServerHello)
        if sv is None:  # TLS 1.2 or older: client12.py takes it from here (or refuses it)
            return client12.receive_server_hello(sent, sh, raw, out)
        if sv.selected_version != ProtocolVersion.TLS1_3 or ProtocolVersion.TLS1_3 not in (
            sent.config.enabled_versions
        ):
            raise IllegalParameter(
                f"server selected version {sv.selected_version.name}, which was not offered"
            )
        if sh.legacy_version != ProtocolVersion.TLS1_2:
            raise IllegalParameter("ServerHello.legacy_version is not 0x0303")
        # 2. Echoes of what we sent.
        if sh.legacy_session_id_echo != sent.session_id:
            raise IllegalParameter("server did not echo legacy_session_id")
        if sh.cipher_suite not in sent.hello.cipher_suites or sh.cipher_suite not in TLS13_SUITES:
            raise IllegalParameter(f"server chose cipher suite {sh.cipher_suite.name}, which was not offered")
        if sh.legacy_compression_method != CompressionMethod.NULL:
            raise IllegalParameter("server chose a compression method")
        suite = TLS13_SUITES[sh.cipher_suite]
        if sent.retry_suite is not None and suite is not sent.retry_suite:
            raise IllegalParameter("ServerHello cipher suite differs from the HelloRetryRequest's")
        present = [e.ext_type for e in sh.extensions or ()]
        if sh.is_hello_retry_request:
            return self._hello_retry(sh, raw, suite, present, out)
        check_allowed_extensions(
            present, _SERVER_HELLO_EXTENSIONS, "ServerHello", offered=sent.offered_extensions
        )
        # 3. A PSK the server accepted: the ticket we offered, or an external PSK (RFC 8446 §4.2.11).
        offers = sent.psk_offers
        resumed, external = client_psk.selected_psk(offers, sh.extension(PreSharedKeyServerHello), suite)
        psk = resumed.psk if resumed else external.key if external else None
        # 4. Key exchange with the share we sent for the server's group (none: psk_ke, if we offered it).
        ks = sh.extension(KeyShareServerHello)
        group: NamedGroup | None = None
        shared_secret = None
        if ks is not None:
            group = ks.server_share.group
            share = sent.shares.get(group)
            if share is None:
                raise IllegalParameter(f"server answered a {group.iana_name} share we did not send")
            shared_secret = share.exchange(ks.server_share.key_exchange)
        elif psk is None or PskKeyExchangeMode.PSK_KE not in sent.config.psk_modes:
            raise MissingExtension("ServerHello has no key_share")
        # 5. Handshake keys.
        transcript = sent.transcript
        transcript.select(suite.hash)
        transcript.update(raw)
        secrets = EarlySecret.from_psk(suite, psk).next_stage(shared_secret)
        th = transcript.digest()
        client_hs, server_hs = secrets.client_traffic(th), secrets.server_traffic(th)
        keys = ClientKeys(sent, suite, group, secrets, client_hs, server_hs, resumed, external)
        out.set_read_key(suite, keys.server_hs_secret, keylog.SERVER_HANDSHAKE_TRAFFIC_SECRET)
        if sent.session_id:  # middlebox compatibility (RFC 8446 §D.4)
            out.send_compatibility_ccs()
        if sent.early_data_sent:  # the early key stays until EndOfEarlyData
            out.keylog(keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET, keys.client_hs_secret)
        else:
            out.set_write_key(suite, keys.client_hs_secret, keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET)
        if out.tracing:
            how = "resuming the session" if resumed else "a full handshake"
            if external is not None:
                how = f"authenticated by the external PSK {external.shown}"
            elif sent.session is not None and not resumed:
                how += " (our ticket was not accepted)"
            kx = group.iana_name if group is not None else "no key exchange (psk_ke)"
            out.decide("server_hello", f"server chose {suite.name} and {kx}: {how}")
        return ExpectEncryptedExtensions(keys)

    def _hello_retry(
        self, hrr: ServerHello, raw: bytes, suite: Tls13Suite, present: list[ExtensionType], out: Output
    ) -> State:
        sent = self.sent
        if sent.retry_suite is not None:
            raise UnexpectedMessage("a second HelloRetryRequest")
        check_allowed_extensions(
            present, _HRR_EXTENSIONS, "HelloRetryRequest", offered=sent.offered_extensions | {_T.COOKIE}
        )
        ks = hrr.extension(KeyShareHelloRetryRequest)
        cookie = hrr.extension(Cookie)
        shares = sent.shares
        if ks is not None:
            group = ks.selected_group
            offered = sent.hello.extension(SupportedGroups)
            if offered is None or group not in offered.named_group_list:
                raise IllegalParameter(f"HelloRetryRequest selects {group.iana_name}, which was not offered")
            if group in shares:
                raise IllegalParameter(f"HelloRetryRequest asks for {group.iana_name}, whose share was sent")
            shares = {group: sent.config.provider.generate_key_share(group)}
        elif cookie is None:
            raise IllegalParameter("HelloRetryRequest would not change the ClientHello")
        if sent.early_data_sent:  # RFC 8446 §4.1.2: no early data after a HelloRetryRequest
            out.drop_write_key()
        transcript = sent.transcript
        transcript.select(suite.hash)
        transcript.replace_with_message_hash()
        transcript.update(raw)
        if out.tracing:
            why = f"server wants a {ks.selected_group.iana_name} key share" if ks else "server sent a cookie"
            out.decide("hello_retry_request", f"HelloRetryRequest: {why}; sending a second ClientHello")
        return ExpectServerHello(send_second_client_hello(sent, suite, shares, cookie, out))


@dataclass(slots=True)
class ExpectEncryptedExtensions:
    accepts: ClassVar[MessageLimits] = accepting(_H.ENCRYPTED_EXTENSIONS, where="after ServerHello")

    keys: ClientKeys

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        ee = expect(message, EncryptedExtensions, "after ServerHello")
        keys = self.keys
        sent = keys.sent
        present = [e.ext_type for e in ee.extensions]
        check_allowed_extensions(
            present,
            _EE_EXTENSIONS,
            "EncryptedExtensions",
            offered=sent.offered_extensions | _EE_UNSOLICITED_OK,
        )
        alpn_protocol = None
        alpn = ee.extension(ALPN)
        if alpn is not None:
            if len(alpn.protocol_name_list) != 1 or alpn.protocol_name_list[0] not in sent.config.alpn_ids:
                raise IllegalParameter("server selected an ALPN protocol that was not offered")
            alpn_protocol = alpn.protocol_name_list[0]
        early_data_accepted = False
        if ee.extension(EarlyData) is not None:
            if keys.resumed is None or not sent.early_data_sent:
                raise IllegalParameter("server accepted early data that was not offered on this resumption")
            early_data_accepted = True
        rsl = ee.extension(RecordSizeLimit)
        if rsl is not None:
            if rsl.record_size_limit < 64:
                raise IllegalParameter(f"record_size_limit {rsl.record_size_limit} is below 64")
            out.set_peer_record_size_limit(rsl.record_size_limit)
            if sent.config.record_size_limit is not None:
                out.set_own_record_size_limit(sent.config.record_size_limit)
        sent.transcript.update(raw)
        if out.tracing and sent.early_data_sent:
            if early_data_accepted:
                out.decide("early_data", "server accepted our 0-RTT data")
            else:
                out.decide(
                    "early_data", "server rejected our 0-RTT data: resend it now if it is still wanted"
                )
        params = ServerParameters(keys, alpn_protocol, early_data_accepted)
        if keys.external is not None:  # authenticated by the PSK: no certificates (RFC 8446 §2.2)
            return ExpectFinished(params, None, (), (), None)
        if keys.resumed is not None:
            # The server proved itself on the original connection: report that chain again.
            der = keys.resumed.peer_certificates
            chain = tuple(x509.load_der_x509_certificate(d) for d in der)
            return ExpectFinished(params, None, chain, der, None)
        return ExpectCertificateOrRequest(params)


def _compression_offered(sent: ClientHelloSent) -> tuple[CertificateCompressionAlgorithm, ...]:
    return offered(sent.hello.extension(CompressCertificate), sent.config.compression_algorithms)


@dataclass(slots=True)
class ExpectCertificateOrRequest:
    params: ServerParameters

    @property
    def accepts(self) -> MessageLimits:
        compressed = bool(_compression_offered(self.params.keys.sent))
        return accepting_certificate(compressed, _H.CERTIFICATE_REQUEST, where="after EncryptedExtensions")

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, CertificateRequest):
            request = client_auth.check_certificate_request(message)
            self.params.keys.sent.transcript.update(raw)
            return ExpectCertificate(self.params, request)
        return ExpectCertificate(self.params, None).handle(message, raw, out)


@dataclass(slots=True)
class ExpectCertificate:
    params: ServerParameters
    request: CertificateRequest | None  # the server asked for our certificate

    @property
    def accepts(self) -> MessageLimits:
        compressed = bool(_compression_offered(self.params.keys.sent))
        return accepting_certificate(compressed, where="after CertificateRequest")

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        sent = self.params.keys.sent
        config = sent.config
        if isinstance(message, CompressedCertificate):  # RFC 8879: checked, then inflated
            limit = config.certificate_decompression_limit
            message = receive_compressed(message, _compression_offered(sent), limit, out)
        cert = expect(message, Certificate, "after EncryptedExtensions")

        # 1. The configured verifier accepts the chain for this name, now (CertificateError otherwise).
        def verify(chain: tuple[x509.Certificate, ...]) -> CertificateVerified:
            return verify_server_certificates(
                config.effective_verifier, chain, sent.verify_name, config.provider.now()
            )

        peer = receive_certificate(
            cert, "server", sent.offered_extensions, verify, config.parsed_certificates
        )
        # 1b. What the server stapled, when we asked (RFC 6066 §8, RFC 8446 §4.4.2.1).
        ocsp = None
        if certificate_status.asked(sent.hello):
            response = certificate_status.leaf_response(cert)
            ocsp = certificate_status.check_staple(config, peer.chain, response, out)
        sent.transcript.update(raw)
        return ExpectCertificateVerify(self.params, self.request, peer, ocsp)


@dataclass(slots=True)
class ExpectCertificateVerify:
    accepts: ClassVar[MessageLimits] = accepting(_H.CERTIFICATE_VERIFY, where="after Certificate")

    params: ServerParameters
    request: CertificateRequest | None
    peer: PeerCertificates
    ocsp: OcspOutcome | None = None  # what the stapled OCSP response says (None: not asked)

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cv = expect(message, CertificateVerify, "after Certificate")
        sent = self.params.keys.sent
        offered = sent.hello.extension(SignatureAlgorithms)
        # 2. The signature over the transcript through Certificate (DecryptError if it does not verify).
        auth = receive_certificate_verify(
            cv,
            self.peer,
            offered.supported_signature_algorithms if offered else (),
            server=True,
            transcript_hash=sent.transcript.digest(),
        )
        sent.transcript.update(raw)
        if out.tracing:
            out.decide("certificate_verify", f"server signature ({cv.algorithm.iana_name}) verified")
        peer = self.peer
        signed = (auth, cv.algorithm)
        return ExpectFinished(self.params, self.request, peer.chain, peer.der, signed, self.ocsp)


@dataclass(slots=True)
class ExpectFinished:
    accepts: ClassVar[MessageLimits] = accepting(_H.FINISHED, where="to end the server's flight")

    params: ServerParameters
    request: CertificateRequest | None
    peer_chain: tuple[x509.Certificate, ...]
    peer_chain_der: tuple[bytes, ...] = field(repr=False)
    # The chain and its signature, checked; None when resumed: the Finished proves the PSK.
    signed: tuple[CertAndSig, SignatureScheme] | None
    ocsp: OcspOutcome | None = None

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        fin = expect(message, Finished, "after CertificateVerify")
        params = self.params
        keys = params.keys
        sent = keys.sent
        suite, transcript = keys.suite, sent.transcript
        # 3. The server's Finished, in constant time.
        th = transcript.digest()
        server_auth: ServerAuth
        if keys.external is not None:
            fin_ok, server_auth = verify_external_psk_finished(
                keys.secrets, keys.server_hs_secret, th, fin.verify_data
            )
            scheme = None
        elif self.signed is None:
            fin_ok, server_auth = verify_resumed_finished(
                keys.secrets, keys.server_hs_secret, th, fin.verify_data
            )
            scheme = None
        else:
            fin_ok = verify_finished(suite, keys.server_hs_secret, th, fin.verify_data)
            server_auth, scheme = self.signed
        transcript.update(raw)
        out.peer_finished()
        # Application secrets from the transcript through the server Finished.
        th = transcript.digest()
        master = keys.secrets.next_stage()
        client_ap = master.client_application_traffic(th)
        out.set_read_key(suite, master.server_application_traffic(th), keylog.SERVER_TRAFFIC_SECRET_0)
        exporter_secret = master.exporter(th)
        out.keylog(keylog.EXPORTER_SECRET, exporter_secret)
        # Our second flight: EndOfEarlyData after accepted 0-RTT, client certificate when asked, Finished.
        if params.early_data_accepted:
            transcript.update(out.send(EndOfEarlyData()))
        if sent.early_data_sent:
            out.set_write_key(suite, keys.client_hs_secret, None)
        if self.request is not None:
            client_auth.send_client_certificate(sent.config, self.request, transcript, out)
        verify_data = finished_verify_data(suite, keys.client_hs_secret, transcript.digest())
        transcript.update(out.send(Finished(verify_data)))
        out.set_write_key(suite, client_ap, keylog.CLIENT_TRAFFIC_SECRET_0)
        resumption_secret = master.resumption(transcript.digest())
        out.handshake_finished()
        alpn = params.alpn_protocol
        out.emit(
            HandshakeCompleted(
                version=ProtocolVersion.TLS1_3,
                cipher_suite=suite.code,
                group=keys.group,
                signature_scheme=scheme,
                alpn_protocol=alpn.decode("ascii", "replace") if alpn is not None else None,
                server_name=sent.server_name,
                peer_certificates=self.peer_chain,
                resumed=keys.resumed is not None,
                early_data_accepted=params.early_data_accepted,
                ocsp=self.ocsp,
                psk_identity=keys.external.identity if keys.external is not None else None,
            )
        )
        return ClientTraffic(
            suite=suite,
            exporter_secret=exporter_secret,
            resumption_secret=resumption_secret,
            server_auth=server_auth,
            fin_ok=fin_ok,
            config=sent.config,
            server_name=sent.server_name,
            alpn=alpn,
            peer_chain_der=self.peer_chain_der,
            pha=ClientPha(sent.config, suite, transcript) if sent.offers(_T.POST_HANDSHAKE_AUTH) else None,
        )
