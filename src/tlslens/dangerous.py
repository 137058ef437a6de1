"""Dangerous settings, kept apart so that they are never one boolean away.

``NoVerification`` accepts any certificate chain: the connection is then encrypted but not
authenticated, and anyone on the path can read and change it. Use it only against a peer you reach
some other trusted way (tests, a lab). Signatures and Finished are still checked.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cryptography import x509

from tlslens.pki.ocsp import OcspOutcome, staple_outcome
from tlslens.pki.recording import RecordingVerifier

__all__ = ["NoVerification", "RecordingVerifier"]


class NoVerification:
    """A verifier that accepts every chain (the CertificateVerify signature is still checked)."""

    def verify_server(self, chain: Sequence[x509.Certificate], server_name: str | None, now: float) -> None:
        return None

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None:
        return None

    def verify_ocsp(
        self, chain: Sequence[x509.Certificate], response: bytes | None, now: float
    ) -> OcspOutcome:
        """Reports what a stapled response says (checked against the presented chain), refusing nothing."""
        return staple_outcome(chain, response, (), datetime.datetime.fromtimestamp(now, tz=datetime.UTC))
