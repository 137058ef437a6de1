"""Certificate factory for the pki tests: CAs, intermediates and leaves built with `cryptography`.

No private key is committed: every key is generated here. EC P-256 keys are fast and fresh per
certificate; RSA and other slow keys are cached per session, one per ``slot`` name, so two
certificates never share a key by accident.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# All validity periods are relative to NOW; tests verify "at=NOW" (and openssl "-attime NOW").
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


@cache
def _cached_key(kind: str, slot: str) -> PrivateKey:
    return _generate(kind)


def _generate(kind: str) -> PrivateKey:
    if kind.startswith("rsa"):
        return rsa.generate_private_key(65537, int(kind[3:]))
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    curves: dict[str, ec.EllipticCurve] = {
        "ec": ec.SECP256R1(),
        "p256": ec.SECP256R1(),
        "p384": ec.SECP384R1(),
        "p521": ec.SECP521R1(),
        "secp256k1": ec.SECP256K1(),
    }
    return ec.generate_private_key(curves[kind])


def make_key(kind: str = "ec", slot: str | None = None) -> PrivateKey:
    """A private key: "ec"/"p256", "p384", "p521", "secp256k1", "ed25519", "rsa1024", "rsa2048"...

    RSA keys are always cached (by ``slot``, default: the kind); others are fresh unless a slot is given.
    """
    if kind.startswith("rsa") or slot is not None:
        return _cached_key(kind, slot or kind)
    return _generate(kind)


@dataclass(frozen=True)
class Issued:
    """A certificate together with its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def name(self) -> x509.Name:
        return self.cert.subject


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlslens tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _subtree(value: str) -> x509.GeneralName:
    if "=" in value:
        return x509.DirectoryName(x509.Name.from_rfc4514_string(value))
    if "/" in value:
        return x509.IPAddress(ipaddress.ip_network(value))
    return x509.DNSName(value)


_KU_FIELDS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def key_usage(*bits: str) -> x509.KeyUsage:
    """KeyUsage with the named bits set, e.g. key_usage("digital_signature")."""
    unknown = set(bits) - set(_KU_FIELDS)
    assert not unknown, unknown
    flags = {field: field in bits for field in _KU_FIELDS}
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


_DEFAULT = object()


def make_cert(
    cn: str,
    *,
    issuer: Issued | None = None,
    key: PrivateKey | None = None,
    key_type: str = "ec",
    ca: bool = False,
    path_length: int | None = None,
    basic_constraints: bool = True,
    ku: x509.KeyUsage | object | None = _DEFAULT,
    eku: Sequence[x509.ObjectIdentifier] | object | None = _DEFAULT,
    sans: Iterable[str] | object | None = _DEFAULT,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    hash_alg: hashes.HashAlgorithm | str | object | None = _DEFAULT,  # "sha1"/"md5": legacy
    aia_url: str | None = None,
    permitted: Sequence[str] | None = None,
    excluded: Sequence[str] | None = None,
    aki: bool = True,
    ski: bool = True,
    subject: x509.Name | None = None,
    issuer_name: x509.Name | None = None,
    serial: int | None = None,
    key_slot: str | None = None,
    ski_value: bytes | None = None,
    pss: bool = False,
    nc_critical: bool = True,
    san_critical: bool = False,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> Issued:
    """One certificate. ``issuer=None`` makes it self-signed. Defaults follow the Web PKI profile:

    CAs get CA:TRUE, keyCertSign|cRLSign; leaves get CA:FALSE, digitalSignature, serverAuth+clientAuth
    and ``sans=[cn]``; validity NOW-30d .. NOW+365d (CAs: NOW-365d .. NOW+3650d); SHA-256.
    ``extensions``: more (extension, critical) pairs, e.g. ``x509.UnrecognizedExtension`` for raw bytes.
    ``permitted``/``excluded`` entries: a DNS name, an IP network ("10.0.0.0/8") or a directory name
    ("O=tlslens tests", RFC 4514).
    """
    if key is None:
        slow = key_type.startswith("rsa") or key_type == "secp256k1"
        key = make_key(key_type, slot=(key_slot or cn) if slow else key_slot)
    subject = subject or _name(cn)
    signer_key = issuer.key if issuer else key
    signer_name = issuer_name or (issuer.cert.subject if issuer else subject)
    if not_before is None:
        not_before = NOW - (365 * DAY if ca else 30 * DAY)
    if not_after is None:
        not_after = NOW + (3650 * DAY if ca else 365 * DAY)

    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if basic_constraints:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), True)
    if ku is _DEFAULT:
        ku = key_usage("key_cert_sign", "crl_sign") if ca else key_usage("digital_signature")
    if isinstance(ku, x509.KeyUsage):
        b = b.add_extension(ku, True)
    if eku is _DEFAULT:
        eku = None if ca else [SERVER_AUTH, CLIENT_AUTH]
    if eku is not None:
        assert isinstance(eku, Sequence)
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), False)
    if sans is _DEFAULT:
        sans = None if ca else [cn]
    if sans is not None:
        assert isinstance(sans, Iterable)
        b = b.add_extension(x509.SubjectAlternativeName([_general_name(s) for s in sans]), san_critical)
    if ski_value is not None:
        b = b.add_extension(x509.SubjectKeyIdentifier(ski_value), False)
    elif ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    if aki and issuer is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),  # type: ignore[arg-type]
            False,
        )
    if aia_url:
        desc = x509.AccessDescription(
            x509.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url)
        )
        b = b.add_extension(x509.AuthorityInformationAccess([desc]), False)
    if permitted is not None or excluded is not None:
        b = b.add_extension(
            x509.NameConstraints(
                permitted_subtrees=[_subtree(s) for s in permitted] if permitted is not None else None,
                excluded_subtrees=[_subtree(s) for s in excluded] if excluded is not None else None,
            ),
            nc_critical,
        )
    for extension, critical in extensions:
        b = b.add_extension(extension, critical)
    if hash_alg is _DEFAULT:
        hash_alg = None if isinstance(signer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    legacy = hash_alg if isinstance(hash_alg, str) else None
    if legacy:
        hash_alg = hashes.SHA256()
    assert hash_alg is None or isinstance(hash_alg, hashes.HashAlgorithm)
    if pss:
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        cert = b.sign(signer_key, hash_alg, rsa_padding=pad)  # type: ignore[arg-type]
    else:
        cert = b.sign(signer_key, hash_alg)  # type: ignore[arg-type]
    if legacy:
        cert = resign(cert, signer_key, legacy)
    return Issued(cert, key)


def make_root(cn: str = "Test Root CA", **kw: object) -> Issued:
    kw.setdefault("ca", True)
    return make_cert(cn, **kw)  # type: ignore[arg-type]


def make_intermediate(issuer: Issued, cn: str = "Test Intermediate CA", **kw: object) -> Issued:
    kw.setdefault("ca", True)
    if kw["ca"] is False:  # an "intermediate" that is not a CA still gets CA-style key usage
        kw.setdefault("ku", key_usage("key_cert_sign", "crl_sign"))
        kw.setdefault("eku", None)
        kw.setdefault("sans", None)
    return make_cert(cn, issuer=issuer, **kw)  # type: ignore[arg-type]


def make_leaf(issuer: Issued | None, cn: str = "www.example.com", **kw: object) -> Issued:
    return make_cert(cn, issuer=issuer, **kw)  # type: ignore[arg-type]


def tamper_signature(cert: x509.Certificate) -> x509.Certificate:
    """The same certificate with one bit of its signature flipped (still well-formed DER)."""
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01
    return x509.load_der_x509_certificate(bytes(der))


# --- legacy signatures -------------------------------------------------------------------------------
# cryptography's builder refuses SHA-1 and MD5, so such certificates are re-signed by hand: the TBS
# gets the legacy AlgorithmIdentifier and the signature is made over it with the raw primitive.

_LEGACY_ALGIDS = {
    ("ec", "sha1"): bytes.fromhex("300906072a8648ce3d0401"),
    ("rsa", "sha1"): bytes.fromhex("300d06092a864886f70d0101050500"),
    ("rsa", "md5"): bytes.fromhex("300d06092a864886f70d0101040500"),
}


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _header(data: bytes, pos: int) -> tuple[int, int]:
    """(header length, content length) of the DER element starting at ``pos``."""
    first = data[pos + 1]
    if first < 0x80:
        return 2, first
    k = first & 0x7F
    return 2 + k, int.from_bytes(data[pos + 2 : pos + 2 + k], "big")


def _children(element: bytes) -> list[bytes]:
    """The TLVs inside one constructed DER element."""
    hlen, length = _header(element, 0)
    data = element[hlen : hlen + length]
    out, pos = [], 0
    while pos < len(data):
        h, n = _header(data, pos)
        out.append(data[pos : pos + h + n])
        pos += h + n
    return out


def resign(cert: x509.Certificate, issuer_key: PrivateKey, hash_name: str) -> x509.Certificate:
    """``cert`` re-signed by ``issuer_key`` with SHA-1 or MD5 ("sha1" / "md5")."""
    family = "rsa" if isinstance(issuer_key, rsa.RSAPrivateKey) else "ec"
    algid = _LEGACY_ALGIDS[(family, hash_name)]
    fields = _children(cert.tbs_certificate_bytes)
    fields[2] = algid  # [0] version, serialNumber, signature AlgorithmIdentifier, ...
    tbs = _der(0x30, b"".join(fields))
    h: hashes.HashAlgorithm = hashes.SHA1() if hash_name == "sha1" else hashes.MD5()
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        sig = issuer_key.sign(tbs, padding.PKCS1v15(), h)
    else:
        assert isinstance(issuer_key, ec.EllipticCurvePrivateKey)
        sig = issuer_key.sign(tbs, ec.ECDSA(h))
    der = _der(0x30, tbs + algid + _der(0x03, b"\x00" + sig))
    return x509.load_der_x509_certificate(der)


# --- certificates the builder refuses to make ---------------------------------------------------------
# DER surgery on the TBSCertificate, then a fresh signature (SHA-256) by the issuer's key.


def _int_der(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return _der(0x02, value.to_bytes(size, "big", signed=True))


def resign_tbs(cert: x509.Certificate, issuer_key: PrivateKey, fields: list[bytes]) -> x509.Certificate:
    """A certificate whose TBSCertificate is ``fields`` (version, serial, ...), signed by ``issuer_key``."""
    tbs = _der(0x30, b"".join(fields))
    algid = _children(cert.public_bytes(serialization.Encoding.DER))[1]
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        sig = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        sig = issuer_key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    else:
        sig = issuer_key.sign(tbs)
    with warnings.catch_warnings():  # zero and negative serials are made on purpose here
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_der_x509_certificate(_der(0x30, tbs + algid + _der(0x03, b"\x00" + sig)))


def with_serial(issued: Issued, issuer: Issued | None, serial: int) -> Issued:
    """``issued`` with another serial number (zero and negative ones included), re-signed."""
    fields = _children(issued.cert.tbs_certificate_bytes)
    fields[1] = _int_der(serial)
    key = issuer.key if issuer is not None else issued.key
    return Issued(resign_tbs(issued.cert, key, fields), issued.key)


def _extension_list(fields: list[bytes]) -> tuple[int, list[bytes]]:
    index = next(i for i, f in enumerate(fields) if f[0] == 0xA3)
    (seq,) = _children(fields[index])
    return index, _children(seq)


def with_duplicate_extension(issued: Issued, issuer: Issued | None, oid: x509.ObjectIdentifier) -> Issued:
    """``issued`` with its extension ``oid`` present twice, re-signed."""
    fields = _children(issued.cert.tbs_certificate_bytes)
    index, exts = _extension_list(fields)
    wanted = _der(0x06, _oid_body(oid))
    (twin,) = [e for e in exts if _children(e)[0] == wanted]
    fields[index] = _der(0xA3, _der(0x30, b"".join([*exts, twin])))
    key = issuer.key if issuer is not None else issued.key
    return Issued(resign_tbs(issued.cert, key, fields), issued.key)


def _oid_body(oid: x509.ObjectIdentifier) -> bytes:
    arcs = [int(a) for a in oid.dotted_string.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def write_pem(path: Path, certs: Iterable[x509.Certificate | Issued]) -> Path:
    parts = []
    for c in certs:
        cert = c.cert if isinstance(c, Issued) else c
        parts.append(cert.public_bytes(serialization.Encoding.PEM))
    path.write_bytes(b"".join(parts))
    return path


def write_key(path: Path, key: PrivateKey, password: bytes | None = None) -> Path:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))
    return path


@dataclass(frozen=True)
class Pki:
    """The usual three-level hierarchy: root → intermediate → leaf (www.example.com)."""

    root: Issued
    inter: Issued
    leaf: Issued


def standard_pki(key_type: str = "ec", hash_alg: hashes.HashAlgorithm | None = None) -> Pki:
    extra: dict[str, object] = {"key_type": key_type}
    if hash_alg is not None:
        extra["hash_alg"] = hash_alg
    root = make_root(**extra)
    inter = make_intermediate(root, **extra)
    leaf = make_leaf(inter, sans=["www.example.com", "example.com"], **extra)
    return Pki(root, inter, leaf)
