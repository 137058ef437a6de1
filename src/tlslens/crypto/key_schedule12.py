"""The TLS 1.2 key schedule (RFC 5246 §5, §6.3, §7.4.9, §8.1; RFC 7627; RFC 5705) on ``cryptography``'s HMAC.

One ``MasterSecret12`` per session; everything else is derived from it::

    MasterSecret12.derive_extended(suite, pre_master_secret, session_hash, client_random, server_random)
    MasterSecret12.derive(suite, pre_master_secret, client_random, server_random)   # no EMS: legacy
    MasterSecret12.resume(suite, master_secret, client_random, server_random, extended=...)
        .key_block()                   -> Tls12Keys: client/server write keys and IVs
        .client_finished(handshake_hash), .server_finished(handshake_hash)   -> verify_data (12 octets)
        .export(label, context, length)                                      -> RFC 5705 keying material

``handshake_hash`` and ``session_hash`` are ``Transcript.digest()`` with the suite's hash: for the
session hash, of the messages up to and including ClientKeyExchange (RFC 7627 §3); for Finished, of
every message before the Finished in question (RFC 5246 §7.4.9).

Exporters are refused (``LocalProtocolError``) on a session without the extended master secret: RFC 7627
§5.4 says a client or server that continues without it "MUST disable [RFC5705]", because a man in the
middle can then synchronize the master secrets of two connections (the triple handshake attack).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, hmac

from tlslens.crypto.suites12 import Tls12Suite
from tlslens.errors import LocalProtocolError

__all__ = ["MASTER_SECRET_LEN", "MasterSecret12", "Tls12Keys", "prf"]

MASTER_SECRET_LEN = 48
_RANDOM_LEN = 32
_RESERVED_EXPORTER_LABELS = frozenset(
    {b"client finished", b"server finished", b"master secret", b"key expansion", b"extended master secret"}
)


def prf(h: hashes.HashAlgorithm, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """PRF(secret, label, seed) = P_<hash>(secret, label + seed), cut to ``length`` (RFC 5246 §5).

    P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ..., with A(0) = seed
    and A(i) = HMAC(secret, A(i-1)).
    """
    if length < 0:
        raise LocalProtocolError(f"cannot derive {length} octets")
    base = hmac.HMAC(secret, h)
    seed = label + seed
    out = bytearray()
    a = seed
    while len(out) < length:
        mac = base.copy()
        mac.update(a)
        a = mac.finalize()
        mac = base.copy()
        mac.update(a + seed)
        out += mac.finalize()
    return bytes(out[:length])


def _check_randoms(client_random: bytes, server_random: bytes) -> None:
    if len(client_random) != _RANDOM_LEN or len(server_random) != _RANDOM_LEN:
        raise LocalProtocolError("client_random and server_random are 32 octets each")


@dataclass(frozen=True, slots=True)
class Tls12Keys:
    """The key block of an AEAD suite (RFC 5246 §6.3): write keys and implicit IVs, no MAC keys."""

    client_write_key: bytes = field(repr=False)
    server_write_key: bytes = field(repr=False)
    client_write_iv: bytes = field(repr=False)
    server_write_iv: bytes = field(repr=False)

    def write(self, *, client: bool) -> tuple[bytes, bytes]:
        """(key, iv) a client (``client=True``) or server protects its records with."""
        if client:
            return self.client_write_key, self.client_write_iv
        return self.server_write_key, self.server_write_iv

    def read(self, *, client: bool) -> tuple[bytes, bytes]:
        """(key, iv) a client (``client=True``) or server opens its peer's records with."""
        return self.write(client=not client)


@dataclass(frozen=True, slots=True)
class MasterSecret12:
    """A TLS 1.2 session's master secret, with the connection's randoms; ``extended`` is RFC 7627."""

    suite: Tls12Suite
    secret: bytes = field(repr=False)
    client_random: bytes
    server_random: bytes
    extended: bool

    @classmethod
    def derive(
        cls, suite: Tls12Suite, pre_master_secret: bytes, client_random: bytes, server_random: bytes
    ) -> MasterSecret12:
        """PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random)[0..47]
        (RFC 5246 §8.1): the legacy derivation, for a peer that did not negotiate EMS."""
        _check_randoms(client_random, server_random)
        seed = client_random + server_random
        secret = prf(suite.hash, pre_master_secret, b"master secret", seed, MASTER_SECRET_LEN)
        return cls(suite, secret, client_random, server_random, extended=False)

    @classmethod
    def derive_extended(
        cls,
        suite: Tls12Suite,
        pre_master_secret: bytes,
        session_hash: bytes,
        client_random: bytes,
        server_random: bytes,
    ) -> MasterSecret12:
        """PRF(pre_master_secret, "extended master secret", session_hash)[0..47] (RFC 7627 §4)."""
        _check_randoms(client_random, server_random)
        if len(session_hash) != suite.hash_len:
            raise LocalProtocolError(f"session_hash is {len(session_hash)} octets, not {suite.hash_len}")
        secret = prf(
            suite.hash, pre_master_secret, b"extended master secret", session_hash, MASTER_SECRET_LEN
        )
        return cls(suite, secret, client_random, server_random, extended=True)

    @classmethod
    def resume(
        cls,
        suite: Tls12Suite,
        master_secret: bytes,
        client_random: bytes,
        server_random: bytes,
        *,
        extended: bool,
    ) -> MasterSecret12:
        """An abbreviated handshake: the session's master secret with the new connection's randoms."""
        _check_randoms(client_random, server_random)
        if len(master_secret) != MASTER_SECRET_LEN:
            raise LocalProtocolError(f"a master secret is 48 octets, not {len(master_secret)}")
        return cls(suite, master_secret, client_random, server_random, extended)

    def key_block(self) -> Tls12Keys:
        """PRF(master_secret, "key expansion", server_random + client_random) cut into
        client_write_key, server_write_key, client_write_IV, server_write_IV (RFC 5246 §6.3)."""
        s = self.suite
        block = prf(
            s.hash, self.secret, b"key expansion", self.server_random + self.client_random, s.key_block_len
        )
        k, iv = s.key_len, s.fixed_iv_len
        return Tls12Keys(block[:k], block[k : 2 * k], block[2 * k : 2 * k + iv], block[2 * k + iv :])

    def client_finished(self, handshake_hash: bytes) -> bytes:
        """verify_data = PRF(master_secret, "client finished", Hash(handshake_messages))[0..11]."""
        return prf(
            self.suite.hash, self.secret, b"client finished", handshake_hash, self.suite.verify_data_len
        )

    def server_finished(self, handshake_hash: bytes) -> bytes:
        """verify_data = PRF(master_secret, "server finished", Hash(handshake_messages))[0..11]."""
        return prf(
            self.suite.hash, self.secret, b"server finished", handshake_hash, self.suite.verify_data_len
        )

    def export(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 5705 §4: PRF(master_secret, label, client_random + server_random [+ uint16 len + context]).

        ``context=None`` (no context) and ``b""`` (an empty one) give different values. Refused on a
        session without the extended master secret (RFC 7627 §5.4) and for the labels TLS itself uses.
        """
        if not self.extended:
            raise LocalProtocolError(
                "keying material exporters are disabled: the session has no extended master secret "
                "(RFC 7627 §5.4)"
            )
        if label in _RESERVED_EXPORTER_LABELS:
            raise LocalProtocolError(f"exporter label {label!r} is reserved by TLS (RFC 5705 §4)")
        if length < 0 or (context is not None and len(context) > 0xFFFF):
            raise LocalProtocolError("exporter length must be >= 0 and context shorter than 2^16 octets")
        seed = self.client_random + self.server_random
        if context is not None:
            seed += len(context).to_bytes(2, "big") + context
        return prf(self.suite.hash, self.secret, label, seed, length)
