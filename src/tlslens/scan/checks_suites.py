"""Checks on the cipher suites each protocol accepted, read through the codec's registry.

Codes: export-suites, null-suites, anon-suites, weak-cipher, rc4, 3des, cbc-suites, static-rsa,
no-forward-secrecy, no-aead, client-order. Also the facts and numbers the report and the grader need
(``suite_facts``, ``cipher_bits``, ``suite_key_exchange``).
"""

from __future__ import annotations

from typing import Any

from tlslens.scan.grader import KeyExchangeStrength
from tlslens.scan.model import Finding, ScanData
from tlslens.scan.suites import info
from tlslens.wire.enums import CipherSuite, ProtocolVersion
from tlslens.wire.suite_registry import BulkCipher, KeyExchange, SuiteInfo

__all__ = [
    "REFERENCE_CLIENT_TLS12",
    "accepted_suites",
    "check_dh",
    "check_suites",
    "cipher_bits",
    "reference_client_choice",
    "suite_facts",
    "suite_key_exchange",
]

_SUITES_FIX = (
    "Offer only ECDHE with AES-GCM or ChaCha20-Poly1305 (Mozilla's intermediate profile; nginx: "
    "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;)."
)
_SMALL_BLOCK = frozenset({BulkCipher.TRIPLE_DES, BulkCipher.DES, BulkCipher.IDEA, BulkCipher.RC2})

_C = CipherSuite
REFERENCE_CLIENT_TLS12: tuple[CipherSuite, ...] = (
    _C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    _C.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    _C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
    _C.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    _C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    _C.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
    _C.TLS_RSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_RSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_RSA_WITH_AES_128_CBC_SHA,
    _C.TLS_RSA_WITH_AES_256_CBC_SHA,
)
"""The TLS 1.2 suites of a current browser (Firefox), in its order: the "reference client" of SSL
Labs' forward secrecy rule."""


def accepted_suites(data: ScanData) -> dict[ProtocolVersion, list[SuiteInfo]]:
    out: dict[ProtocolVersion, list[SuiteInfo]] = {}
    for version, found in sorted(data.suites.items()):
        rows = [r for s in found.suites if (r := info(s)) is not None]
        if rows:
            out[version] = rows
    return out


def _protocols_with(accepted: dict[ProtocolVersion, list[SuiteInfo]], pred: Any) -> dict[str, list[str]]:
    return {
        v.label: [s.name for s in rows if pred(s)]
        for v, rows in accepted.items()
        if any(pred(s) for s in rows)
    }


def reference_client_choice(data: ScanData) -> SuiteInfo | None:
    """The suite a current browser would get in TLS 1.2 (None: TLS 1.3 is used, or no suite in common)."""
    if ProtocolVersion.TLS1_3 in data.supported_versions():
        return None
    found = data.suites.get(ProtocolVersion.TLS1_2)
    if found is None or not found.suites:
        return None
    common = [s for s in found.suites if s in REFERENCE_CLIENT_TLS12]
    if not common:
        return None
    if found.order == "server":
        return info(common[0])
    return info(min(common, key=REFERENCE_CLIENT_TLS12.index))


def check_suites(data: ScanData) -> list[Finding]:
    accepted = accepted_suites(data)
    out: list[Finding] = []
    if not accepted:
        return out

    def add(code: str, severity: Any, title: str, detail: str, pred: Any, fix: str = _SUITES_FIX) -> None:
        hits = _protocols_with(accepted, pred)
        if hits:
            names = sorted({n for v in hits.values() for n in v})
            shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            out.append(
                Finding(
                    code,
                    severity,
                    title,
                    f"{detail} Offered with {', '.join(hits)}: {shown}.",
                    fix,
                    {"protocols": list(hits), "suites": names},
                )
            )

    add(
        "export-suites",
        "critical",
        "Export cipher suites are offered",
        "Export suites use 40-bit ciphers or 512-bit keys, broken in minutes (FREAK, Logjam).",
        lambda s: s.export,
    )
    add(
        "null-suites",
        "critical",
        "Suites without encryption are offered",
        "NULL suites send everything in clear text.",
        lambda s: s.null_encryption,
    )
    add(
        "anon-suites",
        "critical",
        "Anonymous cipher suites are offered",
        "Anonymous suites authenticate nobody: anyone in the middle can read and change the traffic.",
        lambda s: s.anonymous,
    )
    add(
        "weak-cipher",
        "critical",
        "Ciphers weaker than 112 bits are offered",
        "DES and 40/56-bit ciphers can be brute-forced.",
        lambda s: 0 < s.bits < 112 and not s.export,
    )
    add(
        "rc4",
        "high",
        "RC4 is offered",
        "RC4 has exploitable biases (RFC 7465 prohibits it).",
        lambda s: s.cipher == BulkCipher.RC4,
    )
    add(
        "3des",
        "medium",
        "64-bit block ciphers (3DES) are offered",
        "Ciphers with a 64-bit block leak data after a few hundred gigabytes on one connection (SWEET32).",
        lambda s: s.cipher in _SMALL_BLOCK,
    )
    add(
        "cbc-suites",
        "low",
        "CBC cipher suites are offered",
        "CBC suites (MAC-then-encrypt) have a long history of padding-oracle attacks (Lucky13, "
        "POODLE-TLS); AEAD suites (GCM, ChaCha20-Poly1305) do not.",
        lambda s: s.cbc,
    )
    add(
        "static-rsa",
        "medium",
        "Suites without forward secrecy are offered",
        "With static RSA key exchange, whoever obtains the server key later can decrypt recorded traffic.",
        lambda s: s.key_exchange == KeyExchange.RSA,
    )
    choice = reference_client_choice(data)
    if choice is not None and not choice.forward_secrecy:
        out.append(
            Finding(
                "no-forward-secrecy",
                "high",
                "Modern browsers get no forward secrecy",
                f"A current browser offering its usual TLS 1.2 suites would negotiate {choice.name}, a "
                "static RSA key exchange.",
                "Prefer ECDHE suites (nginx: ssl_prefer_server_ciphers on, ECDHE suites first) or enable "
                "TLS 1.3.",
                {"suite": choice.name},
            )
        )
    if not any(s.aead for rows in accepted.values() for s in rows):
        out.append(
            Finding(
                "no-aead",
                "high",
                "No AEAD cipher suite is offered",
                "No AES-GCM, ChaCha20-Poly1305 or CCM suite: every suite offered is CBC or a stream cipher.",
                "Enable TLS 1.2 with AES-GCM and ChaCha20-Poly1305 suites, and TLS 1.3.",
            )
        )
    out += _client_order(data, accepted)
    return out


def _client_order(data: ScanData, accepted: dict[ProtocolVersion, list[SuiteInfo]]) -> list[Finding]:
    versions = [
        v.label
        for v, rows in accepted.items()
        if v < ProtocolVersion.TLS1_3
        and data.suites[v].order == "client"
        and any(not s.aead or not s.forward_secrecy for s in rows)
    ]
    if not versions:
        return []
    return [
        Finding(
            "client-order",
            "low",
            "The server follows the client's cipher suite order",
            f"With {', '.join(versions)} the server takes the client's first choice, so a client that "
            "prefers a weaker suite gets it; the server offers suites weaker than its best.",
            "Let the server choose (nginx: ssl_prefer_server_ciphers on; Apache: SSLHonorCipherOrder on), "
            "or offer only strong suites.",
            {"protocols": versions},
        )
    ]


def check_dh(data: ScanData) -> list[Finding]:
    """weak-dh: a DHE group under 2048 bits (Logjam), naming the prime (a shared one is a precomputation
    target; a custom one at least is not)."""
    weak = {name: dh for name, dh in data.dh.items() if dh.bits < 2048}
    if not weak:
        return []
    smallest = min(weak.values(), key=lambda dh: dh.bits)
    prime = f"the well-known {smallest.name}" if smallest.name else "a custom prime"
    return [
        Finding(
            "weak-dh",
            "critical" if smallest.bits < 1024 else "high",
            "The Diffie-Hellman group is too small",
            f"DHE suites use a {smallest.bits}-bit group ({prime}); groups under 2048 bits are within "
            "reach of well-funded attackers (Logjam), and 1024-bit shared primes may already be precomputed.",
            "Use a 2048-bit or larger group (nginx: ssl_dhparam with `openssl dhparam 2048`, or the RFC 7919 "
            "ffdhe2048 group), or drop the DHE suites and keep ECDHE.",
            {"bits": smallest.bits, "prime": smallest.name or "custom", "suites": sorted(weak)},
        )
    ]


def dh_strengths(data: ScanData) -> list[KeyExchangeStrength]:
    out = []
    for dh in data.dh.values():
        strength = KeyExchangeStrength("dh", dh.bits, f"DHE {dh.bits}-bit {dh.name or 'custom prime'}")
        if strength not in out:
            out.append(strength)
    return out


def cipher_bits(data: ScanData) -> list[int]:
    return [s.bits for rows in accepted_suites(data).values() for s in rows]


def suite_key_exchange(data: ScanData) -> list[KeyExchangeStrength]:
    """Key exchange strengths the suites themselves imply (anonymous, export)."""
    out = []
    rows = [s for rows in accepted_suites(data).values() for s in rows]
    if any(s.anonymous for s in rows):
        out.append(KeyExchangeStrength("anon", 0, "anonymous suites"))
    if any(s.export for s in rows):
        out.append(KeyExchangeStrength("export", 512, "export suites"))
    return out


def suite_facts(data: ScanData) -> dict[str, Any]:
    """The ``cipher_suites`` part of the report, per protocol."""
    out: dict[str, Any] = {}
    for version, found in sorted(data.suites.items()):
        out[version.label] = {
            "order": found.order,
            "error": found.error,
            "suites": [_suite_dict(s) for s in found.suites],
        }
    return out


def _suite_dict(suite: CipherSuite) -> dict[str, Any]:
    row = info(suite)
    base: dict[str, Any] = {"name": suite.name, "id": f"0x{int(suite):04X}"}
    if row is None:
        return base
    return base | {
        "openssl_name": row.openssl_name or None,
        "key_exchange": str(row.key_exchange),
        "authentication": str(row.authentication),
        "cipher": str(row.cipher),
        "bits": row.bits,
        "mode": str(row.mode),
        "aead": row.aead,
        "forward_secrecy": row.forward_secrecy,
    }
