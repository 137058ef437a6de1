"""TLS 1.2 handshake messages in their TLS 1.2 form (RFC 5246 §7.4, RFC 8422 §5, RFC 5077 §3.3,
RFC 6066 §8), for TLS 1.0 to 1.2 peers, and the ChangeCipherSpec record body (RFC 5246 §7.1).

ClientHello, ServerHello, CertificateVerify and Finished have the same body in every version and live in
``wire.hello`` / ``wire.messages``. The ones here differ from their TLS 1.3 namesakes (``Certificate12``,
``CertificateRequest12``, ``NewSessionTicket12``) or exist only before TLS 1.3. ``wire.messages.
decode_handshake(raw, version=TLS1_2, key_exchange=...)`` picks these forms; the key exchange kind
(``wire.suite_info.KeyExchange``, from the negotiated suite) picks the ServerKeyExchange and
ClientKeyExchange bodies.

ServerKeyExchange is decoded for ECDHE (RFC 8422 §5.4, named curves only) and DHE (RFC 5246 §7.4.3),
signed or, for the anonymous suites, unsigned: the signature is read when bytes follow the params.
Before TLS 1.2 a signature has no algorithm field (``DigitallySigned.algorithm is None``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self

from tlslens.errors import DecodeError, IllegalParameter, LocalProtocolError, UnexpectedMessage
from tlslens.wire.common_messages import CertificateVerify, Finished
from tlslens.wire.enums import (
    CertificateStatusType,
    ClientCertificateType,
    ECCurveType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import CertificateStatus
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.reader import Reader, Writer
from tlslens.wire.suite_info import KeyExchange

__all__ = [
    "Certificate12",
    "CertificateRequest12",
    "CertificateStatusMessage",
    "ChangeCipherSpec",
    "ClientKeyExchangeDHE",
    "ClientKeyExchangeECDHE",
    "ClientKeyExchangeRSA",
    "DigitallySigned",
    "HelloRequest",
    "NewSessionTicket12",
    "ServerDHParams",
    "ServerECDHParams",
    "ServerHelloDone",
    "ServerKeyExchange",
    "Tls12Message",
    "decode_handshake12",
]


@dataclass(frozen=True, slots=True)
class HelloRequest:
    """``struct { } HelloRequest;`` (RFC 5246 §7.4.1.1): the server asks for a renegotiation."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.HELLO_REQUEST

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    """``struct { } ServerHelloDone;`` (RFC 5246 §7.4.5)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO_DONE

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class Certificate12:
    """``ASN.1Cert certificate_list<0..2^24-1>`` with ``opaque ASN.1Cert<1..2^24-1>`` (RFC 5246 §7.4.2):
    no request context and no per-entry extensions. DER certificates, leaf first."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE
    certificate_list: tuple[bytes, ...]

    def encode_body(self, w: Writer) -> None:
        with w.length_prefixed(3):
            for cert in self.certificate_list:
                w.opaque(3, cert)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        vec = r.sub(3)
        certs = []
        while vec.remaining():
            certs.append(vec.opaque(3, min_len=1, what="ASN.1Cert"))
        return cls(tuple(certs))


@dataclass(frozen=True, slots=True)
class CertificateRequest12:
    """RFC 5246 §7.4.4::

    ClientCertificateType certificate_types<1..2^8-1>;
    SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;   (TLS 1.2 only: else None)
    DistinguishedName certificate_authorities<0..2^16-1>;   with opaque DistinguishedName<1..2^16-1>
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST
    certificate_types: tuple[ClientCertificateType, ...]
    supported_signature_algorithms: tuple[SignatureScheme, ...] | None
    certificate_authorities: tuple[bytes, ...] = ()

    def encode_body(self, w: Writer) -> None:
        w.uint_list(1, 1, self.certificate_types)
        if self.supported_signature_algorithms is not None:
            w.uint_list(2, 2, self.supported_signature_algorithms)
        with w.length_prefixed(2):
            for name in self.certificate_authorities:
                w.opaque(2, name)

    @classmethod
    def decode_body(cls, r: Reader, *, tls12: bool = True) -> Self:
        types = ClientCertificateType.tuple_of(r.uint_list(1, 1, min_len=1, what="certificate_types"))
        schemes = None
        if tls12:
            values = r.uint_list(2, 2, min_len=2, what="supported_signature_algorithms")
            schemes = SignatureScheme.tuple_of(values)
        vec = r.sub(2)
        names = []
        while vec.remaining():
            names.append(vec.opaque(2, min_len=1, what="DistinguishedName"))
        return cls(types, schemes, tuple(names))


@dataclass(frozen=True, slots=True)
class NewSessionTicket12:
    """``uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>;`` (RFC 5077 §3.3). An empty ticket means
    the server will not issue one after all (§3.3)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime_hint: int
    ticket: bytes

    def encode_body(self, w: Writer) -> None:
        w.uint(4, self.ticket_lifetime_hint)
        w.opaque(2, self.ticket)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.uint(4), r.opaque(2))


@dataclass(frozen=True, slots=True)
class CertificateStatusMessage:
    """TLS 1.2 OCSP stapling (RFC 6066 §8): the body TLS 1.3 carries in a CertificateEntry's
    status_request (``CertificateStatus``, whose codec this message uses): ``CertificateStatusType
    status_type; OCSPResponse response`` with ``opaque OCSPResponse<1..2^24-1>`` (DER, kept raw); for
    other status types the raw rest."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_STATUS
    status_type: CertificateStatusType
    response: bytes

    def encode_body(self, w: Writer) -> None:
        CertificateStatus(self.status_type, self.response).encode_body(w)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        body = CertificateStatus.decode_body(r)
        return cls(body.status_type, body.response)


# --- ServerKeyExchange: RFC 5246 §7.4.3, RFC 8422 §5.4 ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerECDHParams:
    """``ECParameters curve_params; ECPoint public;`` with ``curve_type = named_curve`` (RFC 8422 §5.4;
    the explicit curve types are deprecated there and refused here) and ``opaque point<1..2^8-1>``."""

    named_curve: NamedGroup
    public: bytes

    def encode(self, w: Writer) -> None:
        w.u8(ECCurveType.NAMED_CURVE)
        w.u16(self.named_curve)
        w.opaque(1, self.public)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        curve_type = r.u8()
        if curve_type != ECCurveType.NAMED_CURVE:
            name = ECCurveType(curve_type).name
            raise IllegalParameter(f"ServerKeyExchange curve_type {name}: only named curves are allowed")
        return cls(NamedGroup(r.u16()), r.opaque(1, min_len=1, what="ECPoint"))


@dataclass(frozen=True, slots=True)
class ServerDHParams:
    """``opaque dh_p<1..2^16-1>; opaque dh_g<1..2^16-1>; opaque dh_Ys<1..2^16-1>;`` (RFC 5246 §7.4.3),
    big-endian integers as sent (leading zeros kept). ``p_bits`` is the size of the prime."""

    dh_p: bytes
    dh_g: bytes
    dh_ys: bytes

    @property
    def p_bits(self) -> int:
        return int.from_bytes(self.dh_p, "big").bit_length()

    def encode(self, w: Writer) -> None:
        w.opaque(2, self.dh_p)
        w.opaque(2, self.dh_g)
        w.opaque(2, self.dh_ys)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        p = r.opaque(2, min_len=1, what="dh_p")
        g = r.opaque(2, min_len=1, what="dh_g")
        return cls(p, g, r.opaque(2, min_len=1, what="dh_Ys"))


@dataclass(frozen=True, slots=True)
class DigitallySigned:
    """``digitally-signed`` (RFC 5246 §4.7): ``SignatureAndHashAlgorithm algorithm; opaque
    signature<0..2^16-1>``. Before TLS 1.2 there is no algorithm field: ``algorithm is None``."""

    algorithm: SignatureScheme | None
    signature: bytes

    def encode(self, w: Writer) -> None:
        if self.algorithm is not None:
            w.u16(self.algorithm)
        w.opaque(2, self.signature)

    @classmethod
    def decode(cls, r: Reader, *, tls12: bool = True) -> Self:
        algorithm = SignatureScheme(r.u16()) if tls12 else None
        return cls(algorithm, r.opaque(2))


@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """``params`` and their signature (``None`` for the anonymous suites, which send none).

    The signature covers ``client_random + server_random + params`` (RFC 5246 §7.4.3): ``params_bytes``
    re-encodes the params exactly as received (every field is kept as sent).
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_KEY_EXCHANGE
    params: ServerECDHParams | ServerDHParams
    signed: DigitallySigned | None

    @property
    def params_bytes(self) -> bytes:
        w = Writer()
        self.params.encode(w)
        return w.getvalue()

    def encode_body(self, w: Writer) -> None:
        self.params.encode(w)
        if self.signed is not None:
            self.signed.encode(w)

    @classmethod
    def decode_body(cls, r: Reader, *, ecdhe: bool, tls12: bool = True) -> Self:
        params: ServerECDHParams | ServerDHParams = (
            ServerECDHParams.decode(r) if ecdhe else ServerDHParams.decode(r)
        )
        signed = DigitallySigned.decode(r, tls12=tls12) if r.remaining() else None
        return cls(params, signed)


# --- ClientKeyExchange: RFC 5246 §7.4.7, RFC 8422 §5.7 ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientKeyExchangeECDHE:
    """``ClientECDiffieHellmanPublic``: ``opaque point<1..2^8-1>`` (RFC 8422 §5.7, explicit form)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_KEY_EXCHANGE
    public: bytes

    def encode_body(self, w: Writer) -> None:
        w.opaque(1, self.public)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.opaque(1, min_len=1, what="ECPoint"))


@dataclass(frozen=True, slots=True)
class ClientKeyExchangeDHE:
    """``ClientDiffieHellmanPublic``: ``opaque dh_Yc<1..2^16-1>`` (RFC 5246 §7.4.7.2, explicit form)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_KEY_EXCHANGE
    dh_yc: bytes

    def encode_body(self, w: Writer) -> None:
        w.opaque(2, self.dh_yc)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.opaque(2, min_len=1, what="dh_Yc"))


@dataclass(frozen=True, slots=True)
class ClientKeyExchangeRSA:
    """``EncryptedPreMasterSecret``: ``public-key-encrypted PreMasterSecret``, i.e. ``opaque<0..2^16-1>``
    (RFC 5246 §7.4.7.1); SSL 3.0 sends the ciphertext without the length (``ssl3=True``)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_KEY_EXCHANGE
    encrypted_pre_master_secret: bytes
    ssl3: bool = False

    def encode_body(self, w: Writer) -> None:
        if self.ssl3:
            w.bytes(self.encrypted_pre_master_secret)
        else:
            w.opaque(2, self.encrypted_pre_master_secret)

    @classmethod
    def decode_body(cls, r: Reader, *, ssl3: bool = False) -> Self:
        return cls(r.rest(), True) if ssl3 else cls(r.opaque(2))


# --- ChangeCipherSpec: a record of its own, not a handshake message ----------------------------------


@dataclass(frozen=True, slots=True)
class ChangeCipherSpec:
    """``struct { enum { change_cipher_spec(1), (255) } type; }`` (RFC 5246 §7.1): the whole body of a
    change_cipher_spec record. Anything but the single byte 1 is a ``DecodeError``."""

    BODY: ClassVar[bytes] = b"\x01"

    def encode(self) -> bytes:
        return self.BODY

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        if bytes(data) != cls.BODY:
            raise DecodeError(f"ChangeCipherSpec body is {bytes(data)[:8].hex() or 'empty'}, not 01")
        return cls()


Tls12Message = (
    ClientHello
    | ServerHello
    | HelloRequest
    | Certificate12
    | CertificateStatusMessage
    | ServerKeyExchange
    | CertificateRequest12
    | ServerHelloDone
    | CertificateVerify
    | ClientKeyExchangeECDHE
    | ClientKeyExchangeDHE
    | ClientKeyExchangeRSA
    | NewSessionTicket12
    | Finished
)
"""What ``decode_handshake12`` (and ``decode_handshake(raw, version=TLS1_2, ...)``) returns."""

_TLS1_2 = ProtocolVersion.TLS1_2.value
_SSL3 = ProtocolVersion.SSL3.value
_T = HandshakeType
_FIXED_FORM: dict[int, Callable[[Reader], Tls12Message]] = {
    _T.HELLO_REQUEST: HelloRequest.decode_body,
    _T.CERTIFICATE: Certificate12.decode_body,
    _T.CERTIFICATE_STATUS: CertificateStatusMessage.decode_body,
    _T.SERVER_HELLO_DONE: ServerHelloDone.decode_body,
    _T.CERTIFICATE_VERIFY: CertificateVerify.decode_body,
    _T.NEW_SESSION_TICKET: NewSessionTicket12.decode_body,
    _T.FINISHED: Finished.decode_body,
}


def decode_handshake12(
    raw: bytes | bytearray | memoryview,
    *,
    version: int = _TLS1_2,
    key_exchange: KeyExchange | None = None,
    strict: bool = True,
) -> Tls12Message:
    """Decode one whole handshake message in its SSL 3.0 .. TLS 1.2 form (``wire.messages12``).

    ``key_exchange`` (the negotiated suite's, ``suite_info(suite).key_exchange``) picks the
    ServerKeyExchange form (ECDHE or DHE; other kinds send none or are not decoded: ``UnexpectedMessage``)
    and the ClientKeyExchange form (EC point, DH public value, or RSA-encrypted premaster secret); it
    is a caller error (``LocalProtocolError``) to decode either without it. Messages that only TLS 1.3
    has (EncryptedExtensions, KeyUpdate, ...) raise ``UnexpectedMessage``. Before TLS 1.2 the
    signatures and CertificateRequest have no algorithm fields; ``version`` selects that.
    """
    r = Reader(raw)
    msg_type = r.u8()
    body = r.sub(3)
    r.expect_end("handshake message")
    msg = _decode_body12(msg_type, body, version, key_exchange, strict)
    body.expect_end(HandshakeType(msg_type).name)
    return msg


def _decode_body12(
    msg_type: int, r: Reader, version: int, key_exchange: KeyExchange | None, strict: bool
) -> Tls12Message:
    fixed = _FIXED_FORM.get(msg_type)
    if fixed is not None:
        return fixed(r)
    if msg_type == _T.CLIENT_HELLO:
        return ClientHello.decode_body(r, strict=strict)
    if msg_type == _T.SERVER_HELLO:
        return ServerHello.decode_body(r, strict=strict)
    if msg_type == _T.CERTIFICATE_REQUEST:
        return CertificateRequest12.decode_body(r, tls12=version >= _TLS1_2)
    name = HandshakeType(msg_type).name
    if msg_type not in (_T.SERVER_KEY_EXCHANGE, _T.CLIENT_KEY_EXCHANGE):
        raise UnexpectedMessage(f"{name} is not a TLS 1.2 handshake message")
    if key_exchange is None:
        raise LocalProtocolError(f"decoding a {name} needs key_exchange= (the negotiated suite's)")
    if msg_type == _T.SERVER_KEY_EXCHANGE:
        if key_exchange not in (KeyExchange.ECDHE, KeyExchange.DHE):
            raise UnexpectedMessage(f"ServerKeyExchange in a {key_exchange} suite: only (EC)DHE send one")
        ecdhe = key_exchange == KeyExchange.ECDHE
        return ServerKeyExchange.decode_body(r, ecdhe=ecdhe, tls12=version >= _TLS1_2)
    if key_exchange in (KeyExchange.ECDHE, KeyExchange.ECDH):
        return ClientKeyExchangeECDHE.decode_body(r)
    if key_exchange in (KeyExchange.DHE, KeyExchange.DH):
        return ClientKeyExchangeDHE.decode_body(r)
    if key_exchange == KeyExchange.RSA:
        return ClientKeyExchangeRSA.decode_body(r, ssl3=version == _SSL3)
    raise UnexpectedMessage(f"ClientKeyExchange of a {key_exchange} suite is not decoded")
