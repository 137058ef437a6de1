"""Key exchange groups for TLS 1.3 (RFC 8446 §4.2.7, §4.2.8, §7.4) on ``cryptography``.

The client makes a ``KeyShare`` per offered group and later calls ``exchange(server_share)``; the server
answers one client share with ``server_key_exchange(group, client_share, provider)``, which returns the
server's share and the shared secret. The ephemeral key pairs come from the ``CryptoProvider`` (any
``KeyShareSource``) so that a handshake can be replayed byte for byte. TLS 1.2 ECDHE (RFC 8422) uses the
same key shares: see ``crypto.ecdhe12``.

Peer shares are checked the way RFC 8446 §4.2.8 asks: a share of the wrong length, an EC point that is
compressed, off the curve or the identity, and an all-zero X25519/X448 result are ``IllegalParameter``.

Groups and their encodings:

============== ========================================== ============================================
group          client share                               server share / shared secret
============== ========================================== ============================================
x25519, x448   the public key (32 / 56 octets)            public key; X25519(a, B) (32 / 56 octets)
secp256r1...   uncompressed point 04 || X || Y            same; the x coordinate of the ECDH point
X25519MLKEM768 ML-KEM-768 encapsulation key (1184)        ML-KEM ciphertext (1088) || X25519 share;
               || X25519 share (32)                       ML-KEM secret (32) || X25519 secret (32)
============== ========================================== ============================================

The hybrid follows draft-ietf-tls-ecdhe-mlkem as deployed (ML-KEM part first, unlike the older
X25519Kyber768Draft00). Private keys given as bytes (``key_share_from_private_bytes``) are: the raw
X25519/X448 key, the big-endian EC scalar, or for X25519MLKEM768 the 64-octet ML-KEM seed (d || z of
FIPS 203) followed by the 32-octet X25519 key. The server's ML-KEM encapsulation draws its randomness
inside OpenSSL, so an X25519MLKEM768 server share cannot be replayed byte for byte.
"""

from __future__ import annotations

import abc
import hmac
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tlslens.errors import IllegalParameter, LocalProtocolError
from tlslens.wire.enums import NamedGroup

# In default preference order.
SUPPORTED_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519MLKEM768,
    NamedGroup.X25519,
    NamedGroup.SECP256R1,
    NamedGroup.SECP384R1,
    NamedGroup.SECP521R1,
    NamedGroup.X448,
)

_MLKEM768_EK_LEN = 1184
_MLKEM768_CT_LEN = 1088
_MLKEM768_SEED_LEN = 64

# Length of a valid key_exchange field: (client share, server share).
SHARE_LENGTHS: dict[NamedGroup, tuple[int, int]] = {
    NamedGroup.X25519: (32, 32),
    NamedGroup.X448: (56, 56),
    NamedGroup.SECP256R1: (65, 65),
    NamedGroup.SECP384R1: (97, 97),
    NamedGroup.SECP521R1: (133, 133),
    NamedGroup.X25519MLKEM768: (_MLKEM768_EK_LEN + 32, _MLKEM768_CT_LEN + 32),
}


def _check_length(group: NamedGroup, share: bytes, expected: int, who: str) -> None:
    if len(share) != expected:
        raise IllegalParameter(
            f"{who} {group.iana_name} key share is {len(share)} octets, expected {expected}"
        )


class KeyShare(abc.ABC):
    """One ephemeral key pair for one group: the client side of the exchange (or a server's ECDH half).

    ``public_bytes`` is the ``key_exchange`` field to send; ``exchange(peer_share)`` checks the peer's
    share and returns the shared secret, raising ``IllegalParameter`` for a bad share.
    """

    __slots__ = ("group", "public_bytes")
    group: NamedGroup
    public_bytes: bytes

    @abc.abstractmethod
    def exchange(self, server_share: bytes) -> bytes: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.group.iana_name}>"


class _X25519Share(KeyShare):
    __slots__ = ("_key",)

    def __init__(self, key: x25519.X25519PrivateKey) -> None:
        self.group = NamedGroup.X25519
        self._key = key
        self.public_bytes = key.public_key().public_bytes_raw()

    def exchange(self, server_share: bytes) -> bytes:
        _check_length(self.group, server_share, 32, "peer")
        try:
            secret = self._key.exchange(x25519.X25519PublicKey.from_public_bytes(server_share))
        except ValueError:  # OpenSSL refuses an all-zero result (small-order peer point)
            raise IllegalParameter("x25519 shared secret is all zero (RFC 8446 §7.4.2)") from None
        if hmac.compare_digest(secret, bytes(32)):  # pragma: no cover - OpenSSL refuses it first
            raise IllegalParameter("x25519 shared secret is all zero (RFC 8446 §7.4.2)")
        return secret


class _X448Share(KeyShare):
    __slots__ = ("_key",)

    def __init__(self, key: x448.X448PrivateKey) -> None:
        self.group = NamedGroup.X448
        self._key = key
        self.public_bytes = key.public_key().public_bytes_raw()

    def exchange(self, server_share: bytes) -> bytes:
        _check_length(self.group, server_share, 56, "peer")
        try:
            secret = self._key.exchange(x448.X448PublicKey.from_public_bytes(server_share))
        except ValueError:
            raise IllegalParameter("x448 shared secret is all zero (RFC 8446 §7.4.2)") from None
        if hmac.compare_digest(secret, bytes(56)):  # pragma: no cover - OpenSSL refuses it first
            raise IllegalParameter("x448 shared secret is all zero (RFC 8446 §7.4.2)")
        return secret


_CURVES: dict[NamedGroup, ec.EllipticCurve] = {
    NamedGroup.SECP256R1: ec.SECP256R1(),
    NamedGroup.SECP384R1: ec.SECP384R1(),
    NamedGroup.SECP521R1: ec.SECP521R1(),
}
_ECDH = ec.ECDH()


def _ec_public_key(group: NamedGroup, share: bytes) -> ec.EllipticCurvePublicKey:
    """Peer point: UncompressedPointRepresentation only (RFC 8446 §4.2.8.2), on the curve, not identity."""
    _check_length(group, share, SHARE_LENGTHS[group][0], "peer")
    if share[0] != 4:
        raise IllegalParameter(f"{group.iana_name} point is not in uncompressed form (RFC 8446 §4.2.8.2)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[group], share)
    except ValueError:
        raise IllegalParameter(f"{group.iana_name} point is not on the curve") from None


class _EcdhShare(KeyShare):
    __slots__ = ("_key",)

    def __init__(self, group: NamedGroup, key: ec.EllipticCurvePrivateKey) -> None:
        self.group = group
        self._key = key
        self.public_bytes = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def exchange(self, server_share: bytes) -> bytes:
        peer = _ec_public_key(self.group, server_share)
        try:
            return self._key.exchange(_ECDH, peer)
        except ValueError:  # pragma: no cover - OpenSSL already refused the point
            raise IllegalParameter(f"{self.group.iana_name} key agreement failed") from None


class _X25519MLKEM768Share(KeyShare):
    """Client side of the hybrid: decapsulate the server's ciphertext, then X25519."""

    __slots__ = ("_ecdh", "_kem")

    def __init__(self, kem: mlkem.MLKEM768PrivateKey, ecdh: _X25519Share) -> None:
        self.group = NamedGroup.X25519MLKEM768
        self._kem = kem
        self._ecdh = ecdh
        self.public_bytes = kem.public_key().public_bytes_raw() + ecdh.public_bytes

    def exchange(self, server_share: bytes) -> bytes:
        _check_length(self.group, server_share, SHARE_LENGTHS[self.group][1], "server")
        ciphertext, peer_x25519 = server_share[:_MLKEM768_CT_LEN], server_share[_MLKEM768_CT_LEN:]
        x25519_secret = self._ecdh.exchange(peer_x25519)
        try:
            kem_secret = self._kem.decapsulate(ciphertext)  # implicit rejection: never fails on length
        except ValueError:  # pragma: no cover - defensive
            raise IllegalParameter("ML-KEM-768 ciphertext refused") from None
        return kem_secret + x25519_secret


def generate_key_share(group: NamedGroup) -> KeyShare:
    """A fresh ephemeral key pair from OpenSSL's generator (what ``DefaultProvider`` uses)."""
    if group == NamedGroup.X25519:
        return _X25519Share(x25519.X25519PrivateKey.generate())
    curve = _CURVES.get(group)
    if curve is not None:
        return _EcdhShare(group, ec.generate_private_key(curve))
    if group == NamedGroup.X25519MLKEM768:
        return _X25519MLKEM768Share(
            mlkem.MLKEM768PrivateKey.generate(), _X25519Share(x25519.X25519PrivateKey.generate())
        )
    if group == NamedGroup.X448:
        return _X448Share(x448.X448PrivateKey.generate())
    raise LocalProtocolError(f"group {group.iana_name} is not supported")


_PRIVATE_KEY_LENGTHS: dict[NamedGroup, int] = {
    NamedGroup.X25519: 32,
    NamedGroup.X448: 56,
    NamedGroup.SECP256R1: 32,
    NamedGroup.SECP384R1: 48,
    NamedGroup.SECP521R1: 66,
    NamedGroup.X25519MLKEM768: _MLKEM768_SEED_LEN + 32,
}


def private_key_length(group: NamedGroup) -> int:
    """Octets ``key_share_from_private_bytes`` expects for ``group``."""
    try:
        return _PRIVATE_KEY_LENGTHS[group]
    except KeyError:
        raise LocalProtocolError(f"group {group.iana_name} is not supported") from None


def key_share_from_private_bytes(group: NamedGroup, private: bytes) -> KeyShare:
    """A key pair from a known private key (trace replay); see the module docstring for the encodings."""
    if len(private) != private_key_length(group):
        raise LocalProtocolError(
            f"{group.iana_name} private key is {len(private)} octets, expected {private_key_length(group)}"
        )
    if group == NamedGroup.X25519:
        return _X25519Share(x25519.X25519PrivateKey.from_private_bytes(private))
    if group == NamedGroup.X448:
        return _X448Share(x448.X448PrivateKey.from_private_bytes(private))
    if group == NamedGroup.X25519MLKEM768:
        seed, x25519_key = private[:_MLKEM768_SEED_LEN], private[_MLKEM768_SEED_LEN:]
        return _X25519MLKEM768Share(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(seed),
            _X25519Share(x25519.X25519PrivateKey.from_private_bytes(x25519_key)),
        )
    try:
        key = ec.derive_private_key(int.from_bytes(private, "big"), _CURVES[group])
    except ValueError as exc:  # zero or not below the group order
        raise LocalProtocolError(f"{group.iana_name} private scalar out of range") from exc
    return _EcdhShare(group, key)


class KeyShareSource(Protocol):
    """Where the server's ephemeral key comes from: a ``CryptoProvider`` (``crypto.provider``)."""

    def generate_key_share(self, group: NamedGroup) -> KeyShare: ...


def server_key_exchange(
    group: NamedGroup, client_share: bytes, provider: KeyShareSource
) -> tuple[bytes, bytes]:
    """Server side: answer ``client_share`` with a fresh share from ``provider``.

    Returns ``(server_share, shared_secret)``. A bad client share raises ``IllegalParameter`` before
    any key is generated.
    """
    if group not in SHARE_LENGTHS:
        raise LocalProtocolError(f"group {group.iana_name} is not supported")
    _check_length(group, client_share, SHARE_LENGTHS[group][0], "client")
    if group == NamedGroup.X25519MLKEM768:
        return _hybrid_server_exchange(client_share, provider)
    if group in _CURVES:
        _ec_public_key(group, client_share)  # refuse a bad point before spending a key on it
    ours = provider.generate_key_share(group)
    return ours.public_bytes, ours.exchange(client_share)


def _hybrid_server_exchange(client_share: bytes, provider: KeyShareSource) -> tuple[bytes, bytes]:
    encapsulation_key, peer_x25519 = client_share[:_MLKEM768_EK_LEN], client_share[_MLKEM768_EK_LEN:]
    try:
        kem_public = mlkem.MLKEM768PublicKey.from_public_bytes(encapsulation_key)
    except ValueError:  # FIPS 203 §7.2 modulus check failed
        raise IllegalParameter("ML-KEM-768 encapsulation key is invalid") from None
    ours = provider.generate_key_share(NamedGroup.X25519)
    x25519_secret = ours.exchange(peer_x25519)
    kem_secret, ciphertext = kem_public.encapsulate()
    return ciphertext + ours.public_bytes, kem_secret + x25519_secret
