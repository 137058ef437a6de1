"""RSASSA-PSS certificates (SubjectPublicKeyInfo algorithm id-RSASSA-PSS), made by the openssl command
line: ``cryptography`` loads such keys as plain RSA keys and cannot write one back as a PSS key, so the
key and the leaf come from ``openssl genpkey -algorithm RSA-PSS`` and ``openssl x509 -req``, issued by a
throwaway intermediate. The PEM files are kept as openssl wrote them (OpenSSL needs the key as an
RSA-PSS key to pair it with the certificate).

    pss = rsa_pss_pki()                    # leaf for localhost / 127.0.0.1, cached per process
    ServerConfig(certificate_chain=pss.chain, private_key=pss.private_key)
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from tlslens.certgen import Issued, ThrowawayPki, make_pki

OPENSSL = shutil.which("openssl")

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is needed to make RSA-PSS keys")


@dataclass(frozen=True)
class RsaPssLeaf:
    """A leaf whose key is an RSASSA-PSS key, with its PEM files and the PKI that issued it."""

    pki: ThrowawayPki  # root and intermediate (its ``leaf`` is an ordinary one, unused here)
    certificate: x509.Certificate
    private_key: CertificateIssuerPrivateKeyTypes
    cert_pem: bytes
    key_pem: bytes

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.certificate, self.pki.intermediate.certificate]

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """The certificate and key as PEM files (the key exactly as openssl wrote it)."""
        directory.mkdir(parents=True, exist_ok=True)
        cert, key = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
        cert.write_bytes(self.cert_pem)
        key.write_bytes(self.key_pem)
        return cert, key


def _run(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def issue_rsa_pss_leaf(
    pki: ThrowawayPki, names: tuple[str, ...] = ("localhost", "127.0.0.1"), *, client: bool = False
) -> RsaPssLeaf:
    """A 2048-bit RSASSA-PSS key and a leaf for it (serverAuth, or clientAuth) from ``pki``'s
    intermediate."""
    pem = serialization.Encoding.PEM
    with tempfile.TemporaryDirectory(prefix="tlslens-pss-") as tmp:
        d = Path(tmp)
        (d / "ca.pem").write_bytes(pki.intermediate.certificate.public_bytes(pem))
        (d / "ca-key.pem").write_bytes(
            pki.intermediate.private_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        sans = ",".join(f"IP:{n}" if n[0].isdigit() else f"DNS:{n}" for n in names)
        (d / "ext.cnf").write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            f"extendedKeyUsage={'clientAuth' if client else 'serverAuth'}\n"
            f"subjectAltName={sans}\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n"
        )
        _run("genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem", cwd=d)
        _run("req", "-new", "-key", "key.pem", "-subj", f"/O=tlslens throwaway/CN={names[0]}",
             "-out", "req.pem", cwd=d)  # fmt: skip
        _run("x509", "-req", "-in", "req.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-set_serial",
             "0x7e57", "-days", "7", "-extfile", "ext.cnf", "-out", "leaf.pem", cwd=d)  # fmt: skip
        cert_pem, key_pem = (d / "leaf.pem").read_bytes(), (d / "key.pem").read_bytes()
    key = serialization.load_pem_private_key(key_pem, None)
    return RsaPssLeaf(pki, x509.load_pem_x509_certificate(cert_pem), key, cert_pem, key_pem)  # type: ignore[arg-type]


@functools.cache
def rsa_pss_pki() -> RsaPssLeaf:
    """A server leaf (localhost, 127.0.0.1) with an RSASSA-PSS key; cached."""
    return issue_rsa_pss_leaf(make_pki())


@functools.cache
def rsa_pss_client_leaf() -> RsaPssLeaf:
    """A client-auth leaf with an RSASSA-PSS key, issued by ``rsa_pss_pki()``'s intermediate."""
    return issue_rsa_pss_leaf(rsa_pss_pki().pki, ("client.example",), client=True)


def as_issued(leaf: RsaPssLeaf) -> Issued:
    return Issued(leaf.certificate, leaf.private_key)
