"""Where randomness, ephemeral keys and time come from: the one seam that makes handshakes replayable.

The engine never calls ``os.urandom``, ``time.time`` or a key generator itself; it asks its
``CryptoProvider`` (the server's answer to a key share is ``groups.server_key_exchange(group, share,
provider)``). ``DefaultProvider`` is the real thing. ``DeterministicProvider`` hands out given
values in order, so a test can rebuild an RFC 8448 trace or a recorded session byte for byte::

    provider = DeterministicProvider(
        randoms=[client_random],
        private_keys={NamedGroup.X25519: [client_x25519_private_key]},
        clock=1_700_000_000.0,
    )
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms

from tlslens.crypto import groups
from tlslens.crypto.groups import KeyShare
from tlslens.errors import LocalProtocolError
from tlslens.wire.enums import NamedGroup


class CryptoProvider(Protocol):
    def random(self, n: int) -> bytes:
        """``n`` unpredictable octets (hello randoms, session ids, ticket nonces, padding)."""
        ...

    def generate_key_share(self, group: NamedGroup) -> KeyShare:
        """A fresh ephemeral key pair for ``group`` (client shares; the server's ECDH half)."""
        ...

    def now(self) -> float:
        """Current time, Unix seconds (ticket lifetimes and ages, certificate validity)."""
        ...


class DefaultProvider:
    """The operating system's random source, OpenSSL's key generation and the wall clock."""

    __slots__ = ()

    def random(self, n: int) -> bytes:
        return os.urandom(n)

    def generate_key_share(self, group: NamedGroup) -> KeyShare:
        return groups.generate_key_share(group)

    def now(self) -> float:
        return time.time()


class DeterministicProvider:
    """Replays given values: for tests and recorded sessions, never for real connections.

    - ``randoms``: byte strings handed out in order; ``random(n)`` requires the next one to be ``n``
      octets long, which catches a test feeding values in the wrong order.
    - ``private_keys``: per group, private keys (in ``groups.key_share_from_private_bytes`` encoding)
      used in order by ``generate_key_share``. On the server side of X25519MLKEM768 the X25519 half
      is taken from the ``NamedGroup.X25519`` list (the ML-KEM encapsulation is not replayable).
    - ``seed``: once the given values run out, further randoms and keys come from a ChaCha20 key
      stream keyed by the seed; without a seed, running out is a ``LocalProtocolError``.
    - ``clock``: a fixed time or a callable returning the time.
    """

    __slots__ = ("_clock", "_keys", "_randoms", "_stream")

    def __init__(
        self,
        *,
        randoms: Iterable[bytes] = (),
        private_keys: Mapping[NamedGroup, Iterable[bytes]] | None = None,
        seed: bytes | None = None,
        clock: float | Callable[[], float] = 0.0,
    ) -> None:
        self._randoms = deque(randoms)
        self._keys = {group: deque(keys) for group, keys in (private_keys or {}).items()}
        self._clock = clock
        self._stream: CipherContext | None = None
        if seed is not None:
            digest = hashes.Hash(hashes.SHA256())
            digest.update(b"tlslens DeterministicProvider seed " + seed)
            self._stream = Cipher(algorithms.ChaCha20(digest.finalize(), bytes(16)), mode=None).encryptor()

    def __repr__(self) -> str:
        return f"<DeterministicProvider randoms_left={len(self._randoms)} seeded={self._stream is not None}>"

    def _from_stream(self, n: int, what: str) -> bytes:
        if self._stream is None:
            raise LocalProtocolError(f"DeterministicProvider ran out of {what} (give more, or a seed)")
        return self._stream.update(bytes(n))

    def random(self, n: int) -> bytes:
        if not self._randoms:
            return self._from_stream(n, "random values")
        value = self._randoms.popleft()
        if len(value) != n:
            raise LocalProtocolError(
                f"DeterministicProvider: next random value is {len(value)} octets, not {n}"
            )
        return value

    def generate_key_share(self, group: NamedGroup) -> KeyShare:
        queue = self._keys.get(group)
        if queue:
            return groups.key_share_from_private_bytes(group, queue.popleft())
        n = groups.private_key_length(group)
        while True:  # rejection sampling keeps EC scalars uniform in [1, order)
            raw = bytearray(self._from_stream(n, f"{group.iana_name} private keys"))
            if group == NamedGroup.SECP521R1:
                raw[0] &= 0x01  # a 521-bit scalar in 66 octets
            try:
                return groups.key_share_from_private_bytes(group, bytes(raw))
            except LocalProtocolError:
                continue

    def now(self) -> float:
        return self._clock() if callable(self._clock) else self._clock
