"""Chain validation with a diagnosis.

The verdict comes from ``cryptography.x509.verification`` (the Web PKI profile). The diagnosis comes
from our own path search (:mod:`tlslens.pki.paths`) and checks (:mod:`tlslens.pki.checks`), so a
report can say which link is missing, expired, misnamed or untrusted — and what to do about it — even
when no path exists. A report is never valid when the verifier refused the chain.

Two entry points:

- :func:`verify_chain` — the full report, for tools (``tlslens verify``, ``certs``, ``scan``).
- :func:`verify_server_chain` / :func:`verify_client_chain` — for the handshake: a fast path straight
  through the verifier; only on failure is the diagnosis run, and the matching
  :class:`~tlslens.errors.CertificateError` raised with the findings attached.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import Literal

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    VerificationError,
)

from tlslens.errors import BadCertificate, CertificateError, CertificateExpired, UnknownCA
from tlslens.pki import findings as F
from tlslens.pki.checks import PathContext, check_leaf_usage, check_path
from tlslens.pki.findings import ChainReport, Finding, sort_findings
from tlslens.pki.names import ServerName, parse_server_name, subject_alt_names
from tlslens.pki.paths import PathResult, build_path
from tlslens.pki.served import choose_leaf, end_findings, presentation_findings
from tlslens.pki.trust import TrustStore, system_trust_store

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
    if at is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC)


def _check_chain(chain: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    out = tuple(chain)
    if not out:
        raise ValueError("the certificate chain is empty")
    for cert in out:
        if not isinstance(cert, x509.Certificate):
            raise TypeError(f"expected x509.Certificate, got {type(cert).__name__}")
    return out


# --- the verdict -----------------------------------------------------------------------------------


@cache
def _client_ee_policy() -> ExtensionPolicy:
    # Client certificates often carry no subjectAltName (OpenSSL accepts them); nothing is matched
    # against a client's names, so the extension is optional here.
    return ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )


def _subject_for(name: ServerName | None, leaf: x509.Certificate) -> ServerName:
    """The verifier needs a subject; with no requested name, use one of the leaf's own names."""
    if name is not None:
        return name
    for gn in subject_alt_names(leaf) or ():
        if isinstance(gn, x509.IPAddress):
            return gn
        if isinstance(gn, x509.DNSName):
            try:
                parsed = parse_server_name(gn.value.replace("*", "wildcard", 1))
            except ValueError:
                continue
            return parsed
    return x509.DNSName("no-subject-alt-name.invalid")


def _run_verifier(
    chain: tuple[x509.Certificate, ...],
    store: TrustStore,
    at: dt.datetime,
    purpose: Purpose,
    name: ServerName | None,
) -> tuple[tuple[x509.Certificate, ...] | None, str | None]:
    """(verified path, None) or (None, the verifier's reason)."""
    if not len(store):
        return None, "the trust store is empty"
    builder = PolicyBuilder().store(store.verification_store).time(at)
    try:
        if purpose == "server":
            verifier = builder.build_server_verifier(_subject_for(name, chain[0]))
            return tuple(verifier.verify(chain[0], list(chain[1:]))), None
        builder = builder.extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_client_ee_policy()
        )
        verified = builder.build_client_verifier().verify(chain[0], list(chain[1:]))
        return tuple(verified.chain), None
    except (VerificationError, ValueError) as exc:
        return None, _clean_reason(str(exc))


def _clean_reason(text: str) -> str:
    text = re.sub(r"^validation failed: ", "", text)
    text = re.sub(
        r" \(encountered processing <Certificate\(subject=<Name\((.*?)\)>, \.\.\.\)>\)", r" (in \1)", text
    )
    return text


# --- the diagnosis ---------------------------------------------------------------------------------


def _diagnose(
    chain: tuple[x509.Certificate, ...],
    store: TrustStore,
    at: dt.datetime,
    purpose: Purpose,
    name: ServerName | None,
    requested: str | None,
    verified: tuple[x509.Certificate, ...] | None,
    reason: str | None,
    expiring_soon: dt.timedelta,
) -> ChainReport:
    leaf, leaf_moved = choose_leaf(chain)
    if verified is not None and not leaf_moved:
        result = PathResult(verified, "trusted")
    else:
        result = build_path(leaf, chain, store, at)
    path, trusted = result.path, result.end == "trusted"
    ctx = PathContext(
        path=path,
        at=at,
        purpose=purpose,
        server_name=name,
        trusted=trusted,
        self_signed_end=result.end == "self-signed",
        expiring_soon=expiring_soon,
    )
    found = (
        end_findings(result) + check_path(ctx) + presentation_findings(chain, leaf, leaf_moved, path, trusted)
    )
    has_error = any(f.severity == "error" for f in found)
    if reason is not None and not has_error:
        found.append(
            Finding(
                F.INVALID_CHAIN,
                "error",
                chain[0],
                f"The chain was refused by the Web PKI verifier: {reason}.",
                "Reissue the certificates following the Web PKI profile (RFC 5280 and the CA/Browser Forum "
                "rules), which this check enforces.",
            )
        )
        has_error = True
    return ChainReport(
        valid=reason is None and not has_error,
        path=path,
        findings=sort_findings(found, path),
        trusted=trusted,
        presented=chain,
        server_name=requested,
        purpose=purpose,
        at=at,
        verifier_error=reason,
    )


def verify_chain(
    chain: Sequence[x509.Certificate],
    *,
    server_name: str | None = None,
    trust_anchors: TrustAnchors = None,
    at: dt.datetime | None = None,
    purpose: Purpose = "server",
    expiring_soon_days: int = 30,
) -> ChainReport:
    """Validate ``chain`` (leaf first, as presented) and diagnose every problem found.

    ``server_name`` (a DNS name or an IP address) is matched against the leaf's subjectAltName for
    ``purpose="server"``; ``trust_anchors`` defaults to the system store; ``at`` (default: now; naive
    means UTC) is the validation time. Raises ``ValueError`` for an empty chain or an invalid name.
    """
    certs = _check_chain(chain)
    if purpose not in ("server", "client"):
        raise ValueError(f"purpose must be 'server' or 'client', not {purpose!r}")
    name = parse_server_name(server_name) if server_name is not None else None
    store = _as_store(trust_anchors)
    when = _as_time(at)
    verified, reason = _run_verifier(certs, store, when, purpose, name if purpose == "server" else None)
    return _diagnose(
        certs,
        store,
        when,
        purpose,
        name,
        server_name,
        verified,
        reason,
        dt.timedelta(days=expiring_soon_days),
    )


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
    else:
        cls = BadCertificate
    text = first.message[:1].lower() + first.message[1:]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return cls(f"{first.code}: {text}{more}", findings=report.findings)


@lru_cache(maxsize=256)
def _leaf_usage_ok(leaf: x509.Certificate, purpose: Purpose) -> bool:
    """No leaf usage finding (a pure function of the certificate's bytes: certificates hash and compare
    by their DER, so the same leaf arriving in every handshake is checked once)."""
    return not check_leaf_usage(leaf, purpose)


def _fast_path(
    chain: tuple[x509.Certificate, ...],
    store: TrustStore,
    at: dt.datetime,
    purpose: Purpose,
    name: ServerName | None,
    requested: str | None,
) -> tuple[x509.Certificate, ...]:
    verified, reason = _run_verifier(chain, store, at, purpose, name)
    if verified is not None and _leaf_usage_ok(chain[0], purpose):
        return verified
    report = _diagnose(chain, store, at, purpose, name, requested, verified, reason, dt.timedelta(0))
    raise certificate_error(report)


def verify_server_chain(
    chain: Sequence[x509.Certificate],
    server_name: str | None,
    store: TrustStore,
    at: dt.datetime | None = None,
) -> tuple[x509.Certificate, ...]:
    """The verified path (leaf → trust anchor) of a server's chain, or a CertificateError with findings.

    ``server_name`` None skips the name check (the caller decided so). Raises CertificateExpired,
    UnknownCA or BadCertificate, named after the alert to send; ``ValueError`` for an empty chain or a
    malformed name (caller errors).
    """
    certs = _check_chain(chain)
    name = parse_server_name(server_name) if server_name is not None else None
    return _fast_path(certs, store, _as_time(at), "server", name, server_name)


def verify_client_chain(
    chain: Sequence[x509.Certificate],
    store: TrustStore,
    at: dt.datetime | None = None,
) -> tuple[x509.Certificate, ...]:
    """The verified path (leaf → trust anchor) of a client certificate chain, or a CertificateError."""
    certs = _check_chain(chain)
    return _fast_path(certs, store, _as_time(at), "client", None, None)
