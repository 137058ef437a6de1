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

``ClientTraffic`` can only be built from the three proof tokens of ``handshake/verify.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from tlslens import keylog
from tlslens.config import ClientConfig
from tlslens.crypto.key_schedule import EarlySecret, finished_verify_data
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.errors import (
    IllegalParameter,
    MissingExtension,
    ProtocolVersionMismatch,
    UnexpectedMessage,
)
from tlslens.events import HandshakeCompleted
from tlslens.handshake import client_auth
from tlslens.handshake.client_hello import ClientHandshake, send_first_client_hello, send_second_client_hello
from tlslens.handshake.common import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    State,
    check_allowed_extensions,
    expect,
    parse_certificate_chain,
)
from tlslens.handshake.traffic import ClientTraffic
from tlslens.handshake.verify import (
    CertificateVerified,
    SignatureVerified,
    psk_authenticated,
    verify_certificate_verify,
    verify_finished,
    verify_server_certificates,
)
from tlslens.output import Output
from tlslens.session.cache import Session
from tlslens.wire.enums import (
    CompressionMethod,
    ExtensionType,
    ProtocolVersion,
)
from tlslens.wire.extensions import (
    ALPN,
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
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeMessage,
)

_T = ExtensionType
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


@dataclass(slots=True)
class ExpectServerHello:
    """ClientHello sent; awaiting ServerHello or HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4)."""

    hs: ClientHandshake

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        sh = expect(message, ServerHello, "after ClientHello")
        hs = self.hs
        # 1. The version: TLS 1.3 through supported_versions, else a downgrade we refuse.
        sv = sh.extension(SupportedVersionsServerHello)
        if sv is None:
            if sh.random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
                raise IllegalParameter("ServerHello.random carries the TLS 1.3 downgrade sentinel")
            label = ProtocolVersion(sh.legacy_version).label
            raise ProtocolVersionMismatch(f"server chose {label}; tlslens speaks TLS 1.3 only")
        if sv.selected_version != ProtocolVersion.TLS1_3:
            raise IllegalParameter(
                f"server selected version {sv.selected_version.name}, which was not offered"
            )
        if sh.legacy_version != ProtocolVersion.TLS1_2:
            raise IllegalParameter("ServerHello.legacy_version is not 0x0303")
        # 2. Echoes of what we sent.
        if sh.legacy_session_id_echo != hs.session_id:
            raise IllegalParameter("server did not echo legacy_session_id")
        if sh.cipher_suite not in hs.hello.cipher_suites or sh.cipher_suite not in TLS13_SUITES:
            raise IllegalParameter(f"server chose cipher suite {sh.cipher_suite.name}, which was not offered")
        if sh.legacy_compression_method != CompressionMethod.NULL:
            raise IllegalParameter("server chose a compression method")
        suite = TLS13_SUITES[sh.cipher_suite]
        if hs.suite is not None and suite is not hs.suite:
            raise IllegalParameter("ServerHello cipher suite differs from the HelloRetryRequest's")
        present = [e.ext_type for e in sh.extensions or ()]
        if sh.is_hello_retry_request:
            return self._hello_retry(sh, raw, suite, present, out)
        check_allowed_extensions(
            present, _SERVER_HELLO_EXTENSIONS, "ServerHello", offered=hs.offered_extensions
        )
        # 3. Resumption: the server may accept the ticket we offered (RFC 8446 §4.2.11).
        psk = None
        selected = sh.extension(PreSharedKeyServerHello)
        if selected is not None:
            if hs.session is None:
                raise IllegalParameter("server selected a PSK that was not offered")
            if selected.selected_identity != 0:
                raise IllegalParameter(f"server selected PSK identity {selected.selected_identity} of 1")
            if TLS13_SUITES[hs.session.suite].hash.name != suite.hash.name:
                raise IllegalParameter("server resumed with a suite whose hash differs from the ticket's")
            psk = hs.session.psk
            hs.resumed = True
            # The server proved itself on the original connection: report that chain again.
            hs.peer_chain_der = hs.session.peer_certificates
            hs.peer_chain = tuple(x509.load_der_x509_certificate(d) for d in hs.session.peer_certificates)
        # 4. Key exchange with the share we sent for the server's group (we offer psk_dhe_ke only).
        ks = sh.extension(KeyShareServerHello)
        if ks is None:
            raise MissingExtension("ServerHello has no key_share")
        share = hs.shares.get(ks.server_share.group)
        if share is None:
            raise IllegalParameter(
                f"server answered a {ks.server_share.group.iana_name} share we did not send"
            )
        shared_secret = share.exchange(ks.server_share.key_exchange)
        # 5. Handshake keys.
        hs.suite, hs.group = suite, ks.server_share.group
        hs.transcript.select(suite.hash)
        hs.transcript.update(raw)
        hs.secrets = EarlySecret.from_psk(suite, psk).next_stage(shared_secret)
        th = hs.transcript.digest()
        hs.client_hs_secret = hs.secrets.client_traffic(th)
        hs.server_hs_secret = hs.secrets.server_traffic(th)
        out.set_read_key(suite, hs.server_hs_secret, keylog.SERVER_HANDSHAKE_TRAFFIC_SECRET)
        if hs.session_id:  # middlebox compatibility (RFC 8446 §D.4)
            out.send_compatibility_ccs()
        if hs.early_data_sent:  # the early key stays until EndOfEarlyData
            out.keylog(keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET, hs.client_hs_secret)
        else:
            out.set_write_key(suite, hs.client_hs_secret, keylog.CLIENT_HANDSHAKE_TRAFFIC_SECRET)
        if out.tracing:
            how = "resuming the session" if hs.resumed else "a full handshake"
            if hs.session is not None and not hs.resumed:
                how += " (our ticket was not accepted)"
            out.decide("server_hello", f"server chose {suite.name} and {hs.group.iana_name}: {how}")
        return ExpectEncryptedExtensions(hs)

    def _hello_retry(
        self, hrr: ServerHello, raw: bytes, suite: Tls13Suite, present: list[ExtensionType], out: Output
    ) -> State:
        hs = self.hs
        if hs.hello_retry:
            raise UnexpectedMessage("a second HelloRetryRequest")
        check_allowed_extensions(
            present, _HRR_EXTENSIONS, "HelloRetryRequest", offered=hs.offered_extensions | {_T.COOKIE}
        )
        ks = hrr.extension(KeyShareHelloRetryRequest)
        cookie = hrr.extension(Cookie)
        shares = hs.shares
        if ks is not None:
            group = ks.selected_group
            offered = hs.hello.extension(SupportedGroups)
            if offered is None or group not in offered.named_group_list:
                raise IllegalParameter(f"HelloRetryRequest selects {group.iana_name}, which was not offered")
            if group in shares:
                raise IllegalParameter(f"HelloRetryRequest asks for {group.iana_name}, whose share was sent")
            shares = {group: hs.config.provider.generate_key_share(group)}
        elif cookie is None:
            raise IllegalParameter("HelloRetryRequest would not change the ClientHello")
        hs.hello_retry, hs.suite, hs.shares = True, suite, shares
        if hs.early_data_sent:  # RFC 8446 §4.1.2: no early data after a HelloRetryRequest
            out.drop_write_key()
            hs.early_data_sent = False
        hs.transcript.select(suite.hash)
        hs.transcript.replace_with_message_hash()
        hs.transcript.update(raw)
        if out.tracing:
            why = f"server wants a {ks.selected_group.iana_name} key share" if ks else "server sent a cookie"
            out.decide("hello_retry_request", f"HelloRetryRequest: {why}; sending a second ClientHello")
        send_second_client_hello(hs, suite, cookie, out)
        return ExpectServerHello(hs)


@dataclass(slots=True)
class ExpectEncryptedExtensions:
    hs: ClientHandshake

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        ee = expect(message, EncryptedExtensions, "after ServerHello")
        hs = self.hs
        present = [e.ext_type for e in ee.extensions]
        check_allowed_extensions(
            present, _EE_EXTENSIONS, "EncryptedExtensions", offered=hs.offered_extensions | _EE_UNSOLICITED_OK
        )
        alpn = ee.extension(ALPN)
        if alpn is not None:
            if len(alpn.protocol_name_list) != 1 or alpn.protocol_name_list[0] not in hs.config.alpn_ids:
                raise IllegalParameter("server selected an ALPN protocol that was not offered")
            hs.alpn_protocol = alpn.protocol_name_list[0]
        if ee.extension(EarlyData) is not None:
            if not hs.resumed or not hs.early_data_sent:
                raise IllegalParameter("server accepted early data that was not offered on this resumption")
            hs.early_data_accepted = True
        rsl = ee.extension(RecordSizeLimit)
        if rsl is not None:
            if rsl.record_size_limit < 64:
                raise IllegalParameter(f"record_size_limit {rsl.record_size_limit} is below 64")
            out.set_peer_record_size_limit(rsl.record_size_limit)
            if hs.config.record_size_limit is not None:
                out.set_own_record_size_limit(hs.config.record_size_limit)
        hs.transcript.update(raw)
        if out.tracing and hs.early_data_sent:
            if hs.early_data_accepted:
                out.decide("early_data", "server accepted our 0-RTT data")
            else:
                out.decide(
                    "early_data", "server rejected our 0-RTT data: resend it now if it is still wanted"
                )
        if hs.resumed:
            return ExpectFinished(hs, None, None)
        return ExpectCertificateOrRequest(hs)


@dataclass(slots=True)
class ExpectCertificateOrRequest:
    hs: ClientHandshake

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, CertificateRequest):
            self.hs.certificate_request = client_auth.check_certificate_request(message)
            self.hs.transcript.update(raw)
            return ExpectCertificate(self.hs)
        return ExpectCertificate(self.hs).handle(message, raw, out)


@dataclass(slots=True)
class ExpectCertificate:
    hs: ClientHandshake

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cert = expect(message, Certificate, "after EncryptedExtensions")
        hs = self.hs
        if cert.certificate_request_context:
            raise IllegalParameter("server Certificate carries a certificate_request_context")
        chain = parse_certificate_chain(cert, "server", hs.offered_extensions)
        # 1. The configured verifier accepts the chain for this name, now (CertificateError otherwise).
        cert_ok = verify_server_certificates(
            hs.config.effective_verifier, chain, hs.verify_name, hs.config.provider.now()
        )
        hs.peer_chain = chain
        hs.peer_chain_der = tuple(e.cert_data for e in cert.certificate_list)
        hs.transcript.update(raw)
        return ExpectCertificateVerify(hs, cert_ok)


@dataclass(slots=True)
class ExpectCertificateVerify:
    hs: ClientHandshake
    cert_ok: CertificateVerified

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        cv = expect(message, CertificateVerify, "after Certificate")
        hs = self.hs
        offered = hs.hello.extension(SignatureAlgorithms)
        schemes = offered.supported_signature_algorithms if offered else ()
        # 2. The signature over the transcript through Certificate (DecryptError if it does not verify).
        sig_ok = verify_certificate_verify(
            hs.peer_chain[0],
            cv.algorithm,
            cv.signature,
            schemes,
            server=True,
            transcript_hash=hs.transcript.digest(),
        )
        hs.transcript.update(raw)
        hs.signature_scheme = cv.algorithm
        if out.tracing:
            out.decide("certificate_verify", f"server signature ({cv.algorithm.iana_name}) verified")
        return ExpectFinished(hs, self.cert_ok, sig_ok)


@dataclass(slots=True)
class ExpectFinished:
    hs: ClientHandshake
    cert_ok: CertificateVerified | None  # None when resumed: the PSK authenticates the server
    sig_ok: SignatureVerified | None

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        fin = expect(message, Finished, "after CertificateVerify")
        hs = self.hs
        suite, secrets = hs.suite, hs.secrets
        assert suite is not None and secrets is not None and hs.group is not None
        # 3. The server's Finished, in constant time.
        fin_ok = verify_finished(suite, hs.server_hs_secret, hs.transcript.digest(), fin.verify_data)
        hs.transcript.update(raw)
        out.peer_finished()
        # Application secrets from the transcript through the server Finished.
        th = hs.transcript.digest()
        master = secrets.next_stage()
        client_ap = master.client_application_traffic(th)
        out.set_read_key(suite, master.server_application_traffic(th), keylog.SERVER_TRAFFIC_SECRET_0)
        exporter_secret = master.exporter(th)
        out.keylog(keylog.EXPORTER_SECRET, exporter_secret)
        # Our second flight: EndOfEarlyData after accepted 0-RTT, client certificate when asked, Finished.
        if hs.early_data_accepted:
            hs.transcript.update(out.send(EndOfEarlyData()))
        if hs.early_data_sent:
            out.set_write_key(suite, hs.client_hs_secret, None)
        if hs.certificate_request is not None:
            client_auth.send_client_certificate(hs.config, hs.certificate_request, hs.transcript, out)
        verify_data = finished_verify_data(suite, hs.client_hs_secret, hs.transcript.digest())
        hs.transcript.update(out.send(Finished(verify_data)))
        out.set_write_key(suite, client_ap, keylog.CLIENT_TRAFFIC_SECRET_0)
        resumption_secret = master.resumption(hs.transcript.digest())
        out.handshake_finished()
        alpn = hs.alpn_protocol.decode("ascii", "replace") if hs.alpn_protocol is not None else None
        out.emit(
            HandshakeCompleted(
                version=ProtocolVersion.TLS1_3,
                cipher_suite=suite.code,
                group=hs.group,
                signature_scheme=hs.signature_scheme,
                alpn_protocol=alpn,
                server_name=hs.server_name,
                peer_certificates=hs.peer_chain,
                resumed=hs.resumed,
                early_data_accepted=hs.early_data_accepted,
            )
        )
        return ClientTraffic(
            suite=suite,
            exporter_secret=exporter_secret,
            resumption_secret=resumption_secret,
            cert_ok=self.cert_ok,
            sig_ok=self.sig_ok,
            fin_ok=fin_ok,
            psk_ok=psk_authenticated(fin_ok) if hs.resumed else None,
            config=hs.config,
            server_name=hs.server_name,
            alpn=hs.alpn_protocol,
            peer_chain_der=hs.peer_chain_der,
        )
