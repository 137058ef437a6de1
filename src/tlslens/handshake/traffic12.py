"""The TLS 1.2 Traffic states: the handshake is over, and tlslens refuses renegotiation (RFC 5746 is
still sent and checked, so a peer knows renegotiation is secure where it happens, not here).

A client answers the server's HelloRequest, and a server a client's new ClientHello, with a
``no_renegotiation`` warning (RFC 5246 §7.2.2) and goes on; the connection counts them like KeyUpdates,
so a flood ends it. Both states can only be built from proof tokens (``handshake/verify.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from tlslens.crypto.key_schedule12 import MasterSecret12
from tlslens.handshake.common import State, unexpected
from tlslens.handshake.common12 import Tls12State, accepting12
from tlslens.handshake.verify import ClientAuth, FinishedVerified, ServerAuth
from tlslens.output import Output
from tlslens.record.reassembly import MessageLimits
from tlslens.wire.enums import AlertDescription, AlertLevel, HandshakeType
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import HandshakeMessage
from tlslens.wire.messages12 import HelloRequest

_H = HandshakeType


def _refuse_renegotiation(out: Output, what: str) -> None:
    out.send_alert(AlertLevel.WARNING, AlertDescription.NO_RENEGOTIATION)
    if out.tracing:
        out.decide("renegotiation", f"refused the peer's {what} with a no_renegotiation warning")


@dataclass(slots=True)
class ClientTraffic12(Tls12State):
    accepts: ClassVar[MessageLimits] = accepting12(_H.HELLO_REQUEST, where="after the handshake")

    master: MasterSecret12 = field(repr=False)
    server_auth: ServerAuth
    fin_ok: FinishedVerified

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        return self.master.export(label, context, length)

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, HelloRequest):
            _refuse_renegotiation(out, "HelloRequest")
            return self
        raise unexpected(message, "after the handshake")


@dataclass(slots=True)
class ServerTraffic12(Tls12State):
    accepts: ClassVar[MessageLimits] = accepting12(_H.CLIENT_HELLO, where="after the handshake")

    master: MasterSecret12 = field(repr=False)
    client_auth: ClientAuth
    fin_ok: FinishedVerified

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        return self.master.export(label, context, length)

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, ClientHello):
            _refuse_renegotiation(out, "ClientHello (a renegotiation)")
            return self
        raise unexpected(message, "after the handshake")
