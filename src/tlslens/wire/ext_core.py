"""Extensions defined by RFC 8446 §4.2 itself: versions, groups, signatures, key shares, PSK, early data.

Each extension is a frozen dataclass named after its RFC struct, with fields in snake_case. Extensions
whose body depends on the message carrying it have one class per form (``KeyShareClientHello``,
``KeyShareServerHello``, ``KeyShareHelloRetryRequest``); ``wire.extensions.decode_extensions`` picks
the form from the context.

``decode_body(r)`` reads from a reader bounded to the extension body and enforces the RFC's lower
bounds (``<2..2^16-2>``, non-empty vectors) with ``DecodeError``; the caller checks that the body was
consumed exactly. ``encode_body(w)`` writes whatever it is given, so a scanner can craft hellos a strict
peer would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from tlslens.errors import DecodeError
from tlslens.wire.enums import (
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlslens.wire.reader import Reader, Writer

# --- supported_groups, signature_algorithms(_cert): RFC 8446 §4.2.7, §4.2.3 --------------------------


@dataclass(frozen=True, slots=True)
class SupportedGroups:
    """``struct { NamedGroup named_group_list<2..2^16-1>; } NamedGroupList;`` (RFC 8446 §4.2.7)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SUPPORTED_GROUPS
    named_group_list: tuple[NamedGroup, ...]

    def encode_body(self, w: Writer) -> None:
        w.uint_list(2, 2, self.named_group_list)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(NamedGroup.tuple_of(r.uint_list(2, 2, min_len=2, what="named_group_list")))


@dataclass(frozen=True, slots=True)
class SignatureAlgorithms:
    """``SignatureScheme supported_signature_algorithms<2..2^16-2>;`` (RFC 8446 §4.2.3)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SIGNATURE_ALGORITHMS
    supported_signature_algorithms: tuple[SignatureScheme, ...]

    def encode_body(self, w: Writer) -> None:
        w.uint_list(2, 2, self.supported_signature_algorithms)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        schemes = r.uint_list(2, 2, min_len=2, what="supported_signature_algorithms")
        return cls(SignatureScheme.tuple_of(schemes))


@dataclass(frozen=True, slots=True)
class SignatureAlgorithmsCert:
    """Same body as signature_algorithms, for signatures in certificates (RFC 8446 §4.2.3)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SIGNATURE_ALGORITHMS_CERT
    supported_signature_algorithms: tuple[SignatureScheme, ...]

    def encode_body(self, w: Writer) -> None:
        w.uint_list(2, 2, self.supported_signature_algorithms)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        schemes = r.uint_list(2, 2, min_len=2, what="supported_signature_algorithms")
        return cls(SignatureScheme.tuple_of(schemes))


# --- supported_versions: RFC 8446 §4.2.1 ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupportedVersionsClientHello:
    """``ProtocolVersion versions<2..254>;`` in a ClientHello (RFC 8446 §4.2.1)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SUPPORTED_VERSIONS
    versions: tuple[ProtocolVersion, ...]

    def encode_body(self, w: Writer) -> None:
        w.uint_list(1, 2, self.versions)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(ProtocolVersion.tuple_of(r.uint_list(1, 2, min_len=2, what="versions")))


@dataclass(frozen=True, slots=True)
class SupportedVersionsServerHello:
    """``ProtocolVersion selected_version;`` in a ServerHello or HelloRetryRequest (RFC 8446 §4.2.1)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.SUPPORTED_VERSIONS
    selected_version: ProtocolVersion

    def encode_body(self, w: Writer) -> None:
        w.u16(self.selected_version)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(ProtocolVersion(r.u16()))


# --- key_share: RFC 8446 §4.2.8 --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """``struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;``

    An empty key_exchange decodes: the handshake checks every share's length against its group and
    answers illegal_parameter (as tlsfuzzer and RFC 8446 §4.2.8.2 peers expect), not decode_error."""

    group: NamedGroup
    key_exchange: bytes

    def encode(self, w: Writer) -> None:
        w.u16(self.group)
        w.opaque(2, self.key_exchange)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(NamedGroup(r.u16()), r.opaque(2, what="key_exchange"))


@dataclass(frozen=True, slots=True)
class KeyShareClientHello:
    """``KeyShareEntry client_shares<0..2^16-1>;`` (may be empty, to ask for a HelloRetryRequest)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.KEY_SHARE
    client_shares: tuple[KeyShareEntry, ...]

    def encode_body(self, w: Writer) -> None:
        with w.length_prefixed(2):
            for share in self.client_shares:
                share.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        shares = r.sub(2)
        out = []
        while shares.remaining():
            out.append(KeyShareEntry.decode(shares))
        return cls(tuple(out))


@dataclass(frozen=True, slots=True)
class KeyShareServerHello:
    """``KeyShareEntry server_share;`` in a ServerHello."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.KEY_SHARE
    server_share: KeyShareEntry

    def encode_body(self, w: Writer) -> None:
        self.server_share.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(KeyShareEntry.decode(r))


@dataclass(frozen=True, slots=True)
class KeyShareHelloRetryRequest:
    """``NamedGroup selected_group;`` in a HelloRetryRequest."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.KEY_SHARE
    selected_group: NamedGroup

    def encode_body(self, w: Writer) -> None:
        w.u16(self.selected_group)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(NamedGroup(r.u16()))


# --- cookie, psk_key_exchange_modes, early_data: RFC 8446 §4.2.2, §4.2.9, §4.2.10 -----------------


@dataclass(frozen=True, slots=True)
class Cookie:
    """``struct { opaque cookie<1..2^16-1>; } Cookie;`` (RFC 8446 §4.2.2)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.COOKIE
    cookie: bytes

    def encode_body(self, w: Writer) -> None:
        w.opaque(2, self.cookie)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.opaque(2, min_len=1, what="cookie"))


@dataclass(frozen=True, slots=True)
class PskKeyExchangeModes:
    """``PskKeyExchangeMode ke_modes<1..255>;`` (RFC 8446 §4.2.9)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.PSK_KEY_EXCHANGE_MODES
    ke_modes: tuple[PskKeyExchangeMode, ...]

    def encode_body(self, w: Writer) -> None:
        w.uint_list(1, 1, self.ke_modes)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(PskKeyExchangeMode.tuple_of(r.uint_list(1, 1, min_len=1, what="ke_modes")))


@dataclass(frozen=True, slots=True)
class EarlyData:
    """Empty early_data, as sent in a ClientHello or EncryptedExtensions (RFC 8446 §4.2.10)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.EARLY_DATA

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class EarlyDataNewSessionTicket:
    """``uint32 max_early_data_size;`` in a NewSessionTicket (RFC 8446 §4.2.10)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.EARLY_DATA
    max_early_data_size: int

    def encode_body(self, w: Writer) -> None:
        w.uint(4, self.max_early_data_size)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.uint(4))


# --- pre_shared_key: RFC 8446 §4.2.11 --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PskIdentity:
    """``struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; } PskIdentity;``"""

    identity: bytes
    obfuscated_ticket_age: int

    def encode(self, w: Writer) -> None:
        w.opaque(2, self.identity)
        w.uint(4, self.obfuscated_ticket_age)

    @classmethod
    def decode(cls, r: Reader) -> Self:
        return cls(r.opaque(2, min_len=1, what="psk identity"), r.uint(4))


@dataclass(frozen=True, slots=True)
class PreSharedKeyClientHello:
    """``struct { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; }``

    with ``opaque PskBinderEntry<32..255>``. It must be the last extension of the ClientHello, so the
    binders vector is the tail of the encoded message: see ``binders_length()``. That the number of
    binders matches the number of identities is checked by the handshake, not here.
    """

    ext_type: ClassVar[ExtensionType] = ExtensionType.PRE_SHARED_KEY
    identities: tuple[PskIdentity, ...]
    binders: tuple[bytes, ...]

    def binders_length(self) -> int:
        """Encoded size of the binders vector, its 2-byte length included (RFC 8446 §4.2.11.2).

        The binder is computed over the ClientHello without these trailing bytes.
        """
        return 2 + sum(1 + len(b) for b in self.binders)

    def encode_body(self, w: Writer) -> None:
        with w.length_prefixed(2):
            for identity in self.identities:
                identity.encode(w)
        with w.length_prefixed(2):
            for binder in self.binders:
                w.opaque(1, binder)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        ids = r.sub(2)
        if ids.remaining() < 7:
            raise DecodeError("pre_shared_key identities shorter than 7 bytes")
        identities = []
        while ids.remaining():
            identities.append(PskIdentity.decode(ids))
        vec = r.sub(2)
        if vec.remaining() < 33:
            raise DecodeError("pre_shared_key binders shorter than 33 bytes")
        binders = []
        while vec.remaining():
            binders.append(vec.opaque(1, min_len=32, what="psk binder"))
        return cls(tuple(identities), tuple(binders))


@dataclass(frozen=True, slots=True)
class PreSharedKeyServerHello:
    """``uint16 selected_identity;`` in a ServerHello (RFC 8446 §4.2.11)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.PRE_SHARED_KEY
    selected_identity: int

    def encode_body(self, w: Writer) -> None:
        w.u16(self.selected_identity)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls(r.u16())


# --- certificate_authorities, post_handshake_auth: RFC 8446 §4.2.4, §4.2.6 -------------------------


@dataclass(frozen=True, slots=True)
class CertificateAuthorities:
    """``DistinguishedName authorities<3..2^16-1>;`` with ``opaque DistinguishedName<1..2^16-1>``.

    Each authority is a DER-encoded X.501 Name, kept as bytes (no parsing in the codec).
    """

    ext_type: ClassVar[ExtensionType] = ExtensionType.CERTIFICATE_AUTHORITIES
    authorities: tuple[bytes, ...]

    def encode_body(self, w: Writer) -> None:
        with w.length_prefixed(2):
            for name in self.authorities:
                w.opaque(2, name)

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        vec = r.sub(2)
        if vec.remaining() < 3:
            raise DecodeError("certificate_authorities shorter than 3 bytes")
        names = []
        while vec.remaining():
            names.append(vec.opaque(2, min_len=1, what="distinguished name"))
        return cls(tuple(names))


@dataclass(frozen=True, slots=True)
class PostHandshakeAuth:
    """Empty post_handshake_auth: the client accepts post-handshake authentication (RFC 8446 §4.2.6)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.POST_HANDSHAKE_AUTH

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Self:
        return cls()
