"""Certificate checks: every chain the server presented, diagnosed by the same engine and with the same
finding codes as ``tlslens verify``, a missing intermediate completed through the leaf's AIA URL when
the runner could fetch it, and the server key's strength.

Pure (``verify_chain`` is CPU only): the runner asks ``aia_urls_needed`` which URLs to download, puts
the downloads in ``ScanData.aia``, and ``diagnose`` then says whether they complete the chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID

from tlslens.pki import ChainReport, TrustStore, verify_chain
from tlslens.pki.findings import Finding as ChainFinding
from tlslens.pki.findings import describe_key, format_date
from tlslens.scan.grader import KeyExchangeStrength
from tlslens.scan.model import Finding, ScanData, ServedChain, Severity

__all__ = [
    "ChainVerdict",
    "aia_urls_needed",
    "certificate_facts",
    "check_certificates",
    "diagnose",
    "server_key_strengths",
]

_FULLCHAIN_FIX = (
    "Serve the leaf followed by its intermediate: e.g. nginx `ssl_certificate` pointing at the full chain "
    "(cat leaf.pem intermediate.pem > fullchain.pem), Apache 2.4.8+ `SSLCertificateFile fullchain.pem`."
)

_TITLES = {
    "missing-intermediate": "The certificate chain is incomplete",
    "self-signed": "The certificate is self-signed",
    "untrusted-root": "The chain ends at an untrusted root",
    "invalid-signature": "A certificate signature does not verify",
    "expired": "A certificate has expired",
    "not-yet-valid": "A certificate is not valid yet",
    "name-mismatch": "The certificate does not match the host name",
    "not-a-ca": "An issuing certificate is not a CA",
    "path-length-exceeded": "The chain is longer than a CA allows",
    "name-constraints": "A name constraint of a CA is violated",
    "bad-key-usage": "A certificate's key usage does not allow this use",
    "bad-extended-key-usage": "The certificate is not for TLS servers",
    "weak-signature": "A certificate is signed with a broken hash",
    "wrong-order": "The chain is served out of order",
    "invalid-chain": "The chain is refused by the verifier",
    "expiring-soon": "A certificate expires soon",
    "duplicate-certificate": "A certificate is served twice",
    "unnecessary-root": "The chain includes its root",
    "unused-certificate": "An unrelated certificate is served",
}
_WARNING_SEVERITY: dict[str, Severity] = {
    "expiring-soon": "medium",
    "wrong-order": "low",
    "duplicate-certificate": "low",
    "unused-certificate": "low",
    "unnecessary-root": "info",
}


def aia_ca_issuers(cert: x509.Certificate) -> list[str]:
    """The caIssuers URLs of a certificate's Authority Information Access extension (RFC 5280 §4.2.2.1)."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        str(d.access_location.value)
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def chain_key(chain: tuple[x509.Certificate, ...]) -> tuple[str, ...]:
    return tuple(fingerprint(c) for c in chain)


@dataclass(slots=True)
class ChainVerdict:
    """One distinct chain: how it was obtained, its diagnosis, and what AIA did for it."""

    chain: tuple[x509.Certificate, ...] = field(repr=False)
    served: list[ServedChain]
    report: ChainReport = field(repr=False)
    completed: ChainReport | None = field(default=None, repr=False)
    """The diagnosis with the AIA downloads added, when they completed the chain."""
    aia_url: str | None = None
    fetched: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    aia_error: str | None = None

    @property
    def final(self) -> ChainReport:
        return self.completed if self.completed is not None else self.report

    @property
    def hows(self) -> list[str]:
        return [s.how for s in self.served]


def _distinct(chains: list[ServedChain]) -> list[tuple[tuple[x509.Certificate, ...], list[ServedChain]]]:
    groups: dict[tuple[str, ...], list[ServedChain]] = {}
    for served in chains:
        if served.chain:
            groups.setdefault(chain_key(served.chain), []).append(served)
    return [(v[0].chain, v) for v in groups.values()]


def _verify_name(data: ScanData) -> str:
    return data.target.server_name or data.target.host


def _missing_at(report: ChainReport) -> x509.Certificate | None:
    """The certificate whose issuer is missing (the end of the partial path), if that is the problem."""
    for f in report.findings:
        if f.code == "missing-intermediate" and f.certificate is not None:
            return f.certificate
    return None


def aia_urls_needed(data: ScanData, store: TrustStore) -> list[str]:
    """caIssuers URLs worth downloading: those of certificates whose issuer is missing."""
    urls: list[str] = []
    for chain, _served in _distinct(data.chains):
        report = verify_chain(chain, server_name=_verify_name(data), trust_anchors=store, at=data.started_at)
        cert = _missing_at(report)
        if cert is not None:
            urls += [u for u in aia_ca_issuers(cert) if u not in urls][:2]
    return urls


def diagnose(data: ScanData, store: TrustStore) -> list[ChainVerdict]:
    """A verdict per distinct chain, AIA downloads applied."""
    name = _verify_name(data)
    out = []
    for chain, served in _distinct(data.chains):
        report = verify_chain(chain, server_name=name, trust_anchors=store, at=data.started_at)
        verdict = ChainVerdict(chain, served, report)
        missing = _missing_at(report)
        if missing is not None:
            for url in aia_ca_issuers(missing):
                download = data.aia.get(url)
                if download is None:
                    continue
                verdict.aia_url = url
                if download.error is not None:
                    verdict.aia_error = download.error
                    continue
                verdict.fetched = download.certificates
                completed = verify_chain(
                    chain + download.certificates, server_name=name, trust_anchors=store, at=data.started_at
                )
                if "missing-intermediate" not in completed.codes and completed.trusted:
                    verdict.completed = completed
                    verdict.aia_error = None
                    break
                verdict.aia_error = "the downloaded certificate does not complete the chain to a trusted root"
        out.append(verdict)
    return out


def _chain_finding(f: ChainFinding, verdict: ChainVerdict, several: bool) -> Finding | None:
    if f.code == "weak-key":
        return None  # the scanner's own weak-key finding (with the SSL Labs thresholds) covers it
    data: dict[str, Any] = {"subject": f.subject}
    if several:
        data["chains"] = verdict.hows
    title = _TITLES.get(f.code, f.code)
    where = f" (served in: {'; '.join(verdict.hows)})" if several else ""
    if f.severity == "error":
        return Finding(f.code, "critical", title, f.message + where, f.fix, data)
    return Finding(f.code, _WARNING_SEVERITY.get(f.code, "low"), title, f.message + where, f.fix, data)


def _aia_finding(verdict: ChainVerdict, several: bool) -> Finding:
    fetched = verdict.fetched[0] if verdict.fetched else None
    subject = fetched.subject.rfc4514_string() if fetched is not None else None
    missing = _missing_at(verdict.report)
    data: dict[str, Any] = {
        "subject": missing.subject.rfc4514_string() if missing is not None else None,
        "completed_by_aia": True,
        "aia_url": verdict.aia_url,
        "fetched": subject,
    }
    if several:
        data["chains"] = verdict.hows
    return Finding(
        "missing-intermediate",
        "high",
        "The certificate chain is incomplete (completed through AIA)",
        f'The server does not send the intermediate "{subject}"; the leaf\'s AIA URL {verdict.aia_url} '
        "gives it, and with it the chain reaches a trusted root. Browsers that fetch or cache "
        "intermediates cope; curl, Python, Go, Java and mobile apps fail.",
        _FULLCHAIN_FIX,
        data,
    )


def check_certificates(verdicts: list[ChainVerdict]) -> list[Finding]:
    """Chain findings, one per problem (the same problem in several chains is reported once)."""
    several = len(verdicts) > 1
    out: list[Finding] = []
    seen: set[tuple[str, str | None]] = set()
    for verdict in verdicts:
        items: list[Finding] = []
        if verdict.completed is not None:
            items.append(_aia_finding(verdict, several))
        for f in verdict.final.findings:
            finding = _chain_finding(f, verdict, several)
            if finding is None:
                continue
            if finding.code == "missing-intermediate" and verdict.aia_url is not None:
                why = verdict.aia_error or "nothing was downloaded"
                finding = Finding(
                    finding.code,
                    finding.severity,
                    finding.title,
                    f"{finding.detail} Fetching {verdict.aia_url}: {why}.",
                    finding.fix,
                    {**finding.data, "completed_by_aia": False, "aia_url": verdict.aia_url},
                )
            items.append(finding)
        for item in items:
            key = (item.code, item.data.get("subject"))
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


# --- the server key --------------------------------------------------------------------------------


def _key_strength(cert: x509.Certificate) -> KeyExchangeStrength | None:
    try:
        key = cert.public_key()
    except Exception:  # an unsupported key type: cryptography raises several kinds
        return None
    what = f"server key {describe_key(cert)}"
    if isinstance(key, rsa.RSAPublicKey):
        return KeyExchangeStrength("rsa", key.key_size, what)
    if isinstance(key, dsa.DSAPublicKey):
        return KeyExchangeStrength("dh", key.key_size, what)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeyExchangeStrength("ec", key.curve.key_size, what)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return KeyExchangeStrength("ec", 256, what)
    if isinstance(key, ed448.Ed448PublicKey):
        return KeyExchangeStrength("ec", 448, what)
    return None


def server_key_strengths(verdicts: list[ChainVerdict]) -> list[KeyExchangeStrength]:
    out = []
    for v in verdicts:
        strength = _key_strength(v.chain[0])
        if strength is not None and strength not in out:
            out.append(strength)
    return out


def _rsa_equivalent(k: KeyExchangeStrength) -> int:
    if k.kind != "ec":
        return k.bits
    return 512 if k.bits < 160 else 1024 if k.bits < 224 else 3072


def check_server_keys(verdicts: list[ChainVerdict]) -> list[Finding]:
    """weak-key: a server key under 2048 RSA-equivalent bits (SSL Labs caps B, under 1024 F)."""
    out = []
    for k in server_key_strengths(verdicts):
        bits = _rsa_equivalent(k)
        if bits >= 2048:
            continue
        out.append(
            Finding(
                "weak-key",
                "critical" if bits < 1024 else "high",
                "The server key is too weak",
                f"The {k.what} is weaker than 2048-bit RSA; keys this size can be or soon will be broken.",
                "Reissue the certificate with an ECDSA P-256 key or an RSA key of at least 2048 bits.",
                {"bits": bits, "key": k.what},
            )
        )
    return out


def certificate_facts(verdicts: list[ChainVerdict]) -> list[dict[str, Any]]:
    """The ``certificates`` part of the JSON report."""
    out = []
    for v in verdicts:
        final = v.final
        out.append(
            {
                "served": [{"how": s.how, "sni": s.sni, "ocsp_stapled": s.ocsp_stapled} for s in v.served],
                "chain": [_cert_dict(c) for c in v.chain],
                "valid": final.valid,
                "trusted": final.trusted,
                "path": [c.subject.rfc4514_string() for c in final.path],
                "findings": [f.code for f in final.findings],
                "aia": None
                if v.aia_url is None
                else {
                    "url": v.aia_url,
                    "fetched": [c.subject.rfc4514_string() for c in v.fetched],
                    "completes_chain": v.completed is not None,
                    "error": v.aia_error,
                },
            }
        )
    return out


def _cert_dict(cert: x509.Certificate) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    after = cert.not_valid_after_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": format_date(cert.not_valid_before_utc),
        "not_after": format_date(after),
        "days_left": (after - now).days,
        "key": describe_key(cert, with_bits=True),
        "signature": cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else None,
        "sha256": fingerprint(cert),
    }
