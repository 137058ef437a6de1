"""Checks on what complete handshakes showed: HSTS (RFC 6797), ALPN, OCSP stapling, resumption (TLS 1.3;
TLS 1.2 by ticket and by session ID), 0-RTT.

Plain functions of ``ScanData``. ``parse_hsts`` reads one Strict-Transport-Security value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tlslens.scan.checks_protocols import hello_facts
from tlslens.scan.grader import HSTS_A_PLUS_MIN_AGE
from tlslens.scan.handshakes import ALPN_WEB, tls12_base
from tlslens.scan.model import Finding, ScanData
from tlslens.wire.enums import ProtocolVersion

TLS13, TLS12 = ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2

__all__ = ["Hsts", "check_handshakes", "check_hsts", "handshake_facts", "hsts_facts", "parse_hsts"]

_HSTS_EXAMPLE = "Strict-Transport-Security: max-age=31536000; includeSubDomains"
_HSTS_FIX = (
    f"Send `{_HSTS_EXAMPLE}` on every HTTPS response (nginx: add_header Strict-Transport-Security "
    '"max-age=31536000; includeSubDomains" always;).'
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


@dataclass(frozen=True, slots=True)
class Hsts:
    """One Strict-Transport-Security header value, parsed (RFC 6797 §6.1)."""

    header: str
    max_age: int | None
    include_subdomains: bool
    preload: bool
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None


def parse_hsts(value: str) -> Hsts:
    """Directives separated by ";", names case-insensitive, each at most once; max-age required."""
    seen: dict[str, str | None] = {}
    for part in value.split(";"):
        item = part.strip()
        if not item:
            continue
        name, eq, raw = item.partition("=")
        name = name.strip().lower()
        if not _TOKEN.match(name):
            return Hsts(value, None, False, False, f"directive {item!r} is not a token")
        if name in seen:
            return Hsts(value, None, False, False, f"directive {name!r} appears twice (RFC 6797 §6.1)")
        arg = raw.strip() if eq else None
        if arg is not None and len(arg) >= 2 and arg[0] == arg[-1] == '"':
            arg = arg[1:-1]
        seen[name] = arg
    subdomains, preload = "includesubdomains" in seen, "preload" in seen
    if "max-age" not in seen:
        return Hsts(value, None, subdomains, preload, "max-age is missing")
    age = seen["max-age"]
    if age is None or not age.isdigit():
        return Hsts(value, None, subdomains, preload, f"max-age {age!r} is not a number of seconds")
    return Hsts(value, int(age), subdomains, preload)


def _main(data: ScanData) -> Any:
    return data.handshakes.get("main")


def hsts_facts(data: ScanData) -> dict[str, Any]:
    """The ``hsts`` part of the report: tested or not (and why), the header and its directives."""
    if "hsts" in data.not_tested:
        return {"tested": False, "reason": data.not_tested["hsts"]}
    main = _main(data)
    if main is None or not main.ok:
        return {"tested": False, "reason": f"no complete handshake ({main.error if main else 'none made'})"}
    http = main.http
    if http is None or http.status is None:
        return {"tested": False, "reason": http.error if http is not None else "no HTTP request made"}
    values = http.header("strict-transport-security")
    out: dict[str, Any] = {
        "tested": True,
        "http_status": http.status,
        "header": values[0] if values else None,
    }
    if values:
        hsts = parse_hsts(values[0])
        out |= {
            "valid": hsts.valid,
            "error": hsts.error,
            "max_age": hsts.max_age,
            "include_subdomains": hsts.include_subdomains,
            "preload": hsts.preload,
        }
    return out


def hsts_max_age(data: ScanData) -> int | None:
    """max-age of a valid header (for the A+ rule), else None."""
    facts = hsts_facts(data)
    return facts.get("max_age") if facts.get("valid") else None


def check_hsts(data: ScanData) -> list[Finding]:
    facts = hsts_facts(data)
    if not facts["tested"]:
        return []
    header = facts["header"]
    if header is None:
        return [
            Finding(
                "no-hsts",
                "medium",
                "HSTS is not enabled",
                f"The response to GET / (HTTP {facts['http_status']}) has no Strict-Transport-Security "
                "header, so a browser's first plain-HTTP request can be intercepted and kept on HTTP "
                "(SSL stripping).",
                _HSTS_FIX,
            )
        ]
    if not facts["valid"]:
        return [
            Finding(
                "hsts-invalid",
                "medium",
                "The HSTS header is invalid",
                f"Strict-Transport-Security: {header!r}: {facts['error']}; browsers ignore it.",
                _HSTS_FIX,
                {"header": header},
            )
        ]
    age = facts["max_age"]
    if age == 0:
        return [
            Finding(
                "no-hsts",
                "medium",
                "HSTS is switched off (max-age=0)",
                "max-age=0 tells browsers to forget the HSTS policy of this host (RFC 6797 §6.1.1).",
                _HSTS_FIX,
                {"header": header},
            )
        ]
    if age < HSTS_A_PLUS_MIN_AGE:
        return [
            Finding(
                "hsts-short",
                "low",
                "The HSTS max-age is short",
                f"max-age={age} s ({age // 86400} days) is under six months ({HSTS_A_PLUS_MIN_AGE} s), "
                "the least SSL Labs accepts for A+ and HSTS preload lists ask for a year.",
                _HSTS_FIX,
                {"max_age": age},
            )
        ]
    return []


def _resumed(data: ScanData, role: str, base_role: str | None) -> bool | None:
    """One TLS 1.2 resumption probe: True/False when it ran; False when its full handshake completed
    (with the extended master secret) but the server gave nothing to resume by (no ticket, or no
    session ID); None when not tested."""
    attempt = data.handshakes.get(role)
    if attempt is not None:
        return attempt.resumed if attempt.ok else None
    base = tls12_base(data) if base_role is None else data.handshakes.get(base_role)
    if base is None or not base.ok or base.version != TLS12 or base.extended_master_secret is False:
        return None
    return False


def _tls12_resumption(data: ScanData) -> dict[str, bool | None]:
    ticket = _resumed(data, "resumed12_ticket", None)
    session_id = _resumed(data, "resumed12_id", "tls12_no_ticket")
    both = (ticket, session_id)
    return {
        "tls12_resumed": True if True in both else (False if both == (False, False) else None),
        "tls12_resumed_by_ticket": ticket,
        "tls12_resumed_by_session_id": session_id,
    }


def handshake_facts(data: ScanData) -> dict[str, Any]:
    """ALPN, OCSP stapling, session resumption (TLS 1.3; TLS 1.2 by ticket and by session ID), 0-RTT,
    HelloRetryRequest behaviour, and what TLS 1.2 hellos and handshakes said."""
    hs = data.handshakes
    main, resumed = hs.get("main"), hs.get("resumed")
    legacy = hello_facts(data)
    alpn_hs = next((h for role in ("ecdsa", "rsa") if (h := hs.get(role)) is not None and h.ok), None)
    groups13 = next((g for v, g in data.groups.items() if v.label == "TLSv1.3"), None)
    stapled = [bool(h.ocsp_response) for h in hs.values() if h.ok and not h.resumed]
    main13 = main is not None and main.ok and main.version == TLS13
    return {
        "alpn": {
            "offered": list(ALPN_WEB) if data.route.starttls is None else [],
            "selected": alpn_hs.alpn if alpn_hs is not None else legacy.get("alpn"),
        },
        "ocsp_stapling": (any(stapled) if stapled else legacy.get("ocsp_stapling")),
        "resumption": {
            "tls13_ticket_issued": (main.session is not None) if main13 and main is not None else None,
            "tls13_resumed": None if resumed is None else resumed.resumed,
            "tls12_session_id": legacy.get("session_id"),
            "tls12_session_ticket": legacy.get("session_ticket"),
            **_tls12_resumption(data),
        },
        "zero_rtt": None
        if resumed is None
        else {"offered": resumed.early_data_offered, "accepted": resumed.early_data_accepted},
        "hello_retry_request": None
        if groups13 is None
        else {"sent": groups13.hello_retry, "cookie": groups13.cookie},
        "secure_renegotiation": legacy.get("secure_renegotiation"),
        "compression": legacy.get("compression"),
        "heartbeat": legacy.get("heartbeat"),
        "extended_master_secret": legacy.get("extended_master_secret"),
        "encrypt_then_mac": legacy.get("encrypt_then_mac"),
        "fallback_scsv": None if data.fallback is None else data.fallback.refused,
        "proved_by_tls12_handshake": legacy.get("handshake12", []),
    }


def check_handshakes(data: ScanData) -> list[Finding]:
    out = []
    resumed = data.handshakes.get("resumed")
    if resumed is not None and resumed.early_data_accepted:
        out.append(
            Finding(
                "zero-rtt",
                "low",
                "0-RTT early data is accepted",
                "The server took an HTTP request sent as TLS 1.3 early data. Anyone who captures it can "
                "replay it (RFC 8446 §8): only idempotent requests are safe there.",
                "Accept 0-RTT only for idempotent requests (answer others with 425 Too Early, RFC 8470), "
                "or turn early data off (nginx: ssl_early_data off).",
            )
        )
    facts = handshake_facts(data)
    if facts["ocsp_stapling"] is False:
        out.append(
            Finding(
                "no-ocsp-stapling",
                "info",
                "OCSP stapling is off",
                "The server does not staple an OCSP response, so clients that check revocation ask the "
                "CA themselves (slower, and it tells the CA who visits).",
                "Enable OCSP stapling (nginx: ssl_stapling on; ssl_stapling_verify on).",
            )
        )
    return out
