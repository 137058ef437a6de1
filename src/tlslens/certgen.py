"""Throwaway certificate authorities and chains, for ``tlslens demo``, examples and tests.

Never for production: keys live in memory (or a temporary folder) and the CA trusts nobody but itself.
Certificates follow the Web PKI profile (key identifiers, key usages, EKU, SANs) so strict verifiers
accept them.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519", "ed448", "rsa2048", "rsa3072", "rsa4096")


def generate_key(key_type: str = "ecdsa-p256") -> CertificateIssuerPrivateKeyTypes:
    if key_type.startswith("ecdsa-p"):
        curve = {"256": ec.SECP256R1(), "384": ec.SECP384R1(), "521": ec.SECP521R1()}[key_type[7:]]
        return ec.generate_private_key(curve)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if key_type.startswith("rsa"):
        return rsa.generate_private_key(65537, int(key_type[3:]))
    raise ValueError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def _hash_for(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256 | hashes.SHA384 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlslens throwaway"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    private_key: CertificateIssuerPrivateKeyTypes = field(repr=False)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    now: datetime.datetime,
    days: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def make_ca(
    common_name: str = "tlslens throwaway root",
    *,
    key_type: str = "ecdsa-p256",
    issuer: Issued | None = None,
    days: int = 30,
    now: datetime.datetime | None = None,
) -> Issued:
    """A root CA (self-signed), or an intermediate when ``issuer`` is given."""
    now = now or datetime.datetime.now(datetime.UTC)
    key = generate_key(key_type)
    subject = _name(common_name)
    signer = issuer.private_key if issuer else key
    issuer_name = issuer.certificate.subject if issuer else subject
    b = _builder(subject, issuer_name, key.public_key(), now, days)
    b = b.add_extension(
        x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
    )
    b = b.add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
    )
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    issuer_public = (issuer.private_key if issuer else key).public_key()
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public),
        critical=False,
    )
    return Issued(b.sign(signer, _hash_for(signer)), key)


def make_leaf(
    issuer: Issued,
    names: list[str] | tuple[str, ...] = ("localhost",),
    *,
    key_type: str = "ecdsa-p256",
    days: int = 7,
    client: bool = False,
    now: datetime.datetime | None = None,
) -> Issued:
    """An end-entity certificate for DNS names and IP addresses (server auth, or client auth)."""
    now = now or datetime.datetime.now(datetime.UTC)
    key = generate_key(key_type)
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    b = _builder(
        _name(names[0] if names else "client"), issuer.certificate.subject, key.public_key(), now, days
    )
    b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    signing_only = isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
    )
    b = b.add_extension(
        x509.KeyUsage(True, False, not signing_only, False, False, False, False, False, False), critical=True
    )
    eku = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
        critical=False,
    )
    return Issued(b.sign(issuer.private_key, _hash_for(issuer.private_key)), key)


@dataclass(frozen=True)
class ThrowawayPki:
    root: Issued
    intermediate: Issued
    leaf: Issued

    @property
    def chain(self) -> list[x509.Certificate]:
        """What a server presents: leaf, then intermediate."""
        return [self.leaf.certificate, self.intermediate.certificate]


def make_pki(
    names: list[str] | tuple[str, ...] = ("localhost", "127.0.0.1"), *, key_type: str = "ecdsa-p256"
) -> ThrowawayPki:
    """Root → intermediate → leaf for ``names``."""
    root = make_ca()
    intermediate = make_ca("tlslens throwaway intermediate", issuer=root)
    return ThrowawayPki(root, intermediate, make_leaf(intermediate, names, key_type=key_type))
