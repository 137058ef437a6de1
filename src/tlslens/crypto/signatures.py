"""Signature schemes for TLS 1.3 (RFC 8446 §4.2.3, §4.4.3) and TLS 1.2 (RFC 5246 §7.4.1.4.1, RFC 8422
§5.1.3, RFC 8446 §4.2.3) on ``cryptography``.

``sign`` / ``verify`` take a scheme and a ``cryptography`` key. ``verify`` raises ``DecryptError`` for a
signature that does not verify (RFC 8446 §4.4.3 names decrypt_error) and ``IllegalParameter`` when the
scheme cannot be used with the key (wrong key type, or an ECDSA scheme for another curve: in TLS 1.3
the scheme fixes the curve). It never returns a boolean.

RSASSA-PSS keys: ``rsa_pss_pss_*`` schemes need an RSA key whose SubjectPublicKeyInfo algorithm is
id-RSASSA-PSS, ``rsa_pss_rsae_*`` schemes one with rsaEncryption. ``cryptography`` loads both kinds as
plain ``RSAPublicKey`` / ``RSAPrivateKey`` and forgets which one it was, so the caller says which with
``rsa_pss_key`` (``is_rsa_pss_certificate(cert)`` tells it from a certificate). Left at ``None``
("not known"), an RSA public key accepts both families (the verification is the same computation),
and an RSA private key signs with ``rsa_pss_rsae_*`` only; pass ``True`` for an RSASSA-PSS key. Parameter
restrictions inside an RSASSA-PSS key (a fixed hash or minimum salt length) are not enforced; the
signature is always PSS with MGF1 over the scheme's hash and a salt as long as the hash.

Certificate-only schemes (``rsa_pkcs1_*``, ``ecdsa_sha1``) can be verified, for certificate
signatures, but never signed with: TLS 1.3 forbids them in CertificateVerify.

Versions (``version=``, a ``ProtocolVersion`` value; ``handshake_schemes(version)`` is the set):

- TLS 1.3 CertificateVerify: ECDSA with the curve the scheme names, EdDSA, RSA-PSS; never PKCS#1 v1.5.
- TLS 1.2 ServerKeyExchange and CertificateVerify: the same plus ``rsa_pkcs1_sha256/384/512``; an
  ``ecdsa_*`` scheme names only the hash (RFC 8422 §5.1.3: the curve comes from the certificate).
- SHA-1, SHA-224, MD5 and DSA schemes are refused for both (``IllegalParameter`` when verifying).
- ``verify(..., version=None)`` checks any scheme of the table (certificate signatures).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import PublicKeyAlgorithmOID

from tlslens.errors import DecryptError, IllegalParameter, LocalProtocolError
from tlslens.wire.enums import SignatureScheme

# Any key ``cryptography`` loads is accepted; the ones that can take part are RSA, EC, Ed25519 and Ed448.
PrivateKey = PrivateKeyTypes
PublicKey = PublicKeyTypes

S = SignatureScheme

# What we offer in signature_algorithms, best first (RFC 8446 §4.2.3, §9.1).
TLS13_CERTIFICATE_VERIFY_SCHEMES: tuple[SignatureScheme, ...] = (
    S.ECDSA_SECP256R1_SHA256,
    S.ECDSA_SECP384R1_SHA384,
    S.ECDSA_SECP521R1_SHA512,
    S.ED25519,
    S.ED448,
    S.RSA_PSS_RSAE_SHA256,
    S.RSA_PSS_RSAE_SHA384,
    S.RSA_PSS_RSAE_SHA512,
    S.RSA_PSS_PSS_SHA256,
    S.RSA_PSS_PSS_SHA384,
    S.RSA_PSS_PSS_SHA512,
)
# Accepted in certificate signatures only (signature_algorithms_cert, RFC 8446 §4.2.3).
TLS13_CERTIFICATE_ONLY_SCHEMES: tuple[SignatureScheme, ...] = (
    S.RSA_PKCS1_SHA256,
    S.RSA_PKCS1_SHA384,
    S.RSA_PKCS1_SHA512,
    S.RSA_PKCS1_SHA1,
    S.ECDSA_SHA1,
)
TLS13_CERTIFICATE_SCHEMES: tuple[SignatureScheme, ...] = (
    TLS13_CERTIFICATE_VERIFY_SCHEMES + TLS13_CERTIFICATE_ONLY_SCHEMES
)
# What a TLS 1.2 peer may sign ServerKeyExchange / CertificateVerify with, best first: the TLS 1.3 schemes,
# then PKCS#1 v1.5 with SHA-2 (RFC 8446 §4.2.3 lets a 1.3-capable client offer them for TLS 1.2).
TLS12_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = (
    *TLS13_CERTIFICATE_VERIFY_SCHEMES,
    S.RSA_PKCS1_SHA256,
    S.RSA_PKCS1_SHA384,
    S.RSA_PKCS1_SHA512,
)
_TLS1_2 = 0x0303
_TLS1_3 = 0x0304
_HANDSHAKE_SCHEMES = {
    _TLS1_3: frozenset(TLS13_CERTIFICATE_VERIFY_SCHEMES),
    _TLS1_2: frozenset(TLS12_SIGNATURE_SCHEMES),
}


def handshake_schemes(version: int) -> frozenset[SignatureScheme]:
    """The schemes that may sign handshake messages in ``version``: TLS 1.3 CertificateVerify, or TLS 1.2
    ServerKeyExchange and CertificateVerify. Earlier versions have no scheme field: the empty set."""
    return _HANDSHAKE_SCHEMES.get(version, frozenset())


class _Kind(Enum):
    ECDSA = "ECDSA"
    ED25519 = "Ed25519"
    ED448 = "Ed448"
    RSA_PSS_RSAE = "RSA-PSS (rsaEncryption key)"
    RSA_PSS_PSS = "RSA-PSS (RSASSA-PSS key)"
    RSA_PKCS1 = "RSA PKCS#1 v1.5"


@dataclass(frozen=True, slots=True)
class _Scheme:
    kind: _Kind
    hash: hashes.HashAlgorithm | None  # None for EdDSA (the hash is part of the algorithm)
    curve: type[ec.EllipticCurve] | None = None  # TLS 1.3 ECDSA schemes fix the curve


_SCHEMES: dict[SignatureScheme, _Scheme] = {
    S.ECDSA_SECP256R1_SHA256: _Scheme(_Kind.ECDSA, hashes.SHA256(), ec.SECP256R1),
    S.ECDSA_SECP384R1_SHA384: _Scheme(_Kind.ECDSA, hashes.SHA384(), ec.SECP384R1),
    S.ECDSA_SECP521R1_SHA512: _Scheme(_Kind.ECDSA, hashes.SHA512(), ec.SECP521R1),
    S.ED25519: _Scheme(_Kind.ED25519, None),
    S.ED448: _Scheme(_Kind.ED448, None),
    S.RSA_PSS_RSAE_SHA256: _Scheme(_Kind.RSA_PSS_RSAE, hashes.SHA256()),
    S.RSA_PSS_RSAE_SHA384: _Scheme(_Kind.RSA_PSS_RSAE, hashes.SHA384()),
    S.RSA_PSS_RSAE_SHA512: _Scheme(_Kind.RSA_PSS_RSAE, hashes.SHA512()),
    S.RSA_PSS_PSS_SHA256: _Scheme(_Kind.RSA_PSS_PSS, hashes.SHA256()),
    S.RSA_PSS_PSS_SHA384: _Scheme(_Kind.RSA_PSS_PSS, hashes.SHA384()),
    S.RSA_PSS_PSS_SHA512: _Scheme(_Kind.RSA_PSS_PSS, hashes.SHA512()),
    S.RSA_PKCS1_SHA256: _Scheme(_Kind.RSA_PKCS1, hashes.SHA256()),
    S.RSA_PKCS1_SHA384: _Scheme(_Kind.RSA_PKCS1, hashes.SHA384()),
    S.RSA_PKCS1_SHA512: _Scheme(_Kind.RSA_PKCS1, hashes.SHA512()),
    S.RSA_PKCS1_SHA1: _Scheme(_Kind.RSA_PKCS1, hashes.SHA1()),
    S.ECDSA_SHA1: _Scheme(_Kind.ECDSA, hashes.SHA1()),
}

_CV_PAD = b" " * 64
_SERVER_CONTEXT = _CV_PAD + b"TLS 1.3, server CertificateVerify\x00"
_CLIENT_CONTEXT = _CV_PAD + b"TLS 1.3, client CertificateVerify\x00"


def certificate_verify_input(server: bool, transcript_hash: bytes) -> bytes:
    """The signed content of CertificateVerify (RFC 8446 §4.4.3).

    64 spaces || "TLS 1.3, server CertificateVerify" (or client) || 0x00 || Transcript-Hash.
    """
    return (_SERVER_CONTEXT if server else _CLIENT_CONTEXT) + transcript_hash


def is_rsa_pss_certificate(cert: x509.Certificate) -> bool:
    """True when the certificate's key is an RSASSA-PSS key (usable with ``rsa_pss_pss_*`` only)."""
    return cert.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS


def _pss(h: hashes.HashAlgorithm) -> padding.PSS:
    # RFC 8446 §4.2.3: MGF1 with the same hash, salt length equal to the digest length.
    return padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)


def _fits(
    info: _Scheme, key: PublicKey | PrivateKey, rsa_pss_key: bool | None, *, any_curve: bool = False
) -> bool:
    kind = info.kind
    if kind is _Kind.ECDSA:
        if not isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
            return False
        return any_curve or info.curve is None or isinstance(key.curve, info.curve)
    if kind is _Kind.ED25519:
        return isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey)
    if kind is _Kind.ED448:
        return isinstance(key, ed448.Ed448PublicKey | ed448.Ed448PrivateKey)
    if not isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return False
    if rsa_pss_key is None:  # not known: cryptography loads both key kinds alike
        return True
    if kind is _Kind.RSA_PSS_PSS:
        return rsa_pss_key
    return not rsa_pss_key  # rsaEncryption keys: rsa_pss_rsae_* and (certificates) rsa_pkcs1_*


def scheme_fits_public_key(
    scheme: SignatureScheme,
    public_key: PublicKey,
    *,
    rsa_pss_key: bool | None = None,
    version: int | None = None,
) -> bool:
    """Whether ``scheme`` can be verified with ``public_key`` (type, and for ECDSA the curve, except in
    TLS 1.2) and, given a ``version``, is allowed to sign handshake messages in it."""
    info = _SCHEMES.get(scheme)
    if info is None or (version is not None and scheme not in handshake_schemes(version)):
        return False
    return _fits(info, public_key, rsa_pss_key, any_curve=version == _TLS1_2)


def _rsa_pss_size_ok(key: rsa.RSAPrivateKey, h: hashes.HashAlgorithm) -> bool:
    # RFC 8017 §9.1.1: emLen >= hLen + sLen + 2 with sLen = hLen, emLen = ceil((modBits - 1) / 8).
    return (key.key_size - 1 + 7) // 8 >= 2 * h.digest_size + 2


def schemes_for_private_key(
    key: PrivateKey, *, rsa_pss_key: bool | None = None, version: int = _TLS1_3
) -> tuple[SignatureScheme, ...]:
    """The schemes this key can sign handshake messages with in ``version``, best first (RFC 8446
    §4.4.2.2; in TLS 1.2 an ECDSA key also signs with the other ``ecdsa_*`` hashes, after its own).

    An RSA key counts as an rsaEncryption key unless ``rsa_pss_key=True``.
    """
    tls12 = version == _TLS1_2
    order = TLS12_SIGNATURE_SCHEMES if tls12 else TLS13_CERTIFICATE_VERIFY_SCHEMES
    own: list[SignatureScheme] = []
    other_curves: list[SignatureScheme] = []
    for scheme in order:
        info = _SCHEMES[scheme]
        if not _fits(info, key, bool(rsa_pss_key), any_curve=tls12):
            continue
        h = info.hash
        pss = info.kind in (_Kind.RSA_PSS_RSAE, _Kind.RSA_PSS_PSS)
        if isinstance(key, rsa.RSAPrivateKey) and h is not None and pss and not _rsa_pss_size_ok(key, h):
            continue  # e.g. a 1024-bit key cannot hold a PSS SHA-512 signature
        same_curve = _fits(info, key, bool(rsa_pss_key))
        (own if same_curve else other_curves).append(scheme)
    return tuple(own + other_curves)


def sign(
    private_key: PrivateKey,
    scheme: SignatureScheme,
    data: bytes,
    *,
    rsa_pss_key: bool | None = None,
    version: int = _TLS1_3,
) -> bytes:
    """Sign ``data`` with a scheme allowed for handshake signatures in ``version`` (TLS 1.3 by default);
    misuse is ``LocalProtocolError``."""
    info = _SCHEMES.get(scheme)
    if info is None or scheme not in handshake_schemes(version):
        label = {_TLS1_2: "TLS 1.2", _TLS1_3: "TLS 1.3"}.get(version, f"version 0x{version:04x}")
        raise LocalProtocolError(f"cannot sign with {scheme.iana_name} in {label}")
    if not _fits(info, private_key, rsa_pss_key, any_curve=version == _TLS1_2):
        raise LocalProtocolError(f"{scheme.iana_name} does not fit a {_key_name(private_key)}")
    h = info.hash
    try:
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and h is not None:
            return private_key.sign(data, ec.ECDSA(h))
        if isinstance(private_key, rsa.RSAPrivateKey) and h is not None:
            pad = padding.PKCS1v15() if info.kind is _Kind.RSA_PKCS1 else _pss(h)
            return private_key.sign(data, pad, h)
        if isinstance(private_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
            return private_key.sign(data)
    except ValueError as exc:  # e.g. RSA key too small for this PSS hash
        raise LocalProtocolError(f"cannot sign with {scheme.iana_name}: {exc}") from exc
    raise LocalProtocolError(f"cannot sign with {scheme.iana_name}")  # pragma: no cover - table invariant


def verify(
    public_key: PublicKey,
    scheme: SignatureScheme,
    data: bytes,
    signature: bytes,
    *,
    rsa_pss_key: bool | None = None,
    version: int | None = None,
) -> None:
    """Verify a peer's signature. ``DecryptError`` if it is wrong, ``IllegalParameter`` if the scheme
    is unknown here, not allowed in ``version`` (when given: a handshake signature of that version), or
    does not fit the key (RFC 8446 §4.4.3; RFC 5246 §7.4.3 and §7.4.8)."""
    info = _SCHEMES.get(scheme)
    if info is None:
        raise IllegalParameter(f"signature scheme {scheme.iana_name} is not supported")
    if version is not None and scheme not in handshake_schemes(version):
        raise IllegalParameter(f"signature scheme {scheme.iana_name} is not allowed in this protocol version")
    if not _fits(info, public_key, rsa_pss_key, any_curve=version == _TLS1_2):
        raise IllegalParameter(f"signature scheme {scheme.iana_name} does not fit a {_key_name(public_key)}")
    h = info.hash
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey) and h is not None:
            public_key.verify(signature, data, ec.ECDSA(h))
        elif isinstance(public_key, rsa.RSAPublicKey) and h is not None:
            pad = padding.PKCS1v15() if info.kind is _Kind.RSA_PKCS1 else _pss(h)
            public_key.verify(signature, data, pad, h)
        elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            public_key.verify(signature, data)
        else:  # pragma: no cover - _fits() already matched key and scheme
            raise IllegalParameter(f"signature scheme {scheme.iana_name} is not supported")
    except (InvalidSignature, ValueError):
        raise DecryptError(f"{scheme.iana_name} signature does not verify") from None


def _key_name(key: PublicKey | PrivateKey) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"{key.curve.name} key"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"{key.key_size}-bit RSA key"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519 key"
    if isinstance(key, ed448.Ed448PublicKey | ed448.Ed448PrivateKey):
        return "Ed448 key"
    return type(key).__name__


class Signer(Protocol):
    """What the handshake signs with (CertificateVerify; TLS 1.2 ServerKeyExchange): a private key, or
    a recording in tests."""

    @property
    def schemes(self) -> tuple[SignatureScheme, ...]:
        """TLS 1.3 schemes this signer can use, best first."""
        ...

    def schemes_for(self, version: int) -> tuple[SignatureScheme, ...]:
        """Schemes this signer can use for handshake signatures in ``version``, best first."""
        ...

    def sign(self, scheme: SignatureScheme, data: bytes, *, version: int = _TLS1_3) -> bytes: ...


class KeySigner:
    """A ``Signer`` over a ``cryptography`` private key. ``schemes`` and ``sign`` are the TLS 1.3 ones;
    ``schemes_for(version)`` and ``sign(..., version=TLS1_2)`` give TLS 1.2's."""

    __slots__ = ("_key", "_rsa_pss_key", "_schemes", "_schemes12")

    def __init__(self, private_key: PrivateKey, *, rsa_pss_key: bool = False) -> None:
        self._key = private_key
        self._rsa_pss_key = rsa_pss_key
        self._schemes = schemes_for_private_key(private_key, rsa_pss_key=rsa_pss_key)
        self._schemes12 = schemes_for_private_key(private_key, rsa_pss_key=rsa_pss_key, version=_TLS1_2)
        if not self._schemes:
            raise LocalProtocolError(f"a {_key_name(private_key)} cannot sign any TLS 1.3 scheme")

    def __repr__(self) -> str:
        return f"<KeySigner {_key_name(self._key)}>"

    @property
    def schemes(self) -> tuple[SignatureScheme, ...]:
        return self._schemes

    def schemes_for(self, version: int) -> tuple[SignatureScheme, ...]:
        """Schemes this key signs handshake messages with in ``version``, best first."""
        return self._schemes12 if version == _TLS1_2 else self._schemes if version == _TLS1_3 else ()

    def sign(self, scheme: SignatureScheme, data: bytes, *, version: int = _TLS1_3) -> bytes:
        if scheme not in self.schemes_for(version):
            raise LocalProtocolError(f"this key does not sign with {scheme.iana_name}")
        return sign(self._key, scheme, data, rsa_pss_key=self._rsa_pss_key, version=version)
