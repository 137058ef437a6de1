"""The scanner's data: what the probes gathered (``ScanData``) and what the checks concluded (``Finding``).

``ScanData`` is filled by the runner and read by the checks; nothing in it does I/O. A ``Finding`` is
one problem (or one notable fact) with a stable ``code``, a severity, one-line title, a detail sentence
and the fix; chain findings reuse the codes of ``tlslens verify``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography import x509

from tlslens.scan.enumerate import FallbackResult, GroupEnumeration, Intolerance, SuiteEnumeration
from tlslens.scan.flight import ServerAnswer
from tlslens.scan.fullhs import AiaDownload, HandshakeResult
from tlslens.scan.net import CheckStats, Route, Target
from tlslens.scan.tls12 import DhParams
from tlslens.wire.enums import ProtocolVersion

__all__ = ["SEVERITIES", "Finding", "ScanData", "ServedChain", "Severity"]

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One verdict: ``code`` (stable), ``severity``, ``title``, ``detail`` and ``fix``.

    Every finding of severity low or worse has a fix. ``data`` holds the specifics a program may want
    (the protocols, suites or certificate concerned) and is reproduced in the JSON output.
    """

    code: str
    severity: Severity
    title: str
    detail: str
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.severity != "info" and not self.fix:
            raise ValueError(f"finding {self.code} of severity {self.severity} needs a fix")

    @property
    def rank(self) -> int:
        return _RANK[self.severity]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
        }
        if self.data:
            out["data"] = self.data
        return out


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Worst first; ties keep the order the checks produced them in."""
    return sorted(findings, key=lambda f: f.rank)


@dataclass(frozen=True, slots=True)
class ServedChain:
    """One certificate chain as the server presented it, and how it was obtained."""

    chain: tuple[x509.Certificate, ...] = field(repr=False)
    how: str
    """``"TLSv1.3 handshake, SNI www.example.com"``, ``"TLSv1.2 hello, ECDSA suites, no SNI"``..."""
    sni: bool
    ocsp_stapled: bool | None = None
    """A stapled OCSP response came with it (None: not asked in a way that can tell)."""


@dataclass(slots=True)
class ScanData:
    """Everything the probes of one target gathered. Filled by the runner, read by the checks."""

    target: Target
    started_at: dt.datetime
    route: Route = field(default_factory=Route)
    """How every probe reached the server (proxy, STARTTLS)."""
    sslv2: ServerAnswer | None = None
    protocols: dict[ProtocolVersion, ServerAnswer] = field(default_factory=dict)
    intolerance: Intolerance | None = None
    suites: dict[ProtocolVersion, SuiteEnumeration] = field(default_factory=dict)
    groups: dict[ProtocolVersion, GroupEnumeration] = field(default_factory=dict)
    fallback: FallbackResult | None = None
    handshakes: dict[str, HandshakeResult] = field(default_factory=dict)
    """Complete handshakes by role (``scan.handshakes``): "main" (with the HTTP request), "ecdsa", "rsa",
    "no_sni", "resumed", "tls12", "tls12_no_ticket", "resumed12_ticket", "resumed12_id"."""
    chains: list[ServedChain] = field(default_factory=list)
    dh: dict[str, DhParams] = field(default_factory=dict)
    """DHE groups seen in ServerKeyExchanges, by suite name."""
    aia: dict[str, AiaDownload] = field(default_factory=dict)
    not_tested: dict[str, str] = field(default_factory=dict)
    """Check name → why it could not run (e.g. "needs a TLS 1.2 handshake")."""
    stats: dict[str, CheckStats] = field(default_factory=dict)
    elapsed: float = 0.0

    def supported_versions(self) -> list[ProtocolVersion]:
        """Versions the server accepted, oldest first (SSL 2.0 is reported apart)."""
        return sorted(v for v, a in self.protocols.items() if a.accepted and a.version == v)
