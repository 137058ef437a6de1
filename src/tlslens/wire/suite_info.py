"""The vocabulary of the cipher suite registry: key exchange, authentication, cipher, mode, MAC, and
``SuiteInfo``, one row of ``wire.suite_registry.SUITES`` with the properties a scanner and grader ask."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tlslens.wire.cipher_suites import CipherSuite
from tlslens.wire.enums import ProtocolVersion

__all__ = ["Authentication", "BulkCipher", "CipherMode", "KeyExchange", "Mac", "SuiteInfo"]


class KeyExchange(enum.StrEnum):
    NULL = "NULL"
    RSA = "RSA"  # static RSA key transport: no forward secrecy
    DH = "DH"  # static DH from the certificate
    DHE = "DHE"
    ECDH = "ECDH"  # static ECDH from the certificate
    ECDHE = "ECDHE"
    PSK = "PSK"
    DHE_PSK = "DHE_PSK"
    RSA_PSK = "RSA_PSK"
    ECDHE_PSK = "ECDHE_PSK"
    KRB5 = "KRB5"
    SRP = "SRP"
    ECCPWD = "ECCPWD"
    GOST = "GOST"  # GOST R 34.10-2012 key agreement (RFC 9189)
    ANY = "ANY"  # TLS 1.3: negotiated by extensions, not by the suite


class Authentication(enum.StrEnum):
    NONE = "NONE"  # TLS_NULL_WITH_NULL_NULL
    ANON = "ANON"  # no authentication at all: anyone in the middle can read
    RSA = "RSA"
    DSS = "DSS"
    ECDSA = "ECDSA"
    PSK = "PSK"
    KRB5 = "KRB5"
    SRP = "SRP"
    PASSWORD = "PASSWORD"
    GOST = "GOST"
    ANY = "ANY"


class BulkCipher(enum.StrEnum):
    NULL = "NULL"
    RC4 = "RC4"
    RC2 = "RC2"
    IDEA = "IDEA"
    DES = "DES"
    TRIPLE_DES = "3DES"
    AES = "AES"
    CAMELLIA = "CAMELLIA"
    ARIA = "ARIA"
    SEED = "SEED"
    CHACHA20 = "CHACHA20"
    SM4 = "SM4"
    KUZNYECHIK = "KUZNYECHIK"
    MAGMA = "MAGMA"
    GOST28147 = "GOST28147"
    AEGIS = "AEGIS"


_STREAM_CIPHERS = frozenset({BulkCipher.RC4, BulkCipher.CHACHA20, BulkCipher.AEGIS})


class CipherMode(enum.StrEnum):
    NONE = "NONE"  # NULL encryption
    STREAM = "STREAM"  # RC4
    CBC = "CBC"
    GCM = "GCM"
    CCM = "CCM"
    CCM_8 = "CCM_8"
    CHACHA20_POLY1305 = "CHACHA20_POLY1305"
    CTR = "CTR"  # GOST CTR-OMAC (RFC 9189)
    CNT = "CNT"  # GOST 28147-89 CNT-IMIT (RFC 9189)
    MGM = "MGM"  # GOST Multilinear Galois Mode (RFC 9367)
    AEGIS = "AEGIS"


_AEAD_MODES = frozenset(
    {CipherMode.GCM, CipherMode.CCM, CipherMode.CCM_8, CipherMode.CHACHA20_POLY1305, CipherMode.MGM}
    | {CipherMode.AEGIS}
)


class Mac(enum.StrEnum):
    NULL = "NULL"
    MD5 = "MD5"
    SHA1 = "SHA1"
    SHA256 = "SHA256"
    SHA384 = "SHA384"
    OMAC = "OMAC"  # GOST
    IMIT = "IMIT"  # GOST 28147-89
    AEAD = "AEAD"  # integrity from the AEAD itself


@dataclass(frozen=True, slots=True)
class SuiteInfo:
    """One row of the registry. ``suite.name`` is the IANA name."""

    suite: CipherSuite
    key_exchange: KeyExchange
    authentication: Authentication
    cipher: BulkCipher
    bits: int
    mode: CipherMode
    mac: Mac
    min_version: ProtocolVersion
    openssl_name: str

    @property
    def name(self) -> str:
        return self.suite.name

    @property
    def max_version(self) -> ProtocolVersion:
        """TLS 1.3 for TLS 1.3 suites and ECCPWD (RFC 8492 defines it for both), TLS 1.2 otherwise."""
        tls13 = self.min_version == ProtocolVersion.TLS1_3 or self.key_exchange == KeyExchange.ECCPWD
        return ProtocolVersion.TLS1_3 if tls13 else ProtocolVersion.TLS1_2

    @property
    def export(self) -> bool:
        """An export-grade suite (40-bit cipher or 512-bit key exchange): ``_EXPORT_`` in the name."""
        return "_EXPORT" in self.suite.name

    @property
    def aead(self) -> bool:
        return self.mode in _AEAD_MODES

    @property
    def block_cipher(self) -> bool:
        return self.cipher not in _STREAM_CIPHERS and self.cipher != BulkCipher.NULL

    @property
    def cbc(self) -> bool:
        return self.mode == CipherMode.CBC

    @property
    def anonymous(self) -> bool:
        return self.authentication in (Authentication.ANON, Authentication.NONE)

    @property
    def null_encryption(self) -> bool:
        return self.cipher == BulkCipher.NULL

    @property
    def forward_secrecy(self) -> bool:
        """Ephemeral key exchange: a stolen server key does not decrypt recorded sessions."""
        return self.key_exchange in _EPHEMERAL

    def defined_for(self, version: ProtocolVersion) -> bool:
        """Whether a server may pick this suite in ``version`` (SSL 3.0 .. TLS 1.3)."""
        return self.min_version <= version <= self.max_version


_EPHEMERAL = frozenset(
    {KeyExchange.DHE, KeyExchange.ECDHE, KeyExchange.DHE_PSK, KeyExchange.ECDHE_PSK, KeyExchange.ANY}
    | {KeyExchange.ECCPWD, KeyExchange.GOST}
)
