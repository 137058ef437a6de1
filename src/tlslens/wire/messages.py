"""TLS 1.3 handshake messages (RFC 8446 §4) and the handshake framing: ``decode_handshake`` and
``encode_handshake``, for TLS 1.3 and (with ``version=``) the TLS 1.2 forms of ``wire.messages12``.

Every message is a frozen dataclass with ``msg_type: ClassVar[HandshakeType]``, ``encode_body(w)``
and ``decode_body(r, *, strict=True)``; ``strict`` is passed on to ``decode_extensions`` (see there).
Messages that carry extensions keep them as an ordered tuple (byte-exact round trip) and offer
``msg.extension(SomeExtensionClass)``. ClientHello and ServerHello live in ``wire.hello`` and are
re-exported here.

Peer bytes raise only ``RemoteProtocolError`` subclasses: ``DecodeError`` for malformed input,
``UnexpectedMessage`` for an unknown handshake type, ``IllegalParameter`` for the few value rules the
codec checks (duplicate extensions, pre_shared_key not last, KeyUpdate request value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

from tlslens.errors import DecodeError, IllegalParameter, UnexpectedMessage
from tlslens.wire.common_messages import CertificateVerify, Finished
from tlslens.wire.enums import (
    CertificateCompressionAlgorithm,
    HandshakeType,
    KeyUpdateRequest,
    ProtocolVersion,
)
from tlslens.wire.extensions import Extension, ExtT, decode_extensions, encode_extensions, find_extension
from tlslens.wire.hello import HRR_RANDOM, ClientHello, ServerHello
from tlslens.wire.messages12 import Tls12Message, decode_handshake12
from tlslens.wire.reader import Reader, Writer
from tlslens.wire.suite_info import KeyExchange

_TLS1_3 = ProtocolVersion.TLS1_3.value

__all__ = [
    "HRR_RANDOM",
    "Certificate",
    "CertificateEntry",
    "CertificateRequest",
    "CertificateVerify",
    "ClientHello",
    "CompressedCertificate",
    "EncryptedExtensions",
    "EndOfEarlyData",
    "Finished",
    "HandshakeMessage",
    "KeyUpdate",
    "MessageHash",
    "NewSessionTicket",
    "ServerHello",
    "Tls12Message",
    "decode_handshake",
    "encode_handshake",
]


@dataclass(frozen=True, slots=True)
class EncryptedExtensions:
    """``struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;`` (RFC 8446 §4.3.1)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.ENCRYPTED_EXTENSIONS
    extensions: tuple[Extension, ...] = ()

    def extension(self, cls: type[ExtT]) -> ExtT | None:
        return find_extension(self.extensions, cls)

    def encode_body(self, w: Writer) -> None:
        encode_extensions(w, self.extensions)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        return cls(decode_extensions(r, HandshakeType.ENCRYPTED_EXTENSIONS, strict=strict))


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """``opaque certificate_request_context<0..2^8-1>; Extension extensions<2..2^16-1>;`` (§4.3.2)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST
    certificate_request_context: bytes
    extensions: tuple[Extension, ...]

    def extension(self, cls: type[ExtT]) -> ExtT | None:
        return find_extension(self.extensions, cls)

    def encode_body(self, w: Writer) -> None:
        w.opaque(1, self.certificate_request_context)
        encode_extensions(w, self.extensions)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        context = r.opaque(1)
        extensions = decode_extensions(r, HandshakeType.CERTIFICATE_REQUEST, strict=strict)
        if not extensions:
            raise DecodeError("CertificateRequest without extensions")
        return cls(context, extensions)


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """``opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>;`` (RFC 8446 §4.4.2).

    ``cert_data`` is the DER certificate (or a RawPublicKey SubjectPublicKeyInfo, RFC 7250).
    """

    cert_data: bytes
    extensions: tuple[Extension, ...] = ()

    def extension(self, cls: type[ExtT]) -> ExtT | None:
        return find_extension(self.extensions, cls)

    def encode(self, w: Writer) -> None:
        w.opaque(3, self.cert_data)
        encode_extensions(w, self.extensions)

    @classmethod
    def decode(cls, r: Reader, *, strict: bool = True) -> Self:
        cert_data = r.opaque(3, min_len=1, what="cert_data")
        return cls(cert_data, decode_extensions(r, HandshakeType.CERTIFICATE, strict=strict))


@dataclass(frozen=True, slots=True)
class Certificate:
    """``opaque certificate_request_context<0..2^8-1>; CertificateEntry certificate_list<0..2^24-1>;``"""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE
    certificate_request_context: bytes
    certificate_list: tuple[CertificateEntry, ...]

    def encode_body(self, w: Writer) -> None:
        w.opaque(1, self.certificate_request_context)
        with w.length_prefixed(3):
            for entry in self.certificate_list:
                entry.encode(w)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        context = r.opaque(1)
        vec = r.sub(3)
        entries = []
        while vec.remaining():
            entries.append(CertificateEntry.decode(vec, strict=strict))
        return cls(context, tuple(entries))


@dataclass(frozen=True, slots=True)
class CompressedCertificate:
    """RFC 8879 §4::

        CertificateCompressionAlgorithm algorithm; uint24 uncompressed_length;
        opaque compressed_certificate_message<1..2^24-1>;

    in place of a Certificate: the body of that Certificate message, compressed. The codec does not
    inflate it (the handshake does, within its limits, having checked ``uncompressed_length``)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.COMPRESSED_CERTIFICATE
    algorithm: CertificateCompressionAlgorithm
    uncompressed_length: int
    compressed_certificate_message: bytes

    def encode_body(self, w: Writer) -> None:
        w.u16(self.algorithm)
        w.uint(3, self.uncompressed_length)
        w.opaque(3, self.compressed_certificate_message)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        algorithm = CertificateCompressionAlgorithm(r.u16())
        length = r.uint(3)
        data = r.opaque(3, min_len=1, what="compressed_certificate_message")
        return cls(algorithm, length, data)


@dataclass(frozen=True, slots=True)
class NewSessionTicket:
    """RFC 8446 §4.6.1::

        uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>;
        opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>;

    (The TLS 1.2 NewSessionTicket of RFC 5077 is ``wire.messages12.NewSessionTicket12``.)
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes = b""
    extensions: tuple[Extension, ...] = ()

    def extension(self, cls: type[ExtT]) -> ExtT | None:
        return find_extension(self.extensions, cls)

    def encode_body(self, w: Writer) -> None:
        w.uint(4, self.ticket_lifetime)
        w.uint(4, self.ticket_age_add)
        w.opaque(1, self.ticket_nonce)
        w.opaque(2, self.ticket)
        encode_extensions(w, self.extensions)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        lifetime = r.uint(4)
        age_add = r.uint(4)
        nonce = r.opaque(1)
        ticket = r.opaque(2, min_len=1, what="ticket")
        extensions = decode_extensions(r, HandshakeType.NEW_SESSION_TICKET, strict=strict)
        return cls(lifetime, age_add, nonce, ticket, extensions)


@dataclass(frozen=True, slots=True)
class EndOfEarlyData:
    """``struct {} EndOfEarlyData;`` (RFC 8446 §4.5)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.END_OF_EARLY_DATA

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    """``KeyUpdateRequest request_update;`` (RFC 8446 §4.6.3). Any value other than
    update_not_requested (0) / update_requested (1) is refused with illegal_parameter, as §4.6.3 says."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.KEY_UPDATE
    request_update: KeyUpdateRequest

    def encode_body(self, w: Writer) -> None:
        w.u8(self.request_update)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        value = r.u8()
        if value > KeyUpdateRequest.UPDATE_REQUESTED:
            raise IllegalParameter(f"KeyUpdate request_update {value} is neither 0 nor 1")
        return cls(KeyUpdateRequest(value))


@dataclass(frozen=True, slots=True)
class MessageHash:
    """The synthetic message_hash (type 254) that replaces ClientHello1 in the transcript after a
    HelloRetryRequest: the body is Hash(ClientHello1) (RFC 8446 §4.4.1). Never sent on the wire."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.MESSAGE_HASH
    hash: bytes

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.hash)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        return cls(r.rest())


HandshakeMessage = (
    ClientHello
    | ServerHello
    | EncryptedExtensions
    | CertificateRequest
    | Certificate
    | CompressedCertificate
    | CertificateVerify
    | Finished
    | NewSessionTicket
    | EndOfEarlyData
    | KeyUpdate
    | MessageHash
    | Tls12Message
)
"""Any decoded handshake message, of either protocol."""


class _BodyDecoder(Protocol):
    def __call__(self, r: Reader, *, strict: bool = ...) -> HandshakeMessage: ...


_DECODERS: dict[int, _BodyDecoder] = {
    HandshakeType.CLIENT_HELLO: ClientHello.decode_body,
    HandshakeType.SERVER_HELLO: ServerHello.decode_body,
    HandshakeType.NEW_SESSION_TICKET: NewSessionTicket.decode_body,
    HandshakeType.END_OF_EARLY_DATA: EndOfEarlyData.decode_body,
    HandshakeType.ENCRYPTED_EXTENSIONS: EncryptedExtensions.decode_body,
    HandshakeType.CERTIFICATE: Certificate.decode_body,
    HandshakeType.COMPRESSED_CERTIFICATE: CompressedCertificate.decode_body,
    HandshakeType.CERTIFICATE_REQUEST: CertificateRequest.decode_body,
    HandshakeType.CERTIFICATE_VERIFY: CertificateVerify.decode_body,
    HandshakeType.FINISHED: Finished.decode_body,
    HandshakeType.KEY_UPDATE: KeyUpdate.decode_body,
    HandshakeType.MESSAGE_HASH: MessageHash.decode_body,
}


def decode_handshake(
    raw: bytes | bytearray | memoryview,
    *,
    strict: bool = True,
    version: int | None = None,
    key_exchange: KeyExchange | None = None,
) -> HandshakeMessage:
    """Decode one whole handshake message: ``HandshakeType msg_type; uint24 length; body`` (§4).

    ``raw`` must hold exactly one message and the body must be consumed exactly (``DecodeError``);
    a type we do not decode raises ``UnexpectedMessage``. ``strict`` as in ``decode_extensions``.

    ``version`` is the negotiated protocol version: None (before it is known) or TLS 1.3 decode the TLS
    1.3 forms; SSL 3.0 to TLS 1.2 decode the forms of that version (``decode_handshake12``), for which
    ``key_exchange`` names the suite's key exchange.
    """
    if version is not None and version < _TLS1_3:
        return decode_handshake12(raw, version=version, key_exchange=key_exchange, strict=strict)
    r = Reader(raw)
    msg_type = r.u8()
    decoder = _DECODERS.get(msg_type)
    if decoder is None:
        raise UnexpectedMessage(f"unknown handshake message type {HandshakeType(msg_type).name}")
    body = r.sub(3)
    r.expect_end("handshake message")
    msg = decoder(body, strict=strict)
    if body.remaining():
        body.expect_end(HandshakeType(msg_type).name)
    return msg


def encode_handshake(msg: HandshakeMessage) -> bytes:
    """``msg_type || uint24 length || body``: the bytes that go on the wire and into the transcript."""
    w = Writer()
    w.u8(msg.msg_type)
    at = w.reserve(3)
    msg.encode_body(w)
    w.patch_length(at, 3)
    return w.getvalue()
