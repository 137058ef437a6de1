"""Checks on protocol versions and on what TLS 1.2-and-older ServerHellos say: plain functions of
``ScanData`` that return findings (and, for the report, the facts they read).

Codes: protocol-sslv2, protocol-sslv3, protocol-tls1.0, protocol-tls1.1, no-tls1.2, no-tls1.3,
version-intolerance, no-fallback-scsv, insecure-renegotiation, compression, heartbeat, no-ems, starttls.
"""

from __future__ import annotations

from typing import Any

from tlslens.scan.enumerate import LEGACY_VERSIONS
from tlslens.scan.flight import ServerAnswer
from tlslens.scan.hellos import SSL3, TLS10, TLS11, TLS12, TLS13
from tlslens.scan.model import Finding, ScanData
from tlslens.wire.enums import CompressionMethod, ExtensionType, ProtocolVersion
from tlslens.wire.extensions import ALPN, RenegotiationInfo, SessionTicket

__all__ = ["check_protocols", "handshake12_facts", "hello_facts", "legacy_answers", "protocol_table"]

_NGINX_PROTOCOLS = "nginx: ssl_protocols TLSv1.2 TLSv1.3; Apache: SSLProtocol -all +TLSv1.2 +TLSv1.3"


def protocol_table(data: ScanData) -> dict[str, bool | None]:
    """Every protocol label → offered (None: not tested)."""
    table: dict[str, bool | None] = {"SSLv2": None}
    if data.sslv2 is not None:
        table["SSLv2"] = sslv2_supported(data.sslv2)
    for version in (*LEGACY_VERSIONS, TLS13):
        answer = data.protocols.get(version)
        table[version.label] = None if answer is None else (answer.accepted and answer.version == version)
    return table


def sslv2_supported(answer: ServerAnswer) -> bool:
    return answer.kind == "sslv2" and bool(answer.sslv2_cipher_kinds)


def legacy_answers(data: ScanData) -> dict[ProtocolVersion, ServerAnswer]:
    """The protocol probe's ServerHello for each supported version up to TLS 1.2."""
    return {
        v: a
        for v, a in data.protocols.items()
        if v in LEGACY_VERSIONS and a.accepted and a.version == v and a.server_hello is not None
    }


def _has(answer: ServerAnswer, ext_type: ExtensionType) -> bool:
    exts = answer.server_hello.extensions if answer.server_hello is not None else None
    return any(e.ext_type == ext_type for e in exts or ())


_TLS12_ROLES = ("tls12", "main", "tls12_no_ticket", "ecdsa", "rsa", "no_sni")


def handshake12_facts(data: ScanData) -> dict[str, bool]:
    """What complete TLS 1.2 handshakes proved: ``secure_renegotiation`` (the renegotiation_info of the
    ServerHello the engine read, even when it then refused the server for lacking it) and
    ``extended_master_secret`` (of a full handshake that completed). Absent when none told."""
    out: dict[str, bool] = {}
    for role in _TLS12_ROLES:
        hs = data.handshakes.get(role)
        if hs is None:
            continue
        if hs.secure_renegotiation is not None:
            out.setdefault("secure_renegotiation", hs.secure_renegotiation)
        if hs.ok and not hs.resumed and hs.extended_master_secret is not None:
            out.setdefault("extended_master_secret", hs.extended_master_secret)
    return out


def hello_facts(data: ScanData) -> dict[str, Any]:
    """What the best TLS 1.2-or-older ServerHello said (secure renegotiation, EMS, compression,
    heartbeat, session ID and ticket, ALPN), with what complete TLS 1.2 handshakes proved taking the
    place of the probe's word (``handshake12``: which facts they gave). Empty when no such version is
    offered."""
    answers = legacy_answers(data)
    if not answers:
        return {}
    best = answers[max(answers)]
    sh = best.server_hello
    assert sh is not None
    alpn = sh.extension(ALPN)
    return {
        "version": best.version.label if best.version is not None else None,
        "secure_renegotiation": sh.extension(RenegotiationInfo) is not None,
        "extended_master_secret": _has(best, ExtensionType.EXTENDED_MASTER_SECRET),
        "compression": any(
            a.server_hello is not None and a.server_hello.legacy_compression_method != CompressionMethod.NULL
            for a in answers.values()
        ),
        "heartbeat": any(_has(a, ExtensionType.HEARTBEAT) for a in answers.values()),
        "session_id": bool(sh.legacy_session_id_echo),
        "session_ticket": sh.extension(SessionTicket) is not None,
        "ocsp_stapling": _has(best, ExtensionType.STATUS_REQUEST),
        "alpn": alpn.protocol_name_list[0].decode("ascii", "replace")
        if alpn and alpn.protocol_name_list
        else None,
        "encrypt_then_mac": _has(best, ExtensionType.ENCRYPT_THEN_MAC),
    } | _proved(data)


def _proved(data: ScanData) -> dict[str, Any]:
    proved = handshake12_facts(data)
    return proved | {"handshake12": sorted(proved)}


def check_protocols(data: ScanData) -> list[Finding]:
    table = protocol_table(data)
    offered = [p for p, on in table.items() if on]
    out: list[Finding] = []
    if not offered:
        return out
    if table["SSLv2"]:
        out.append(
            Finding(
                "protocol-sslv2",
                "critical",
                "SSL 2.0 is enabled",
                "The server answers an SSL 2.0 CLIENT-HELLO; SSL 2.0 is broken (DROWN, export ciphers) "
                "and no client has used it for over a decade.",
                f"Disable SSL 2.0 ({_NGINX_PROTOCOLS}).",
                {"protocols": ["SSLv2"]},
            )
        )
    if table["SSLv3"]:
        best = max(v for v in (SSL3, TLS10, TLS11, TLS12, TLS13) if table[v.label]) == SSL3
        out.append(
            Finding(
                "protocol-sslv3",
                "critical" if best else "high",
                "SSL 3.0 is enabled",
                "The server accepts SSL 3.0, which POODLE breaks"
                + ("; it is even the best protocol it offers." if best else "."),
                f"Disable SSL 3.0 ({_NGINX_PROTOCOLS}).",
                {"protocols": ["SSLv3"], "best": best},
            )
        )
    for version, code in ((TLS10, "protocol-tls1.0"), (TLS11, "protocol-tls1.1")):
        if table[version.label]:
            out.append(
                Finding(
                    code,
                    "medium",
                    f"{version.label} is enabled",
                    f"The server accepts {version.label}, deprecated by RFC 8996 (2021): no AEAD suites, "
                    "SHA-1 in the handshake, and browsers no longer use it.",
                    f"Disable {version.label} ({_NGINX_PROTOCOLS}).",
                    {"protocols": [version.label]},
                )
            )
    if not table["TLSv1.2"] and not table["TLSv1.3"]:
        out.append(
            Finding(
                "no-tls1.2",
                "high",
                "TLS 1.2 is not supported",
                f"The best protocol offered is {offered[-1]}: no AEAD cipher suites, and clients that "
                "require TLS 1.2 or newer (every current browser) cannot connect.",
                f"Enable TLS 1.2 and 1.3 ({_NGINX_PROTOCOLS}).",
            )
        )
    elif not table["TLSv1.2"]:
        out.append(
            Finding(
                "tls1.3-only",
                "info",
                "Only TLS 1.3 is offered",
                "Clients that have TLS 1.2 at most (older Android and Java, embedded devices) cannot "
                "connect; every current browser can.",
            )
        )
    if not table["TLSv1.3"]:
        out.append(
            Finding(
                "no-tls1.3",
                "low",
                "TLS 1.3 is not supported",
                "TLS 1.3 is faster (one round trip), always forward secret, and encrypts the certificate.",
                f"Enable TLS 1.3 ({_NGINX_PROTOCOLS}; needs OpenSSL 1.1.1 or newer).",
            )
        )
    out += _intolerance(data)
    out += _fallback(data)
    out += _hello_behaviour(data)
    out += _starttls(data)
    return out


_IMPLICIT_TLS = {"smtp": "465 (submissions)", "imap": "993", "pop3": "995", "nntp": "563", "ftp": "990"}


def _starttls(data: ScanData) -> list[Finding]:
    """testssl.sh caps every STARTTLS service at T for this; the grade here is the TLS configuration's,
    and this is said once, as a fact of the protocol."""
    protocol = data.route.starttls
    if protocol is None:
        return []
    if protocol == "smtp":
        fix = (
            "Between mail servers: publish an MTA-STS policy (RFC 8461) or DANE TLSA records (RFC 7672) so "
            "that senders insist on TLS; for mail clients, offer submissions on port 465 (RFC 8314)."
        )
    else:
        port = _IMPLICIT_TLS.get(protocol)
        fix = f"Offer implicit TLS (port {port}) and have clients use it." if port else ""
    return [
        Finding(
            "starttls",
            "info",
            "TLS is opportunistic (STARTTLS)",
            f"The server starts TLS inside {protocol} on request: an active attacker can remove the "
            "STARTTLS offer and keep the session in plain text unless the client insists on TLS. (testssl.sh "
            "caps such a service at T; this grade is the TLS configuration's.)",
            fix,
            {"protocol": protocol},
        )
    ]


def _intolerance(data: ScanData) -> list[Finding]:
    answers = legacy_answers(data)
    if data.intolerance is None or not answers:
        return []
    failures = data.intolerance.failures(max(answers))
    if not failures:
        return []
    return [
        Finding(
            "version-intolerance",
            "medium",
            "The server mishandles hellos from newer clients",
            "; ".join(failures) + ". A correct server answers with the best version it has "
            "(RFC 8446 §4.2.1, RFC 5246 Appendix E.1).",
            "Update the TLS library or the middlebox in front of the server; version intolerance makes "
            "clients fall back or fail.",
            {"failures": failures},
        )
    ]


def _fallback(data: ScanData) -> list[Finding]:
    fb = data.fallback
    if fb is None or fb.refused:
        return []
    return [
        Finding(
            "no-fallback-scsv",
            "low",
            "TLS_FALLBACK_SCSV is not honoured",
            f"A {fb.version.label} hello carrying TLS_FALLBACK_SCSV got {fb.answer.describe()} instead of "
            "the inappropriate_fallback alert (RFC 7507), so an attacker could force a client that retries "
            "with a lower version down to it. (SSL Labs no longer grades this since 2009r.)",
            "Update the TLS library (OpenSSL has supported TLS_FALLBACK_SCSV since 1.0.1j).",
            {"version": fb.version.label},
        )
    ]


def _hello_behaviour(data: ScanData) -> list[Finding]:
    facts = hello_facts(data)
    if not facts:
        return []
    out = []
    proved = facts["handshake12"]
    if not facts["secure_renegotiation"]:
        seen = "in a TLS 1.2 handshake" if "secure_renegotiation" in proved else "to the hello probes"
        out.append(
            Finding(
                "insecure-renegotiation",
                "high",
                "Secure renegotiation is not supported",
                f"The server's ServerHello {seen} has no renegotiation_info extension (RFC 5746): if the "
                "server allows renegotiation at all, an attacker can splice requests into a client's "
                "connection (CVE-2009-3555). tlslens, like OpenSSL 3, completes no handshake without it, "
                "so whether the server accepts client-initiated renegotiation (graded F by SSL Labs) was "
                "not tested.",
                "Update the TLS library (every library since 2010 supports RFC 5746).",
            )
        )
    if facts["compression"]:
        out.append(
            Finding(
                "compression",
                "high",
                "TLS compression is enabled",
                "The server accepted DEFLATE compression, which leaks secrets through the compressed "
                "length (CRIME).",
                "Disable TLS compression (OpenSSL: SSL_OP_NO_COMPRESSION; nginx and Apache 2.4.3+ do by "
                "default).",
            )
        )
    if facts["heartbeat"]:
        out.append(
            Finding(
                "heartbeat",
                "low",
                "The heartbeat extension is enabled",
                "The server echoes the heartbeat extension (RFC 6520); nothing on the web uses it, and "
                "it was the door of Heartbleed.",
                "Turn heartbeats off (OpenSSL removed them in 1.1.1; older builds: -DOPENSSL_NO_HEARTBEATS).",
            )
        )
    if not facts["extended_master_secret"]:
        out.append(
            Finding(
                "no-ems",
                "low",
                "Extended master secret is not supported",
                (
                    "A complete TLS 1.2 handshake ran without it"
                    if "extended_master_secret" in proved
                    else "The ServerHello to the hello probes does not carry it"
                )
                + ". Without RFC 7627 a TLS 1.2 session can be synchronised across two connections "
                "(triple handshake attack), and tlslens resumes no such session.",
                "Update the TLS library (OpenSSL 1.1.0 and newer support extended master secret).",
            )
        )
    return out
