"""The cipher suite registry: every IANA value named, each row consistent with its IANA name, and the
rows OpenSSL knows identical to OpenSSL's own description (``openssl ciphers -V``)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tlslens.wire.enums import CipherSuite, ProtocolVersion
from tlslens.wire.suite_registry import (
    SUITES,
    Authentication,
    BulkCipher,
    CipherMode,
    KeyExchange,
    Mac,
    SuiteInfo,
    suite_by_openssl_name,
    suite_info,
)

# --- the registry covers the enum --------------------------------------------------------------------


def test_every_assigned_suite_has_a_row_and_the_signaling_values_have_none() -> None:
    signaling = {s for s in CipherSuite if s.is_signaling}
    assert signaling == {CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV, CipherSuite.TLS_FALLBACK_SCSV}
    assert set(SUITES) == set(CipherSuite) - signaling
    assert all(info.suite == suite for suite, info in SUITES.items())
    assert len(SUITES) == 350


def test_lookups_by_value_and_by_openssl_name() -> None:
    info = suite_info(0xC02F)
    assert info is not None and info.name == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert suite_by_openssl_name("ECDHE-RSA-AES128-GCM-SHA256") is info
    assert suite_by_openssl_name("TLS_AES_128_GCM_SHA256") is SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
    assert suite_info(0x0A0A) is None  # GREASE
    assert suite_info(0x00FF) is None  # SCSV
    assert suite_by_openssl_name("NO-SUCH-SUITE") is None
    names = [i.openssl_name for i in SUITES.values() if i.openssl_name]
    assert len(names) == len(set(names))


def test_a_grease_value_is_an_unknown_cipher_suite() -> None:
    grease = CipherSuite(0x3A3A)
    assert not grease.known and not grease.is_tls13 and not grease.is_signaling


# --- what the scanner and grader ask -----------------------------------------------------------------


def _info(name: str) -> SuiteInfo:
    return SUITES[CipherSuite[name]]


def test_properties_the_grader_uses() -> None:
    exp = _info("TLS_RSA_EXPORT_WITH_RC4_40_MD5")
    assert exp.export and exp.bits == 40 and exp.mode == CipherMode.STREAM and not exp.block_cipher
    assert not exp.forward_secrecy and exp.defined_for(ProtocolVersion.SSL3)
    anon = _info("TLS_DH_anon_WITH_AES_128_GCM_SHA256")
    assert anon.anonymous and anon.key_exchange == KeyExchange.DHE and anon.aead
    null = _info("TLS_ECDHE_RSA_WITH_NULL_SHA")
    assert null.null_encryption and null.bits == 0 and not null.block_cipher
    assert null.min_version == ProtocolVersion.TLS1_0
    tdes = _info("TLS_RSA_WITH_3DES_EDE_CBC_SHA")
    assert tdes.cipher == BulkCipher.TRIPLE_DES and tdes.bits == 112 and tdes.cbc and tdes.block_cipher
    gcm = _info("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
    assert gcm.forward_secrecy and gcm.aead and gcm.mac == Mac.AEAD and not gcm.cbc
    assert gcm.defined_for(ProtocolVersion.TLS1_2)
    assert not gcm.defined_for(ProtocolVersion.TLS1_1) and not gcm.defined_for(ProtocolVersion.TLS1_3)
    tls13 = _info("TLS_AES_128_GCM_SHA256")
    assert tls13.suite.is_tls13 and tls13.key_exchange == KeyExchange.ANY
    assert tls13.defined_for(ProtocolVersion.TLS1_3) and not tls13.defined_for(ProtocolVersion.TLS1_2)
    pwd = _info("TLS_ECCPWD_WITH_AES_128_GCM_SHA256")
    assert pwd.defined_for(ProtocolVersion.TLS1_2) and pwd.defined_for(ProtocolVersion.TLS1_3)
    assert _info("TLS_RSA_WITH_AES_128_CBC_SHA").min_version == ProtocolVersion.SSL3
    assert _info("TLS_PSK_WITH_AES_128_CBC_SHA256").min_version == ProtocolVersion.TLS1_0
    assert _info("TLS_RSA_WITH_AES_128_CBC_SHA256").min_version == ProtocolVersion.TLS1_2
    static = _info("TLS_RSA_WITH_AES_128_GCM_SHA256")
    assert static.key_exchange == KeyExchange.RSA and not static.forward_secrecy
    assert _info("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256").cipher.value == "CHACHA20"


# --- each row agrees with its IANA name ---------------------------------------------------------------

_KX_TOKENS = {
    "RSA": (KeyExchange.RSA, Authentication.RSA),
    "DH_DSS": (KeyExchange.DH, Authentication.DSS),
    "DH_RSA": (KeyExchange.DH, Authentication.RSA),
    "DHE_DSS": (KeyExchange.DHE, Authentication.DSS),
    "DHE_RSA": (KeyExchange.DHE, Authentication.RSA),
    "DH_anon": (KeyExchange.DHE, Authentication.ANON),
    "ECDH_ECDSA": (KeyExchange.ECDH, Authentication.ECDSA),
    "ECDH_RSA": (KeyExchange.ECDH, Authentication.RSA),
    "ECDHE_ECDSA": (KeyExchange.ECDHE, Authentication.ECDSA),
    "ECDHE_RSA": (KeyExchange.ECDHE, Authentication.RSA),
    "ECDH_anon": (KeyExchange.ECDHE, Authentication.ANON),
    "PSK": (KeyExchange.PSK, Authentication.PSK),
    "DHE_PSK": (KeyExchange.DHE_PSK, Authentication.PSK),
    "PSK_DHE": (KeyExchange.DHE_PSK, Authentication.PSK),
    "RSA_PSK": (KeyExchange.RSA_PSK, Authentication.RSA),
    "ECDHE_PSK": (KeyExchange.ECDHE_PSK, Authentication.PSK),
    "KRB5": (KeyExchange.KRB5, Authentication.KRB5),
    "SRP_SHA": (KeyExchange.SRP, Authentication.SRP),
    "SRP_SHA_RSA": (KeyExchange.SRP, Authentication.RSA),
    "SRP_SHA_DSS": (KeyExchange.SRP, Authentication.DSS),
    "ECCPWD": (KeyExchange.ECCPWD, Authentication.PASSWORD),
    "GOSTR341112_256": (KeyExchange.GOST, Authentication.GOST),
    "NULL": (KeyExchange.NULL, Authentication.NONE),
}
_MAC_SUFFIX = {"MD5": Mac.MD5, "SHA": Mac.SHA1, "SHA256": Mac.SHA256, "SHA384": Mac.SHA384}
_CIPHER_TOKENS = {"3DES": BulkCipher.TRIPLE_DES, "28147": BulkCipher.GOST28147, "DES40": BulkCipher.DES}


TLS12_STYLE = [i for i in SUITES.values() if "_WITH_" in i.name and not i.suite.is_tls13]


@pytest.mark.parametrize("info", TLS12_STYLE, ids=lambda i: i.name)
def test_row_matches_the_iana_name(info: SuiteInfo) -> None:
    m = re.fullmatch(r"TLS_(\w+?)(_EXPORT)?_WITH_(\w+)", info.name)
    assert m is not None
    kx, export, rest = m.groups()
    assert (info.key_exchange, info.authentication) == _KX_TOKENS[kx]
    assert info.export == bool(export)
    first = rest.split("_")[0]
    assert info.cipher == (_CIPHER_TOKENS.get(first) or BulkCipher(first))
    if info.mode in (CipherMode.GCM, CipherMode.CCM, CipherMode.CCM_8, CipherMode.CHACHA20_POLY1305):
        assert info.mac == Mac.AEAD and f"_{info.mode.value}" in f"_{rest}"
    elif info.key_exchange != KeyExchange.GOST and rest != "NULL_NULL":
        assert info.mac == _MAC_SUFFIX[rest.rsplit("_", 1)[1]]
        assert (info.mode == CipherMode.CBC) == ("_CBC" in rest)
    if re.search(r"_(128|256)_", rest):
        assert str(info.bits) in rest
    if "40" in rest.split("_"):
        assert info.bits == 40 and info.export


# --- OpenSSL agrees ---------------------------------------------------------------------------------

_OSSL_KX = {
    "RSA": {KeyExchange.RSA},
    "DH": {KeyExchange.DH, KeyExchange.DHE},
    "ECDH": {KeyExchange.ECDH, KeyExchange.ECDHE},
    "PSK": {KeyExchange.PSK},
    "DHEPSK": {KeyExchange.DHE_PSK},
    "RSAPSK": {KeyExchange.RSA_PSK},
    "ECDHEPSK": {KeyExchange.ECDHE_PSK},
    "SRP": {KeyExchange.SRP},
    "any": {KeyExchange.ANY},
}
_OSSL_AU = {"None": Authentication.ANON, "any": Authentication.ANY}
_OSSL_ENC = {
    "None": (BulkCipher.NULL, CipherMode.NONE),
    "AES": (BulkCipher.AES, CipherMode.CBC),
    "AESGCM": (BulkCipher.AES, CipherMode.GCM),
    "AESCCM": (BulkCipher.AES, CipherMode.CCM),
    "AESCCM8": (BulkCipher.AES, CipherMode.CCM_8),
    "Camellia": (BulkCipher.CAMELLIA, CipherMode.CBC),
    "ARIAGCM": (BulkCipher.ARIA, CipherMode.GCM),
    "CHACHA20/POLY1305": (BulkCipher.CHACHA20, CipherMode.CHACHA20_POLY1305),
    "SEED": (BulkCipher.SEED, CipherMode.CBC),
    "3DES": (BulkCipher.TRIPLE_DES, CipherMode.CBC),
    "DES": (BulkCipher.DES, CipherMode.CBC),
    "RC4": (BulkCipher.RC4, CipherMode.STREAM),
    "IDEA": (BulkCipher.IDEA, CipherMode.CBC),
}
_OSSL_VERSION = {"SSLv3": "SSL3", "TLSv1": "TLS1_0", "TLSv1.2": "TLS1_2", "TLSv1.3": "TLS1_3"}


def _openssl_ciphers() -> list[list[str]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not installed")
    out = subprocess.run(
        ["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return [line.replace(" - ", " ").split() for line in out.splitlines() if line.strip()]


@pytest.mark.interop
def test_every_suite_openssl_knows_is_described_as_openssl_describes_it() -> None:
    lines = _openssl_ciphers()
    assert len(lines) > 100
    for value, iana, ossl_name, version, kx, au, enc, mac in lines:
        hi, lo = value.split(",")
        info = suite_info(int(hi, 16) << 8 | int(lo, 16))
        assert info is not None, iana
        assert info.name == iana
        assert info.openssl_name == ossl_name, iana
        assert info.min_version.name == _OSSL_VERSION[version], iana
        assert info.key_exchange in _OSSL_KX[kx.removeprefix("Kx=")], iana
        au = au.removeprefix("Au=")
        assert info.authentication == (_OSSL_AU.get(au) or Authentication(au)), iana
        m = re.fullmatch(r"Enc=([^(]+)(?:\((\d+)\))?", enc)
        assert m is not None
        assert (info.cipher, info.mode) == _OSSL_ENC[m.group(1)], iana
        bits = int(m.group(2) or 0)
        assert info.bits == (112 if bits == 168 else bits), iana
        mac = mac.removeprefix("Mac=")
        assert info.mac == (Mac.AEAD if mac == "AEAD" else Mac(mac)), iana
