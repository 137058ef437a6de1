"""Measured rows, their ratio and target verdict, and the two ways run.py prints them (a table, JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import tlslens


@dataclass(frozen=True)
class Target:
    """What the project aims for on a row's ratio: ``ratio >= bound`` or ``ratio <= bound``."""

    op: Literal[">=", "<="]
    bound: float

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}"

    def met(self, ratio: float) -> bool:
        return ratio >= self.bound if self.op == ">=" else ratio <= self.bound


def at_least(bound: float) -> Target:
    return Target(">=", bound)


def at_most(bound: float) -> Target:
    return Target("<=", bound)


@dataclass
class Row:
    """One measured line of the report. ``tlslens`` is None when that side could not be measured (the
    note says why; a ``--smoke`` run fails instead)."""

    key: str
    label: str
    unit: str
    tlslens: float | None
    openssl: float | None
    note: str = ""
    fraction: float | None = None  # shown as the ratio when the row compares with something else
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        if self.fraction is not None:
            return self.fraction
        if self.tlslens is None or self.openssl is None or not self.openssl:
            return None
        return self.tlslens / self.openssl

    def verdict(self) -> tuple[str, str]:
        """(the target as text, "met" / "MISSED" / "n/a"); two empty strings for a row without target."""
        if self.target is None:
            return "", ""
        if self.ratio is None:
            return str(self.target), "n/a"
        return str(self.target), "met" if self.target.met(self.ratio) else "MISSED"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value:.2f}"
    if unit == "us":
        return f"{value:.0f}"
    if unit == "s":
        return f"{value:.3f}"
    return f"{value:,.0f}"


def render(rows: list[Row], header: dict[str, Any]) -> str:
    """The table: one line per row, then the rows' notes."""
    lines = [
        f"tlslens {tlslens.__version__} vs {header['openssl']} (Python {header['python']}, "
        f"cryptography {header['cryptography']}, {header['cpus']} CPUs, mode {header['mode']})",
        "",
    ]
    cols = ("", "unit", "tlslens", "OpenSSL", "ratio", "target", "")
    table = [cols]
    for row in rows:
        target, status = row.verdict()
        ratio = "n/a" if row.ratio is None else f"{row.ratio:.2f}"
        table.append(
            (
                row.label,
                row.unit,
                _fmt(row.tlslens, row.unit),
                _fmt(row.openssl, row.unit),
                ratio,
                target,
                status,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    for i, r in enumerate(table):
        lines.append(
            "  ".join(
                cell.ljust(widths[j]) if j in (0, 1) else cell.rjust(widths[j]) for j, cell in enumerate(r)
            ).rstrip()
        )
        if i == 0:
            lines.append("-" * len(lines[-1]))
    notes = [f"  {row.label}: {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def as_json(rows: list[Row], header: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The header's fields, ``rows`` (one object per row), then the extra figures."""
    return {
        **header,
        "rows": [
            {
                "key": r.key,
                "label": r.label.strip(),
                "unit": r.unit,
                "tlslens": r.tlslens,
                "openssl": r.openssl,
                "ratio": r.ratio,
                "target": r.verdict()[0] or None,
                "status": r.verdict()[1] or None,
                "note": r.note or None,
            }
            for r in rows
        ],
        **extra,
    }
