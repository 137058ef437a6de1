"""What the TLS 1.2 client and server share (RFC 5246): the state base class, the handshake log, the key
block made into record protection, and the checks both ends make of the extensions of a 1.2 hello.

TLS 1.2 handshakes are told apart from TLS 1.3 ones by the ServerHello (client) or the version choice
(server); from then on ``Output.negotiated(TLS1_2)`` makes the connection read the 1.2 message forms and
hand ChangeCipherSpec to the state (``handle_change_cipher_spec``), which only the states that expect
it override.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from cryptography.hazmat.primitives import hashes

from tlslens.crypto.key_schedule12 import MasterSecret12
from tlslens.crypto.transcript import Transcript
from tlslens.errors import HandshakeFailure, UnexpectedMessage
from tlslens.handshake.common import MAX_CLIENT_HELLO, MESSAGE_SIZE_LIMITS, State
from tlslens.output import Output
from tlslens.record.protection12 import Tls12RecordOpener, Tls12RecordSealer
from tlslens.record.reassembly import MessageLimits
from tlslens.wire.enums import ExtensionType, HandshakeType
from tlslens.wire.messages import HandshakeMessage
from tlslens.wire.messages12 import HelloRequest

_T = ExtensionType
_H = HandshakeType

MESSAGE_SIZE_LIMITS12: dict[HandshakeType, int] = {
    _H.HELLO_REQUEST: 0,
    _H.CLIENT_HELLO: MAX_CLIENT_HELLO,  # (after the handshake: a renegotiation attempt, refused)
    _H.SERVER_HELLO: MESSAGE_SIZE_LIMITS[_H.SERVER_HELLO],
    _H.CERTIFICATE: MESSAGE_SIZE_LIMITS[_H.CERTIFICATE],
    _H.CERTIFICATE_STATUS: 1 + (3 + 0xFFFF),  # our own bound: an OCSP response of up to 64 KiB
    _H.SERVER_KEY_EXCHANGE: (1 + 2 + (1 + 0xFF)) + 2 + (2 + 0xFFFF),  # named-curve ECDHE, signed
    _H.CERTIFICATE_REQUEST: (1 + 0xFF) + (2 + 0xFFFE) + (2 + 0xFFFF),
    _H.SERVER_HELLO_DONE: 0,
    _H.CLIENT_KEY_EXCHANGE: 1 + 0xFF,  # an ECDHE point
    _H.CERTIFICATE_VERIFY: MESSAGE_SIZE_LIMITS[_H.CERTIFICATE_VERIFY],
    _H.NEW_SESSION_TICKET: 4 + (2 + 0xFFFF),
    _H.FINISHED: 64,  # (12 for our suites: the state checks the exact length)
}
"""The largest body of each TLS 1.2 handshake message (RFC 5246 §7.4, RFC 8422 §5, RFC 5077 §3.3,
RFC 6066 §8)."""


def accepting12(*types: HandshakeType, where: str) -> MessageLimits:
    """The limits of a TLS 1.2 state that reads only ``types``."""
    return MessageLimits.of({t: MESSAGE_SIZE_LIMITS12[t] for t in types}, where)


MAX_TICKET_LIFETIME_HINT = 7 * 24 * 3600
"""A ticket lifetime hint above seven days is cut to seven days (as TLS 1.3 caps tickets)."""
DEFAULT_SESSION_LIFETIME = 7200
"""How long a client keeps a TLS 1.2 session when the server gives no lifetime (hint 0, session IDs)."""

# Extensions a TLS 1.2 ServerHello may carry (each only in answer to one we sent).
SERVER_HELLO12_EXTENSIONS = frozenset(
    {
        _T.SERVER_NAME,
        _T.MAX_FRAGMENT_LENGTH,
        _T.STATUS_REQUEST,
        _T.EC_POINT_FORMATS,
        _T.HEARTBEAT,
        _T.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
        _T.SIGNED_CERTIFICATE_TIMESTAMP,
        _T.ENCRYPT_THEN_MAC,
        _T.EXTENDED_MASTER_SECRET,
        _T.RECORD_SIZE_LIMIT,
        _T.SESSION_TICKET,
        _T.RENEGOTIATION_INFO,
    }
)


class Tls12State:
    """Base of the TLS 1.2 states. ChangeCipherSpec is a record of its own in TLS 1.2, but a step of
    the handshake: the connection hands it to ``handle_change_cipher_spec``, which only the states that
    wait for it override. Each state says which handshake messages it reads next (``accepts``)."""

    __slots__ = ()
    accepts: ClassVar[MessageLimits]

    def handle_change_cipher_spec(self, out: Output) -> State:
        raise UnexpectedMessage(f"unexpected ChangeCipherSpec ({_waiting_for(self)})")


class ClientState12(Tls12State):
    """RFC 5246 §7.4.1.1: a HelloRequest during the handshake is ignored (and not in the transcript)."""

    __slots__ = ()
    receive: Callable[[HandshakeMessage, bytes, Output], State]  # (each state defines it)

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State:
        if isinstance(message, HelloRequest):
            return self
        return self.receive(message, raw, out)


def _waiting_for(state: object) -> str:
    name = type(state).__name__
    return "after the handshake" if "Traffic" in name else f"while waiting: {name}"


class HandshakeLog:
    """The handshake messages so far: their running hash (for the extended master secret and Finished,
    with the suite's PRF hash) and the bytes themselves (a TLS 1.2 CertificateVerify signs them whole)."""

    __slots__ = ("_messages", "_transcript")

    def __init__(self, h: hashes.HashAlgorithm, *messages: bytes) -> None:
        self._transcript = Transcript(h)
        self._messages = bytearray()
        for raw in messages:
            self.update(raw)

    def update(self, raw: bytes) -> None:
        self._transcript.update(raw)
        self._messages += raw

    def digest(self) -> bytes:
        return self._transcript.digest()

    @property
    def messages(self) -> bytes:
        return bytes(self._messages)


def record_protection(master: MasterSecret12, *, client: bool) -> tuple[Tls12RecordSealer, Tls12RecordOpener]:
    """The key block (RFC 5246 §6.3) as our sealer and the peer's opener."""
    keys = master.key_block()
    suite = master.suite
    write_key, write_iv = keys.write(client=client)
    read_key, read_iv = keys.read(client=client)
    return Tls12RecordSealer(suite, write_key, write_iv), Tls12RecordOpener(suite, read_key, read_iv)


def check_renegotiation_info(renegotiated_connection: bytes | None, who: str) -> None:
    """RFC 5746 §3.4 / §3.6 on an initial handshake: renegotiation_info must be there (we refuse peers
    without secure renegotiation, as OpenSSL 3 does) and empty."""
    if renegotiated_connection is None:
        raise HandshakeFailure(
            f"{who} does not support secure renegotiation (RFC 5746: no renegotiation_info); refused"
        )
    if renegotiated_connection:
        raise HandshakeFailure(f"{who} sent a non-empty renegotiation_info on an initial handshake")


def message_name(msg_type: HandshakeType) -> str:
    return "".join(p.capitalize() for p in msg_type.name.split("_"))


__all__ = [
    "DEFAULT_SESSION_LIFETIME",
    "MAX_TICKET_LIFETIME_HINT",
    "MESSAGE_SIZE_LIMITS12",
    "SERVER_HELLO12_EXTENSIONS",
    "ClientState12",
    "HandshakeLog",
    "Tls12State",
    "accepting12",
    "check_renegotiation_info",
    "record_protection",
]
