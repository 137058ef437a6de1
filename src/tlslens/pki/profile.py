"""Two rule sets, chosen by where trust comes from: the Web PKI and RFC 5280.

``webpki`` is the CA/Browser Forum baseline requirements on top of RFC 5280: what public CAs must follow,
so it is the default when the system trust store is used. ``rfc5280`` is the default when the caller
brings its own trust anchors (``trust_anchors=``, ``--cafile``): private and test PKIs (``trustme``,
``openssl req -x509``, a company CA) follow RFC 5280, not the CA/Browser Forum. Web-PKI-only rules are
then warnings; what RFC 5280 itself forbids stays an error under both.

This module holds the profile choice, the ``cryptography`` extension policies that implement
``rfc5280`` in its verifier, and the checks ``cryptography`` leaves out (each with its finding code).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, Policy

from tlslens.pki import findings as F
from tlslens.pki.faults import serial_number
from tlslens.pki.findings import Finding, Severity, describe

__all__ = [
    "PROFILES",
    "Profile",
    "ProfileChoice",
    "certificate_rules",
    "choose_profile",
    "extension_policies",
]

Profile = Literal["webpki", "rfc5280"]
PROFILES: tuple[Profile, ...] = ("webpki", "rfc5280")
Role = Literal["leaf", "intermediate", "root", "anchor"]
Purpose = Literal["server", "client"]

_ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE
_POLICY_CONSTRAINTS = x509.ObjectIdentifier("2.5.29.36")
_MAX_SERIAL_BITS = 160  # RFC 5280 §4.1.2.2: at most 20 octets


@dataclass(frozen=True, slots=True)
class ProfileChoice:
    """The profile in force and, in words, why."""

    name: Profile
    reason: str


def choose_profile(profile: str | None, *, system_store: bool) -> ProfileChoice:
    """``profile`` when given (else a ``ValueError``), otherwise the default for where trust comes from."""
    if profile is not None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be 'webpki' or 'rfc5280', not {profile!r}")
        return ProfileChoice(profile, "chosen explicitly")
    if system_store:
        return ProfileChoice(
            "webpki",
            "the system trust store is used; public CAs follow the CA/Browser Forum baseline requirements",
        )
    return ProfileChoice(
        "rfc5280",
        "your own trust anchors are used; private and test PKIs follow RFC 5280, not the CA/Browser Forum",
    )


# --- cryptography's verifier under rfc5280 -------------------------------------------------------


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _ca_basic_constraints(_policy: Policy, _cert: x509.Certificate, bc: x509.BasicConstraints) -> None:
    if not bc.ca:
        raise ValueError("basicConstraints.cA must be asserted in a CA certificate")


def _ca_eku(policy: Policy, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    if eku is not None and policy.extended_key_usage not in eku and _ANY_EKU not in eku:
        raise ValueError("the CA's extendedKeyUsage allows neither this purpose nor anyExtendedKeyUsage")


def _ee_key_usage(_policy: Policy, cert: x509.Certificate, ku: x509.KeyUsage | None) -> None:
    # RFC 5280 §4.2.1.3: keyCertSign needs cA; a CA certificate may be the last one of a path (§4.2.1.9).
    if ku is not None and ku.key_cert_sign and not _is_ca(cert):
        raise ValueError("EE keyUsage must not assert keyCertSign")


def _ee_eku(policy: Policy, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    if eku is not None and policy.extended_key_usage not in eku and _ANY_EKU not in eku:
        raise ValueError("required EKU not found")


def _ee_san(policy: Policy, cert: x509.Certificate, _san: x509.SubjectAlternativeName) -> None:
    # RFC 5280 §4.2.1.6 lets the SAN be critical beside a non-empty subject (trustme does so); the CA/B
    # Forum does not. Matching follows cryptography's own rules (names.match_server_name).
    from tlslens.pki.names import match_server_name

    subject = policy.subject
    if subject is not None and not match_server_name(subject, cert):
        raise ValueError("leaf certificate has no matching subjectAltName")


@cache
def _rfc5280_policies(purpose: Purpose) -> tuple[ExtensionPolicy, ExtensionPolicy]:
    agnostic = Criticality.AGNOSTIC
    ca = (
        ExtensionPolicy.webpki_defaults_ca()
        .may_be_present(x509.AuthorityKeyIdentifier, agnostic, None)
        .may_be_present(x509.SubjectKeyIdentifier, agnostic, None)
        .require_present(x509.BasicConstraints, agnostic, _ca_basic_constraints)
        .may_be_present(x509.ExtendedKeyUsage, agnostic, _ca_eku)
    )
    ee = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.AuthorityKeyIdentifier, agnostic, None)
        .may_be_present(x509.BasicConstraints, agnostic, None)
        .may_be_present(x509.KeyUsage, agnostic, _ee_key_usage)
        .may_be_present(x509.ExtendedKeyUsage, agnostic, _ee_eku)
    )
    if purpose == "server":
        ee = ee.require_present(x509.SubjectAlternativeName, agnostic, _ee_san)
    else:
        ee = ee.may_be_present(x509.SubjectAlternativeName, agnostic, None)
    return ca, ee


@cache
def _webpki_client_policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    # Client certificates often carry no subjectAltName (OpenSSL accepts them); nothing is matched
    # against a client's names, so the extension is optional here.
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    return ExtensionPolicy.webpki_defaults_ca(), ee


def extension_policies(profile: Profile, purpose: Purpose) -> tuple[ExtensionPolicy, ExtensionPolicy] | None:
    """(CA policy, EE policy) for ``cryptography``'s verifier; None means its Web PKI defaults."""
    if profile == "rfc5280":
        return _rfc5280_policies(purpose)
    if purpose == "client":
        return _webpki_client_policies()
    return None


# --- what cryptography leaves out -----------------------------------------------------------------


@lru_cache(maxsize=1)
def _suffixes() -> object:
    from publicsuffixlist import PublicSuffixList

    # Unknown top-level names (localhost, internal, test) are not public suffixes for this rule.
    return PublicSuffixList(accept_unknown=False)


def is_public_suffix(name: str) -> bool:
    """Is ``name`` (A-labels) on the Public Suffix List (``com``, ``co.uk``, ``github.io``)?"""
    psl = _suffixes()
    return bool(psl.is_public(name.lower().rstrip(".")))  # type: ignore[attr-defined]


def _ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def _severity(profile: Profile) -> Severity:
    return "error" if profile == "webpki" else "warning"


def _web_rule(_profile: Profile) -> str:
    return "the CA/Browser Forum baseline requirements"


def _leaf_rules(cert: x509.Certificate, purpose: Purpose, profile: Profile) -> Iterator[Finding]:
    sev, rule = _severity(profile), _web_rule(profile)
    eku = _ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    if purpose == "server" and eku is None:
        yield Finding(
            F.EKU_MISSING,
            sev,
            cert,
            f"The leaf {describe(cert)} has no extendedKeyUsage; {rule} require serverAuth in a server "
            "certificate.",
            "Reissue the certificate with extendedKeyUsage serverAuth.",
        )
    elif eku is not None and isinstance(eku.value, x509.ExtendedKeyUsage):
        usages = list(eku.value)
        wanted = ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        if _ANY_EKU in usages and wanted not in usages:
            want = "serverAuth" if purpose == "server" else "clientAuth"
            yield Finding(
                F.EKU_ANY,
                sev,
                cert,
                f"The leaf {describe(cert)} allows {want} only through anyExtendedKeyUsage, which "
                f"{rule} forbid in a subscriber certificate.",
                f"Reissue the certificate with extendedKeyUsage {want}.",
            )
    san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    names = list(san.value) if san is not None and isinstance(san.value, x509.SubjectAlternativeName) else []
    for gn in names:
        if isinstance(gn, x509.DNSName) and gn.value.startswith("*.") and is_public_suffix(gn.value[2:]):
            yield Finding(
                F.WILDCARD_PUBLIC_SUFFIX,
                sev,
                cert,
                f'The leaf {describe(cert)} has the wildcard name "{gn.value}", which spans the public '
                f'suffix "{gn.value[2:]}": every domain registered under it would match.',
                "Reissue the certificate with names under a domain you control (e.g. *.example.com).",
            )
    if purpose == "server" and names:
        texts = {str(gn.value).lower() for gn in names if isinstance(gn, x509.DNSName | x509.IPAddress)}
        for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            cn = str(attr.value)
            if cn.lower().rstrip(".") not in texts:
                yield Finding(
                    F.CN_NOT_IN_SAN,
                    sev,
                    cert,
                    f'The subject CN "{cn}" of the leaf {describe(cert)} is not one of its '
                    "subjectAltName entries, as the baseline requirements demand.",
                    "Reissue the certificate with the CN repeated in the subjectAltName (or without a CN).",
                )


def _aki_rules(cert: x509.Certificate, role: Role, profile: Profile) -> Iterator[Finding]:
    sev, rule = _severity(profile), _web_rule(profile)
    aki_ext = _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    aki = aki_ext.value if aki_ext is not None else None
    if role in ("leaf", "intermediate") and aki is None and cert.subject != cert.issuer:
        yield Finding(
            F.AKI_MISSING,
            sev,
            cert,
            f"The {role} {describe(cert)} has no authorityKeyIdentifier, which {rule} require (it tells "
            "which of its issuer's keys signed it).",
            "Reissue the certificate from a CA that sets authorityKeyIdentifier.",
        )
    if not isinstance(aki, x509.AuthorityKeyIdentifier) or role == "leaf":
        return
    problems = []
    if aki.authority_cert_issuer is not None or aki.authority_cert_serial_number is not None:
        problems.append("carries authorityCertIssuer/authorityCertSerialNumber")
    if aki.key_identifier is None:
        problems.append("has no keyIdentifier")
    if role in ("root", "anchor") and cert.subject == cert.issuer and aki.key_identifier is not None:
        ski = _ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        ski_value = ski.value if ski is not None else None
        if isinstance(ski_value, x509.SubjectKeyIdentifier) and ski_value.digest != aki.key_identifier:
            problems.append("has a keyIdentifier that differs from its own subjectKeyIdentifier")
    if problems:
        yield Finding(
            F.BAD_AKI,
            sev,
            cert,
            f"The authorityKeyIdentifier of the {role} {describe(cert)} {' and '.join(problems)}; {rule} "
            "allow only a keyIdentifier (equal to the subjectKeyIdentifier in a root).",
            "Reissue the certificate with an authorityKeyIdentifier that holds only the issuer's key ID.",
        )


def _ca_rules(cert: x509.Certificate, role: Role, profile: Profile) -> Iterator[Finding]:
    if _ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER) is None:
        # A trust anchor is the trust store's choice (some system roots predate the rule): reported only.
        anchor = " (it is a trust anchor, so this is reported, not enforced)" if role == "anchor" else ""
        yield Finding(
            F.SKI_MISSING,
            "warning" if role == "anchor" else _severity(profile),
            cert,
            f"The {role} CA {describe(cert)} has no subjectKeyIdentifier, which {_web_rule(profile)} require "
            f"in every CA certificate{anchor}.",
            "Reissue the CA certificate with a subjectKeyIdentifier.",
        )
    weak = []
    constraints = (
        (ExtensionOID.NAME_CONSTRAINTS, "nameConstraints"),
        (_POLICY_CONSTRAINTS, "policyConstraints"),
    )
    for oid, name in constraints:
        ext = _ext(cert, oid)
        if ext is not None and not ext.critical:
            weak.append(name)
    if weak:
        yield Finding(
            F.NONCRITICAL_CONSTRAINTS,
            "error",
            cert,
            f"The {role} CA {describe(cert)} marks {' and '.join(weak)} non-critical; RFC 5280 requires "
            "them to be critical, so that software that cannot enforce them refuses the chain.",
            "Reissue the CA certificate with these extensions marked critical.",
        )


def _common_rules(cert: x509.Certificate, role: Role, profile: Profile) -> Iterator[Finding]:
    if role != "anchor":  # a trust anchor is a name and a key the user chose; its encoding is not judged
        serial = serial_number(cert)
        if serial <= 0 or serial.bit_length() > _MAX_SERIAL_BITS:
            what = "zero" if serial == 0 else "negative" if serial < 0 else "longer than 20 octets"
            yield Finding(
                F.BAD_SERIAL,
                "error",
                cert,
                f"The {role} {describe(cert)} has a serial number that is {what}; RFC 5280 §4.1.2.2 requires "
                "a positive number of at most 20 octets.",
                "Reissue the certificate with a positive random serial number (at most 20 octets).",
            )
    try:
        key = cert.public_key()
    except Exception:
        return
    if isinstance(key, rsa.RSAPublicKey) and key.key_size % 8:
        yield Finding(
            F.RSA_MODULUS,
            _severity(profile),
            cert,
            f"The {role} {describe(cert)} has a {key.key_size}-bit RSA modulus; {_web_rule(profile)} "
            "require a length that is a multiple of 8 bits.",
            "Reissue the certificate with a standard RSA key size (2048, 3072 or 4096 bits).",
        )


@lru_cache(maxsize=1024)
def certificate_rules(
    cert: x509.Certificate, role: Role, purpose: Purpose, profile: Profile
) -> tuple[Finding, ...]:
    """The checks ``cryptography`` leaves out, for one certificate in its role on a path.

    ``role``: ``"anchor"`` is a trust anchor (its serial number is not judged: old roots in system
    stores have odd ones), ``"root"`` a self-signed root that is not in the trust store. Cached:
    certificates hash and compare by their DER, so the same chain arriving in every handshake is checked once.
    """
    out: list[Finding] = []
    out += _common_rules(cert, role, profile)
    if role == "leaf":
        out += _leaf_rules(cert, purpose, profile)
    out += _aki_rules(cert, role, profile)
    if role != "leaf":
        out += _ca_rules(cert, role, profile)
    return tuple(out)
