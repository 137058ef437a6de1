"""Trust stores and certificate/key files.

The system store is found the way Python's ``ssl`` finds it (OpenSSL's default file and directory, or
the ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` overrides), with ``certifi`` as the fallback when the system has
none. A :class:`TrustStore` is immutable; the ``cryptography`` verification ``Store`` behind it is built
once and reused by every connection.
"""

from __future__ import annotations

import os
import re
import ssl
import threading
import warnings
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import Store

from tlslens.errors import ConfigurationError

__all__ = [
    "CertificateFileError",
    "PrivateKey",
    "TrustStore",
    "load_ca_locations",
    "load_pem_certificates",
    "load_pem_private_key",
    "parse_certificates",
    "system_trust_store",
]

PrivateKey = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
)
"""The private key types that can sign a TLS 1.3 handshake."""

_PathLike = str | os.PathLike[str]
_HASHED_NAME = re.compile(r"^[0-9a-f]{8}\.[0-9]+$")  # OpenSSL c_rehash names in a CA directory


class CertificateFileError(ConfigurationError):
    """A certificate or key file that cannot be used; the message names the file and the reason."""

    def __init__(self, path: _PathLike, reason: str) -> None:
        super().__init__(f"{os.fspath(path)}: {reason}")
        self.path = Path(path)
        self.reason = reason


def _read(path: _PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise CertificateFileError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise CertificateFileError(path, f"cannot read: {exc.strerror or exc}") from None


def _pem_labels(data: bytes) -> list[str]:
    return [m.decode("ascii", "replace") for m in re.findall(rb"-----BEGIN ([A-Z0-9 ]+)-----", data)]


def load_pem_certificates(path: _PathLike) -> list[x509.Certificate]:
    """Every certificate in a PEM file, in file order (a single DER certificate is accepted too).

    Raises :class:`CertificateFileError` saying what is wrong: unreadable, no certificate, bad PEM.
    """
    return parse_certificates(_read(path), path)


def parse_certificates(data: bytes, source: _PathLike = "-") -> list[x509.Certificate]:
    """Every certificate in PEM ``data`` (or one DER certificate); ``source`` names it in errors."""
    labels = _pem_labels(data)
    if not labels:
        try:
            return [x509.load_der_x509_certificate(data)]
        except (ValueError, x509.InvalidVersion):
            raise CertificateFileError(source, "contains no PEM certificate") from None
    if "CERTIFICATE" not in labels:
        found = ", ".join(sorted(set(labels)))
        raise CertificateFileError(source, f"contains no certificate (found: {found})")
    try:
        return x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion) as exc:
        raise CertificateFileError(source, f"contains a malformed certificate ({exc})") from None


def load_pem_private_key(path: _PathLike, password: bytes | str | None = None) -> PrivateKey:
    """The private key in a PEM (or DER) file: RSA, ECDSA, Ed25519 or Ed448.

    ``password`` decrypts an encrypted key. Raises :class:`CertificateFileError` when the file cannot be
    read, holds no key, needs a (different) password, or holds a key type TLS 1.3 cannot sign with.
    """
    data = _read(path)
    secret = password.encode() if isinstance(password, str) else password
    pem = bool(_pem_labels(data))
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        key = loader(data, secret)
    except TypeError as exc:  # cryptography: password given/missing mismatch
        if secret is None:
            raise CertificateFileError(path, "the private key is encrypted; give its password") from None
        raise CertificateFileError(
            path, f"the private key is not encrypted but a password was given ({exc})"
        ) from None
    except ValueError as exc:
        if secret is not None and "ENCRYPTED" in " ".join(_pem_labels(data)):
            raise CertificateFileError(path, "wrong password for the encrypted private key") from None
        found = ", ".join(sorted(set(_pem_labels(data)))) or "no PEM block"
        raise CertificateFileError(path, f"contains no usable private key (found: {found}; {exc})") from None
    except Exception as exc:  # UnsupportedAlgorithm and friends
        raise CertificateFileError(path, f"cannot load the private key ({exc})") from None
    if not isinstance(
        key,
        rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey,
    ):
        raise CertificateFileError(path, f"a {type(key).__name__} cannot sign TLS 1.3 handshakes")
    return key


def _load_directory(path: Path, *, hashed_only: bool) -> list[x509.Certificate]:
    """Certificates from the files of a folder; files that hold no certificate are skipped."""
    out: list[x509.Certificate] = []
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        raise CertificateFileError(path, f"cannot list the folder: {exc.strerror or exc}") from None
    for entry in entries:
        if hashed_only and not _HASHED_NAME.match(entry.name):
            continue
        if not entry.is_file():
            continue
        try:
            out.extend(load_pem_certificates(entry))
        except CertificateFileError:
            continue
    return out


def load_ca_locations(paths: Iterable[_PathLike]) -> list[x509.Certificate]:
    """Certificates from ``--cafile`` style locations: PEM files (several certificates each) or folders.

    A file must hold at least one certificate; a folder contributes every file that holds certificates
    and must yield at least one.
    """
    out: list[x509.Certificate] = []
    for location in paths:
        p = Path(location)
        if p.is_dir():
            found = _load_directory(p, hashed_only=False)
            if not found:
                raise CertificateFileError(p, "the folder contains no certificate")
            out.extend(found)
        else:
            out.extend(load_pem_certificates(p))
    return out


class TrustStore:
    """An immutable set of trust anchors, indexed by subject and by subject key identifier.

    ``is_system``: these are the system's anchors (:func:`system_trust_store`), for which the ``webpki``
    profile is the default; a store of your own gets ``rfc5280``.

    ``verification_store`` is the ``cryptography`` Store for these anchors, built on first use and then
    shared (the handshake reuses it for every connection).
    """

    __slots__ = ("_by_der", "_by_ski", "_by_subject", "_certs", "_lock", "_store", "is_system", "source")

    def __init__(
        self, certificates: Iterable[x509.Certificate], *, source: str = "", is_system: bool = False
    ) -> None:
        self._by_der: dict[bytes, x509.Certificate] = {}
        self._by_subject: dict[x509.Name, list[x509.Certificate]] = {}
        self._by_ski: dict[bytes, list[x509.Certificate]] = {}
        for cert in certificates:
            der = cert.public_bytes(serialization.Encoding.DER)
            if der in self._by_der:
                continue
            self._by_der[der] = cert
            self._by_subject.setdefault(cert.subject, []).append(cert)
            ski = subject_key_identifier(cert)
            if ski is not None:
                self._by_ski.setdefault(ski, []).append(cert)
        self._certs = tuple(self._by_der.values())
        self._store: Store | None = None
        self._lock = threading.Lock()
        self.source = source
        self.is_system = is_system  # the system's store: the Web PKI profile applies by default

    @classmethod
    def system(cls) -> TrustStore:
        """The system trust store (cached for the life of the process); see :func:`system_trust_store`."""
        return system_trust_store()

    @classmethod
    def from_locations(cls, paths: Iterable[_PathLike]) -> TrustStore:
        """A store from PEM files and folders (``--cafile``)."""
        paths = [Path(p) for p in paths]
        return cls(load_ca_locations(paths), source=", ".join(str(p) for p in paths))

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return self._certs

    def __len__(self) -> int:
        return len(self._certs)

    def __iter__(self) -> Iterator[x509.Certificate]:
        return iter(self._certs)

    def __contains__(self, cert: object) -> bool:
        if not isinstance(cert, x509.Certificate):
            return False
        return cert.public_bytes(serialization.Encoding.DER) in self._by_der

    def __repr__(self) -> str:
        where = f" from {self.source}" if self.source else ""
        return f"<TrustStore {len(self._certs)} certificates{where}>"

    def by_subject(self, name: x509.Name) -> tuple[x509.Certificate, ...]:
        """Anchors whose subject is ``name``."""
        return tuple(self._by_subject.get(name, ()))

    def by_ski(self, key_id: bytes) -> tuple[x509.Certificate, ...]:
        """Anchors whose subjectKeyIdentifier is ``key_id``."""
        return tuple(self._by_ski.get(key_id, ()))

    @property
    def verification_store(self) -> Store:
        """The ``cryptography.x509.verification.Store``, built once. Raises ConfigurationError if empty."""
        store = self._store
        if store is None:
            if not self._certs:
                raise ConfigurationError("the trust store is empty")
            with self._lock:
                if self._store is None:
                    self._store = Store(list(self._certs))
                store = self._store
        return store


def subject_key_identifier(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return None


def _system_locations() -> tuple[Path | None, list[Path]]:
    """(CA file, CA folders) as Python's ``ssl.create_default_context()`` would use them."""
    paths = ssl.get_default_verify_paths()
    cafile = os.environ.get(paths.openssl_cafile_env) or paths.openssl_cafile
    capath = os.environ.get(paths.openssl_capath_env) or paths.openssl_capath
    file = Path(cafile) if cafile and os.path.isfile(cafile) else None
    folders = [Path(d) for d in capath.split(os.pathsep) if d and os.path.isdir(d)] if capath else []
    return file, folders


@cache
def system_trust_store() -> TrustStore:
    """The system's trust anchors (SSL_CERT_FILE/SSL_CERT_DIR honoured), else certifi's bundle."""
    # Old system roots trip cryptography's deprecation warnings (e.g. negative serials); they are
    # still the system's choice, so load them quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _load_system_store()


def _load_system_store() -> TrustStore:
    file, folders = _system_locations()
    certs: list[x509.Certificate] = []
    sources: list[str] = []
    if file is not None:
        try:
            certs.extend(load_pem_certificates(file))
            sources.append(str(file))
        except CertificateFileError:
            pass
    for folder in folders:
        try:
            found = _load_directory(folder, hashed_only=True)
        except CertificateFileError:
            continue
        if found:
            certs.extend(found)
            sources.append(str(folder))
    if not certs:
        import certifi

        bundle = certifi.where()
        certs = load_pem_certificates(bundle)
        sources = [bundle]
    return TrustStore(certs, source=", ".join(sources), is_system=True)
