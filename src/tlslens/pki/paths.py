"""Our own path search: from the leaf, through the presented certificates and the trust store, upward.

Unlike the verifier, it always returns *a* path — the best one it can find — and says how it ends (at a
trust anchor, at an untrusted self-signed root, or at a certificate whose issuer is nowhere to be found)
and which links have signatures that do not verify. That is what lets the diagnosis name what is
missing. Issuers are matched by name, narrowed by authorityKeyIdentifier/subjectKeyIdentifier.

The search charges its work to a :class:`~tlslens.pki.budget.Budget` (candidates examined, signatures
verified, each pair verified once); when the budget runs out it stops and says so (``exhausted``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from tlslens.pki.budget import LIMITS, Budget, OutOfBudget
from tlslens.pki.trust import TrustStore, subject_key_identifier

__all__ = ["PathResult", "authority_key_identifier", "build_path", "is_self_signed", "signature_verifies"]

MAX_DEPTH = LIMITS["path-length"]

End = Literal["trusted", "self-signed", "missing-issuer"]
_END_RANK: dict[End, int] = {"missing-issuer": 0, "self-signed": 1, "trusted": 2}


@dataclass(frozen=True, slots=True)
class PathResult:
    """A path from the leaf upward; ``bad_links`` are indexes ``i`` whose signature fails with ``i + 1``
    (or, for a self-signed end, with its own key)."""

    path: tuple[x509.Certificate, ...]
    end: End
    bad_links: tuple[int, ...] = ()
    exhausted: bool = False  # the search ran out of budget before it could finish

    def rank(self) -> tuple[int, int, int]:
        return (_END_RANK[self.end], -len(self.bad_links), len(self.path))


def authority_key_identifier(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return None


def signature_verifies(cert: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """Does ``issuer``'s key verify ``cert``'s signature? None when it cannot be checked (unknown algorithm).

    Done by hand rather than with ``verify_directly_issued_by`` so that SHA-1 and MD5 signatures can
    still be checked (and then reported as weak, not as invalid).
    """
    try:
        key = issuer.public_key()
        params = cert.signature_algorithm_parameters
        digest = cert.signature_hash_algorithm
    except (UnsupportedAlgorithm, ValueError):
        return None
    signature, tbs = cert.signature, cert.tbs_certificate_bytes
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if digest is None or isinstance(params, ec.ECDSA):
                return False
            pad = params if isinstance(params, padding.PSS | padding.PKCS1v15) else padding.PKCS1v15()
            key.verify(signature, tbs, pad, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if digest is None:
                return False
            key.verify(signature, tbs, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            if digest is not None:
                return False
            key.verify(signature, tbs)
        elif isinstance(key, dsa.DSAPublicKey):
            if digest is None:
                return False
            key.verify(signature, tbs, digest)
        else:
            return None
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):
        return None
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    """Self-issued and verified by its own key."""
    return cert.subject == cert.issuer and signature_verifies(cert, cert) is True


def _valid_at(cert: x509.Certificate, at: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


class _Search:
    def __init__(
        self, presented: Sequence[x509.Certificate], store: TrustStore, at: dt.datetime, budget: Budget
    ) -> None:
        self.store = store
        self.at = at
        self.pool = tuple(dict.fromkeys(presented))
        self.budget = budget
        self.exhausted = False
        self._by_subject: dict[x509.Name, list[x509.Certificate]] = {}
        for c in self.pool:
            self._by_subject.setdefault(c.subject, []).append(c)
        self._verified: dict[tuple[x509.Certificate, x509.Certificate], bool | None] = {}

    def verifies(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool | None:
        """signature_verifies, each pair once, charged to the budget."""
        key = (cert, issuer)
        if key not in self._verified:
            self.budget.spend("signatures")
            self._verified[key] = signature_verifies(cert, issuer)
        return self._verified[key]

    def candidates(
        self, cert: x509.Certificate, used: set[x509.Certificate]
    ) -> list[tuple[x509.Certificate, bool | None]]:
        """Possible issuers of ``cert``, best first, each with whether its key verifies the signature."""
        named = list(self._by_subject.get(cert.issuer, ()))
        named += [c for c in self.store.by_subject(cert.issuer) if c not in named]
        aki = authority_key_identifier(cert)
        scored = []
        for cand in named:
            if cand in used:
                continue
            self.budget.spend("issuer-candidates")
            ski = subject_key_identifier(cand)
            if aki is not None and ski is not None and aki != ski:
                continue  # same name, different key: not this certificate's issuer
            sig = self.verifies(cert, cand)
            score = (sig is True, sig is None, cand in self.store, _valid_at(cand, self.at), _is_ca(cand))
            scored.append((score, cand, sig))
        scored.sort(key=lambda item: item[0], reverse=True)
        return [(cand, sig) for _score, cand, sig in scored]

    def extend(self, path: tuple[x509.Certificate, ...], bad: tuple[int, ...]) -> PathResult:
        cur = path[-1]
        if cur in self.store:
            return PathResult(path, "trusted", bad)
        self_issued = cur.subject == cur.issuer
        own: bool | None = None
        best: PathResult | None = None
        try:
            own = self.verifies(cur, cur) if self_issued else None
            if own is True:
                return PathResult(path, "self-signed", bad)
            choices = self.candidates(cur, set(path)) if not self.exhausted else []
            if choices:
                self.budget.reach("path-length", len(path) + 1)
        except OutOfBudget:
            self.exhausted, choices = True, []
        if choices:
            for cand, sig in choices:
                if self.exhausted:
                    break
                link_bad = bad + ((len(path) - 1,) if sig is False else ())
                result = self.extend((*path, cand), link_bad)
                if result.end == "trusted" and not result.bad_links:
                    return result
                if best is None or result.rank() > best.rank():
                    best = result
        if best is not None:
            return best
        if self_issued:  # self-issued, no other issuer: a root whose own signature does not verify
            return PathResult(path, "self-signed", (*bad, len(path) - 1) if own is False else bad)
        return PathResult(path, "missing-issuer", bad)


def build_path(
    leaf: x509.Certificate,
    presented: Sequence[x509.Certificate],
    store: TrustStore,
    at: dt.datetime,
    budget: Budget | None = None,
) -> PathResult:
    """The best path from ``leaf`` upward through ``presented`` and ``store`` (see the module doc)."""
    search = _Search(presented, store, at, budget if budget is not None else Budget())
    result = search.extend((leaf,), ())
    if search.exhausted and not (result.end == "trusted" and not result.bad_links):
        return PathResult(result.path, result.end, result.bad_links, exhausted=True)
    return result
