"""Extension lists (RFC 8446 §4.2): the registry of forms per context, decoding and encoding.

One ServerHello context serves both protocols: the TLS 1.2 ServerHello extensions (renegotiation_info,
extended_master_secret, ec_point_formats, session_ticket, the empty server_name and status_request, ...)
and the TLS 1.3 ones (key_share, supported_versions, pre_shared_key) never share a type, so no form
depends on the version; whether an extension is allowed in a given version is the handshake's call.

The extension classes live in ``wire.ext_core`` (RFC 8446) and ``wire.ext_addons`` (other RFCs) and are
re-exported here, so ``from tlslens.wire.extensions import KeyShareClientHello`` is the usual import.

Several extensions have a different body depending on the message that carries them (key_share,
supported_versions, pre_shared_key, early_data, server_name, status_request,
signed_certificate_timestamp). ``EXTENSION_FORMS`` maps each context to the class used there;
anything not listed for a context, GREASE included, decodes as ``UnknownExtension`` and round-trips
byte for byte, so the codec never rejects what it merely does not model. Whether an extension is
*allowed* in a message is the handshake's decision, not the codec's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Self, TypeVar

from tlslens.errors import IllegalParameter, LocalProtocolError
from tlslens.wire.enums import ExtensionType, HandshakeType
from tlslens.wire.ext_addons import (
    ALPN,
    CertificateStatus,
    CompressCertificate,
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    Heartbeat,
    OCSPStatusRequest,
    OtherServerName,
    Padding,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    ServerNameEmpty,
    SessionTicket,
    SignedCertificateTimestampEmpty,
    SignedCertificateTimestampList,
    StatusRequest,
    StatusRequestEmpty,
)
from tlslens.wire.ext_core import (
    CertificateAuthorities,
    Cookie,
    EarlyData,
    EarlyDataNewSessionTicket,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskIdentity,
    PskKeyExchangeModes,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from tlslens.wire.reader import Reader, Writer

__all__ = [
    "ALPN",
    "EXTENSION_FORMS",
    "CertificateAuthorities",
    "CertificateStatus",
    "CompressCertificate",
    "Cookie",
    "ECPointFormats",
    "EarlyData",
    "EarlyDataNewSessionTicket",
    "EncryptThenMac",
    "ExtendedMasterSecret",
    "Extension",
    "Heartbeat",
    "KeyShareClientHello",
    "KeyShareEntry",
    "KeyShareHelloRetryRequest",
    "KeyShareServerHello",
    "KnownExtension",
    "OCSPStatusRequest",
    "OtherServerName",
    "Padding",
    "PostHandshakeAuth",
    "PreSharedKeyClientHello",
    "PreSharedKeyServerHello",
    "PskIdentity",
    "PskKeyExchangeModes",
    "RecordSizeLimit",
    "RenegotiationInfo",
    "ServerName",
    "ServerNameEmpty",
    "SessionTicket",
    "SignatureAlgorithms",
    "SignatureAlgorithmsCert",
    "SignedCertificateTimestampEmpty",
    "SignedCertificateTimestampList",
    "StatusRequest",
    "StatusRequestEmpty",
    "SupportedGroups",
    "SupportedVersionsClientHello",
    "SupportedVersionsServerHello",
    "UnknownExtension",
    "decode_extensions",
    "encode_extensions",
    "find_extension",
    "resolve_context",
]


@dataclass(frozen=True, slots=True)
class UnknownExtension:
    """An extension not modelled in its context (GREASE, private, or new): type and raw body."""

    ext_type: ExtensionType
    data: bytes

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.data)

    @classmethod
    def decode_body_as(cls, ext_type: int, r: Reader) -> Self:
        return cls(ExtensionType(ext_type), r.rest())


KnownExtension = (
    ServerName
    | ServerNameEmpty
    | StatusRequest
    | StatusRequestEmpty
    | CertificateStatus
    | SupportedGroups
    | ECPointFormats
    | SignatureAlgorithms
    | SignatureAlgorithmsCert
    | ALPN
    | SignedCertificateTimestampEmpty
    | SignedCertificateTimestampList
    | Padding
    | ExtendedMasterSecret
    | EncryptThenMac
    | CompressCertificate
    | RecordSizeLimit
    | SessionTicket
    | PreSharedKeyClientHello
    | PreSharedKeyServerHello
    | EarlyData
    | EarlyDataNewSessionTicket
    | SupportedVersionsClientHello
    | SupportedVersionsServerHello
    | Cookie
    | PskKeyExchangeModes
    | CertificateAuthorities
    | PostHandshakeAuth
    | KeyShareClientHello
    | KeyShareServerHello
    | KeyShareHelloRetryRequest
    | RenegotiationInfo
    | Heartbeat
)
"""An extension modelled by a class of its own (in some context)."""

Extension = KnownExtension | UnknownExtension
"""Any decoded extension."""

ExtT = TypeVar("ExtT", bound=Extension)


def _forms(*classes: type[KnownExtension]) -> Mapping[ExtensionType, type[KnownExtension]]:
    return {cls.ext_type: cls for cls in classes}


_T = HandshakeType

EXTENSION_FORMS: Mapping[HandshakeType, Mapping[ExtensionType, type[KnownExtension]]] = {
    # RFC 8446 §4.2 table, plus the TLS 1.2 extensions a ClientHello or ServerHello carries.
    _T.CLIENT_HELLO: _forms(
        ServerName,
        StatusRequest,
        SupportedGroups,
        ECPointFormats,
        SignatureAlgorithms,
        ALPN,
        SignedCertificateTimestampEmpty,
        Padding,
        EncryptThenMac,
        ExtendedMasterSecret,
        CompressCertificate,
        RecordSizeLimit,
        SessionTicket,
        PreSharedKeyClientHello,
        EarlyData,
        SupportedVersionsClientHello,
        Cookie,
        PskKeyExchangeModes,
        CertificateAuthorities,
        PostHandshakeAuth,
        SignatureAlgorithmsCert,
        KeyShareClientHello,
        RenegotiationInfo,
        Heartbeat,
    ),
    _T.SERVER_HELLO: _forms(
        KeyShareServerHello,
        PreSharedKeyServerHello,
        SupportedVersionsServerHello,
        # TLS 1.2 ServerHello:
        ServerNameEmpty,
        StatusRequestEmpty,
        ECPointFormats,
        ALPN,
        SignedCertificateTimestampList,
        EncryptThenMac,
        ExtendedMasterSecret,
        RecordSizeLimit,
        SessionTicket,
        RenegotiationInfo,
        Heartbeat,
    ),
    _T.HELLO_RETRY_REQUEST: _forms(KeyShareHelloRetryRequest, SupportedVersionsServerHello, Cookie),
    _T.ENCRYPTED_EXTENSIONS: _forms(
        ServerNameEmpty, SupportedGroups, ALPN, RecordSizeLimit, EarlyData, Heartbeat
    ),
    _T.CERTIFICATE: _forms(CertificateStatus, SignedCertificateTimestampList),
    _T.CERTIFICATE_REQUEST: _forms(
        StatusRequestEmpty,
        SignatureAlgorithms,
        SignatureAlgorithmsCert,
        CertificateAuthorities,
        SignedCertificateTimestampEmpty,
        CompressCertificate,
    ),
    _T.NEW_SESSION_TICKET: _forms(EarlyDataNewSessionTicket),
}
"""Context -> extension type -> the class its body decodes as. The Certificate context is the
extension list of a CertificateEntry; HelloRetryRequest is a ServerHello with the special random."""

_Decoder = Callable[[Reader], Extension]
_DECODERS: dict[HandshakeType, dict[int, _Decoder]] = {
    ctx: {int(t): cls.decode_body for t, cls in forms.items()} for ctx, forms in EXTENSION_FORMS.items()
}
_NO_FORMS: dict[int, _Decoder] = {}
_CLIENT_HELLO = HandshakeType.CLIENT_HELLO  # enum attribute lookups are slow in Python 3.11
_PRE_SHARED_KEY = ExtensionType.PRE_SHARED_KEY

_CONTEXT_NAMES: dict[str, HandshakeType] = {
    **{t.name.replace("_", "").lower(): t for t in HandshakeType},
    "certificateentry": HandshakeType.CERTIFICATE,
    "hrr": HandshakeType.HELLO_RETRY_REQUEST,
}


def resolve_context(context: HandshakeType | str) -> HandshakeType:
    """A ``HandshakeType``, or a message name in any spelling (``"ClientHello"``, ``"client_hello"``,
    ``"CertificateEntry"``, ``"hrr"``). An unknown name is a caller error (``LocalProtocolError``)."""
    if isinstance(context, HandshakeType):
        return context
    found = _CONTEXT_NAMES.get(context.replace("_", "").replace(" ", "").lower())
    if found is None:
        raise LocalProtocolError(f"unknown extension context {context!r}")
    return found


def decode_extensions(
    r: Reader, context: HandshakeType | str, *, strict: bool = True
) -> tuple[Extension, ...]:
    """Decode ``Extension extensions<0..2^16-1>`` (the 2-byte length included) in ``context``.

    Each body must be consumed exactly (``DecodeError`` otherwise). With ``strict`` (the default, used
    by the handshake) the list-wide rules of RFC 8446 are enforced with ``IllegalParameter``:

    - no extension type appears twice (§4.2);
    - in a ClientHello, pre_shared_key is the last extension (§4.2.11).

    A scanner or trace that wants to *show* what a misbehaving peer sent passes ``strict=False``;
    then duplicates are kept in order and ``find_extension`` returns the first one.
    """
    ctx = resolve_context(context)
    decoders = _DECODERS.get(ctx, _NO_FORMS)
    out: list[Extension] = []
    seen: set[int] = set()
    for ext_type, body in r.sub(2).typed_vectors():
        decoder = decoders.get(ext_type)
        ext = UnknownExtension.decode_body_as(ext_type, body) if decoder is None else decoder(body)
        if body.remaining():
            body.expect_end(f"extension {ExtensionType(ext_type).name}")
        if strict:
            if ext_type in seen:
                raise IllegalParameter(f"duplicate extension {ExtensionType(ext_type).name}")
            seen.add(ext_type)
        out.append(ext)
    if strict and ctx == _CLIENT_HELLO and _PRE_SHARED_KEY in seen and out[-1].ext_type != _PRE_SHARED_KEY:
        raise IllegalParameter("pre_shared_key is not the last extension of the ClientHello")
    return tuple(out)


def encode_extensions(w: Writer, exts: Iterable[Extension]) -> None:
    """Write ``Extension extensions<0..2^16-1>``, in the given order (duplicates are not checked)."""
    block = w.reserve(2)
    for ext in exts:
        w.u16(ext.ext_type)
        at = w.reserve(2)
        ext.encode_body(w)
        w.patch_length(at, 2)
    w.patch_length(block, 2)


def find_extension(exts: tuple[Extension, ...] | None, cls: type[ExtT]) -> ExtT | None:
    """The first extension of class ``cls`` in ``exts``, or None."""
    if exts:
        for ext in exts:
            if isinstance(ext, cls):
                return ext
    return None
