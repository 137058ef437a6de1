"""What authenticates a TLS 1.3 connection besides a server's certificate chain: external pre-shared
keys (RFC 8446 §2.2, §4.2.11) and the client certificates a server asks for (RFC 8446 §4.3.2, §4.6.2).

``ExternalPsk(identity, key, hash)`` is a key both ends were given out of band, with the identity that
names it and the hash it is used with (SHA-256 unless said otherwise, RFC 8446 §4.2.11). A client lists
them in ``ClientConfig(external_psks=[...])``; a server finds them with ``ServerConfig(psk_lookup=...)``,
a function from the identity the client sent to the ``ExternalPsk`` (or None). ``psk_table(psks)`` makes
such a function from a list, comparing identities in constant time.

``CertificateRequestInfo`` is what a client's ``certificate_callback`` is told when a server asks for a
certificate, during the handshake or after it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tlslens.errors import ConfigurationError
from tlslens.wire.enums import SignatureScheme

MIN_EXTERNAL_PSK_BYTES = 16
"""RFC 9257 §6: an external PSK MUST be at least 128 bits long (a shorter one falls to a dictionary
attack on the binder of one captured ClientHello)."""
MAX_EXTERNAL_PSK_BYTES = 512
"""As OpenSSL's PSK_MAX_PSK_LEN."""
MAX_EXTERNAL_PSK_IDENTITY = 1024
"""The longest external PSK identity configured, and the longest one a server looks up (longer ones,
such as resumption tickets from another server, are never handed to ``psk_lookup``)."""

_HASHES: dict[str, hashes.HashAlgorithm] = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}


@dataclass(frozen=True, slots=True)
class ExternalPsk:
    """A pre-shared key provisioned out of band (RFC 8446 §2.2).

    ``identity``: the name the client sends for it (bytes; text is taken as UTF-8; 1 to
    ``MAX_EXTERNAL_PSK_IDENTITY`` bytes). ``key``: the secret (16 to 512 bytes). ``hash``: ``"sha256"``
    (the default, RFC 8446 §4.2.11) or ``"sha384"``; the handshake then uses a cipher suite with that
    hash (TLS_AES_256_GCM_SHA384 for SHA-384)."""

    identity: bytes
    key: bytes = field(repr=False)
    hash: str = "sha256"

    def __post_init__(self) -> None:
        raw: object = self.identity
        identity = raw.encode("utf-8") if isinstance(raw, str) else bytes(self.identity)
        if not 1 <= len(identity) <= MAX_EXTERNAL_PSK_IDENTITY:
            raise ConfigurationError(
                f"a PSK identity must be 1 to {MAX_EXTERNAL_PSK_IDENTITY} bytes, not {len(identity)}"
            )
        object.__setattr__(self, "identity", identity)
        key = bytes(self.key)
        if len(key) < MIN_EXTERNAL_PSK_BYTES:
            raise ConfigurationError(
                f"the PSK for {shown_identity(identity)} is {len(key)} bytes: at least"
                f" {MIN_EXTERNAL_PSK_BYTES} are needed (RFC 9257 §6: 128 bits)"
            )
        if len(key) > MAX_EXTERNAL_PSK_BYTES:
            raise ConfigurationError(f"a PSK may be {MAX_EXTERNAL_PSK_BYTES} bytes at most, not {len(key)}")
        object.__setattr__(self, "key", key)
        name = self.hash.lower().replace("-", "")
        if name not in _HASHES:
            raise ConfigurationError(f"PSK hash {self.hash!r} is not supported: sha256 or sha384")
        object.__setattr__(self, "hash", name)

    @property
    def hash_algorithm(self) -> hashes.HashAlgorithm:
        return _HASHES[self.hash]

    @property
    def shown(self) -> str:
        """The identity as a trace shows it: text in quotes when it is printable, else hex."""
        return shown_identity(self.identity)


def shown_identity(identity: bytes) -> str:
    """``"client1"`` for a printable ASCII identity of up to 64 bytes, else its length and hex."""
    if len(identity) <= 64 and all(0x20 <= b < 0x7F for b in identity):
        return '"' + identity.decode("ascii") + '"'
    head = identity[:8].hex()
    return f"{len(identity)} bytes: {head}…" if len(identity) > 8 else identity.hex()


PskLookup = Callable[[bytes], ExternalPsk | None]
"""A server's ``psk_lookup``: the ``ExternalPsk`` a client's identity names, or None when unknown. It
is called with identities from unauthenticated clients (each at most ``MAX_EXTERNAL_PSK_IDENTITY``
bytes): it must not raise, and should compare in constant time (as ``psk_table`` does)."""


def psk_table(psks: Iterable[ExternalPsk]) -> PskLookup:
    """A ``psk_lookup`` over a fixed list. Every identity is compared, in constant time, so how long
    the lookup takes says nothing about which identities exist."""
    table = tuple(psks)
    identities = [p.identity for p in table]
    if len(set(identities)) != len(identities):
        raise ConfigurationError("two PSKs share an identity")

    def lookup(identity: bytes) -> ExternalPsk | None:
        found = None
        for psk in table:
            if hmac.compare_digest(psk.identity, identity) and found is None:
                found = psk
        return found

    return lookup


@dataclass(frozen=True, slots=True)
class CertificateRequestInfo:
    """What a server asked for when it requested a client certificate (RFC 8446 §4.3.2).

    ``authorities``: the certificate authorities it named (certificate_authorities, RFC 8446 §4.2.4),
    parsed (a name that does not parse is left out), and ``authorities_der`` as sent. ``schemes``: the
    signature schemes it accepts. ``context``: the certificate_request_context (empty in the handshake).
    ``post_handshake``: asked after the handshake (RFC 8446 §4.6.2)."""

    schemes: tuple[SignatureScheme, ...]
    authorities: tuple[x509.Name, ...] = ()
    authorities_der: tuple[bytes, ...] = field(default=(), repr=False)
    context: bytes = b""
    post_handshake: bool = False


__all__ = [
    "MAX_EXTERNAL_PSK_BYTES",
    "MAX_EXTERNAL_PSK_IDENTITY",
    "MIN_EXTERNAL_PSK_BYTES",
    "CertificateRequestInfo",
    "ExternalPsk",
    "PskLookup",
    "psk_table",
    "shown_identity",
]
