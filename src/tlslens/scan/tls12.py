"""What a TLS 1.2-or-older server flight shows in plain text, read with the codec's TLS 1.2 forms
(``wire.messages12``): the certificate chain, a stapled OCSP response, and the ServerKeyExchange
parameters (the ECDHE curve, or the DHE prime with its size and name when it is a well-known one).

Pure. ``KNOWN_DH_PRIMES`` identifies primes by the SHA-256 of their big-endian bytes: the RFC 7919
FFDHE groups, the RFC 2409/3526 MODP groups and the RFC 5114 groups (checked against OpenSSL's named
groups and the RFC formula by the tests).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography import x509

from tlslens.errors import RemoteProtocolError
from tlslens.scan.flight import ServerAnswer
from tlslens.scan.suites import info
from tlslens.wire.enums import HandshakeType, NamedGroup
from tlslens.wire.messages import decode_handshake
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateStatusMessage,
    ServerDHParams,
    ServerECDHParams,
    ServerKeyExchange,
)
from tlslens.wire.suite_registry import KeyExchange

__all__ = ["KNOWN_DH_PRIMES", "DhParams", "Flight12", "dh_prime_name", "read_flight12"]

MAX_CHAIN = 16

KNOWN_DH_PRIMES: dict[str, str] = {
    "b52ba6a3026520a6c49d37e4587601801bee500123b3259b6bf03e7cecc3e63d": "RFC 2409 Oakley group 1 (768 bits)",
    "3f35a3f5f6c4376a744acad409bb22f8d897f949d2311d885adaa890981b67a0": "RFC 2409 Oakley group 2 (1024 bits)",
    "64fcc83ec403930bf18393dbc883ccaa1fbb08ac876f77f7aa99748ca945019b": "RFC 3526 group 5 (1536-bit MODP)",
    "d66436f79bbd6b2e38c0ffbd079be904d2641415e2e67140e09448be9a60890e": "RFC 3526 group 14 (2048-bit MODP)",
    "48cf8b092fbce4359d9871abf74f98e25b6163379eaa15cd9087e800c6d1c55c": "RFC 3526 group 15 (3072-bit MODP)",
    "4ee95187682bcb230ad26a95205f6920e84708f6251b3894329b09ec23919e33": "RFC 3526 group 16 (4096-bit MODP)",
    "d1bfe6d0925ce7e4da262b62861514a7755e35831e429f343e7b864848657efd": "RFC 3526 group 17 (6144-bit MODP)",
    "39ab4feab950a3128fb71accb9fc3965d857012e081998a85996e3ea8b3c3bcf": "RFC 3526 group 18 (8192-bit MODP)",
    "9cd3b7f336872f46c09428d1bbc19877a4d440512cda8d1c1cf0cd6e33698966": "RFC 7919 ffdhe2048",
    "0eaf67db3a839156d5013494a5318a772b5697d270d721f37f092efc69ea5a17": "RFC 7919 ffdhe3072",
    "4648414224ac881b3d0dc59b466f96d06a558278776807797ecf1f66ff397b3e": "RFC 7919 ffdhe4096",
    "227ac9066b3ddd9e193670cda2388fa884f65ba0cf98b742d1fe77a6687c79c7": "RFC 7919 ffdhe6144",
    "770b14efaf6f049929c523113b3fa99a8d11dab1b18af3609590122075d19833": "RFC 7919 ffdhe8192",
    "44c55cfee5c075927cf682da5b681bdecbd5c3eb0784c14f5dce7610f0ef133d": "RFC 5114 1024-bit MODP (160-bit q)",
    "bfe545862ca102ad1eeddb5fbfa5bf855ac4995c56a8b408ce3fe099dce93a9d": "RFC 5114 2048-bit MODP (224-bit q)",
    "0b7835722cb619827610c2549fdda5587421686c4409a13865e76225522ddcc9": "RFC 5114 2048-bit MODP (256-bit q)",
}


def dh_prime_name(p: bytes) -> str | None:
    """The name of a well-known prime (leading zero bytes ignored), or None for a custom one."""
    value = int.from_bytes(p, "big")
    digest = hashlib.sha256(value.to_bytes((value.bit_length() + 7) // 8, "big")).hexdigest()
    return KNOWN_DH_PRIMES.get(digest)


@dataclass(frozen=True, slots=True)
class DhParams:
    """The finite-field group of a DHE ServerKeyExchange."""

    bits: int
    name: str | None
    """A well-known prime's name; None for a custom prime (what ``openssl dhparam`` makes)."""
    generator: int


@dataclass(frozen=True, slots=True)
class Flight12:
    chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    ocsp_stapled: bool = False
    curve: NamedGroup | None = None
    dh: DhParams | None = None
    errors: tuple[str, ...] = ()


def read_flight12(answer: ServerAnswer) -> Flight12:
    """Decode the plaintext messages after a TLS 1.2-or-older ServerHello (nothing raises: problems
    are listed in ``errors``)."""
    version, suite = answer.version, answer.cipher_suite
    if version is None or suite is None or version >= 0x0304:
        return Flight12()
    row = info(suite)
    kx = row.key_exchange if row is not None else None
    chain: tuple[x509.Certificate, ...] = ()
    ocsp = False
    curve = None
    dh = None
    errors: list[str] = []
    for msg_type, raw in answer.messages:
        try:
            if msg_type == HandshakeType.CERTIFICATE:
                msg = decode_handshake(raw, version=version)
                assert isinstance(msg, Certificate12)
                chain = tuple(x509.load_der_x509_certificate(der) for der in msg.certificate_list[:MAX_CHAIN])
            elif msg_type == HandshakeType.CERTIFICATE_STATUS:
                ocsp = isinstance(decode_handshake(raw, version=version), CertificateStatusMessage)
            elif msg_type == HandshakeType.SERVER_KEY_EXCHANGE and kx in (KeyExchange.ECDHE, KeyExchange.DHE):
                ske = decode_handshake(raw, version=version, key_exchange=kx)
                assert isinstance(ske, ServerKeyExchange)
                if isinstance(ske.params, ServerECDHParams):
                    curve = ske.params.named_curve
                elif isinstance(ske.params, ServerDHParams):
                    p = ske.params
                    dh = DhParams(p.p_bits, dh_prime_name(p.dh_p), int.from_bytes(p.dh_g, "big"))
        except (RemoteProtocolError, ValueError, x509.InvalidVersion) as exc:
            errors.append(f"{msg_type.name}: {str(exc).removeprefix('tls: ')}")
    return Flight12(chain, ocsp, curve, dh, tuple(errors))
