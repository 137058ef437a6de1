from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.x509.oid import NameOID

from tlslens.crypto.key_schedule import (
    EarlySecret,
    HandshakeSecret,
    MasterSecret,
    constant_time_equal,
    derive_secret,
    export_keying_material,
    hkdf_label,
    next_traffic_secret,
    traffic_key_iv,
)
from tlslens.crypto.suites import (
    TLS13_SUITES,
    TLS_AES_128_GCM_SHA256,
    TLS_AES_256_GCM_SHA384,
    TLS_CHACHA20_POLY1305_SHA256,
    Tls13Suite,
)
from tlslens.errors import LocalProtocolError

SHA256_SUITE, SHA384_SUITE = TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
by_suite = pytest.mark.parametrize("suite", list(TLS13_SUITES.values()), ids=lambda s: s.name)


def _expand_label_by_hand(h: hashes.HashAlgorithm, secret: bytes, label: bytes, ctx: bytes, n: int) -> bytes:
    """An independent spelling of RFC 8446 §7.1, to check functions RFC 8448 has no vector for."""
    full = b"tls13 " + label
    info = n.to_bytes(2, "big") + len(full).to_bytes(1, "big") + full + len(ctx).to_bytes(1, "big") + ctx
    return HKDFExpand(h, n, info).derive(secret)


def _hash(h: hashes.HashAlgorithm, data: bytes) -> bytes:
    d = hashes.Hash(h)
    d.update(data)
    return d.finalize()


def test_hkdf_label_layout() -> None:
    assert hkdf_label(b"key", b"", 16) == bytes.fromhex("0010 09") + b"tls13 key" + b"\x00"
    assert hkdf_label(b"c hs traffic", b"\xaa" * 32, 32) == (
        b"\x00\x20\x12tls13 c hs traffic\x20" + b"\xaa" * 32
    )
    with pytest.raises(LocalProtocolError):
        hkdf_label(b"x" * 250, b"", 32)
    with pytest.raises(LocalProtocolError):
        hkdf_label(b"key", b"x" * 256, 32)


def test_full_handshake_early_secret_and_derived_secret_are_the_known_constants() -> None:
    early = EarlySecret.from_psk(SHA256_SUITE, None)
    assert early.secret.hex() == "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
    assert derive_secret(SHA256_SUITE.hash, early.secret, b"derived", SHA256_SUITE.empty_hash).hex() == (
        "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
    )
    assert EarlySecret.from_psk(SHA256_SUITE, bytes(32)).secret == early.secret
    assert EarlySecret.from_psk(SHA256_SUITE, None) is early  # a per-suite constant, cached
    assert EarlySecret.from_psk(SHA384_SUITE, None).secret.hex() == (
        "7ee8206f5570023e6dc7519eb1073bc4e791ad37b5c382aa10ba18e2357e716971f9362f2c2fe2a76bfd78dfec4ea9b5"
    )


def test_cached_full_handshake_path_equals_the_uncached_one() -> None:
    shared = bytes(range(32))
    cached = EarlySecret.from_psk(SHA256_SUITE, None).next_stage(shared)
    fresh = EarlySecret(SHA256_SUITE, EarlySecret.from_psk(SHA256_SUITE, None).secret).next_stage(shared)
    assert cached.secret == fresh.secret


@by_suite
def test_stages_produce_hash_length_secrets_for_every_suite(suite: Tls13Suite) -> None:
    th = _hash(suite.hash, b"transcript")
    hs = EarlySecret.from_psk(suite, b"\x01" * suite.hash_len).next_stage(b"\x02" * 32)
    ms = hs.next_stage()
    values = [hs.client_traffic(th), hs.server_traffic(th), ms.client_application_traffic(th)]
    values += [ms.server_application_traffic(th), ms.exporter(th), ms.resumption(th)]
    assert all(len(x) == suite.hash_len for x in values)
    assert len(set(values)) == len(values)
    key, iv = traffic_key_iv(suite, values[0])
    assert (len(key), len(iv)) == (suite.key_len, 12)


def test_psk_ke_mode_uses_zeros_for_the_missing_ecdhe_input() -> None:
    early = EarlySecret.from_psk(SHA256_SUITE, b"\x05" * 32)
    assert early.next_stage(None).secret == early.next_stage(bytes(32)).secret


def test_binder_keys_differ_for_resumption_and_external_psks() -> None:
    early = EarlySecret.from_psk(SHA256_SUITE, b"\x05" * 32)
    h, empty = SHA256_SUITE.hash, SHA256_SUITE.empty_hash
    assert early.binder_key(resumption=True) == derive_secret(h, early.secret, b"res binder", empty)
    assert early.binder_key(resumption=False) == derive_secret(h, early.secret, b"ext binder", empty)
    assert early.binder_key(resumption=True) != early.binder_key(resumption=False)


@pytest.mark.parametrize(
    "suite", [SHA256_SUITE, SHA384_SUITE, TLS_CHACHA20_POLY1305_SHA256], ids=lambda s: s.name
)
def test_key_update_derives_the_next_secret_with_traffic_upd(suite: Tls13Suite) -> None:
    secret = b"\x11" * suite.hash_len
    following = next_traffic_secret(suite, secret)
    assert following == _expand_label_by_hand(suite.hash, secret, b"traffic upd", b"", suite.hash_len)
    assert next_traffic_secret(suite, following) != following


def test_exporter_follows_rfc8446_section_7_5() -> None:
    suite, secret = SHA384_SUITE, b"\x22" * 48
    h = suite.hash
    per_label = _expand_label_by_hand(h, secret, b"EXPERIMENTAL x", _hash(h, b""), 48)
    want = _expand_label_by_hand(h, per_label, b"exporter", _hash(h, b"ctx"), 20)
    assert export_keying_material(suite, secret, b"EXPERIMENTAL x", b"ctx", 20) == want
    assert export_keying_material(suite, secret, b"EXPERIMENTAL x", b"", 20) != want
    with pytest.raises(LocalProtocolError):
        export_keying_material(suite, secret, b"EXPERIMENTAL x", b"", 255 * 48 + 1)


def test_secrets_stay_out_of_reprs() -> None:
    psk = bytes(range(100, 132))
    early = EarlySecret.from_psk(SHA256_SUITE, psk)
    hs = early.next_stage(bytes(range(32)))
    ms = hs.next_stage()
    for stage in (early, hs, ms):
        assert stage.secret.hex() not in repr(stage)
        assert "secret" not in repr(stage)
    assert isinstance(hs, HandshakeSecret) and isinstance(ms, MasterSecret)


def test_constant_time_equal() -> None:
    assert constant_time_equal(b"\x01" * 32, b"\x01" * 32)
    assert not constant_time_equal(b"\x01" * 32, b"\x01" * 31 + b"\x02")
    assert not constant_time_equal(b"\x01" * 32, b"\x01" * 31)


# --- cross-check with OpenSSL: the exporter from its key log equals what it reports ---------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("suite", [SHA256_SUITE, SHA384_SUITE], ids=lambda s: s.name)
def test_exporter_matches_openssl(suite: Tls13Suite, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    keylog = tmp_path / "keylog.txt"
    server_cmd = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3"]
    server_cmd += ["-cert", str(cert), "-key", str(key), "-ciphersuites", suite.name]
    client_cmd = ["openssl", "s_client", "-tls1_3", "-ciphersuites", suite.name, "-keylogfile", str(keylog)]
    client_cmd += ["-keymatexport", "EXPERIMENTAL tlslens", "-keymatexportlen", "42"]
    out, err, keep_open = subprocess.PIPE, subprocess.STDOUT, subprocess.PIPE  # s_server stops at stdin EOF
    with subprocess.Popen(server_cmd, stdin=keep_open, stdout=out, stderr=err, text=True) as server:
        assert server.stdout is not None
        try:
            port = next(m.group(1) for line in server.stdout if (m := re.match(r"ACCEPT .*:(\d+)", line)))
            client = subprocess.run(
                [*client_cmd, "-connect", f"127.0.0.1:{port}"],
                input="",
                capture_output=True,
                text=True,
                timeout=30,
            )
        finally:
            server.kill()
    reported = re.search(r"Keying material: ([0-9A-F]+)", client.stdout)
    assert reported is not None, client.stdout + client.stderr
    secrets = dict(line.split()[0::2] for line in keylog.read_text().splitlines() if not line.startswith("#"))
    exporter_master_secret = bytes.fromhex(secrets["EXPORTER_SECRET"])
    ours = export_keying_material(suite, exporter_master_secret, b"EXPERIMENTAL tlslens", b"", 42)
    assert ours.hex().upper() == reported.group(1)
