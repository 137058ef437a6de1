"""Trust stores and certificate/key files: loading, lookups, the system store and its fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.x509.verification import Store

from tests.pki.factory import make_key, make_root, standard_pki, write_key, write_pem
from tlslens.errors import ConfigurationError
from tlslens.pki import (
    CertificateFileError,
    TrustStore,
    load_ca_locations,
    load_pem_certificates,
    load_pem_private_key,
    system_trust_store,
)


def test_load_pem_certificates_reads_every_certificate_in_order(tmp_path: Path) -> None:
    p = standard_pki()
    path = write_pem(tmp_path / "chain.pem", [p.leaf, p.inter, p.root])
    assert load_pem_certificates(path) == [p.leaf.cert, p.inter.cert, p.root.cert]


def test_load_pem_certificates_accepts_a_single_der_certificate(tmp_path: Path) -> None:
    root = make_root()
    path = tmp_path / "root.der"
    path.write_bytes(root.cert.public_bytes(serialization.Encoding.DER))
    assert load_pem_certificates(path) == [root.cert]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no PEM certificate"),
        (b"hello world\n", "no PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n", "malformed certificate"),
    ],
    ids=["empty", "text", "bad-base64"],
)
def test_load_pem_certificates_explains_bad_files(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(CertificateFileError, match=reason) as info:
        load_pem_certificates(path)
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_load_pem_certificates_names_what_a_key_file_holds(tmp_path: Path) -> None:
    path = write_key(tmp_path / "key.pem", make_key())
    with pytest.raises(CertificateFileError, match=r"no certificate \(found: PRIVATE KEY\)"):
        load_pem_certificates(path)


def test_load_pem_certificates_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CertificateFileError, match="cannot read"):
        load_pem_certificates(tmp_path / "absent.pem")
    with pytest.raises(CertificateFileError, match="is a directory"):
        load_pem_certificates(tmp_path)


def test_certificate_file_error_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_pem_certificates(tmp_path / "absent.pem")


def test_load_pem_private_key_plain_and_encrypted(tmp_path: Path) -> None:
    key = make_key()
    plain = write_key(tmp_path / "plain.pem", key)
    locked = write_key(tmp_path / "locked.pem", key, password=b"s3cret")
    want = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for loaded in (
        load_pem_private_key(plain),
        load_pem_private_key(locked, "s3cret"),
        load_pem_private_key(locked, b"s3cret"),
    ):
        got = loaded.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert got == want


def test_load_pem_private_key_explains_password_problems(tmp_path: Path) -> None:
    key = make_key()
    locked = write_key(tmp_path / "locked.pem", key, password=b"s3cret")
    plain = write_key(tmp_path / "plain.pem", key)
    with pytest.raises(CertificateFileError, match="encrypted; give its password"):
        load_pem_private_key(locked)
    with pytest.raises(CertificateFileError, match="wrong password"):
        load_pem_private_key(locked, "nope")
    with pytest.raises(CertificateFileError, match="not encrypted"):
        load_pem_private_key(plain, "s3cret")


def test_load_pem_private_key_refuses_non_keys_and_non_signing_keys(tmp_path: Path) -> None:
    cert_file = write_pem(tmp_path / "cert.pem", [make_root()])
    with pytest.raises(CertificateFileError, match=r"no usable private key \(found: CERTIFICATE"):
        load_pem_private_key(cert_file)
    xkey = tmp_path / "x25519.pem"
    xkey.write_bytes(
        x25519.X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(CertificateFileError, match=r"cannot sign TLS 1\.3"):
        load_pem_private_key(xkey)
    with pytest.raises(CertificateFileError, match="cannot read"):
        load_pem_private_key(tmp_path / "absent.pem")


def test_trust_store_lookups_and_deduplication() -> None:
    p = standard_pki()
    store = TrustStore([p.root.cert, p.inter.cert, p.root.cert], source="test")
    assert len(store) == 2
    assert list(store) == [p.root.cert, p.inter.cert]
    assert p.root.cert in store and p.leaf.cert not in store and "text" not in store
    assert store.by_subject(p.root.cert.subject) == (p.root.cert,)
    assert store.by_subject(p.leaf.cert.subject) == ()
    ski = p.inter.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert store.by_ski(ski) == (p.inter.cert,)
    assert store.by_ski(b"\x00" * 20) == ()
    assert "2 certificates from test" in repr(store)


def test_verification_store_is_built_once_and_reused() -> None:
    store = TrustStore([make_root().cert])
    first = store.verification_store
    assert isinstance(first, Store)
    assert store.verification_store is first


def test_empty_trust_store_has_no_verification_store() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        TrustStore([]).verification_store  # noqa: B018


def test_ca_locations_load_files_and_folders(tmp_path: Path) -> None:
    a, b, c = make_root("A"), make_root("B"), make_root("C")
    folder = tmp_path / "cas"
    folder.mkdir()
    write_pem(folder / "ab.pem", [a, b])
    (folder / "README").write_text("not a certificate")
    (folder / "sub").mkdir()
    single = write_pem(tmp_path / "c.pem", [c])
    assert load_ca_locations([folder, single]) == [a.cert, b.cert, c.cert]
    store = TrustStore.from_locations([folder, single])
    assert len(store) == 3 and str(folder) in store.source


def test_ca_locations_refuse_an_empty_folder_and_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CertificateFileError, match="folder contains no certificate"):
        load_ca_locations([tmp_path / "empty"])
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(CertificateFileError, match="no PEM certificate"):
        load_ca_locations([tmp_path / "junk.pem"])


@pytest.fixture
def fresh_system_store() -> Iterator[None]:
    system_trust_store.cache_clear()
    yield
    system_trust_store.cache_clear()


def test_system_store_honours_ssl_cert_file_and_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_system_store: None
) -> None:
    a, b, ignored = make_root("File Root"), make_root("Dir Root"), make_root("Unhashed Root")
    bundle = write_pem(tmp_path / "bundle.pem", [a])
    folder = tmp_path / "certs"
    folder.mkdir()
    write_pem(folder / "0123abcd.0", [b])  # OpenSSL hashed name: loaded
    write_pem(folder / "notes.pem", [ignored])  # not a hashed name: OpenSSL would not look here
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    store = system_trust_store()
    assert set(store) == {a.cert, b.cert}
    assert TrustStore.system() is store


def test_system_store_falls_back_to_certifi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_system_store: None
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "absent-dir"))
    store = system_trust_store()
    assert store.source == certifi.where()
    assert len(store) > 50


def test_real_system_store_loads_quietly(fresh_system_store: None, recwarn: pytest.WarningsRecorder) -> None:
    store = system_trust_store()
    assert len(store) > 0
    assert store.verification_store is store.verification_store
    assert not [w for w in recwarn if "serial" in str(w.message)]
