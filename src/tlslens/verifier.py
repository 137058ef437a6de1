"""Certificate verifiers: the policy a connection applies to the peer's chain.

A verifier is configuration: built once, shared by every connection of a config. ``WebPkiVerifier`` is
the default (system trust store, names, dates, usages, through ``cryptography.x509.verification`` and
tlslens's own checks). Its ``profile`` is ``"webpki"`` with the system store and ``"rfc5280"`` with
trust anchors of your own (see :mod:`tlslens.pki.profile`). Turning verification off lives in
``tlslens.dangerous``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
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


class WebPkiVerifier:
    """Chains must lead to a trust anchor, be valid now, and (for servers) name the server.

    ``profile``: ``"webpki"`` or ``"rfc5280"``; None picks by where trust comes from (the system store:
    webpki; ``trust_anchors``: rfc5280). A chain that cannot be parsed or processed raises
    ``BadCertificate`` or ``UnsupportedCertificate``, never anything else.
    """

    def __init__(
        self, trust_anchors: Sequence[x509.Certificate] | None = None, *, profile: Profile | None = None
    ) -> None:
        from tlslens.pki.profile import choose_profile
        from tlslens.pki.trust import TrustStore

        self.store = TrustStore.system() if trust_anchors is None else TrustStore(trust_anchors)
        self.profile: Profile = choose_profile(profile, system_store=self.store.is_system).name

    def verify_server(self, chain: Sequence[x509.Certificate], server_name: str | None, now: float) -> None:
        from tlslens.pki.diagnosis import verify_server_chain

        verify_server_chain(list(chain), server_name, self.store, _at(now), profile=self.profile)

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None:
        from tlslens.pki.diagnosis import verify_client_chain

        verify_client_chain(list(chain), self.store, _at(now), profile=self.profile)

    def verify_ocsp(
        self, chain: Sequence[x509.Certificate], response: bytes | None, now: float
    ) -> OcspOutcome:
        """The stapled OCSP response for an accepted chain: ``BadCertificate`` (with findings) when it says
        revoked, or when a must-staple leaf (RFC 7633) has no usable one; otherwise the outcome, whose
        findings (a stale or invalid response) are warnings."""
        from tlslens.pki.ocsp import refused, staple_outcome

        outcome = staple_outcome(chain, response, self.store.by_subject(chain[0].issuer), _at(now))
        if outcome.errors:
            raise refused(outcome)
        return outcome
