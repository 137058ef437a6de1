"""Which cipher suites a probe offers, and in what order, from the codec's registry
(``wire.suite_registry``).

TLS 1.3 hellos offer the TLS 1.3 suites; a hello for an older version offers every suite defined for
that version, strongest first (forward secret, AEAD, more bits), so that a server following the
client's order picks what a modern client would get.
"""

from __future__ import annotations

from functools import cache

from tlslens.wire.enums import CipherSuite, ProtocolVersion
from tlslens.wire.suite_registry import SUITES, BulkCipher, KeyExchange, SuiteInfo, suite_info

__all__ = ["candidates", "info", "is_weak"]


def info(suite: int) -> SuiteInfo | None:
    return suite_info(suite)


def is_weak(s: SuiteInfo) -> bool:
    """Export, NULL, anonymous, RC4, or under 112 bits: never a first choice."""
    return s.export or s.null_encryption or s.anonymous or s.cipher == BulkCipher.RC4 or s.bits < 112


def _strength_key(s: SuiteInfo) -> tuple[bool, bool, bool, bool, int, int]:
    ecdhe = s.key_exchange in (KeyExchange.ECDHE, KeyExchange.ANY)
    return (is_weak(s), not s.forward_secrecy, not s.aead, not ecdhe, -s.bits, int(s.suite))


@cache
def candidates(version: ProtocolVersion) -> tuple[CipherSuite, ...]:
    """The suites a hello for ``version`` offers, strongest first."""
    rows = [s for s in SUITES.values() if s.defined_for(version)]
    if version < ProtocolVersion.TLS1_3:
        rows = [s for s in rows if not s.suite.is_tls13]
    return tuple(s.suite for s in sorted(rows, key=_strength_key))
