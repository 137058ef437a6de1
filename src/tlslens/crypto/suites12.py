"""The six TLS 1.2 cipher suites the engine speaks: ECDHE with ECDSA or RSA, and an AEAD (RFC 5288, 5289,
7905, 8422). Each carries its PRF hash, key and IV lengths, nonce layout and usage limits.

TLS 1.2 AEAD nonces (``record.protection12`` builds them):

========================= =============== =================== =========================================
AEAD                      fixed_iv_len    record_iv_len       nonce
========================= =============== =================== =========================================
AES-GCM (RFC 5288 §3)     4 (the salt)    8 (sent, explicit)  salt || explicit nonce (we send seq_num)
ChaCha20-Poly1305 (7905)  12              0                   write_IV XOR (0^4 || seq_num)
========================= =============== =================== =========================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from tlslens.crypto.suites import Aead
from tlslens.wire.enums import CipherSuite
from tlslens.wire.suite_info import Authentication, KeyExchange

__all__ = [
    "TLS12_DEFAULT_CIPHER_SUITES",
    "TLS12_SUITES",
    "Tls12Suite",
]

_SEQ_LIMIT = (1 << 64) - 1  # RFC 5246 §6.1: sequence numbers must not wrap


@dataclass(frozen=True, slots=True)
class Tls12Suite:
    """A TLS 1.2 AEAD suite: parameters and the AEAD implementation."""

    code: CipherSuite
    authentication: Authentication  # ECDSA or RSA: the certificate key that signs ServerKeyExchange
    hash: hashes.HashAlgorithm  # the PRF hash, and the handshake (session) hash
    key_len: int
    fixed_iv_len: int  # client/server_write_IV taken from the key block
    record_iv_len: int  # explicit nonce bytes sent in front of each record's ciphertext
    aead_factory: Callable[[bytes], Aead] = field(repr=False)
    # Records one key may protect (RFC 8446 §5.5's AES-GCM bound, which holds for TLS 1.2 full-size
    # records too) and forged records tolerated (one is fatal in TLS; kept for completeness).
    confidentiality_limit: int
    integrity_limit: int
    tag_len: int = 16
    verify_data_len: int = 12  # RFC 5246 §7.4.9: 12 unless the suite says otherwise (these do not)

    @property
    def name(self) -> str:
        return self.code.name

    @property
    def key_exchange(self) -> KeyExchange:
        return KeyExchange.ECDHE

    @property
    def hash_len(self) -> int:
        return self.hash.digest_size

    @property
    def key_block_len(self) -> int:
        """client/server write keys and IVs (RFC 5246 §6.3; AEAD suites have no MAC keys)."""
        return 2 * (self.key_len + self.fixed_iv_len)

    def aead(self, key: bytes) -> Aead:
        return self.aead_factory(key)


def _gcm(code: CipherSuite, auth: Authentication, h: hashes.HashAlgorithm, key_len: int) -> Tls12Suite:
    return Tls12Suite(code, auth, h, key_len, 4, 8, AESGCM, 23726566, 1 << 36)


def _chacha(code: CipherSuite, auth: Authentication) -> Tls12Suite:
    return Tls12Suite(code, auth, hashes.SHA256(), 32, 12, 0, ChaCha20Poly1305, _SEQ_LIMIT, 1 << 36)


_CS, _ECDSA, _RSA = CipherSuite, Authentication.ECDSA, Authentication.RSA

TLS12_SUITES: dict[CipherSuite, Tls12Suite] = {
    s.code: s
    for s in (
        _gcm(_CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, _ECDSA, hashes.SHA256(), 16),
        _gcm(_CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, _RSA, hashes.SHA256(), 16),
        _gcm(_CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, _ECDSA, hashes.SHA384(), 32),
        _gcm(_CS.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, _RSA, hashes.SHA384(), 32),
        _chacha(_CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, _ECDSA),
        _chacha(_CS.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, _RSA),
    )
}
"""The suites the TLS 1.2 engine negotiates, in default preference order."""

TLS12_DEFAULT_CIPHER_SUITES: tuple[CipherSuite, ...] = tuple(TLS12_SUITES)
"""AES-128-GCM, then AES-256-GCM, then ChaCha20-Poly1305 (as for TLS 1.3), ECDSA before RSA in each."""
