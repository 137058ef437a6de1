"""Per-certificate checks along a path: dates, algorithms, CA constraints, purpose and names.

Each check returns findings; none of them decides the verdict alone. They mirror what
``cryptography``'s Web PKI verifier enforces (so the diagnosis explains its refusals), plus what TLS 1.3
needs of a leaf key (RFC 8446 §4.4.2.2: a signing key with digitalSignature).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlslens.pki import findings as F
from tlslens.pki.budget import Budget
from tlslens.pki.findings import Finding, describe, format_date, format_duration, hash_name
from tlslens.pki.names import ServerName, constraint_violations, match_server_name, san_names

__all__ = ["PathContext", "check_leaf_key", "check_leaf_usage", "check_path", "hash_of"]

Purpose = Literal["server", "client"]

MIN_RSA_BITS = 2048
WEB_PKI_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
_WEAK_SIGNATURE_OIDS = {
    "1.2.840.113549.1.1.2": "MD2",
    "1.2.840.113549.1.1.3": "MD4",
    "1.2.840.113549.1.1.4": "MD5",
    "1.2.840.113549.1.1.5": "SHA-1",
    "1.2.840.10045.4.1": "SHA-1",
    "1.2.840.10040.4.3": "SHA-1",
    "1.3.14.3.2.29": "SHA-1",
}
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
}
_KU_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


@dataclass(frozen=True, slots=True)
class PathContext:
    """A path to check and what it is checked for."""

    path: tuple[x509.Certificate, ...]
    at: dt.datetime
    purpose: Purpose
    server_name: ServerName | None
    trusted: bool  # the last certificate is a trust anchor
    self_signed_end: bool  # the last certificate is a self-signed root (trusted or not)
    expiring_soon: dt.timedelta
    budget: Budget = field(default_factory=Budget)

    def role(self, i: int) -> str:
        if i == 0:
            return "leaf"
        if i == len(self.path) - 1 and (self.trusted or self.self_signed_end):
            return "root"
        return "intermediate"


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    value = _ext(cert, x509.BasicConstraints)
    return value if isinstance(value, x509.BasicConstraints) else None


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    value = _ext(cert, x509.KeyUsage)
    return value if isinstance(value, x509.KeyUsage) else None


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    value = _ext(cert, x509.ExtendedKeyUsage)
    return list(value) if isinstance(value, x509.ExtendedKeyUsage) else None


def _ku_text(ku: x509.KeyUsage) -> str:
    names = [bit for bit in _KU_BITS if getattr(ku, bit)]
    return ", ".join(_camel(n) for n in names) or "no bits"


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _eku_text(ekus: list[x509.ObjectIdentifier]) -> str:
    return ", ".join(_EKU_NAMES.get(oid, oid.dotted_string) for oid in ekus) or "empty"


def _purpose_oid(purpose: Purpose) -> x509.ObjectIdentifier:
    return ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server" else ExtendedKeyUsageOID.CLIENT_AUTH


# --- dates -----------------------------------------------------------------------------------------


def _validity(ctx: PathContext) -> Iterator[Finding]:
    for i, cert in enumerate(ctx.path):
        role = ctx.role(i)
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if ctx.at > end:
            fix = {
                "leaf": "Renew the certificate and install the new one.",
                "intermediate": "Replace this intermediate with the CA's current one and serve that instead.",
                "root": "Update the trust store: this root has expired and its successor must be installed.",
            }[role]
            yield Finding(
                F.EXPIRED,
                "error",
                cert,
                f"The {role} {describe(cert)} expired on {format_date(end)}, "
                f"{format_duration(ctx.at - end)} ago.",
                fix,
            )
        elif ctx.at < start:
            yield Finding(
                F.NOT_YET_VALID,
                "error",
                cert,
                f"The {role} {describe(cert)} is not valid before {format_date(start)}, "
                f"{format_duration(start - ctx.at)} from now.",
                "Check this machine's clock; if it is right, serve a certificate that is already valid.",
            )
        elif end - ctx.at < ctx.expiring_soon:
            yield Finding(
                F.EXPIRING_SOON,
                "warning",
                cert,
                f"The {role} {describe(cert)} expires on {format_date(end)}, "
                f"in {format_duration(end - ctx.at)}.",
                "Renew it before it expires."
                if role == "leaf"
                else "Arrange its replacement before it expires.",
            )


# --- algorithms ------------------------------------------------------------------------------------


def _weak_signatures(ctx: PathContext) -> Iterator[Finding]:
    last = len(ctx.path) - 1
    for i, cert in enumerate(ctx.path):
        if i == last and (ctx.trusted or ctx.self_signed_end):
            continue  # a trust anchor's or root's self-signature is not relied upon
        weak = _WEAK_SIGNATURE_OIDS.get(cert.signature_algorithm_oid.dotted_string)
        if weak is None:
            continue
        yield Finding(
            F.WEAK_SIGNATURE,
            "error",
            cert,
            f"The {ctx.role(i)} {describe(cert)} is signed with {weak}, which is broken and no longer "
            "accepted.",
            "Reissue the certificate with a SHA-256 (or stronger) signature.",
        )


def _key_problem(cert: x509.Certificate, *, leaf: bool) -> str | None:
    """Why this certificate's key is too weak or unsupported, or None."""
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return f"a key of an unsupported type ({cert.public_key_algorithm_oid.dotted_string})"
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return f"a {key.key_size}-bit RSA key; at least {MIN_RSA_BITS} bits are required"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in WEB_PKI_CURVES:
            return f"an EC key on {key.curve.name}, a curve TLS and the Web PKI do not support"
        return None
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        if leaf:
            return None
        kind = "Ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "Ed448"
        return f"an {kind} key, which the Web PKI does not accept for issuing certificates"
    if isinstance(key, dsa.DSAPublicKey):
        return "a DSA key, which TLS 1.3 and the Web PKI do not support"
    return f"a {type(key).__name__} key, which cannot sign TLS handshakes or certificates"


def check_leaf_key(cert: x509.Certificate) -> Finding | None:
    """weak-key for a leaf whose key TLS 1.3 cannot use (also used on the handshake's fast path)."""
    problem = _key_problem(cert, leaf=True)
    if problem is None:
        return None
    return Finding(
        F.WEAK_KEY,
        "error",
        cert,
        f"The leaf {describe(cert)} has {problem}.",
        "Reissue the certificate with an ECDSA P-256/P-384 key or an RSA key of at least 2048 bits.",
    )


def _weak_keys(ctx: PathContext) -> Iterator[Finding]:
    for i, cert in enumerate(ctx.path):
        if i == 0:
            leaf_finding = check_leaf_key(cert)
            if leaf_finding is not None:
                yield leaf_finding
            continue
        problem = _key_problem(cert, leaf=False)
        if problem is not None:
            yield Finding(
                F.WEAK_KEY,
                "error",
                cert,
                f"The {ctx.role(i)} {describe(cert)} has {problem}.",
                "Use a CA whose key is ECDSA P-256/P-384 or RSA of at least 2048 bits.",
            )


# --- CA certificates -------------------------------------------------------------------------------


def _ca_constraints(ctx: PathContext) -> Iterator[Finding]:
    purpose = _purpose_oid(ctx.purpose)
    for i in range(1, len(ctx.path)):
        cert, child = ctx.path[i], ctx.path[i - 1]
        role = ctx.role(i)
        bc, ku, ekus = _basic_constraints(cert), _key_usage(cert), _eku(cert)
        reasons = []
        if bc is None:
            reasons.append("has no basicConstraints extension")
        elif not bc.ca:
            reasons.append("has basicConstraints CA:FALSE")
        if ku is None:
            reasons.append("has no keyUsage extension (keyCertSign is required)")
        elif not ku.key_cert_sign:
            reasons.append(f"has keyUsage {_ku_text(ku)} without keyCertSign")
        if reasons:
            yield Finding(
                F.NOT_A_CA,
                "error",
                cert,
                f"The {role} {describe(cert)} issued {describe(child)} but is not a valid CA certificate: "
                f"it {' and '.join(reasons)}.",
                "Serve the real intermediate CA certificate, or reissue this one with basicConstraints "
                "CA:TRUE and keyUsage keyCertSign.",
            )
        if bc is not None and bc.ca and bc.path_length is not None and i >= 2:
            below = sum(1 for c in ctx.path[1:i] if c.subject != c.issuer)
            if below > bc.path_length:
                yield Finding(
                    F.PATH_LENGTH_EXCEEDED,
                    "error",
                    cert,
                    f"The {role} {describe(cert)} allows at most {bc.path_length} intermediate CA "
                    f"certificate(s) below it (pathLenConstraint), but this path has {below}.",
                    "Use a chain with fewer intermediates, or a CA whose path length constraint allows it.",
                )
        if (
            ekus is not None
            and purpose not in ekus
            and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus
        ):
            want = _EKU_NAMES[purpose]
            yield Finding(
                F.BAD_EXTENDED_KEY_USAGE,
                "error",
                cert,
                f"The extendedKeyUsage of the {role} {describe(cert)} ({_eku_text(ekus)}) does not allow "
                f"{want}, so no certificate below it can be used for TLS {ctx.purpose} authentication.",
                f"Use a CA whose extendedKeyUsage includes {want} (or has no extendedKeyUsage).",
            )
        yield from _name_constraints(ctx, i)


def _name_constraints(ctx: PathContext, i: int) -> Iterator[Finding]:
    ca = ctx.path[i]
    constraints = _ext(ca, x509.NameConstraints)
    if not isinstance(constraints, x509.NameConstraints):
        return
    for j in range(i):
        cert = ctx.path[j]
        if j > 0 and cert.subject == cert.issuer:
            continue  # self-issued intermediates are exempt (RFC 5280 §4.2.1.10)
        bad = constraint_violations(constraints, cert, ctx.budget)
        if not bad:
            continue
        listed = ", ".join(f'"{name}" ({why})' for name, why in bad)
        yield Finding(
            F.NAME_CONSTRAINTS,
            "error",
            cert,
            f"The {ctx.role(j)} {describe(cert)} has names that the name constraints of "
            f"{describe(ca)} refuse: {listed}.",
            f"Only request names that {describe(ca)} is allowed to certify, or use a CA without these "
            "name constraints.",
        )


# --- the leaf --------------------------------------------------------------------------------------


def _leaf_usage(ctx: PathContext) -> Iterator[Finding]:
    leaf = ctx.path[0]
    ku = _key_usage(leaf)
    if ku is not None:
        problems = []
        if not ku.digital_signature:
            problems.append("lacks digitalSignature, which TLS 1.3 needs to sign the handshake")
        bc = _basic_constraints(leaf)
        if ku.key_cert_sign and not (bc is not None and bc.ca):
            problems.append("asserts keyCertSign without basicConstraints CA:TRUE")
        if problems:
            yield Finding(
                F.BAD_KEY_USAGE,
                "error",
                leaf,
                f"The keyUsage of the leaf {describe(leaf)} ({_ku_text(ku)}) {' and '.join(problems)}.",
                "Reissue the certificate with keyUsage digitalSignature (and without keyCertSign).",
            )
    ekus = _eku(leaf)
    purpose = _purpose_oid(ctx.purpose)
    # anyExtendedKeyUsage without the purpose is eku-any (a Web PKI rule; RFC 5280 accepts it).
    if ekus is not None and purpose not in ekus and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in ekus:
        want = _EKU_NAMES[purpose]
        yield Finding(
            F.BAD_EXTENDED_KEY_USAGE,
            "error",
            leaf,
            f"The extendedKeyUsage of the leaf {describe(leaf)} ({_eku_text(ekus)}) does not include "
            f"{want}, so it cannot authenticate a TLS {ctx.purpose}.",
            f"Reissue the certificate with extendedKeyUsage {want}.",
        )


def _cn(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def _name_mismatch(ctx: PathContext) -> Iterator[Finding]:
    if ctx.purpose != "server":
        return
    leaf = ctx.path[0]
    names = san_names(leaf)
    cn = _cn(leaf)
    cn_note = f"; the subject CN ({cn}) is not used for matching" if cn else ""
    requested = ctx.server_name
    wanted = f'"{requested.value}"' if requested is not None else "the server's names"
    if not names:
        yield Finding(
            F.NAME_MISMATCH,
            "error",
            leaf,
            f"The leaf {describe(leaf)} has no DNS name or IP address in a subjectAltName, so it matches "
            f"no name{cn_note}.",
            f"Reissue the certificate with {wanted} in its subjectAltName.",
        )
    elif requested is not None and not match_server_name(requested, leaf):
        listed = ", ".join(names)
        yield Finding(
            F.NAME_MISMATCH,
            "error",
            leaf,
            f'The leaf {describe(leaf)} is valid for {listed} but not for "{requested.value}"{cn_note}.',
            f'Reissue the certificate with "{requested.value}" in its subjectAltName, or connect using one '
            "of the names it has.",
        )


def check_leaf_usage(cert: x509.Certificate, purpose: Purpose) -> list[Finding]:
    """The cheap leaf checks the verifier does not make (TLS 1.3 key usage, key type)."""
    ctx = PathContext((cert,), dt.datetime.now(dt.UTC), purpose, None, False, False, dt.timedelta(0))
    out = list(_leaf_usage(ctx))
    key = check_leaf_key(cert)
    if key is not None:
        out.append(key)
    return out


def check_path(ctx: PathContext) -> list[Finding]:
    """Every per-certificate check on the path."""
    out: list[Finding] = []
    out += _validity(ctx)
    out += _weak_signatures(ctx)
    out += _weak_keys(ctx)
    out += _ca_constraints(ctx)
    out += _leaf_usage(ctx)
    out += _name_mismatch(ctx)
    return out


def hash_of(cert: x509.Certificate) -> str:
    """The signature hash as people name it (``SHA-256``), for displays."""
    try:
        return hash_name(cert.signature_hash_algorithm)
    except UnsupportedAlgorithm:
        return cert.signature_algorithm_oid.dotted_string
