"""ECDHE for TLS 1.2 (RFC 8422): the key shares of ``crypto.groups`` and the ServerKeyExchange signature.

The exchange is the TLS 1.3 one with the roles' order swapped: the server generates its key first and
sends it in ServerKeyExchange; the client answers in ClientKeyExchange. Points are uncompressed only
(RFC 8422 §5.1.2: the ec_point_formats a client must accept), x25519/x448 public keys raw (RFC 8422
§5.11). The premaster secret is the shared secret: the x coordinate for the NIST curves (§5.10), the
X25519/X448 output for the others; a bad peer point or an all-zero result is ``IllegalParameter``.

The ServerKeyExchange signature covers ``ClientHello.random + ServerHello.random + ServerECDHParams``
(RFC 8422 §5.4, RFC 5246 §7.4.3), made with a TLS 1.2 scheme (``signatures.handshake_schemes``).
"""

from __future__ import annotations

from tlslens.crypto import signatures
from tlslens.crypto.groups import KeyShare, KeyShareSource
from tlslens.errors import LocalProtocolError
from tlslens.wire.enums import NamedGroup, SignatureScheme

__all__ = [
    "TLS12_GROUPS",
    "client_key_exchange",
    "server_key_exchange_input",
    "server_key_share",
    "sign_server_key_exchange",
    "verify_server_key_exchange",
]

_TLS1_2 = 0x0303

TLS12_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519,
    NamedGroup.SECP256R1,
    NamedGroup.SECP384R1,
    NamedGroup.SECP521R1,
    NamedGroup.X448,
)
"""Curves for TLS 1.2 ECDHE, in default preference order (the post-quantum hybrids are TLS 1.3 only)."""


def _check_group(group: NamedGroup) -> None:
    if group not in TLS12_GROUPS:
        raise LocalProtocolError(f"{group.iana_name} is not a TLS 1.2 ECDHE curve")


def server_key_share(group: NamedGroup, provider: KeyShareSource) -> KeyShare:
    """The server's ephemeral key: send ``share.public_bytes`` in ServerKeyExchange, then
    ``share.exchange(client_public)`` gives the premaster secret."""
    _check_group(group)
    return provider.generate_key_share(group)


def client_key_exchange(
    group: NamedGroup, server_public: bytes, provider: KeyShareSource
) -> tuple[bytes, bytes]:
    """Client side: answer the server's public key. Returns ``(client_public, pre_master_secret)``;
    the server's point is checked before a key is spent on it (``IllegalParameter`` if bad)."""
    _check_group(group)
    ours = provider.generate_key_share(group)
    return ours.public_bytes, ours.exchange(server_public)


def server_key_exchange_input(client_random: bytes, server_random: bytes, params: bytes) -> bytes:
    """The signed content of ServerKeyExchange: client_random + server_random + the encoded params."""
    return client_random + server_random + params


def sign_server_key_exchange(
    private_key: signatures.PrivateKey,
    scheme: SignatureScheme,
    client_random: bytes,
    server_random: bytes,
    params: bytes,
    *,
    rsa_pss_key: bool | None = None,
) -> bytes:
    """Sign ServerKeyExchange params with a TLS 1.2 scheme; misuse is ``LocalProtocolError``."""
    data = server_key_exchange_input(client_random, server_random, params)
    return signatures.sign(private_key, scheme, data, rsa_pss_key=rsa_pss_key, version=_TLS1_2)


def verify_server_key_exchange(
    public_key: signatures.PublicKey,
    scheme: SignatureScheme,
    signature: bytes,
    client_random: bytes,
    server_random: bytes,
    params: bytes,
    *,
    rsa_pss_key: bool | None = None,
) -> None:
    """Check a server's ServerKeyExchange signature: ``DecryptError`` if it does not verify,
    ``IllegalParameter`` if the scheme is not a TLS 1.2 one or does not fit the certificate's key."""
    data = server_key_exchange_input(client_random, server_random, params)
    signatures.verify(public_key, scheme, data, signature, rsa_pss_key=rsa_pss_key, version=_TLS1_2)
