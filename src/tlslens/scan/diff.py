"""``--diff OLD.json``: what changed since a saved scan, target by target.

Both sides are JSON reports (``scan.report.to_json`` dicts; the saved file is JSON Lines, one per
target). The changes: grade, protocols, cipher suites and groups added or removed, certificates
replaced, findings new or gone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["diff_reports", "load_reports"]


def load_reports(path: Path) -> dict[str, dict[str, Any]]:
    """Target → its last report in a JSON Lines file (lines that are not reports are skipped)."""
    out: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("target"), str):
            out[obj["target"]] = obj
    return out


def _set_change(what: str, old: set[str], new: set[str]) -> list[str]:
    out = []
    if new - old:
        out.append(f"{what} added: {', '.join(sorted(new - old))}")
    if old - new:
        out.append(f"{what} removed: {', '.join(sorted(old - new))}")
    return out


def _on(report: dict[str, Any], key: str) -> set[str]:
    return {k for k, v in (report.get(key) or {}).items() if v}


def _leaves(report: dict[str, Any]) -> dict[str, str]:
    out = {}
    for cert in report.get("certificates") or []:
        chain = cert.get("chain") or []
        if chain:
            out[chain[0]["sha256"]] = chain[0]["subject"]
    return out


def diff_reports(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Changes from ``old`` to ``new`` as sentences (empty: nothing changed)."""
    if old is None:
        return ["not in the saved scan"]
    changes = []
    if old.get("error") != new.get("error"):
        changes.append(f"scan error: {old.get('error') or 'none'} → {new.get('error') or 'none'}")
    if old.get("grade") != new.get("grade"):
        changes.append(f"grade {old.get('grade')} → {new.get('grade')}")
    changes += _set_change("protocols", _on(old, "protocols"), _on(new, "protocols"))
    old_suites, new_suites = old.get("cipher_suites") or {}, new.get("cipher_suites") or {}
    for version in sorted(set(old_suites) | set(new_suites)):
        before = {s["name"] for s in (old_suites.get(version) or {}).get("suites", [])}
        after = {s["name"] for s in (new_suites.get(version) or {}).get("suites", [])}
        changes += _set_change(f"{version} suites", before, after)
    old_groups, new_groups = old.get("groups") or {}, new.get("groups") or {}
    for version in sorted(set(old_groups) | set(new_groups)):
        before = set((old_groups.get(version) or {}).get("groups", []))
        after = set((new_groups.get(version) or {}).get("groups", []))
        changes += _set_change(f"{version} groups", before, after)
    old_leaves, new_leaves = _leaves(old), _leaves(new)
    if old_leaves and new_leaves and set(old_leaves) != set(new_leaves):
        gone = ", ".join(old_leaves[k] for k in old_leaves if k not in new_leaves)
        came = ", ".join(new_leaves[k] for k in new_leaves if k not in old_leaves)
        changes.append(f"certificate changed: {gone or '-'} → {came or '-'}")
    changes += _set_change(
        "findings",
        {f["code"] for f in old.get("findings") or []},
        {f["code"] for f in new.get("findings") or []},
    )
    return changes
