"""Certificate verifiers: the policy a connection applies to the peer's chain.

A verifier is configuration: built once, shared by every connection of a config. ``WebPkiVerifier`` is
the default (system trust store, names, dates, usages, through ``cryptography.x509.verification`` and
tlslens's own checks). Its ``profile`` is ``"webpki"`` with the system store and ``"rfc5280"`` with
trust anchors of your own (see :mod:`tlslens.pki.profile`). Turning verification off lives in
``tlslens.dangerous``.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Protocol

from cryptography import x509

if TYPE_CHECKING:
    from tlslens.pki.ocsp import OcspOutcome
    from tlslens.pki.profile import Profile


class CertificateVerifier(Protocol):
    """Raises a ``tlslens.errors.CertificateError`` subclass when a chain is refused.

    A verifier may also judge the OCSP response a server stapled with ``verify_ocsp(chain, response,
    now) -> tlslens.pki.ocsp.OcspOutcome`` (``response`` None: nothing was stapled), raising a
    ``CertificateError`` to refuse; without that method the engine applies ``staple_outcome`` with the
    presented chain, refusing a revoked certificate or a must-staple one without a usable staple."""

    def verify_server(
        self, chain: Sequence[x509.Certificate], server_name: str | None, now: float
    ) -> None: ...

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None: ...


def _at(now: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(now, tz=datetime.UTC)


class _VerifiedChains:
    """Chains this verifier accepted, by (certificates, name, purpose): a bounded LRU whose entries
    hold for ``ttl`` seconds and only while ``now`` is inside every certificate's validity. A refused
    chain is never kept (it is diagnosed again each time). Thread-safe."""

    __slots__ = ("_entries", "_lock", "_size", "_ttl")

    def __init__(self, size: int, ttl: float) -> None:
        self._size = size
        self._ttl = ttl
        self._entries: OrderedDict[Hashable, tuple[float, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def holds(self, key: Hashable, now: float) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            expires, not_before, not_after = entry
            if not (now < expires and not_before <= now <= not_after):
                del self._entries[key]
                return False
            self._entries.move_to_end(key)
            return True

    def keep(self, key: Hashable, path: Sequence[x509.Certificate], now: float) -> None:
        not_before = max(c.not_valid_before_utc.timestamp() for c in path)
        not_after = min(c.not_valid_after_utc.timestamp() for c in path)
        with self._lock:
            self._entries[key] = (now + self._ttl, not_before, not_after)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class WebPkiVerifier:
    """Chains must lead to a trust anchor, be valid now, and (for servers) name the server.

    ``profile``: ``"webpki"`` or ``"rfc5280"``; None picks by where trust comes from (the system store:
    webpki; ``trust_anchors``: rfc5280). A chain that cannot be parsed or processed raises
    ``BadCertificate`` or ``UnsupportedCertificate``, never anything else.

    Accepted chains are remembered (``cache_size`` of them, each for ``cache_ttl`` seconds and never past
    a certificate's validity), so a server whose chain this verifier already checked costs no path
    building again, as a pooled HTTP client sees; ``cache_size=0`` turns that off. The trust store and
    profile are fixed for the verifier's life, so they need no part in the key.
    """

    def __init__(
        self,
        trust_anchors: Sequence[x509.Certificate] | None = None,
        *,
        profile: Profile | None = None,
        cache_size: int = 256,
        cache_ttl: float = 300.0,
    ) -> None:
        from tlslens.pki.profile import choose_profile
        from tlslens.pki.trust import TrustStore

        self.store = TrustStore.system() if trust_anchors is None else TrustStore(trust_anchors)
        self.profile: Profile = choose_profile(profile, system_store=self.store.is_system).name
        self._verified = _VerifiedChains(cache_size, cache_ttl) if cache_size > 0 else None

    def verify_server(self, chain: Sequence[x509.Certificate], server_name: str | None, now: float) -> None:
        from tlslens.pki.diagnosis import verify_server_chain

        cache = self._verified
        key = (tuple(chain), server_name, "server")
        if cache is not None and cache.holds(key, now):
            return
        path = verify_server_chain(list(chain), server_name, self.store, _at(now), profile=self.profile)
        if cache is not None:
            cache.keep(key, path, now)

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None:
        from tlslens.pki.diagnosis import verify_client_chain

        cache = self._verified
        key = (tuple(chain), None, "client")
        if cache is not None and cache.holds(key, now):
            return
        path = verify_client_chain(list(chain), self.store, _at(now), profile=self.profile)
        if cache is not None:
            cache.keep(key, path, now)

    def verify_ocsp(
        self, chain: Sequence[x509.Certificate], response: bytes | None, now: float
    ) -> OcspOutcome:
        """The stapled OCSP response for an accepted chain: ``BadCertificate`` (with findings) when it says
        revoked, or when a must-staple leaf (RFC 7633) has no usable one; otherwise the outcome, whose
        findings (a stale or invalid response) are warnings."""
        from tlslens.pki.ocsp import refused, staple_outcome

        issuers = self.store.by_subject(chain[0].issuer) if response is not None else ()
        outcome = staple_outcome(chain, response, issuers, _at(now))
        if outcome.errors:
            raise refused(outcome)
        return outcome
