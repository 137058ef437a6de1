"""The Traffic states: the handshake is over; only post-handshake messages may arrive.

Both roles answer KeyUpdate (RFC 8446 §4.6.3). The client also takes NewSessionTicket (§4.6.1), and a
CertificateRequest when it offered post_handshake_auth (§4.6.2); the server then reads the client's
answers to its requests (``post_handshake_auth.py``). Each traffic state can only be built from proof
tokens (``handshake/verify.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlslens.config import ClientConfig
from tlslens.crypto.key_schedule import export_keying_material
from tlslens.crypto.suites import Tls13Suite
from tlslens.errors import IllegalParameter, UnexpectedMessage
from tlslens.events import KeyUpdated, SessionTicketReceived
from tlslens.handshake.common import State, accepting, unexpected
from tlslens.handshake.post_handshake_auth import ClientPha, ServerPha
from tlslens.handshake.verify import ClientAuth, FinishedVerified, ServerAuth
from tlslens.output import Output
from tlslens.record.reassembly import MessageLimits
from tlslens.session.cache import Session
from tlslens.wire.enums import HandshakeType, KeyUpdateRequest
from tlslens.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    CompressedCertificate,
    Finished,
    HandshakeMessage,
    KeyUpdate,
    NewSessionTicket,
)

_H = HandshakeType


def handle_key_update(message: KeyUpdate, out: Output) -> None:
    # (request_update is 0 or 1: the decoder refuses anything else with illegal_parameter.)
    out.update_read_key()
    requested = message.request_update == KeyUpdateRequest.UPDATE_REQUESTED
    if requested:
        out.answer_key_update()
    out.emit(KeyUpdated("receive", requested))


MAX_TICKETS_PER_CONNECTION = 32
"""NewSessionTickets a client takes from one connection; more is a flood."""


_CLIENT_TRAFFIC = accepting(_H.NEW_SESSION_TICKET, _H.KEY_UPDATE, where="after the handshake")
_CLIENT_TRAFFIC_PHA = accepting(
    _H.NEW_SESSION_TICKET, _H.KEY_UPDATE, _H.CERTIFICATE_REQUEST, where="after the handshake"
)


@dataclass(slots=True)
class ClientTraffic:
    suite: Tls13Suite
    exporter_secret: bytes = field(repr=False)
    resumption_secret: bytes = field(repr=False)
    # Proof that the server was authenticated (by certificate and signature, or by a PSK) and finished.
    server_auth: ServerAuth
    fin_ok: FinishedVerified
    # What a ticket from this connection resumes.
    config: ClientConfig
    server_name: str | None
    alpn: bytes | None
    peer_chain_der: tuple[bytes, ...] = field(repr=False)
    tickets: int = 0
    pha: ClientPha | None = None  # we offered post_handshake_auth: the server may ask for a certificate

    @property
    def accepts(self) -> MessageLimits:
        return _CLIENT_TRAFFIC if self.pha is None else _CLIENT_TRAFFIC_PHA

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        return export_keying_material(self.suite, self.exporter_secret, label, context or b"", length)

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, KeyUpdate):
            handle_key_update(message, out)
        elif isinstance(message, NewSessionTicket):
            self._new_session_ticket(message, out)
        elif isinstance(message, CertificateRequest) and self.pha is not None:
            self.pha.answer(message, raw, out)
        else:
            raise unexpected(message, "after the handshake")
        return self

    def _new_session_ticket(self, ticket: NewSessionTicket, out: Output) -> None:
        """RFC 8446 §4.6.1: keep the ticket as a Session (in the config's cache when there is one)."""
        self.tickets += 1
        if self.tickets > MAX_TICKETS_PER_CONNECTION:
            raise UnexpectedMessage(f"more than {MAX_TICKETS_PER_CONNECTION} NewSessionTickets")
        if ticket.ticket_lifetime > 604800:
            raise IllegalParameter("NewSessionTicket lifetime over 7 days")
        if ticket.ticket_lifetime == 0:
            return  # "discard immediately"
        session = Session.from_new_session_ticket(
            ticket,
            suite=self.suite,
            resumption_master_secret=self.resumption_secret,
            received_at=self.config.provider.now(),
            server_name=self.server_name,
            alpn=self.alpn,
            offered_alpn=self.config.alpn_ids,
            peer_certificates=self.peer_chain_der,
        )
        if self.config.session_cache is not None:
            self.config.session_cache.store(session)
        out.emit(SessionTicketReceived(session))
        if out.tracing:
            early = (
                f", 0-RTT up to {session.max_early_data_size} bytes" if session.max_early_data_size else ""
            )
            out.decide("ticket", f"received a ticket valid {ticket.ticket_lifetime} s{early}")


@dataclass(slots=True)
class ServerTraffic:
    suite: Tls13Suite
    exporter_secret: bytes = field(repr=False)
    resumption_secret: bytes = field(repr=False)
    # How the client was authenticated (certificate and signature, PSK, or not at all where allowed;
    # after the handshake, by a certificate it was asked for).
    client_auth: ClientAuth
    fin_ok: FinishedVerified
    pha: ServerPha  # post-handshake client authentication: our requests and the client's answers

    @property
    def accepts(self) -> MessageLimits:
        return self.pha.accepts

    def request_client_certificate(self, out: Output) -> bytes:
        """A post-handshake CertificateRequest (RFC 8446 §4.6.2); returns its context."""
        return self.pha.request(out)

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        return export_keying_material(self.suite, self.exporter_secret, label, context or b"", length)

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, KeyUpdate):
            handle_key_update(message, out)
            return self
        if isinstance(message, Certificate | CompressedCertificate | CertificateVerify | Finished):
            # (only when ``accepts`` says)
            authenticated = self.pha.handle(message, raw, out)
            if authenticated is not None:
                self.client_auth = authenticated
            return self
        raise unexpected(message, "after the handshake")
