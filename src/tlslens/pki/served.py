"""Findings about how a chain was served and where its path ends.

Where the path ends: at a certificate whose issuer is nowhere (``missing-intermediate``), at an untrusted
self-signed root (``untrusted-root``), or at a self-signed leaf (``self-signed``); links whose signature
does not verify (``invalid-signature``). How it was served: order, duplicates, a root that clients
already have, certificates that are not on the path.
"""

from __future__ import annotations

from collections import Counter

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from tlslens.pki import findings as F
from tlslens.pki.findings import Finding, describe, describe_name
from tlslens.pki.paths import PathResult, is_self_signed
from tlslens.pki.trust import TrustStore

__all__ = ["choose_leaf", "end_findings", "presentation_findings", "summarise"]

_LIST_AT_MOST = 3  # more findings of one kind than this become one summary finding


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def choose_leaf(chain: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, bool]:
    """The leaf, and whether it was not the first certificate (a CA came first)."""
    if _is_ca(chain[0]):
        others = [c for c in dict.fromkeys(chain) if not _is_ca(c)]
        if len(others) == 1:
            return others[0], True
    return chain[0], False


def _aia_ca_issuers(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [
        str(d.access_location.value)
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def summarise(findings: list[Finding], code: str) -> list[Finding]:
    """Findings of ``code`` as they are when few, else one finding that counts them (the others kept)."""
    same = [f for f in findings if f.code == code]
    if len(same) <= _LIST_AT_MOST:
        return findings
    first = same[0]
    names = "; ".join(describe(f.certificate) for f in same[:_LIST_AT_MOST] if f.certificate is not None)
    summary = Finding(
        code,
        first.severity,
        first.certificate,
        f"{len(same)} certificates have this problem "
        f"(first: {first.message[:1].lower()}{first.message[1:-1]}); "
        f"among them {names}, and {len(same) - _LIST_AT_MOST} more.",
        first.fix,
    )
    return [f for f in findings if f.code != code] + [summary]


def _untrusted_root(last: x509.Certificate, namesakes: tuple[x509.Certificate, ...]) -> Finding:
    issuer = describe_name(last.issuer)
    return Finding(
        F.UNTRUSTED_ROOT,
        "error",
        last,
        f"{describe(last)} is issued by {issuer}, which is not in your trust store: the trust store has "
        f"{'a certificate' if len(namesakes) == 1 else f'{len(namesakes)} certificates'} with that name, "
        "but with another key (another root of the same name, or a re-keyed one).",
        f"Add the root {issuer} that issued it to the trust store (--cafile) if you trust it, or use a "
        "certificate issued by the root you already trust.",
    )


def end_findings(result: PathResult, store: TrustStore | None = None) -> list[Finding]:
    """How the path ends (missing issuer, untrusted root, self-signed leaf) and broken signatures."""
    path, out = result.path, []
    last = path[-1]
    namesakes = store.by_subject(last.issuer) if store is not None else ()
    if result.end == "missing-issuer" and namesakes and not result.exhausted:
        out.append(_untrusted_root(last, namesakes))
    elif result.end == "missing-issuer":
        issuer = describe_name(last.issuer)
        urls = _aia_ca_issuers(last)
        where = f"; its certificate is published at {urls[0]}" if urls else ""
        fetch = f" (download it from {urls[0]})" if urls else ""
        if any(c.subject == last.issuer for c in path[:-1]):
            loop = "appears only earlier in this path (the certificates loop)"
            what = f"{loop} and never reaches the trust store{where}"
        else:
            what = f"was neither presented nor found in the trust store{where}"
        out.append(
            Finding(
                F.MISSING_INTERMEDIATE,
                "error",
                last,
                f"The issuer of {describe(last)}, {issuer}, {what}.",
                f"Serve the leaf followed by its intermediates in order, including {issuer}{fetch}; if "
                "that is a private root you trust, add it to the trust store instead.",
            )
        )
    elif result.end == "self-signed" and len(path) == 1:
        out.append(
            Finding(
                F.SELF_SIGNED,
                "error",
                last,
                f"The leaf {describe(last)} is self-signed and is not in the trust store.",
                "Use a certificate issued by a trusted CA, or add this one to the trust store (--cafile) "
                "if you trust it.",
            )
        )
    elif result.end == "self-signed":
        out.append(
            Finding(
                F.UNTRUSTED_ROOT,
                "error",
                last,
                f"The chain ends at the root {describe(last)}, which is not in the trust store.",
                "Add this root to the trust store (--cafile) if you trust it, or use a certificate from a "
                "CA that is trusted.",
            )
        )
    for i in result.bad_links:
        cert = path[i]
        if i + 1 < len(path):
            message = (
                f"The signature on {describe(cert)} does not verify with the key of {describe(path[i + 1])}, "
                "the certificate named as its issuer."
            )
        else:
            message = f"The self-signature of {describe(cert)} does not verify; the certificate is corrupted."
        out.append(
            Finding(
                F.INVALID_SIGNATURE,
                "error",
                cert,
                message,
                "Serve the certificate that really issued it (same name and key), or reissue the "
                "certificate if it was corrupted.",
            )
        )
    return out


def presentation_findings(
    chain: tuple[x509.Certificate, ...],
    leaf: x509.Certificate,
    leaf_moved: bool,
    path: tuple[x509.Certificate, ...],
    trusted: bool,
) -> list[Finding]:
    """How the chain was served: order, duplicates, an unneeded root, certificates off the path."""
    out: list[Finding] = []
    counts = Counter(chain)
    for cert, n in counts.items():
        if n > 1:
            out.append(
                Finding(
                    F.DUPLICATE_CERTIFICATE,
                    "warning",
                    cert,
                    f"{describe(cert)} is presented {n} times.",
                    "Serve each certificate once: the leaf, then its intermediates.",
                )
            )
    out = summarise(out, F.DUPLICATE_CERTIFICATE)
    unique = list(counts)
    in_path = set(path)
    if leaf_moved:
        out.append(
            Finding(
                F.WRONG_ORDER,
                "error",
                chain[0],
                f"The first certificate presented, {describe(chain[0])}, is a CA certificate; the leaf "
                f"{describe(leaf)} must come first.",
                "Serve the leaf first, then each intermediate in order toward the root.",
            )
        )
    else:
        served = [c for c in unique if c in in_path]
        expected = [c for c in path if c in counts]
        if served != expected:
            misplaced = next(s for s, e in zip(served, expected, strict=True) if s != e)
            out.append(
                Finding(
                    F.WRONG_ORDER,
                    "warning",
                    misplaced,
                    f"The certificates are presented out of order: {describe(misplaced)} comes before a "
                    "certificate it did not issue.",
                    "Serve the leaf first, then each intermediate in order toward the root.",
                )
            )
    root = path[-1]
    if trusted and len(path) > 1 and root in counts and is_self_signed(root):
        out.append(
            Finding(
                F.UNNECESSARY_ROOT,
                "warning",
                root,
                f"The chain includes the trusted root {describe(root)}, which clients already have.",
                "Stop serving the root certificate; serve the leaf and its intermediates only.",
            )
        )
    unused = [cert for cert in unique if cert not in in_path]
    if len(unused) > _LIST_AT_MOST:
        listed = "; ".join(describe(c) for c in unused[:_LIST_AT_MOST])
        out.append(
            Finding(
                F.UNUSED_CERTIFICATE,
                "warning",
                unused[0],
                f"{len(unused)} certificates were presented but are not part of the path from the leaf to "
                f"its root: {listed}, and {len(unused) - _LIST_AT_MOST} more.",
                "Serve only the leaf and the intermediates on its path; the others belong to other or older "
                "chains.",
            )
        )
        return out
    for cert in unused:
        out.append(
            Finding(
                F.UNUSED_CERTIFICATE,
                "warning",
                cert,
                f"{describe(cert)} was presented but is not part of the path from the leaf to its root.",
                "Remove it from the served chain; it may belong to another or an older chain.",
            )
        )
    return out
