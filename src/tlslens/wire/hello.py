"""ClientHello and ServerHello (RFC 8446 §4.1.2, §4.1.3), for every version from SSL 3.0 to TLS 1.3.

TLS 1.2 and older hellos may end without an extensions block; ``extensions is None`` records that,
so re-encoding is byte-exact (``()`` means an empty block was present). A HelloRetryRequest is a
ServerHello whose random is ``HRR_RANDOM``; its extensions are decoded in the HelloRetryRequest context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from tlslens.errors import DecodeError
from tlslens.wire.enums import CipherSuite, CompressionMethod, HandshakeType, ProtocolVersion
from tlslens.wire.extensions import Extension, ExtT, decode_extensions, encode_extensions, find_extension
from tlslens.wire.reader import Reader, Writer

HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
"""SHA-256("HelloRetryRequest"): the ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3)."""

_MAX_SESSION_ID = 32


def _session_id(r: Reader) -> bytes:
    """``opaque legacy_session_id<0..32>``"""
    session_id = r.opaque(1)
    if len(session_id) > _MAX_SESSION_ID:
        raise DecodeError(f"legacy_session_id of {len(session_id)} bytes is longer than 32")
    return session_id


@dataclass(frozen=True, slots=True)
class ClientHello:
    """RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2 for older versions)::

    ProtocolVersion legacy_version; Random random; opaque legacy_session_id<0..32>;
    CipherSuite cipher_suites<2..2^16-2>; opaque legacy_compression_methods<1..2^8-1>;
    Extension extensions<8..2^16-1>;   (absent in SSL 3.0 .. TLS 1.2 hellos: None)
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_HELLO
    legacy_version: ProtocolVersion
    random: bytes
    legacy_session_id: bytes
    cipher_suites: tuple[CipherSuite, ...]
    legacy_compression_methods: tuple[CompressionMethod, ...] = (CompressionMethod.NULL,)
    extensions: tuple[Extension, ...] | None = ()

    def extension(self, cls: type[ExtT]) -> ExtT | None:
        return find_extension(self.extensions, cls)

    def encode_body(self, w: Writer) -> None:
        w.u16(self.legacy_version)
        w.bytes(self.random)
        w.opaque(1, self.legacy_session_id)
        w.uint_list(2, 2, self.cipher_suites)
        w.uint_list(1, 1, self.legacy_compression_methods)
        if self.extensions is not None:
            encode_extensions(w, self.extensions)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        legacy_version = ProtocolVersion(r.u16())
        random = r.bytes(32)
        session_id = _session_id(r)
        suites = r.uint_list(2, 2, min_len=2, what="cipher_suites")
        methods = r.uint_list(1, 1, min_len=1, what="legacy_compression_methods")
        extensions = (
            decode_extensions(r, HandshakeType.CLIENT_HELLO, strict=strict) if r.remaining() else None
        )
        return cls(
            legacy_version,
            random,
            session_id,
            CipherSuite.tuple_of(suites),
            CompressionMethod.tuple_of(methods),
            extensions,
        )


@dataclass(frozen=True, slots=True)
class ServerHello:
    """RFC 8446 §4.1.3 (and RFC 5246 §7.4.1.3)::

    ProtocolVersion legacy_version; Random random; opaque legacy_session_id_echo<0..32>;
    CipherSuite cipher_suite; uint8 legacy_compression_method = 0;
    Extension extensions<6..2^16-1>;   (may be absent before TLS 1.3: None)
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO
    legacy_version: ProtocolVersion
    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: CipherSuite
    legacy_compression_method: CompressionMethod = CompressionMethod.NULL
    extensions: tuple[Extension, ...] | None = ()

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HRR_RANDOM

    def extension(self, cls: type[ExtT]) -> ExtT | None:
        return find_extension(self.extensions, cls)

    def encode_body(self, w: Writer) -> None:
        w.u16(self.legacy_version)
        w.bytes(self.random)
        w.opaque(1, self.legacy_session_id_echo)
        w.u16(self.cipher_suite)
        w.u8(self.legacy_compression_method)
        if self.extensions is not None:
            encode_extensions(w, self.extensions)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        legacy_version = ProtocolVersion(r.u16())
        random = r.bytes(32)
        session_id = _session_id(r)
        cipher_suite = CipherSuite(r.u16())
        method = CompressionMethod(r.u8())
        extensions = None
        if r.remaining():
            hrr = random == HRR_RANDOM
            context = HandshakeType.HELLO_RETRY_REQUEST if hrr else HandshakeType.SERVER_HELLO
            extensions = decode_extensions(r, context, strict=strict)
        return cls(legacy_version, random, session_id, cipher_suite, method, extensions)
