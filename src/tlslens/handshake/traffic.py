"""The Traffic states: the handshake is over; only post-handshake messages may arrive.

Both roles answer KeyUpdate (RFC 8446 §4.6.3). The client also takes NewSessionTicket (§4.6.1). Each
traffic state can only be built from proof tokens (``handshake/verify.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlslens.crypto.suites import Tls13Suite
from tlslens.errors import IllegalParameter
from tlslens.events import KeyUpdated, SessionTicketReceived
from tlslens.handshake.common import Output, State, unexpected
from tlslens.handshake.verify import (
    CertificateVerified,
    FinishedVerified,
    PskAuthenticated,
    SignatureVerified,
)
from tlslens.wire.enums import KeyUpdateRequest
from tlslens.wire.messages import HandshakeMessage, KeyUpdate, NewSessionTicket


def handle_key_update(message: KeyUpdate, out: Output) -> None:
    if message.request_update not in (
        KeyUpdateRequest.UPDATE_NOT_REQUESTED,
        KeyUpdateRequest.UPDATE_REQUESTED,
    ):
        raise IllegalParameter(f"KeyUpdate with request_update {int(message.request_update)}")
    out.update_read_key()
    requested = message.request_update == KeyUpdateRequest.UPDATE_REQUESTED
    if requested:
        out.answer_key_update()
    out.emit(KeyUpdated("receive", requested))


@dataclass(slots=True)
class ClientTraffic:
    suite: Tls13Suite
    exporter_secret: bytes = field(repr=False)
    resumption_secret: bytes = field(repr=False)
    # Proof that the server was authenticated: by certificate + signature, or by a PSK.
    cert_ok: CertificateVerified | None
    sig_ok: SignatureVerified | None
    fin_ok: FinishedVerified
    psk_ok: PskAuthenticated | None = None

    def __post_init__(self) -> None:
        if self.psk_ok is None and (self.cert_ok is None or self.sig_ok is None):
            raise TypeError("ClientTraffic needs a verified certificate and signature, or a PSK")

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, KeyUpdate):
            handle_key_update(message, out)
        elif isinstance(message, NewSessionTicket):
            out.emit(SessionTicketReceived(message))
        else:
            raise unexpected(message, "after the handshake")
        return self


@dataclass(slots=True)
class ServerTraffic:
    suite: Tls13Suite
    exporter_secret: bytes = field(repr=False)
    resumption_secret: bytes = field(repr=False)
    fin_ok: FinishedVerified
    client_cert_ok: CertificateVerified | None = None
    client_sig_ok: SignatureVerified | None = None

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, KeyUpdate):
            handle_key_update(message, out)
            return self
        raise unexpected(message, "after the handshake")
