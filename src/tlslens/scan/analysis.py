"""From ``ScanData`` to findings, metrics, grade and improvements: every check, then the grader.

Pure: ``analyse(data, trust)`` reads the data (and runs the chain diagnosis, which is CPU only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlslens.pki import TrustStore
from tlslens.scan.checks_certs import ChainVerdict, check_certificates, check_server_keys, diagnose
from tlslens.scan.checks_certs import server_key_strengths as key_strengths
from tlslens.scan.checks_http import check_handshakes, check_hsts, hsts_facts, hsts_max_age
from tlslens.scan.checks_protocols import check_protocols, protocol_table
from tlslens.scan.checks_suites import check_dh, check_suites, cipher_bits, dh_strengths, suite_key_exchange
from tlslens.scan.grader import Grade, KeyExchangeStrength, Metrics, Step, grade, improvements
from tlslens.scan.model import Finding, ScanData, sort_findings
from tlslens.wire.enums import NamedGroup

__all__ = ["GROUP_STRENGTH", "Analysis", "analyse", "group_strength"]

_G = NamedGroup
GROUP_STRENGTH: dict[int, KeyExchangeStrength] = {
    _G.X25519: KeyExchangeStrength("ec", 256, "x25519"),
    _G.X448: KeyExchangeStrength("ec", 448, "x448"),
    _G.SECP256R1: KeyExchangeStrength("ec", 256, "secp256r1"),
    _G.SECP384R1: KeyExchangeStrength("ec", 384, "secp384r1"),
    _G.SECP521R1: KeyExchangeStrength("ec", 521, "secp521r1"),
    _G.SECP224R1: KeyExchangeStrength("ec", 224, "secp224r1"),
    _G.SECP192R1: KeyExchangeStrength("ec", 192, "secp192r1"),
    _G.SECT163K1: KeyExchangeStrength("ec", 163, "sect163k1"),
    _G.BRAINPOOLP256R1: KeyExchangeStrength("ec", 256, "brainpoolP256r1"),
    _G.BRAINPOOLP384R1: KeyExchangeStrength("ec", 384, "brainpoolP384r1"),
    _G.BRAINPOOLP512R1: KeyExchangeStrength("ec", 512, "brainpoolP512r1"),
    _G.FFDHE2048: KeyExchangeStrength("dh", 2048, "ffdhe2048"),
    _G.FFDHE3072: KeyExchangeStrength("dh", 3072, "ffdhe3072"),
    _G.FFDHE4096: KeyExchangeStrength("dh", 4096, "ffdhe4096"),
    _G.FFDHE6144: KeyExchangeStrength("dh", 6144, "ffdhe6144"),
    _G.FFDHE8192: KeyExchangeStrength("dh", 8192, "ffdhe8192"),
    _G.X25519MLKEM768: KeyExchangeStrength("ec", 256, "X25519MLKEM768"),
    _G.SECP256R1MLKEM768: KeyExchangeStrength("ec", 256, "SecP256r1MLKEM768"),
    _G.SECP384R1MLKEM1024: KeyExchangeStrength("ec", 384, "SecP384r1MLKEM1024"),
}
_BROWSER_GROUPS = (_G.X25519MLKEM768, _G.X25519, _G.SECP256R1, _G.SECP384R1)


def group_strength(group: NamedGroup) -> KeyExchangeStrength:
    return GROUP_STRENGTH.get(int(group), KeyExchangeStrength("ec", 256, group.iana_name))


@dataclass(slots=True)
class Analysis:
    findings: list[Finding]
    metrics: Metrics
    grade: Grade
    steps: list[Step]
    verdicts: list[ChainVerdict] = field(repr=False)
    facts: dict[str, Any] = field(default_factory=dict)


def _negotiated_groups(data: ScanData) -> list[KeyExchangeStrength]:
    """The group a current browser would get, per protocol (what SSL Labs weighs)."""
    out = []
    for found in data.groups.values():
        if not found.groups:
            continue
        if found.order == "server":
            pick = found.groups[0]
        else:
            pick = next((g for g in _BROWSER_GROUPS if g in found.groups), found.groups[0])
        out.append(group_strength(pick))
    return out


def metrics_for(data: ScanData, verdicts: list[ChainVerdict]) -> Metrics:
    protocols = tuple(p for p, on in protocol_table(data).items() if on)
    kx = [*key_strengths(verdicts), *suite_key_exchange(data), *_negotiated_groups(data), *dh_strengths(data)]
    tested = bool(hsts_facts(data)["tested"])
    https = data.route.starttls is None
    kx_unique = tuple(dict.fromkeys(kx))
    return Metrics(protocols, kx_unique, tuple(cipher_bits(data)), hsts_max_age(data), tested, https)


def analyse(data: ScanData, trust: TrustStore) -> Analysis:
    verdicts = diagnose(data, trust)
    findings = [
        *check_certificates(verdicts),
        *check_server_keys(verdicts),
        *check_protocols(data),
        *check_suites(data),
        *check_dh(data),
        *check_hsts(data),
        *check_handshakes(data),
    ]
    findings = sort_findings(findings)
    metrics = metrics_for(data, verdicts)
    result = grade(findings, metrics)
    return Analysis(findings, metrics, result, improvements(findings, metrics), verdicts)
