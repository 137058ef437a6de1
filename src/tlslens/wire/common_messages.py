"""Handshake messages whose body is the same in TLS 1.2 and TLS 1.3: CertificateVerify and Finished.

Both are re-exported by ``wire.messages`` (the usual import) and used by the TLS 1.2 decoder in
``wire.messages12``. (CertificateVerify before TLS 1.2 had no algorithm field; tlslens never
speaks those versions with client certificates, so only this form is decoded.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from tlslens.wire.enums import HandshakeType, SignatureScheme
from tlslens.wire.reader import Reader, Writer

__all__ = ["CertificateVerify", "Finished"]


@dataclass(frozen=True, slots=True)
class CertificateVerify:
    """``SignatureScheme algorithm; opaque signature<0..2^16-1>;`` (RFC 8446 §4.4.3; RFC 5246 §7.4.8
    with ``digitally-signed``, §4.7)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_VERIFY
    algorithm: SignatureScheme
    signature: bytes

    def encode_body(self, w: Writer) -> None:
        w.u16(self.algorithm)
        w.opaque(2, self.signature)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        return cls(SignatureScheme(r.u16()), r.opaque(2))


@dataclass(frozen=True, slots=True)
class Finished:
    """``opaque verify_data[Hash.length];`` (RFC 8446 §4.4.4; ``verify_data[12]`` in RFC 5246 §7.4.9
    for every suite tlslens speaks): the whole body; the handshake checks the length against what it
    computed, since only it knows the suite."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.FINISHED
    verify_data: bytes

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.verify_data)

    @classmethod
    def decode_body(cls, r: Reader, *, strict: bool = True) -> Self:
        return cls(r.rest())
