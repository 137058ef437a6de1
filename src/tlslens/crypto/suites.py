"""The five TLS 1.3 cipher suites (RFC 8446 §B.4): AEAD, hash, key/IV/tag lengths, usage limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from tlslens.wire.enums import CipherSuite


class Aead(Protocol):
    """What record protection needs from an AEAD object (``cryptography``'s classes fit)."""

    def encrypt(
        self, nonce: bytes, data: bytes | bytearray | memoryview, associated_data: bytes | None
    ) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


def _ccm8(key: bytes) -> Aead:
    return AESCCM(key, tag_length=8)


@dataclass(frozen=True, slots=True)
class Tls13Suite:
    """A suite carries both its parameters and its implementation."""

    code: CipherSuite
    hash: hashes.HashAlgorithm
    key_len: int
    tag_len: int
    aead_factory: Callable[[bytes], Aead] = field(repr=False)
    # RFC 8446 §5.5 / RFC 9147 §4.5.3: records one key may protect, and forgeries tolerated when opening.
    confidentiality_limit: int
    integrity_limit: int
    iv_len: int = 12

    @property
    def name(self) -> str:
        return self.code.name

    @property
    def hash_len(self) -> int:
        return self.hash.digest_size

    @property
    def empty_hash(self) -> bytes:
        return _EMPTY_HASH[self.hash.name]

    @property
    def zeros(self) -> bytes:
        return bytes(self.hash.digest_size)

    def aead(self, key: bytes) -> Aead:
        return self.aead_factory(key)


def _empty(h: hashes.HashAlgorithm) -> bytes:
    d = hashes.Hash(h)
    return d.finalize()


_EMPTY_HASH = {"sha256": _empty(hashes.SHA256()), "sha384": _empty(hashes.SHA384())}

# Confidentiality limits: AES-GCM 2^24.5 full-size records (RFC 8446 §5.5); ChaCha20-Poly1305 none below
# the sequence-number space; AES-CCM 2^21.5 (RFC 9147 §4.5.3). Integrity limits (forged records tolerated)
# only matter for DTLS: in TLS one bad record is fatal. They are kept for completeness.
TLS_AES_128_GCM_SHA256 = Tls13Suite(
    CipherSuite.TLS_AES_128_GCM_SHA256, hashes.SHA256(), 16, 16, AESGCM, 23726566, 1 << 36
)
TLS_AES_256_GCM_SHA384 = Tls13Suite(
    CipherSuite.TLS_AES_256_GCM_SHA384, hashes.SHA384(), 32, 16, AESGCM, 23726566, 1 << 36
)
TLS_CHACHA20_POLY1305_SHA256 = Tls13Suite(
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    hashes.SHA256(),
    32,
    16,
    ChaCha20Poly1305,
    (1 << 64) - 1,
    1 << 36,
)
TLS_AES_128_CCM_SHA256 = Tls13Suite(
    CipherSuite.TLS_AES_128_CCM_SHA256, hashes.SHA256(), 16, 16, AESCCM, 2965820, 2965820
)
TLS_AES_128_CCM_8_SHA256 = Tls13Suite(
    CipherSuite.TLS_AES_128_CCM_8_SHA256, hashes.SHA256(), 16, 8, _ccm8, 2965820, 1 << 7
)

TLS13_SUITES: dict[CipherSuite, Tls13Suite] = {
    s.code: s
    for s in (
        TLS_AES_128_GCM_SHA256,
        TLS_AES_256_GCM_SHA384,
        TLS_CHACHA20_POLY1305_SHA256,
        TLS_AES_128_CCM_SHA256,
        TLS_AES_128_CCM_8_SHA256,
    )
}

# Default preference: AES-GCM first (hardware), then ChaCha20; CCM suites are opt-in as in OpenSSL.
DEFAULT_CIPHER_SUITES: tuple[CipherSuite, ...] = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)


def suite_by_name(name: str) -> Tls13Suite:
    """Look up ``TLS_AES_128_GCM_SHA256``-style names; KeyError if unknown."""
    return TLS13_SUITES[CipherSuite[name]]
