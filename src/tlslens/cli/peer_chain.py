"""The peer's chain on the command line: ``--showcerts`` / ``--pem`` (every presented certificate in
PEM, as ``openssl s_client -showcerts``) and ``-k/--insecure`` (finish the handshake whatever the
chain, and say what is wrong with it as a warning). Both record the chain with
``tlslens.dangerous.RecordingVerifier``; without ``--insecure`` the real verifier still decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlslens.dangerous import RecordingVerifier
from tlslens.pki.recording import Recording
from tlslens.verifier import CertificateVerifier


class RecordThenVerify:
    """Records the chain (so that ``--showcerts`` can show it even when it is refused), then lets
    ``verifier`` decide."""

    def __init__(self, recorder: RecordingVerifier, verifier: CertificateVerifier) -> None:
        self.recorder = recorder
        self.verifier = verifier

    def verify_server(self, chain: Sequence[x509.Certificate], server_name: str | None, now: float) -> None:
        self.recorder.verify_server(chain, server_name, now)
        self.verifier.verify_server(chain, server_name, now)

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None:
        self.recorder.verify_client(chain, now)
        self.verifier.verify_client(chain, now)


def pem_chain(chain: Sequence[x509.Certificate]) -> str:
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode("ascii") for cert in chain)


def problems(recording: Recording | None) -> list[str]:
    """What is wrong with a recorded chain, as verify says it (code: message, then the fix); empty
    when it is valid."""
    if recording is None:
        return ["the server presented no certificate"]
    if recording.report is None:
        return [f"the chain could not be checked: {recording.error}"]
    lines: list[str] = []
    for finding in recording.report.errors:
        lines.append(f"{finding.code}: {finding.message}")
        if finding.fix:
            lines.append(f"  fix: {finding.fix}")
    return lines
