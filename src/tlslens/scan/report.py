"""The JSON report: one object per target, the schema documented in docs/scan-schema.md.

``to_json(result)`` is what ``tlslens scan --json`` prints, one line per target. ``SCHEMA`` names the
version; a change that removes or renames a field bumps it, adding a field does not.
"""

from __future__ import annotations

from typing import Any

from tlslens.scan.checks_certs import certificate_facts
from tlslens.scan.checks_http import handshake_facts, hsts_facts
from tlslens.scan.checks_protocols import protocol_table
from tlslens.scan.checks_suites import suite_facts
from tlslens.scan.runner import ScanResult

__all__ = ["SCHEMA", "to_json"]

SCHEMA = "tlslens-scan/1"


def _groups(result: ScanResult) -> dict[str, Any]:
    data = result.data
    assert data is not None
    out: dict[str, Any] = {}
    for version, found in sorted(data.groups.items()):
        out[version.label] = {
            "order": found.order,
            "groups": [g.iana_name for g in found.groups],
            "error": found.error,
        }
    return out


def to_json(result: ScanResult) -> dict[str, Any]:
    """The report of one target as a JSON-ready dict."""
    data, analysis = result.data, result.analysis
    out: dict[str, Any] = {"schema": SCHEMA, "target": result.label}
    if data is not None:
        route = data.route
        out["ip"] = None if route.proxy is not None else data.target.address
        out["server_name"] = data.target.server_name
        out["starttls"] = route.starttls
        out["proxy"] = route.proxy.address if route.proxy is not None else None
        out["started_at"] = data.started_at.isoformat()
    out["elapsed_s"] = round(result.elapsed, 4)
    if result.error is not None or data is None or analysis is None:
        out["error"] = result.error or "not scanned"
        out["grade"] = None
        return out
    g = analysis.grade
    out |= {
        "error": None,
        "grade": g.grade,
        "grade_if_trusted": g.if_trusted,
        "scores": g.scores,
        "grade_reasons": list(g.reasons),
        "caps": [c.to_dict() for c in g.caps],
        "improvements": [s.to_dict() for s in analysis.steps],
        "protocols": protocol_table(data),
        "cipher_suites": suite_facts(data),
        "groups": _groups(result),
        "dh": {
            name: {"bits": d.bits, "prime": d.name or "custom", "generator": d.generator}
            for name, d in data.dh.items()
        },
        "key_exchange": [
            {"kind": k.kind, "bits": k.bits, "what": k.what} for k in analysis.metrics.key_exchange
        ],
        "certificates": certificate_facts(analysis.verdicts),
        "hsts": hsts_facts(data),
        "server": handshake_facts(data),
        "not_tested": dict(data.not_tested),
        "findings": [f.to_dict() for f in analysis.findings],
        "probes": sum(s.probes for s in data.stats.values()),
        "checks": {name: s.to_dict() for name, s in data.stats.items()},
    }
    return out
