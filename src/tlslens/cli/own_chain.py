"""What ``tlslens server`` checks about its own certificate chain before it listens: a chain file in
the wrong order is a usage error naming what came first (not "the key does not match"), and the chain
gets the diagnosis ``tlslens verify`` would give it (expired or expiring within 30 days, incomplete,
names...), printed as warnings while the server goes on serving.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlslens.pki import TrustStore, system_trust_store, verify_chain
from tlslens.pki.trust import PrivateKey

_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(*_SPKI)  # type: ignore[attr-defined, no-any-return]


def check_leaf_first(chain: Sequence[x509.Certificate], key: PrivateKey, path: str) -> None:
    """The first certificate must be the one the key belongs to; when another one is, say so."""
    ours = _spki(key.public_key())
    if not chain or _spki(chain[0].public_key()) == ours:
        return
    for i, cert in enumerate(chain[1:], start=1):
        if _spki(cert.public_key()) == ours:
            first = chain[0].subject.rfc4514_string() or "(empty subject)"
            leaf = cert.subject.rfc4514_string() or "(empty subject)"
            raise click.BadParameter(
                f"{path}: the first certificate must be the leaf for this key; found {first} first"
                f" (the leaf, {leaf}, is certificate #{i}: put it first, then its intermediates)",
                param_hint="--cert",
            )
    # No certificate of the file holds this key: the configuration says the key does not match.


def own_chain_warnings(chain: Sequence[x509.Certificate], store: TrustStore | None = None) -> list[str]:
    """``tlslens verify``'s findings about our chain, as warning lines (with their fixes)."""
    try:
        report = verify_chain(
            chain, trust_anchors=store if store is not None else system_trust_store(), purpose="server"
        )
    except (ValueError, TypeError) as exc:
        return [f"warning: our certificate chain could not be checked: {exc}"]
    lines: list[str] = []
    for finding in report.findings:
        if finding.severity not in ("error", "warning"):
            continue
        lines.append(f"warning: our certificate chain: {finding.code}: {finding.message}")
        if finding.fix:
            lines.append(f"  fix: {finding.fix}")
    return lines
