"""Which cipher suites a probe offers, and in what order.

TLS 1.3 hellos offer the five TLS 1.3 suites; older hellos offer every other suite the codec knows
(signalling values excepted), strongest first, so that a server following the client's order picks
what a modern client would get.
"""

from __future__ import annotations

from tlslens.wire.enums import CipherSuite, ProtocolVersion

__all__ = ["LEGACY_SUITES", "TLS13_SUITE_IDS", "candidates"]

_SIGNALLING = frozenset({0x0000, 0x00FF, 0x5600})


def _strength_key(suite: CipherSuite) -> tuple[int, int, int, int]:
    name = suite.name
    forward_secret = "_ECDHE_" in name or "_DHE_" in name
    aead = any(m in name for m in ("_GCM_", "_CHACHA20_", "_CCM"))
    weak = any(w in name for w in ("_NULL_", "_EXPORT", "_RC4_", "_DES_", "_3DES_", "_anon_", "_RC2_"))
    bits256 = "_256_" in name or "_CHACHA20_" in name
    return (weak, not forward_secret, not aead, not bits256)


TLS13_SUITE_IDS: tuple[CipherSuite, ...] = tuple(s for s in CipherSuite if s.is_tls13)
LEGACY_SUITES: tuple[CipherSuite, ...] = tuple(
    sorted(
        (s for s in CipherSuite if not s.is_tls13 and s.value not in _SIGNALLING and s.value < 0xFF00),
        key=_strength_key,
    )
)


def candidates(version: ProtocolVersion) -> tuple[CipherSuite, ...]:
    """The suites a hello for ``version`` offers."""
    return TLS13_SUITE_IDS if version >= ProtocolVersion.TLS1_3 else LEGACY_SUITES
