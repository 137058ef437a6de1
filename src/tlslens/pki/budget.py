"""A bound on the diagnosis's work, counted (never timed).

A chain comes from a peer or a file: it can hold thousands of names against thousands of name
constraints, dozens of certificates, many candidate issuers with one name. Each unit of work the
diagnosis does is charged to a :class:`Budget` first; when a kind of work runs out, the diagnosis stops
and reports ``too-complex`` (an error: the chain is refused, as ``cryptography``'s verifier refuses one
that needs more than 1024 name-constraint checks). The counts stay on the budget, so tests can check the
bound without a clock.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

__all__ = ["LIMITS", "Budget", "OutOfBudget", "Work"]

Work = Literal["name-checks", "signatures", "issuer-candidates", "path-length"]

LIMITS: dict[Work, int] = {
    "path-length": 12,  # certificates in one path, leaf and anchor included (the deepest one tried)
    "name-checks": 1024,  # one name compared with one constraint subtree (cryptography's own limit)
    "signatures": 256,  # one signature verified (a few tens of microseconds to a millisecond each)
    "issuer-candidates": 512,  # one certificate considered as the issuer of another during path search
}

_WHAT: dict[Work, str] = {
    "name-checks": "name-constraint checks (names by constraints)",
    "signatures": "signature checks",
    "issuer-candidates": "candidate issuers examined",
    "path-length": "certificates in one path",
}


class OutOfBudget(Exception):
    """Raised by :meth:`Budget.spend` when a kind of work is exhausted; ``kind`` says which."""

    def __init__(self, kind: Work, limit: int) -> None:
        super().__init__(f"more than {limit} {_WHAT[kind]}")
        self.kind = kind
        self.limit = limit


class Budget:
    """Work allowed per kind (``LIMITS`` unless given) and work ``spent`` so far.

    One budget covers one diagnosis; pass your own to :func:`tlslens.pki.verify_chain` to read what it
    cost. Not thread-safe (a diagnosis runs on one thread).
    """

    __slots__ = ("exhausted", "limits", "spent")

    def __init__(self, limits: dict[Work, int] | None = None) -> None:
        self.limits: dict[Work, int] = dict(LIMITS if limits is None else {**LIMITS, **limits})
        self.spent: Counter[str] = Counter()
        self.exhausted: OutOfBudget | None = None

    def spend(self, kind: Work, units: int = 1) -> None:
        """Charge ``units`` of ``kind`` before doing the work; raises :class:`OutOfBudget` past the limit."""
        limit = self.limits[kind]
        if self.spent[kind] + units > limit:
            self.exhausted = self.exhausted or OutOfBudget(kind, limit)
            raise self.exhausted
        self.spent[kind] += units

    def reach(self, kind: Work, level: int) -> None:
        """Record a level reached (``spent`` keeps the highest); :class:`OutOfBudget` past the limit."""
        if level > self.limits[kind]:
            self.exhausted = self.exhausted or OutOfBudget(kind, self.limits[kind])
            raise self.exhausted
        self.spent[kind] = max(self.spent[kind], level)

    def left(self, kind: Work) -> int:
        return self.limits[kind] - self.spent[kind]

    def __repr__(self) -> str:
        spent = ", ".join(f"{k}={self.spent[k]}/{v}" for k, v in self.limits.items())
        return f"<Budget {spent}>"
