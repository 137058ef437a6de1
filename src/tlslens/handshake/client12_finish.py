"""The end of the client's TLS 1.2 handshake (RFC 5246 §7.4.9, RFC 5077 §3.3): the server's
NewSessionTicket, its ChangeCipherSpec and Finished (then, when resumed, our own CCS and Finished), and
the session kept for resumption. ``client12.py`` has the states before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from cryptography import x509

from tlslens.crypto.key_schedule12 import MasterSecret12
from tlslens.errors import UnexpectedMessage
from tlslens.events import HandshakeCompleted, SessionTicketReceived
from tlslens.handshake.common import State, expect
from tlslens.handshake.common12 import (
    DEFAULT_SESSION_LIFETIME,
    MAX_TICKET_LIFETIME_HINT,
    ClientState12,
    accepting12,
    record_protection,
)
from tlslens.handshake.traffic12 import ClientTraffic12
from tlslens.handshake.verify import CertAndSig, ServerAuth, resumed_by_session12, verify_finished12
from tlslens.output import Output
from tlslens.pki.ocsp import OcspOutcome
from tlslens.record.protection12 import Tls12RecordOpener
from tlslens.record.reassembly import MessageLimits
from tlslens.session.cache import Session
from tlslens.wire.enums import HandshakeType, ProtocolVersion
from tlslens.wire.messages import Finished, HandshakeMessage
from tlslens.wire.messages12 import NewSessionTicket12

if TYPE_CHECKING:
    from tlslens.handshake.client12 import Client12, ServerKey

_TLS1_2 = ProtocolVersion.TLS1_2
_H = HandshakeType


@dataclass(frozen=True, slots=True)
class Finishing:
    """Our side is keyed (full handshake: our Finished sent; resumed: nothing sent yet)."""

    ctx: Client12
    master: MasterSecret12 = field(repr=False)
    opener: Tls12RecordOpener | None = field(repr=False)  # None until keys are made (resumed: at CCS)
    peer_chain: tuple[x509.Certificate, ...]
    peer_chain_der: tuple[bytes, ...] = field(repr=False)
    auth: CertAndSig | None  # None when resumed: the server's Finished proves the session
    key: ServerKey | None
    ticket: NewSessionTicket12 | None = None
    ocsp: OcspOutcome | None = None  # what the stapled OCSP response said (None: not asked, or resumed)


@dataclass(slots=True)
class ExpectNewSessionTicket(ClientState12):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.NEW_SESSION_TICKET, _H.HELLO_REQUEST, where="after our Finished (the server promised a ticket)"
    )

    f: Finishing

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        ticket = expect(message, NewSessionTicket12, "after our Finished (the server promised a ticket)")
        self.f.ctx.log.update(raw)
        return ExpectChangeCipherSpec(replace(self.f, ticket=ticket))


@dataclass(slots=True)
class ExpectChangeCipherSpec(ClientState12):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.HELLO_REQUEST, where="while waiting for the server's ChangeCipherSpec"
    )

    f: Finishing

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        raise UnexpectedMessage(f"expected ChangeCipherSpec, got {type(message).__name__}")

    def handle_change_cipher_spec(self, out: Output) -> State:
        f = self.f
        opener = f.opener
        if opener is None:  # resumed: the keys come from the session's master secret
            _, opener = record_protection(f.master, client=True)
        out.set_read_protection(opener)
        return ExpectFinished(f)


@dataclass(slots=True)
class ExpectFinished(ClientState12):
    accepts: ClassVar[MessageLimits] = accepting12(
        _H.FINISHED, _H.HELLO_REQUEST, where="after the server's ChangeCipherSpec"
    )

    f: Finishing

    def receive(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        fin = expect(message, Finished, "after the server's ChangeCipherSpec")
        f = self.f
        ctx, master, log = f.ctx, f.master, f.ctx.log
        fin_ok = verify_finished12(master.server_finished(log.digest()), fin.verify_data)
        log.update(raw)
        server_auth: ServerAuth
        if f.auth is None:  # abbreviated handshake: now our CCS and Finished
            server_auth = resumed_by_session12(fin_ok, master_secret_from_session=ctx.resumed is not None)
            sealer, _ = record_protection(master, client=True)
            out.send_change_cipher_spec()
            out.set_write_protection(sealer)
            log.update(out.send(Finished(master.client_finished(log.digest()))))
        else:
            server_auth = f.auth
        out.peer_finished()
        out.handshake_finished()
        alpn = ctx.alpn_protocol
        out.emit(
            HandshakeCompleted(
                version=_TLS1_2,
                cipher_suite=ctx.suite.code,
                group=f.key.group if f.key is not None else None,
                signature_scheme=f.key.scheme if f.key is not None else None,
                alpn_protocol=alpn.decode("ascii", "replace") if alpn is not None else None,
                server_name=ctx.sent.server_name,
                peer_certificates=f.peer_chain,
                resumed=ctx.resumed is not None,
                extended_master_secret=ctx.extended_master_secret,
                ocsp=f.ocsp,
            )
        )
        _keep_session(f, out)
        return ClientTraffic12(master, server_auth, fin_ok)


def _keep_session(f: Finishing, out: Output) -> None:
    """A session to resume later: by the new ticket, else the one resumed (RFC 5077 §3.3: the server
    may keep it), else by session ID. Never without the extended master secret (RFC 7627 §5.4)."""
    ctx = f.ctx
    config = ctx.sent.config
    if not ctx.extended_master_secret:
        return
    ticket, lifetime = b"", DEFAULT_SESSION_LIFETIME
    if f.ticket is not None and f.ticket.ticket:
        ticket = f.ticket.ticket
        lifetime = min(f.ticket.ticket_lifetime_hint or DEFAULT_SESSION_LIFETIME, MAX_TICKET_LIFETIME_HINT)
    elif ctx.resumed is not None:
        ticket = ctx.resumed.ticket
    if not ticket and not ctx.session_id:
        return
    session = Session.from_tls12(
        suite=ctx.suite.code,
        master_secret=f.master.secret,
        ticket=ticket,
        lifetime=lifetime,
        session_id=ctx.session_id,
        received_at=config.provider.now(),
        server_name=ctx.sent.server_name,
        alpn=ctx.alpn_protocol,
        offered_alpn=config.alpn_ids,
        peer_certificates=f.peer_chain_der,
    )
    if config.session_cache is not None:
        config.session_cache.store(session)
    out.emit(SessionTicketReceived(session))
    if out.tracing:
        how = "a session ticket" if ticket else "the session ID"
        out.decide("ticket", f"kept the TLSv1.2 session for resumption by {how} ({lifetime} s)")
