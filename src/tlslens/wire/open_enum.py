"""The open IANA enum base: unknown wire values (GREASE included) decode to pseudo-members."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Self


class OpenIntEnum(enum.IntEnum):
    """IANA registry. Unknown wire values decode to pseudo-members instead of raising.

    Pseudo-members compare equal by value; compare with ``==``, never ``is``.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, int) or value < 0:
            return None
        key = (cls, value)
        member = _PSEUDO_MEMBERS.get(key)
        if member is None:
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_0x{value:04x}"
            member._value_ = value
            if len(_PSEUDO_MEMBERS) < _MAX_PSEUDO_MEMBERS:  # (a peer chooses these values: bounded)
                _PSEUDO_MEMBERS[key] = member
        return member  # type: ignore[return-value]

    @classmethod
    def tuple_of(cls, values: Iterable[int]) -> tuple[Self, ...]:
        """``tuple(map(cls, values))`` for decoded lists, known values found without an Enum call."""
        members = cls._value2member_map_
        try:
            return tuple([members[v] for v in values])  # type: ignore[misc]
        except KeyError:  # an unknown value (GREASE, a newer registry entry): a pseudo-member
            pseudo = _PSEUDO_MEMBERS
            return tuple(
                members[v] if v in members else pseudo.get((cls, v)) or cls(v)  # type: ignore[misc]
                for v in values
            )

    @property
    def known(self) -> bool:
        return not self.name.startswith("UNKNOWN_")

    def __str__(self) -> str:
        return self.name


_PSEUDO_MEMBERS: dict[tuple[type, int], OpenIntEnum] = {}
"""Pseudo-members made so far, by (enum, value): GREASE and unregistered values come again and again."""
_MAX_PSEUDO_MEMBERS = 4096


def is_grease(value: int) -> bool:
    """RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA (and the one-byte forms 0x0B, 0x2A, ... for u8 fields)."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)
