"""The TLS 1.2 PRF and key schedule: published PRF vectors, OpenSSL's TLS1-PRF as a second oracle, and the
rules around the master secret, key block, Finished and exporters. (A whole handshake against OpenSSL,
key log and exporter included, is in test_tls12_openssl_session.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes

from tlslens import keylog
from tlslens.crypto.key_schedule12 import MasterSecret12, prf
from tlslens.crypto.suites12 import TLS12_DEFAULT_CIPHER_SUITES, TLS12_SUITES, Tls12Suite
from tlslens.errors import LocalProtocolError
from tlslens.wire.enums import CipherSuite
from tlslens.wire.suite_info import Authentication, KeyExchange
from tlslens.wire.suite_registry import suite_info

# The TLS 1.2 PRF test vectors posted to the IETF TLS list (Joseph Birr-Pixton's), used by GnuTLS,
# Go and many other test suites: https://www.ietf.org/mail-archive/web/tls/current/msg03416.html
PRF_VECTORS = [
    pytest.param(
        hashes.SHA256(),
        "9bbe436ba940f017b17652849a71db35",
        "a0ba9f936cda311827a6f796ffd5198c",
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
        "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66",
        id="P_SHA256-100",
    ),
    pytest.param(
        hashes.SHA384(),
        "b80b733d6ceefcdc71566ea48e5567df",
        "cd665cf6a8447dd6ff8b27555edb7465",
        "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
        "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
        "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
        "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
        "91c8f3a26854308d5eaa3be85e0990703d73e56f",
        id="P_SHA384-148",
    ),
]


@pytest.mark.parametrize(("h", "secret", "seed", "output"), PRF_VECTORS)
def test_prf_matches_the_published_vectors(
    h: hashes.HashAlgorithm, secret: str, seed: str, output: str
) -> None:
    expected = bytes.fromhex(output)
    got = prf(h, bytes.fromhex(secret), b"test label", bytes.fromhex(seed), len(expected))
    assert got == expected
    # P_hash is a stream: a shorter output is a prefix, whatever block boundary it ends on.
    for n in (0, 1, 31, 32, 33, 48, 49):
        assert prf(h, bytes.fromhex(secret), b"test label", bytes.fromhex(seed), n) == expected[:n]


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize("digest", ["SHA256", "SHA384"])
def test_prf_agrees_with_openssl_tls1_prf_on_random_inputs(digest: str) -> None:
    h = hashes.SHA256() if digest == "SHA256" else hashes.SHA384()
    for secret_len, seed_len, length in ((48, 64, 40), (1, 0, 200), (100, 13, 12)):
        secret, seed, label = os.urandom(secret_len), os.urandom(seed_len), b"key expansion"
        out = subprocess.run(
            ["openssl", "kdf", "-keylen", str(length), "-kdfopt", f"digest:{digest}",
             "-kdfopt", f"hexsecret:{secret.hex()}", "-kdfopt", f"hexseed:{(label + seed).hex()}",
             "TLS1-PRF"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
        assert prf(h, secret, label, seed, length) == bytes.fromhex(out.strip().replace(":", ""))


SUITE = TLS12_SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
CR, SR = bytes(range(32)), bytes(range(32, 64))


def test_master_secret_derivations_follow_rfc5246_and_rfc7627() -> None:
    pms = b"\x42" * 32
    legacy = MasterSecret12.derive(SUITE, pms, CR, SR)
    assert legacy.secret == prf(hashes.SHA256(), pms, b"master secret", CR + SR, 48) and not legacy.extended
    session_hash = bytes(32)
    ems = MasterSecret12.derive_extended(SUITE, pms, session_hash, CR, SR)
    assert (
        ems.secret == prf(hashes.SHA256(), pms, b"extended master secret", session_hash, 48) and ems.extended
    )
    assert ems.secret.hex() not in repr(ems)
    with pytest.raises(LocalProtocolError):
        MasterSecret12.derive_extended(SUITE, pms, bytes(48), CR, SR)  # SHA-256 session hash is 32 octets
    with pytest.raises(LocalProtocolError):
        MasterSecret12.derive(SUITE, pms, CR[:31], SR)
    resumed = MasterSecret12.resume(SUITE, ems.secret, SR, CR, extended=True)
    assert resumed.secret == ems.secret and resumed.client_random == SR
    with pytest.raises(LocalProtocolError):
        MasterSecret12.resume(SUITE, bytes(47), CR, SR, extended=True)


@pytest.mark.parametrize("suite", list(TLS12_SUITES.values()), ids=lambda s: s.name)
def test_key_block_is_cut_in_rfc5246_order(suite: Tls12Suite) -> None:
    master = MasterSecret12.resume(suite, b"\x07" * 48, CR, SR, extended=True)
    block = prf(suite.hash, master.secret, b"key expansion", SR + CR, suite.key_block_len)
    keys = master.key_block()
    k, iv = suite.key_len, suite.fixed_iv_len
    assert (
        keys.client_write_key + keys.server_write_key + keys.client_write_iv + keys.server_write_iv == block
    )
    assert len(keys.client_write_key) == k and len(keys.server_write_iv) == iv
    assert keys.write(client=True) == keys.read(client=False) == (keys.client_write_key, keys.client_write_iv)
    assert block.hex() not in repr(keys)
    assert len(master.client_finished(bytes(suite.hash_len))) == 12
    assert master.client_finished(bytes(suite.hash_len)) != master.server_finished(bytes(suite.hash_len))


def test_exporter_rules() -> None:
    ems = MasterSecret12.resume(SUITE, b"\x01" * 48, CR, SR, extended=True)
    assert ems.export(b"EXPERIMENTAL x", None, 20) == prf(
        hashes.SHA256(), ems.secret, b"EXPERIMENTAL x", CR + SR, 20
    )
    with_context = prf(hashes.SHA256(), ems.secret, b"EXPERIMENTAL x", CR + SR + b"\x00\x03abc", 20)
    assert ems.export(b"EXPERIMENTAL x", b"abc", 20) == with_context
    for label in (b"client finished", b"key expansion", b"master secret", b"extended master secret"):
        with pytest.raises(LocalProtocolError, match="reserved"):
            ems.export(label, None, 12)
    with pytest.raises(LocalProtocolError):
        ems.export(b"EXPERIMENTAL x", bytes(1 << 16), 12)
    legacy = MasterSecret12.resume(SUITE, b"\x01" * 48, CR, SR, extended=False)
    with pytest.raises(LocalProtocolError, match="extended master secret"):
        legacy.export(b"EXPERIMENTAL x", None, 20)


def test_the_six_suites_are_ecdhe_aead_with_the_registry_parameters() -> None:
    assert len(TLS12_SUITES) == 6 and tuple(TLS12_SUITES) == TLS12_DEFAULT_CIPHER_SUITES
    for code, suite in TLS12_SUITES.items():
        info = suite_info(code)
        assert info is not None and info.key_exchange == KeyExchange.ECDHE == suite.key_exchange
        assert info.authentication == suite.authentication in (Authentication.ECDSA, Authentication.RSA)
        assert info.bits == suite.key_len * 8 and info.aead
        assert suite.hash.name == ("sha384" if code.name.endswith("SHA384") else "sha256")
        chacha = "CHACHA20" in code.name
        assert (suite.fixed_iv_len, suite.record_iv_len) == ((12, 0) if chacha else (4, 8))


def test_client_random_key_log_line() -> None:
    line = keylog.client_random_line(CR, b"\xab" * 48)
    assert line == f"CLIENT_RANDOM {CR.hex()} {'ab' * 48}"
    with pytest.raises(LocalProtocolError):
        keylog.client_random_line(CR, b"\xab" * 32)
