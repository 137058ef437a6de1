"""Chain validation with a diagnosis.

The verdict comes from ``cryptography.x509.verification`` under the profile in force (``webpki`` or
``rfc5280``, :mod:`tlslens.pki.profile`; :mod:`tlslens.pki.verdict` says where tlslens decides itself).
The diagnosis comes from our own path search (:mod:`tlslens.pki.paths`) and checks
(:mod:`tlslens.pki.checks`, :mod:`tlslens.pki.profile`, :mod:`tlslens.pki.faults`), so a report can say
which link is missing, expired, misnamed or untrusted — and what to do about it — even when no path
exists. A report is never valid when the diagnosis found an error. All work is charged to a
:class:`~tlslens.pki.budget.Budget`: past it, ``too-complex`` (refused, never slow).

Two entry points:

- :func:`verify_chain` — the full report, for tools (``tlslens verify``, ``certs``, ``scan``).
- :func:`verify_server_chain` / :func:`verify_client_chain` — for the handshake: a fast path straight
  through the verifier and the per-certificate rules (cached); only on failure is the diagnosis run, and
  the matching :class:`~tlslens.errors.CertificateError` raised with the findings attached.

Neither lets a malformed certificate escape as an exception: it becomes a ``malformed-certificate``
finding (and ``BadCertificate``/``UnsupportedCertificate`` in a handshake).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cryptography import x509

from tlslens.errors import (
    BadCertificate,
    CertificateError,
    CertificateExpired,
    UnknownCA,
    UnsupportedCertificate,
)
from tlslens.pki import findings as F
from tlslens.pki.budget import Budget, OutOfBudget
from tlslens.pki.checks import PathContext, check_leaf_usage, check_path
from tlslens.pki.faults import certificate_fault
from tlslens.pki.findings import ChainReport, Finding, add_findings, describe, sort_findings
from tlslens.pki.names import ServerName, constraint_violations, parse_server_name
from tlslens.pki.paths import PathResult, build_path, signature_verifies
from tlslens.pki.profile import Profile, ProfileChoice, Role, certificate_rules, choose_profile
from tlslens.pki.served import choose_leaf, end_findings, presentation_findings, summarise
from tlslens.pki.trust import TrustStore, system_trust_store
from tlslens.pki.verdict import explained, own_verdict_notes, run_verifier

__all__ = ["verify_chain", "verify_client_chain", "verify_server_chain"]

Purpose = Literal["server", "client"]
TrustAnchors = TrustStore | Iterable[x509.Certificate] | None

_UNKNOWN_CA_CODES = frozenset({F.MISSING_INTERMEDIATE, F.UNTRUSTED_ROOT, F.SELF_SIGNED})
_EXPIRED_CODES = frozenset({F.EXPIRED, F.NOT_YET_VALID})


# --- inputs ----------------------------------------------------------------------------------------


def _as_store(trust_anchors: TrustAnchors) -> TrustStore:
    if trust_anchors is None:
        return system_trust_store()
    if isinstance(trust_anchors, TrustStore):
        return trust_anchors
    return TrustStore(trust_anchors)


def _as_time(at: dt.datetime | None) -> dt.datetime:
    """UTC, floored to the second: certificates state their times in whole seconds (RFC 5280
    §4.1.2.5), so a leaf is valid through the whole second of its notAfter."""
    if at is None:
        at = dt.datetime.now(dt.UTC)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).replace(microsecond=0)


def _check_chain(chain: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    out = tuple(chain)
    if not out:
        raise ValueError("the certificate chain is empty")
    for cert in out:
        if not isinstance(cert, x509.Certificate):
            raise TypeError(f"expected x509.Certificate, got {type(cert).__name__}")
    return out


@dataclass(frozen=True, slots=True)
class _Job:
    """One chain to judge and everything it is judged against."""

    chain: tuple[x509.Certificate, ...]
    store: TrustStore
    at: dt.datetime
    purpose: Purpose
    name: ServerName | None
    requested: str | None
    profile: ProfileChoice
    expiring_soon: dt.timedelta
    budget: Budget
    extra: tuple[x509.Certificate, ...] = ()  # more intermediates for the path, not judged as served

    def report(
        self, valid: bool, path: tuple[x509.Certificate, ...], found: list[Finding], **kw: object
    ) -> ChainReport:
        return ChainReport(
            valid=valid,
            path=path,
            findings=sort_findings(found, path),
            presented=self.chain,
            server_name=self.requested,
            purpose=self.purpose,
            at=self.at,
            profile=self.profile.name,
            profile_reason=self.profile.reason,
            **kw,  # type: ignore[arg-type]
        )


# --- the diagnosis ---------------------------------------------------------------------------------


def _fault_findings(chain: tuple[x509.Certificate, ...]) -> tuple[list[Finding], set[x509.Certificate]]:
    """malformed-certificate for every presented certificate that cannot be parsed (one finding per
    kind of fault when there are many), and the set of certificates to keep out of the search."""
    out: list[Finding] = []
    unusable: set[x509.Certificate] = set()
    for i, cert in enumerate(dict.fromkeys(chain)):
        fault = certificate_fault(cert)
        if fault is None or (fault.unsupported and i > 0):
            continue  # well formed: an unsupported feature matters only on the path (checked there)
        unusable.add(cert)
        out.append(_malformed(cert, fault.message, "leaf" if i == 0 else "presented certificate"))
    return summarise(out, F.MALFORMED_CERTIFICATE), unusable


def _malformed(cert: x509.Certificate, message: str, role: str) -> Finding:
    try:
        who = describe(cert)
    except Exception:
        who = "(a certificate whose subject cannot be read)"
    return Finding(
        F.MALFORMED_CERTIFICATE,
        "error",
        cert,
        f"The {role} {who} {message}.",
        "Reissue the certificate with a standard tool (it must parse cleanly and carry only extensions "
        "that clients process).",
    )


def _roles(result: PathResult, trusted: bool, trusted_directly: bool) -> list[Role]:
    roles: list[Role] = []
    last = len(result.path) - 1
    for i in range(len(result.path)):
        if i == 0:
            roles.append("leaf")
        elif i == last and trusted:
            roles.append("anchor")
        elif i == last and result.end == "self-signed":
            roles.append("root")
        else:
            roles.append("intermediate")
    return roles


def _path_rules(result: PathResult, roles: list[Role], purpose: Purpose, profile: Profile) -> list[Finding]:
    out: list[Finding] = []
    for i, (cert, role) in enumerate(zip(result.path, roles, strict=True)):
        out += certificate_rules(cert, role, purpose, profile)
        fault = certificate_fault(cert) if i > 0 and role != "anchor" else None
        if fault is not None and fault.unsupported:
            out.append(_malformed(cert, fault.message, role))
    return out


def _too_complex(leaf: x509.Certificate, why: OutOfBudget) -> Finding:
    return Finding(
        F.TOO_COMPLEX,
        "error",
        leaf,
        f"Judging this chain needs {why}; tlslens refuses chains that need more work than that, as a peer "
        "could otherwise make every connection slow.",
        "Serve a short chain (the leaf and its intermediates) whose certificates carry few names and name "
        "constraints.",
    )


def _links_verify(path: tuple[x509.Certificate, ...], budget: Budget) -> bool:
    for child, issuer in itertools.pairwise(path):
        budget.spend("signatures")
        if signature_verifies(child, issuer) is not True:
            return False
    return True


def _diagnose(job: _Job, verified: tuple[x509.Certificate, ...] | None, reason: str | None) -> ChainReport:
    found, unusable = _fault_findings(job.chain)
    if job.chain[0] in unusable:  # nothing else can be said about a leaf that cannot be read
        return job.report(False, job.chain[:1], found, trusted=False, verifier_error=reason)
    usable = tuple(c for c in job.chain if c not in unusable)
    pool = usable + tuple(c for c in job.extra if certificate_fault(c) is None)
    leaf, leaf_moved = choose_leaf(usable)
    trusted_directly = leaf in job.store
    if trusted_directly:
        result = PathResult((leaf,), "trusted")
    elif verified is not None and not leaf_moved:
        result = PathResult(verified, "trusted")
    else:
        result = build_path(leaf, pool, job.store, job.at, job.budget)
    path, trusted = result.path, result.end == "trusted"
    ctx = PathContext(
        path=path,
        at=job.at,
        purpose=job.purpose,
        server_name=job.name,
        trusted=trusted,
        self_signed_end=result.end == "self-signed",
        expiring_soon=job.expiring_soon,
        budget=job.budget,
    )
    roles = _roles(result, trusted, trusted_directly)
    notes: list[str] = []
    try:
        found += end_findings(result, job.store)
        found += check_path(ctx)
        found += _path_rules(result, roles, job.purpose, job.profile.name)
        found += presentation_findings(usable, leaf, leaf_moved, path, trusted)
        if result.exhausted and job.budget.exhausted is not None:
            raise job.budget.exhausted
        has_error = any(f.severity == "error" for f in found)
        valid = reason is None and not has_error
        notes = own_verdict_notes(path, trusted_directly, trusted, reason)
        if reason is not None and not has_error:
            valid = bool(notes) and (trusted_directly or _links_verify(path, job.budget))
        if not valid and not trusted_directly:
            notes = []
    except OutOfBudget as exc:
        found.append(_too_complex(leaf, exc))
        valid = False
    errors = [f for f in found if f.severity == "error"]
    if reason is not None and not valid and not explained(reason, errors):
        found.append(
            Finding(
                F.INVALID_CHAIN,
                "error",
                job.chain[0],
                f"The chain was refused by cryptography's verifier ({job.profile.name} profile): {reason}.",
                "Reissue the certificates following RFC 5280"
                + (" and the CA/Browser Forum rules" if job.profile.name == "webpki" else "")
                + ", which this check enforces.",
            )
        )
    return job.report(
        valid,
        path,
        found,
        trusted=trusted,
        verifier_error=reason,
        trusted_directly=trusted_directly,
        notes=tuple(notes),
    )


def _judge(job: _Job) -> ChainReport:
    given = job.chain + job.extra
    verified, reason = run_verifier(given, job.store, job.at, job.purpose, job.name, job.profile.name)
    try:
        return _diagnose(job, verified, reason)
    except Exception as exc:  # a certificate that breaks in a way no check foresaw: refuse, never crash
        finding = _malformed(job.chain[0], f"could not be diagnosed ({type(exc).__name__}: {exc})", "leaf")
        return job.report(False, job.chain[:1], [finding], trusted=False, verifier_error=reason)


def _job(
    chain: Sequence[x509.Certificate],
    server_name: str | None,
    trust_anchors: TrustAnchors,
    at: dt.datetime | None,
    purpose: Purpose,
    profile: str | None,
    expiring_soon_days: int,
    budget: Budget | None,
    intermediates: Sequence[x509.Certificate] = (),
) -> _Job:
    certs = _check_chain(chain)
    extra = _check_chain([*certs, *intermediates])[len(certs) :]
    if purpose not in ("server", "client"):
        raise ValueError(f"purpose must be 'server' or 'client', not {purpose!r}")
    name = parse_server_name(server_name) if server_name is not None else None
    store = _as_store(trust_anchors)
    choice = choose_profile(profile, system_store=trust_anchors is None or store.is_system)
    return _Job(
        certs,
        store,
        _as_time(at),
        purpose,
        name if purpose == "server" else None,
        server_name,
        choice,
        dt.timedelta(days=expiring_soon_days),
        budget if budget is not None else Budget(),
        extra,
    )


def verify_chain(
    chain: Sequence[x509.Certificate],
    *,
    server_name: str | None = None,
    trust_anchors: TrustAnchors = None,
    at: dt.datetime | None = None,
    purpose: Purpose = "server",
    expiring_soon_days: int = 30,
    profile: Profile | None = None,
    budget: Budget | None = None,
    intermediates: Sequence[x509.Certificate] = (),
    ocsp_response: bytes | None = None,
    stapled: bool = False,
) -> ChainReport:
    """Validate ``chain`` (leaf first, as presented) and diagnose every problem found.

    ``server_name`` (a DNS name or an IP address) is matched against the leaf's subjectAltName for
    ``purpose="server"``; ``trust_anchors`` defaults to the system store; ``at`` (default: now; naive
    means UTC) is the validation time. ``profile``: ``"webpki"`` or ``"rfc5280"``; by default
    ``webpki`` with the system store and ``rfc5280`` with your own anchors (the report says which, and
    why). ``intermediates``: more certificates to build the path from, which were not served (as
    ``openssl verify -untrusted``): they get no finding about how a chain is served. ``budget`` bounds
    the work (pass one to read what was spent). ``ocsp_response``: a DER OCSP response about the leaf,
    checked (``ocsp-revoked``, ``ocsp-stale``, ``ocsp-invalid``); ``stapled``: it is what a server
    stapled (None: nothing), so a must-staple leaf without a usable one is ``must-staple-missing``.
    Raises ``ValueError`` only for caller errors (an empty chain, an invalid name or profile); a
    malformed certificate is a finding.
    """
    job = _job(
        chain, server_name, trust_anchors, at, purpose, profile, expiring_soon_days, budget, intermediates
    )
    report = _judge(job)
    if ocsp_response is None and not stapled:
        return report
    from tlslens.pki.ocsp import staple_outcome

    issuers = [*report.path[1:], *job.extra, *job.store.by_subject(job.chain[0].issuer)]
    outcome = staple_outcome(job.chain, ocsp_response, issuers, job.at)
    return add_findings(report, outcome.findings)


# --- for the handshake -----------------------------------------------------------------------------


def certificate_error(report: ChainReport) -> CertificateError:
    """The CertificateError subclass for a failed report, its message from the first error finding."""
    errors = report.errors
    if not errors:
        return BadCertificate("certificate chain refused", findings=report.findings)
    first = errors[0]
    if first.code in _EXPIRED_CODES:
        cls: type[CertificateError] = CertificateExpired
    elif first.code in _UNKNOWN_CA_CODES:
        cls = UnknownCA
    elif first.code == F.MALFORMED_CERTIFICATE and first.certificate is not None:
        fault = certificate_fault(first.certificate)
        cls = UnsupportedCertificate if fault is not None and fault.unsupported else BadCertificate
    else:
        cls = BadCertificate
    text = first.message[:1].lower() + first.message[1:]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return cls(f"{first.code}: {text}{more}", findings=report.findings)


@lru_cache(maxsize=256)
def _quick_ok(
    chain: tuple[x509.Certificate, ...],
    verified: tuple[x509.Certificate, ...],
    purpose: Purpose,
    profile: Profile,
) -> bool:
    """The verifier accepted: do the per-certificate rules agree (no error anywhere)? A pure function of
    the certificates (never of the time), so the same chain in every handshake is judged once."""
    if any(f is not None and not f.unsupported for f in map(certificate_fault, chain)):
        return False
    last = len(verified) - 1
    for i, cert in enumerate(verified):
        role: Role = "leaf" if i == 0 else "anchor" if i == last else "intermediate"
        if role == "intermediate" and certificate_fault(cert) is not None:
            return False
        if any(f.severity == "error" for f in certificate_rules(cert, role, purpose, profile)):
            return False
    return _leaf_usage_ok(verified[0], purpose) and _constraints_ok(verified, Budget())


def _constraints_ok(path: tuple[x509.Certificate, ...], budget: Budget) -> bool:
    """Name constraints as the diagnosis reads them (wildcards, directory names), within the budget."""
    try:
        for i in range(1, len(path)):
            try:
                nc = path[i].extensions.get_extension_for_class(x509.NameConstraints).value
            except x509.ExtensionNotFound:
                continue
            for j in range(i):
                below = path[j]
                if (j == 0 or below.subject != below.issuer) and constraint_violations(nc, below, budget):
                    return False
    except OutOfBudget:
        return False
    return True


@lru_cache(maxsize=256)
def _leaf_usage_ok(leaf: x509.Certificate, purpose: Purpose) -> bool:
    """No leaf usage finding (a pure function of the certificate's bytes: certificates hash and compare
    by their DER, so the same leaf arriving in every handshake is checked once)."""
    return not check_leaf_usage(leaf, purpose)


def _fast_path(job: _Job) -> tuple[x509.Certificate, ...]:
    verified, reason = run_verifier(job.chain, job.store, job.at, job.purpose, job.name, job.profile.name)
    try:
        if (
            verified is not None
            and verified[0] == job.chain[0]
            and _quick_ok(job.chain, verified, job.purpose, job.profile.name)
        ):
            return verified
        report = _diagnose(job, verified, reason)
    except Exception as exc:  # never let a malformed certificate escape receive_data
        raise BadCertificate(f"malformed-certificate: the chain could not be checked ({exc})") from None
    if report.valid:
        return report.path
    raise certificate_error(report)


def verify_server_chain(
    chain: Sequence[x509.Certificate],
    server_name: str | None,
    store: TrustStore,
    at: dt.datetime | None = None,
    *,
    profile: Profile | None = None,
) -> tuple[x509.Certificate, ...]:
    """The verified path (leaf → trust anchor) of a server's chain, or a CertificateError with findings.

    ``server_name`` None skips the name check (the caller decided so). Raises CertificateExpired,
    UnknownCA, BadCertificate or UnsupportedCertificate, named after the alert to send; ``ValueError``
    for an empty chain or a malformed name (caller errors).
    """
    job = _job(chain, server_name, store, at, "server", profile, 0, None)
    return _fast_path(job)


def verify_client_chain(
    chain: Sequence[x509.Certificate],
    store: TrustStore,
    at: dt.datetime | None = None,
    *,
    profile: Profile | None = None,
) -> tuple[x509.Certificate, ...]:
    """The verified path (leaf → trust anchor) of a client certificate chain, or a CertificateError."""
    job = _job(chain, None, store, at, "client", profile, 0, None)
    return _fast_path(job)
