"""Key exchange groups for TLS 1.3 (RFC 8446 §4.2.7)."""

from __future__ import annotations

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
