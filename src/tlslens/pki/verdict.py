"""The verdict: ``cryptography``'s verifier under the profile in force, and where tlslens decides itself.

``cryptography.x509.verification`` gives the verdict. Under ``rfc5280`` its extension policies are
relaxed to what RFC 5280 allows (:mod:`tlslens.pki.profile`). Three things RFC 5280 allows are beyond
that verifier whatever the policy, and there tlslens's own path validation decides (the report says so
in its notes): a leaf that is itself a trust anchor ("trusted directly", as OpenSSL, curl and Python's
``ssl`` accept), a self-issued CA certificate inside the path (which RFC 5280 §4.2.1.9 does not count
against pathLenConstraint), and directoryName name constraints (§4.2.1.10).

When the verifier refuses, :func:`explained` says whether the diagnosis already named its reason; if
not, the report carries the verifier's own words as ``invalid-chain``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder

from tlslens.pki import findings as F
from tlslens.pki.findings import Finding
from tlslens.pki.names import ServerName, parse_server_name, subject_alt_names
from tlslens.pki.profile import Profile, Purpose, extension_policies
from tlslens.pki.trust import TrustStore

__all__ = ["explained", "own_verdict_notes", "run_verifier"]


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


def run_verifier(
    chain: tuple[x509.Certificate, ...],
    store: TrustStore,
    at: dt.datetime,
    purpose: Purpose,
    name: ServerName | None,
    profile: Profile,
) -> tuple[tuple[x509.Certificate, ...] | None, str | None]:
    """(verified path, None) or (None, the verifier's reason). Never raises."""
    if not len(store):
        return None, "the trust store is empty"
    builder = PolicyBuilder().store(store.verification_store).time(at)
    policies = extension_policies(profile, purpose)
    if policies is not None:
        builder = builder.extension_policies(ca_policy=policies[0], ee_policy=policies[1])
    try:
        if purpose == "server":
            verifier = builder.build_server_verifier(_subject_for(name, chain[0]))
            return tuple(verifier.verify(chain[0], list(chain[1:]))), None
        verified = builder.build_client_verifier().verify(chain[0], list(chain[1:]))
        return tuple(verified.chain), None
    except Exception as exc:  # VerificationError, and whatever a malformed certificate raises
        return None, _clean_reason(str(exc) or type(exc).__name__)


def _clean_reason(text: str) -> str:
    text = re.sub(r"^validation failed: ", "", text)
    text = re.sub(
        r" \(encountered processing <Certificate\(subject=<Name\((.*?)\)>, \.\.\.\)>\)", r" (in \1)", text
    )
    return text


# --- is the verifier's reason already named? -----------------------------------------------------

_TRUST = frozenset({F.MISSING_INTERMEDIATE, F.UNTRUSTED_ROOT, F.SELF_SIGNED, F.INVALID_SIGNATURE})
_REASONS: tuple[tuple[str, frozenset[str]], ...] = (
    ("not valid at validation time", frozenset({F.EXPIRED, F.NOT_YET_VALID})),
    ("no matching subjectaltname", frozenset({F.NAME_MISMATCH})),
    ("missing required extension", frozenset({F.AKI_MISSING, F.NAME_MISMATCH, F.NOT_A_CA, F.BAD_KEY_USAGE})),
    ("2.5.29.35", frozenset({F.AKI_MISSING, F.BAD_AKI})),
    ("authoritykeyidentifier", frozenset({F.AKI_MISSING, F.BAD_AKI})),
    ("eku", frozenset({F.BAD_EXTENDED_KEY_USAGE, F.EKU_ANY})),
    ("extendedkeyusage", frozenset({F.BAD_EXTENDED_KEY_USAGE, F.EKU_ANY})),
    ("keycertsign", frozenset({F.NOT_A_CA, F.BAD_KEY_USAGE})),
    ("basicconstraints.ca must be asserted", frozenset({F.NOT_A_CA})),
    ("path length", frozenset({F.PATH_LENGTH_EXCEEDED})),
    ("signature algorithm", frozenset({F.WEAK_SIGNATURE})),
    ("public key algorithm", frozenset({F.WEAK_KEY})),
    ("rsa key is too weak", frozenset({F.WEAK_KEY})),
    ("signature does not match", _TRUST),
    ("serial", frozenset({F.BAD_SERIAL})),
    ("name constraint", frozenset({F.NAME_CONSTRAINTS, F.NONCRITICAL_CONSTRAINTS})),
    ("nameconstraints", frozenset({F.NAME_CONSTRAINTS, F.NONCRITICAL_CONSTRAINTS})),
    ("critical extension", frozenset({F.MALFORMED_CERTIFICATE})),
    ("trust store is empty", _TRUST),
)
# After "candidates exhausted" the reason is only the last candidate's: any problem on the path above the
# leaf, or with how it ends, explains a refusal to build one.
_PATH_CODES = frozenset(
    {
        *_TRUST,
        F.EXPIRED,
        F.NOT_YET_VALID,
        F.NOT_A_CA,
        F.PATH_LENGTH_EXCEEDED,
        F.NAME_CONSTRAINTS,
        F.BAD_EXTENDED_KEY_USAGE,
        F.WEAK_SIGNATURE,
        F.WEAK_KEY,
        F.BAD_SERIAL,
        F.BAD_AKI,
        F.MALFORMED_CERTIFICATE,
        F.TOO_COMPLEX,
        F.NONCRITICAL_CONSTRAINTS,
    }
)


def explained(reason: str, errors: Iterable[Finding]) -> bool:
    """Does one of the ``errors`` name the fault behind the verifier's ``reason``?"""
    codes = {f.code for f in errors}
    if codes & {F.MALFORMED_CERTIFICATE, F.TOO_COMPLEX, F.WRONG_ORDER}:
        return True  # the diagnosis could not look further, or the verifier judged another certificate
    text = reason.lower()
    if text.startswith("candidates exhausted") and codes & _PATH_CODES:
        return True
    return any(key in text and codes & wanted for key, wanted in _REASONS)


# --- where tlslens decides ---------------------------------------------------------------------------


def own_verdict_notes(
    path: tuple[x509.Certificate, ...], trusted_directly: bool, trusted: bool, reason: str | None = None
) -> list[str]:
    """Why ``cryptography``'s verdict does not apply to this path (empty when it does).

    With the verifier's ``reason`` for a refusal, a gap counts only when the reason is one that gap
    produces: a refusal for anything else stands.
    """
    text = (reason or "").lower()
    chain_search = any(k in text for k in ("path length", "candidates exhausted", "signature does not match"))
    notes = []
    if trusted_directly:
        notes.append(
            "The leaf is itself in the trust store: it is trusted directly (your explicit choice, as "
            "OpenSSL, curl and Python's ssl accept), for its own names and dates."
        )
        return notes
    if not trusted:
        return notes
    if any(c.subject == c.issuer for c in path[1:-1]) and (reason is None or chain_search):
        notes.append(
            "The path has a self-issued CA certificate (a key rollover), which RFC 5280 §4.2.1.9 does not "
            "count against pathLenConstraint; cryptography's verifier does, so tlslens's own path "
            "validation decided."
        )
    for ca in path[1:]:
        try:
            nc = ca.extensions.get_extension_for_class(x509.NameConstraints).value
        except x509.ExtensionNotFound:
            continue
        subtrees = [*(nc.permitted_subtrees or ()), *(nc.excluded_subtrees or ())]
        gap = reason is None or "directoryname" in text or "name constraint" in text
        if gap and any(isinstance(s, x509.DirectoryName) for s in subtrees):
            notes.append(
                "A CA on the path has directoryName name constraints (RFC 5280 §4.2.1.10), which "
                "cryptography's verifier does not implement; tlslens's own path validation checked them."
            )
            break
    return notes
