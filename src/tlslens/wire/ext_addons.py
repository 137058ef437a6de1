"""Extensions defined outside RFC 8446 that TLS 1.3 and TLS 1.2 peers commonly send.

server_name (RFC 6066 §3), status_request (RFC 6066 §8, RFC 8446 §4.4.2.1), ALPN (RFC 7301),
signed_certificate_timestamp (RFC 6962 §3.3), padding (RFC 7685), record_size_limit (RFC 8449),
compress_certificate (RFC 8879), and the TLS 1.2 ones a scanner meets: ec_point_formats (RFC 8422),
renegotiation_info (RFC 5746), extended_master_secret (RFC 7627), encrypt_then_mac (RFC 7366),
session_ticket (RFC 5077), heartbeat (RFC 6520).

Where the server's form of an extension is empty, it has its own class with an ``Empty`` suffix
(``ServerNameEmpty``), so that every class round-trips in the contexts it is decoded in.
Conventions as in ``wire.ext_core``: ``decode_body`` enforces lower bounds, ``encode_body`` does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from tlslens.errors import DecodeError
from tlslens.wire.enums import (
    CertificateCompressionAlgorithm,
    CertificateStatusType,
    ECPointFormat,
    ExtensionType,
    HeartbeatMode,
    NameType,
)
from tlslens.wire.reader import Reader, Writer

# --- server_name: RFC 6066 §3 -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OtherServerName:
    """A ServerName entry whose name_type is not host_name, kept as raw bytes.

    RFC 6066 gives no format for other types; like deployed stacks we read each entry as
    ``NameType name_type; opaque name<0..2^16-1>``.
    """

    name_type: NameType
    name: bytes


@dataclass(frozen=True, slots=True)
class ServerName:
    """``ServerName server_name_list<1..2^16-1>`` in a ClientHello.

    host_name entries (``opaque HostName<1..2^16-1>``) are ASCII ``str`` (A-labels, as on the wire);
    entries of other name types are ``OtherServerName`` and round-trip unchanged.
    """

    ext_type: ClassVar[ExtensionType] = ExtensionType.SERVER_NAME
    server_name_list: tuple[str | OtherServerName, ...]

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.server_name_list if isinstance(n, str))

    def encode_body(self, w: Writer) -> None:
        with w.length_prefixed(2):
            for entry in self.server_name_list:
                if isinstance(entry, str):
                    w.u8(NameType.HOST_NAME)
                    w.opaque(2, entry.encode("ascii"))
                else:
                    w.u8(entry.name_type)
                    w.opaque(2, entry.name)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        vec = r.sub(2)
        if not vec.remaining():
            raise DecodeError("empty server_name_list")
        names: list[str | OtherServerName] = []
        while vec.remaining():
            name_type = vec.u8()
            name = vec.opaque(2)
            if name_type != NameType.HOST_NAME:
                names.append(OtherServerName(NameType(name_type), name))
            elif not name:
                raise DecodeError("empty host_name in server_name")
            elif not name.isascii():
                raise DecodeError("host_name in server_name is not ASCII")
            else:
                names.append(name.decode("ascii"))
        return cls(tuple(names))


@dataclass(frozen=True, slots=True)
class ServerNameEmpty:
    """Empty server_name from a server: it used the name the client sent (RFC 6066 §3)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SERVER_NAME

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


# --- status_request: RFC 6066 §8, RFC 8446 §4.4.2.1 ------------------------------------------------


@dataclass(frozen=True, slots=True)
class OCSPStatusRequest:
    """``struct { ResponderID responder_id_list<0..2^16-1>; Extensions request_extensions; }``

    with ``opaque ResponderID<1..2^16-1>`` and ``opaque Extensions<0..2^16-1>`` (DER, kept raw).
    """

    responder_id_list: tuple[bytes, ...] = ()
    request_extensions: bytes = b""

    def encode(self, w: Writer) -> None:
        with w.length_prefixed(2):
            for responder_id in self.responder_id_list:
                w.opaque(2, responder_id)
        w.opaque(2, self.request_extensions)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        vec = r.sub(2)
        ids = []
        while vec.remaining():
            ids.append(vec.opaque(2, min_len=1, what="ResponderID"))
        return cls(tuple(ids), r.opaque(2))


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """CertificateStatusRequest in a ClientHello: OCSP requests are parsed, other types kept raw."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.STATUS_REQUEST
    status_type: CertificateStatusType
    request: OCSPStatusRequest | bytes

    def encode_body(self, w: Writer) -> None:
        w.u8(self.status_type)
        if isinstance(self.request, OCSPStatusRequest):
            self.request.encode(w)
        else:
            w.bytes(self.request)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        status_type = CertificateStatusType(r.u8())
        if status_type == CertificateStatusType.OCSP:
            return cls(status_type, OCSPStatusRequest.decode(r))
        return cls(status_type, r.rest())


@dataclass(frozen=True, slots=True)
class StatusRequestEmpty:
    """Empty status_request: in a CertificateRequest (RFC 8446 §4.4.2.1) or a TLS 1.2 ServerHello."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.STATUS_REQUEST

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """status_request in a CertificateEntry: ``CertificateStatusType status_type; OCSPResponse response``

    with ``opaque OCSPResponse<1..2^24-1>`` (DER, kept raw). For other status types ``response`` is
    the raw rest of the body.
    """

    ext_type: ClassVar[ExtensionType] = ExtensionType.STATUS_REQUEST
    status_type: CertificateStatusType
    response: bytes

    def encode_body(self, w: Writer) -> None:
        w.u8(self.status_type)
        if self.status_type == CertificateStatusType.OCSP:
            w.opaque(3, self.response)
        else:
            w.bytes(self.response)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        status_type = CertificateStatusType(r.u8())
        if status_type == CertificateStatusType.OCSP:
            return cls(status_type, r.opaque(3, min_len=1, what="OCSPResponse"))
        return cls(status_type, r.rest())


# --- application_layer_protocol_negotiation: RFC 7301 §3.1 -------------------------------------------


@dataclass(frozen=True, slots=True)
class ALPN:
    """``ProtocolName protocol_name_list<2..2^16-1>`` with ``opaque ProtocolName<1..2^8-1>``.

    The client offers a list; the server's answer is the same struct holding exactly one name.
    """

    ext_type: ClassVar[ExtensionType] = ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION
    protocol_name_list: tuple[bytes, ...]

    def encode_body(self, w: Writer) -> None:
        with w.length_prefixed(2):
            for name in self.protocol_name_list:
                w.opaque(1, name)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        vec = r.sub(2)
        if not vec.remaining():
            raise DecodeError("empty ALPN protocol_name_list")
        names = []
        while vec.remaining():
            names.append(vec.opaque(1, min_len=1, what="ProtocolName"))
        return cls(tuple(names))


# --- signed_certificate_timestamp: RFC 6962 §3.3 ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedCertificateTimestampEmpty:
    """Empty signed_certificate_timestamp: the client (or a CertificateRequest) asks for SCTs."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class SignedCertificateTimestampList:
    """``SerializedSCT sct_list<1..2^16-1>`` with ``opaque SerializedSCT<1..2^16-1>`` (SCTs kept raw).

    Sent in a CertificateEntry (TLS 1.3) or a ServerHello (TLS 1.2).
    """

    ext_type: ClassVar[ExtensionType] = ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP
    sct_list: tuple[bytes, ...]

    def encode_body(self, w: Writer) -> None:
        with w.length_prefixed(2):
            for sct in self.sct_list:
                w.opaque(2, sct)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        vec = r.sub(2)
        if not vec.remaining():
            raise DecodeError("empty sct_list")
        scts = []
        while vec.remaining():
            scts.append(vec.opaque(2, min_len=1, what="SerializedSCT"))
        return cls(tuple(scts))


# --- padding, record_size_limit, compress_certificate: RFC 7685, RFC 8449, RFC 8879 ---------------


@dataclass(frozen=True, slots=True)
class Padding:
    """padding: ``length`` zero bytes (RFC 7685 §3: the body MUST be all zeros)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.PADDING
    length: int

    def encode_body(self, w: Writer) -> None:
        w.bytes(bytes(self.length))

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        body = r.rest()
        if body.count(0) != len(body):
            raise DecodeError("padding extension is not all zeros")
        return cls(len(body))


@dataclass(frozen=True, slots=True)
class RecordSizeLimit:
    """``uint16 RecordSizeLimit`` (RFC 8449 §4). Values below 64 are refused by the handshake."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.RECORD_SIZE_LIMIT
    record_size_limit: int

    def encode_body(self, w: Writer) -> None:
        w.u16(self.record_size_limit)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.u16())


@dataclass(frozen=True, slots=True)
class CompressCertificate:
    """``CertificateCompressionAlgorithm algorithms<2..2^8-2>`` (RFC 8879 §3)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.COMPRESS_CERTIFICATE
    algorithms: tuple[CertificateCompressionAlgorithm, ...]

    def encode_body(self, w: Writer) -> None:
        w.uint_list(1, 2, self.algorithms)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        values = r.uint_list(1, 2, min_len=2, what="compress_certificate algorithms")
        return cls(CertificateCompressionAlgorithm.tuple_of(values))


# --- TLS 1.2 extensions: RFC 8422 §5.1.2, RFC 5746 §3.2, RFC 7627 §5.1, RFC 7366, RFC 5077 §3.2, ---
# --- RFC 6520 §2 ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ECPointFormats:
    """``ECPointFormat ec_point_format_list<1..2^8-1>`` (RFC 8422 §5.1.2)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.EC_POINT_FORMATS
    ec_point_format_list: tuple[ECPointFormat, ...]

    def encode_body(self, w: Writer) -> None:
        w.uint_list(1, 1, self.ec_point_format_list)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        values = r.uint_list(1, 1, min_len=1, what="ec_point_format_list")
        return cls(ECPointFormat.tuple_of(values))


@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    """``opaque renegotiated_connection<0..255>`` (RFC 5746 §3.2); empty on an initial handshake."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.RENEGOTIATION_INFO
    renegotiated_connection: bytes = b""

    def encode_body(self, w: Writer) -> None:
        w.opaque(1, self.renegotiated_connection)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.opaque(1))


@dataclass(frozen=True, slots=True)
class ExtendedMasterSecret:
    """Empty extended_master_secret (RFC 7627 §5.1)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.EXTENDED_MASTER_SECRET

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class EncryptThenMac:
    """Empty encrypt_then_mac (RFC 7366 §2), for TLS 1.2 CBC suites."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.ENCRYPT_THEN_MAC

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class SessionTicket:
    """session_ticket (RFC 5077 §3.2): the opaque ticket is the whole body; empty asks for one."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SESSION_TICKET
    ticket: bytes = b""

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.ticket)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.rest())


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """``HeartbeatMode mode;`` (RFC 6520 §2): whether the sender lets its peer send HeartbeatRequests."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.HEARTBEAT
    mode: HeartbeatMode

    def encode_body(self, w: Writer) -> None:
        w.u8(self.mode)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(HeartbeatMode(r.u8()))
