"""A certificate verifier that never refuses a chain: it records it, with its diagnosis.

Diagnostic tools (``tlslens certs``, the scanner) need the chain a server presented *and* what is wrong
with it, especially when something is wrong. Other stacks abort the handshake on a bad chain and the
chain is lost with it; :class:`RecordingVerifier` lets the handshake go on and keeps, for each chain it
is shown, the chain, the name and time it was checked for, and the full :class:`ChainReport`.

It accepts bad chains, so the connection it is used on is *not authenticated*: it is exported from
``tlslens.dangerous``. The engine still checks the CertificateVerify signature (the peer must hold the
leaf's private key) and Finished.

A verifier is configuration and may be shared by several connections; each check is appended to
``recordings`` (the most recent ones, up to ``keep``). A tool that makes one connection reads
``last``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from cryptography import x509

from tlslens.pki.diagnosis import verify_chain
from tlslens.pki.findings import ChainReport, add_findings
from tlslens.pki.ocsp import OcspOutcome, staple_outcome
from tlslens.pki.profile import Profile, choose_profile
from tlslens.pki.trust import TrustStore, system_trust_store

__all__ = ["Recording", "RecordingVerifier"]


@dataclass(frozen=True, slots=True)
class Recording:
    """One chain as a peer presented it, and what the diagnosis made of it.

    ``report`` is None only when the chain could not be diagnosed at all; ``error`` then says why.
    """

    chain: tuple[x509.Certificate, ...] = field(repr=False)
    server_name: str | None
    at: dt.datetime
    purpose: Literal["server", "client"]
    report: ChainReport | None
    error: str | None = None
    ocsp: OcspOutcome | None = None
    """The stapled OCSP response's outcome (a server chain in a handshake that asked for one); its
    findings are added to ``report``."""

    @property
    def valid(self) -> bool:
        return self.report is not None and self.report.valid


class RecordingVerifier:
    """A ``CertificateVerifier`` that records every chain and its ``ChainReport``, and never aborts.

    ``trust_anchors``: the roots the reports are judged against (certificates or a ``TrustStore``;
    None = the system store). ``at``: judge at this time instead of the connection's clock (naive
    means UTC). ``expiring_soon_days``: the ``expiring-soon`` warning threshold. ``profile``:
    ``"webpki"`` or ``"rfc5280"`` (None: by where trust comes from, as :func:`verify_chain` does).
    """

    def __init__(
        self,
        trust_anchors: TrustStore | Iterable[x509.Certificate] | None = None,
        *,
        at: dt.datetime | None = None,
        expiring_soon_days: int = 30,
        keep: int = 16,
        profile: Profile | None = None,
    ) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        if trust_anchors is None:
            self.store = system_trust_store()
        elif isinstance(trust_anchors, TrustStore):
            self.store = trust_anchors
        else:
            self.store = TrustStore(trust_anchors)
        self.at = at
        self.expiring_soon_days = expiring_soon_days
        self.profile = choose_profile(profile, system_store=self.store.is_system).name
        self._profile_given = profile  # None lets each report say why the default applies
        self._recordings: deque[Recording] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RecordingVerifier store={self.store!r} recordings={len(self._recordings)}>"

    # --- what was recorded ----------------------------------------------------------------------------

    @property
    def recordings(self) -> tuple[Recording, ...]:
        """Every recorded check still kept, oldest first."""
        with self._lock:
            return tuple(self._recordings)

    @property
    def last(self) -> Recording | None:
        """The most recent check, or None when no chain was presented yet."""
        with self._lock:
            return self._recordings[-1] if self._recordings else None

    @property
    def chain(self) -> tuple[x509.Certificate, ...] | None:
        """The most recently presented chain (leaf first, as presented)."""
        last = self.last
        return None if last is None else last.chain

    @property
    def report(self) -> ChainReport | None:
        """The diagnosis of the most recently presented chain."""
        last = self.last
        return None if last is None else last.report

    def clear(self) -> None:
        with self._lock:
            self._recordings.clear()

    # --- CertificateVerifier --------------------------------------------------------------------------

    def verify_server(self, chain: Sequence[x509.Certificate], server_name: str | None, now: float) -> None:
        self._record(chain, server_name, now, "server")

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None:
        self._record(chain, None, now, "client")

    def verify_ocsp(
        self, chain: Sequence[x509.Certificate], response: bytes | None, now: float
    ) -> OcspOutcome:
        """Records the stapled OCSP response's outcome on the recording of this chain (its findings join
        the report); never refuses."""
        when = self.at if self.at is not None else dt.datetime.fromtimestamp(now, tz=dt.UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        outcome = staple_outcome(chain, response, self.store.by_subject(chain[0].issuer), when)
        with self._lock:
            for i in range(len(self._recordings) - 1, -1, -1):
                recording = self._recordings[i]
                if recording.chain == tuple(chain) and recording.ocsp is None:
                    report = recording.report
                    if report is not None and outcome.findings:
                        report = add_findings(report, outcome.findings)
                    self._recordings[i] = replace(recording, ocsp=outcome, report=report)
                    break
        return outcome

    def _record(
        self,
        chain: Sequence[x509.Certificate],
        server_name: str | None,
        now: float,
        purpose: Literal["server", "client"],
    ) -> None:
        certs = tuple(chain)
        when = self.at if self.at is not None else dt.datetime.fromtimestamp(now, tz=dt.UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        report: ChainReport | None = None
        error: str | None = None
        try:
            report = verify_chain(
                certs,
                server_name=server_name,
                trust_anchors=self.store,
                at=when,
                purpose=purpose,
                expiring_soon_days=self.expiring_soon_days,
                profile=self._profile_given,
            )
        except (ValueError, TypeError) as exc:  # an empty chain or a name that cannot be parsed
            error = str(exc)
        recording = Recording(certs, server_name, when, purpose, report, error)
        with self._lock:
            self._recordings.append(recording)

