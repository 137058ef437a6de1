"""Handshake messages and extensions, decoded field by field into plain JSON-able values.

``describe_message(msg)`` (any TLS 1.3 or TLS 1.2 handshake message, or ChangeCipherSpec) returns an
ordered ``dict`` (str keys; values are str, int, bool, None, lists
and dicts of those). The text renderer and the JSON-lines renderer both print this one structure, so
``--trace-format json`` carries exactly what the text trace shows.

Enums print by name (groups and signature schemes by their IANA spelling, versions as ``TLSv1.3``),
GREASE values as ``GREASE (0x0a0a)``, long byte strings as their length and first bytes.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from tlslens.credentials import shown_identity
from tlslens.pki.dn import shown_name
from tlslens.trace.certs import describe_certificate, describe_ocsp_response
from tlslens.wire.enums import (
    CertificateStatusType,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    is_grease,
)
from tlslens.wire.extensions import (
    ALPN,
    CertificateAuthorities,
    CertificateStatus,
    Cookie,
    EarlyData,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    OCSPStatusRequest,
    Padding,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    ServerName,
    ServerNameEmpty,
    StatusRequest,
    SupportedVersionsClientHello,
    UnknownExtension,
)
from tlslens.wire.messages import (
    Certificate,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    Finished,
    HandshakeMessage,
    NewSessionTicket,
    ServerHello,
)
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    CertificateStatusMessage,
    ChangeCipherSpec,
    ClientKeyExchangeDHE,
    ClientKeyExchangeECDHE,
    ClientKeyExchangeRSA,
    DigitallySigned,
    NewSessionTicket12,
    ServerDHParams,
    ServerKeyExchange,
)

Value = Any
"""A JSON-able value: str, int, bool, None, list[Value] or dict[str, Value]."""

TraceMessage = HandshakeMessage | ChangeCipherSpec
"""What the trace describes: a handshake message of either protocol, or ChangeCipherSpec (a TLS 1.2
message of its own, on a record of its own)."""

PREVIEW_BYTES = 8
"""How many leading bytes of a long opaque value the trace shows."""


def message_title(msg: TraceMessage) -> str:
    """``ClientHello``, ``HelloRetryRequest`` (a ServerHello with the special random), ``Finished``..."""
    if isinstance(msg, ServerHello) and msg.is_hello_retry_request:
        return "HelloRetryRequest"
    return _TLS12_TITLES.get(type(msg), type(msg).__name__)


_TLS12_TITLES: dict[type, str] = {
    Certificate12: "Certificate",
    CertificateRequest12: "CertificateRequest",
    NewSessionTicket12: "NewSessionTicket",
    CertificateStatusMessage: "CertificateStatus",
    ClientKeyExchangeECDHE: "ClientKeyExchange",
    ClientKeyExchangeDHE: "ClientKeyExchange",
    ClientKeyExchangeRSA: "ClientKeyExchange",
}
"""TLS 1.2 forms carry a suffix in the code; the trace names them as the RFCs do."""


def opaque(data: bytes, *, full: int = 32) -> str:
    """Short values in full hex; longer ones as ``N bytes: <first bytes>…``."""
    if not data:
        return "(empty)"
    if len(data) <= full:
        return data.hex()
    return f"{len(data)} bytes: {data[:PREVIEW_BYTES].hex()}…"


def enum_name(member: enum.Enum) -> str:
    value = member.value
    if isinstance(value, int) and value > 0xFF and is_grease(value):
        return f"GREASE (0x{value:04x})"
    if isinstance(member, ProtocolVersion):
        return member.label if member.known else f"0x{value:04x}"
    if isinstance(member, NamedGroup | SignatureScheme):
        return member.iana_name if member.known else f"unknown (0x{value:04x})"
    if member.name.startswith("UNKNOWN_"):
        return f"unknown ({member.name[8:]})"
    return member.name if member.name.startswith("TLS_") else member.name.lower()


def value(v: object) -> Value:
    """Any wire value as a JSON-able value (the generic fallback for fields without a special form)."""
    if isinstance(v, enum.Enum):
        return enum_name(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return opaque(bytes(v))
    if isinstance(v, bool | int | str) or v is None:
        return v
    if isinstance(v, tuple | list):
        return [value(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: value(getattr(v, f.name)) for f in dataclasses.fields(v) if f.repr}
    return repr(v)


# --- extensions --------------------------------------------------------------------------------------


def _key_share(entry: KeyShareEntry) -> Value:
    return {"group": enum_name(entry.group), **_public_key(entry.key_exchange)}


def _public_key(data: bytes) -> dict[str, Value]:
    return {"length": len(data), "first_bytes": data[:PREVIEW_BYTES].hex()}


def extension_name(ext: Extension) -> str:
    ext_type = ext.ext_type
    if is_grease(int(ext_type)):
        return f"GREASE (0x{int(ext_type):04x})"
    if ext_type == ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
        return "alpn"
    if not ext_type.known:
        return f"unknown (0x{int(ext_type):04x})"
    return ext_type.name.lower()


def extension_value(ext: Extension) -> Value:
    """What an extension says, in the shortest form that loses nothing a person needs."""
    match ext:
        case ServerName():
            names = [n if isinstance(n, str) else value(n) for n in ext.server_name_list]
            return names[0] if len(names) == 1 else names
        case KeyShareClientHello():
            return [_key_share(e) for e in ext.client_shares]
        case KeyShareServerHello():
            return _key_share(ext.server_share)
        case KeyShareHelloRetryRequest():
            return {"selected_group": enum_name(ext.selected_group)}
        case ALPN():
            return [p.decode("ascii", "backslashreplace") for p in ext.protocol_name_list]
        case Cookie():
            return opaque(ext.cookie, full=0)
        case StatusRequest() if ext.request == OCSPStatusRequest():
            return "ocsp (no responder named, no request extensions)"
        case CertificateStatus() if ext.status_type == CertificateStatusType.OCSP:
            return {"ocsp_response": describe_ocsp_response(ext.response)}
        case Padding():
            return f"{ext.length} zero bytes"
        case ServerNameEmpty():
            return "(empty: the server used the name)"
        case EarlyData():
            return "(empty: early data offered/accepted)"
        case PreSharedKeyClientHello():
            return {
                "identities": [
                    {"identity": shown_identity(i.identity), "obfuscated_ticket_age": i.obfuscated_ticket_age}
                    for i in ext.identities
                ],
                "binders": [opaque(b, full=0) for b in ext.binders],
            }
        case CertificateAuthorities():
            return [shown_name(name) for name in ext.authorities]
        case PostHandshakeAuth():
            return "(empty: the client accepts post-handshake authentication)"
        case UnknownExtension():
            return opaque(ext.data, full=0)
    fields = [f for f in dataclasses.fields(ext) if f.repr]
    if not fields:
        return "(empty)"
    if len(fields) == 1:
        return value(getattr(ext, fields[0].name))
    return value(ext)


def describe_extensions(exts: tuple[Extension, ...] | None) -> Value:
    if exts is None:
        return None
    return [{"name": extension_name(e), "value": extension_value(e)} for e in exts]


# --- messages ----------------------------------------------------------------------------------------


def _hello_common(version: ProtocolVersion, random: bytes, session_id: bytes) -> dict[str, Value]:
    return {
        "legacy_version": f"{enum_name(version)} (0x{int(version):04x})",
        "random": random.hex(),
        "legacy_session_id": f"{len(session_id)} bytes: {session_id.hex()}" if session_id else "(empty)",
    }


def _signed(signed: DigitallySigned | None) -> dict[str, Value]:
    if signed is None:
        return {"signature": "(none: an anonymous suite)"}
    algorithm = "(implicit: TLS 1.0/1.1)" if signed.algorithm is None else enum_name(signed.algorithm)
    return {"signature_algorithm": algorithm, "signature": opaque(signed.signature, full=0)}


def _server_key_exchange(msg: ServerKeyExchange) -> dict[str, Value]:
    params = msg.params
    if isinstance(params, ServerDHParams):
        out: dict[str, Value] = {
            "dh_p": f"{params.p_bits}-bit prime: {opaque(params.dh_p, full=0)}",
            "dh_g": int.from_bytes(params.dh_g, "big") if len(params.dh_g) <= 8 else opaque(params.dh_g),
            "dh_Ys": opaque(params.dh_ys, full=0),
        }
    else:
        out = {
            "curve_type": "named_curve",
            "named_curve": enum_name(params.named_curve),
            "public_key": _public_key(params.public),
        }
    return {**out, **_signed(msg.signed)}


def _describe_tls12(msg: TraceMessage) -> dict[str, Value] | None:
    match msg:
        case Certificate12():
            return {"certificates": [describe_certificate(der) for der in msg.certificate_list]}
        case ServerKeyExchange():
            return _server_key_exchange(msg)
        case CertificateRequest12():
            schemes = msg.supported_signature_algorithms
            return {
                "certificate_types": [enum_name(t) for t in msg.certificate_types],
                "supported_signature_algorithms": None
                if schemes is None
                else [enum_name(s) for s in schemes],
                "certificate_authorities": [shown_name(name) for name in msg.certificate_authorities],
            }
        case ClientKeyExchangeECDHE():
            return {"public_key": _public_key(msg.public)}
        case ClientKeyExchangeDHE():
            return {"dh_Yc": opaque(msg.dh_yc, full=0)}
        case ClientKeyExchangeRSA():
            return {"encrypted_pre_master_secret": opaque(msg.encrypted_pre_master_secret, full=0)}
        case NewSessionTicket12():
            hint = msg.ticket_lifetime_hint
            return {
                "ticket_lifetime_hint": f"{hint} s" if hint else "0 (unspecified)",
                "ticket": opaque(msg.ticket, full=0) if msg.ticket else "(empty: no ticket after all)",
            }
        case CertificateStatusMessage():
            if msg.status_type == CertificateStatusType.OCSP:
                return {"status_type": "ocsp", "ocsp_response": describe_ocsp_response(msg.response)}
            return {"status_type": enum_name(msg.status_type), "response": opaque(msg.response, full=0)}
        case ChangeCipherSpec():
            return {"type": "change_cipher_spec (1)"}
    return None


def describe_message(msg: TraceMessage) -> dict[str, Value]:
    """Every field of a handshake message (TLS 1.3 or 1.2) or ChangeCipherSpec, in wire order."""
    tls12 = _describe_tls12(msg)
    if tls12 is not None:
        return tls12
    match msg:
        case ClientHello():
            out = _hello_common(msg.legacy_version, msg.random, msg.legacy_session_id)
            out["cipher_suites"] = [enum_name(s) for s in msg.cipher_suites]
            out["compression_methods"] = [enum_name(m) for m in msg.legacy_compression_methods]
            out["extensions"] = describe_extensions(msg.extensions)
            return out
        case ServerHello():
            out = _hello_common(msg.legacy_version, msg.random, msg.legacy_session_id_echo)
            if msg.is_hello_retry_request:
                out["random"] += " (HelloRetryRequest marker)"
            out["cipher_suite"] = enum_name(msg.cipher_suite)
            out["compression_method"] = enum_name(msg.legacy_compression_method)
            out["extensions"] = describe_extensions(msg.extensions)
            return out
        case Certificate():
            return {
                "certificate_request_context": opaque(msg.certificate_request_context),
                "certificates": [
                    {**describe_certificate(e.cert_data), "extensions": describe_extensions(e.extensions)}
                    if e.extensions
                    else describe_certificate(e.cert_data)
                    for e in msg.certificate_list
                ],
            }
        case CompressedCertificate():  # RFC 8879 §4
            data = msg.compressed_certificate_message
            size = msg.uncompressed_length
            return {
                "algorithm": enum_name(msg.algorithm),
                "uncompressed_length": f"{size} bytes",
                "compressed_certificate_message": opaque(data, full=0),
                "compressed_to": f"{100 * len(data) / size:.0f}%" if size else "-",
            }
        case CertificateVerify():
            return {"algorithm": enum_name(msg.algorithm), "signature": opaque(msg.signature, full=0)}
        case Finished():
            return {"verify_data": msg.verify_data.hex()}
        case NewSessionTicket():
            return {
                "ticket_lifetime": f"{msg.ticket_lifetime} s",
                "ticket_age_add": msg.ticket_age_add,
                "ticket_nonce": opaque(msg.ticket_nonce),
                "ticket": opaque(msg.ticket, full=0),
                "extensions": describe_extensions(msg.extensions),
            }
    out = {}
    for f in dataclasses.fields(msg):
        v = getattr(msg, f.name)
        out[f.name] = describe_extensions(v) if f.name == "extensions" else value(v)
    return out


def message_summary(msg: TraceMessage) -> str:
    """A few words for the round-trip diagram: ``x25519 share``, ``wants secp384r1``, the suite."""
    match msg:
        case ServerKeyExchange():
            if isinstance(msg.params, ServerDHParams):
                group = f"DH {msg.params.p_bits} bits"
            else:
                group = enum_name(msg.params.named_curve)
            signed = msg.signed
            algorithm = signed.algorithm if signed is not None else None
            return f"{group}, {enum_name(algorithm)}" if algorithm is not None else group
        case Certificate12():
            n = len(msg.certificate_list)
            return f"{n} certificate{'s' if n != 1 else ''}"
        case NewSessionTicket12():
            return "ticket" if msg.ticket else "no ticket"
        case ClientHello():
            ks = msg.extension(KeyShareClientHello)
            groups = ", ".join(enum_name(e.group) for e in ks.client_shares) if ks else ""
            if ks is None and msg.extension(SupportedVersionsClientHello) is None:
                return f"{ProtocolVersion(msg.legacy_version).label} at most"
            return f"shares {groups}" if groups else "no key share"
        case ServerHello() if msg.is_hello_retry_request:
            hrr = msg.extension(KeyShareHelloRetryRequest)
            return f"wants {enum_name(hrr.selected_group)}" if hrr else "retry"
        case ServerHello():
            sh = msg.extension(KeyShareServerHello)
            group = f", {enum_name(sh.server_share.group)}" if sh else ""
            return f"{enum_name(msg.cipher_suite)}{group}"
        case Certificate():
            n = len(msg.certificate_list)
            return f"{n} certificate{'s' if n != 1 else ''}"
        case CompressedCertificate():
            n = len(msg.compressed_certificate_message)
            return f"{enum_name(msg.algorithm)}, {n} of {msg.uncompressed_length} bytes"
        case CertificateVerify():
            return enum_name(msg.algorithm)
    return ""
