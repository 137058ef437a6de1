"""What both stacks share: one throwaway PKI (in memory and as PEM files for ``ssl``), the suites and the
step a timed measurement repeats."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tlslens.certgen import ThrowawayPki, make_pki

Step = Callable[[], object]
"""One unit of timed work (a handshake, a record sent and received); its return value is ignored."""

Faces = tuple[Callable[..., Any], Callable[..., Any]]
"""A stack's asyncio face: (start_server, open_connection), called as ``asyncio``'s own are."""

SUITES = {  # tlslens / IANA name -> what the report calls it
    "TLS_AES_128_GCM_SHA256": "AES-128-GCM",
    "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
    "TLS_CHACHA20_POLY1305_SHA256": "ChaCha20",
}
SUITE_LABELS = {**SUITES, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "TLS 1.2 AES-128-GCM"}
HANDSHAKE_SUITE = "TLS_AES_128_GCM_SHA256"
TLS12_SUITE = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"  # the P-256 leaf signs ServerKeyExchange
TLS12_OPENSSL_SUITE = "ECDHE-ECDSA-AES128-GCM-SHA256"
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
SERVER_NAME = "localhost"


@dataclass
class Env:
    """The PKI both stacks use: a P-256 leaf under an intermediate under a root, for ``localhost``."""

    pki: ThrowawayPki
    folder: Path
    chain_pem: Path = field(init=False)
    key_pem: Path = field(init=False)
    root_pem: Path = field(init=False)

    def __post_init__(self) -> None:
        pem = serialization.Encoding.PEM
        self.chain_pem = self.folder / "chain.pem"
        self.chain_pem.write_bytes(b"".join(c.public_bytes(pem) for c in self.pki.chain))
        self.key_pem = self.folder / "key.pem"
        self.key_pem.write_bytes(
            self.pki.leaf.private_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.root_pem = self.folder / "root.pem"
        self.root_pem.write_bytes(self.pki.root.certificate.public_bytes(pem))


@contextlib.contextmanager
def environment() -> Iterator[Env]:
    with tempfile.TemporaryDirectory(prefix="tlslens-bench-") as folder:
        yield Env(make_pki((SERVER_NAME,)), Path(folder))
