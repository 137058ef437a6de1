"""TLS 1.2 signature rules: PKCS#1 v1.5 with SHA-2 allowed in TLS 1.2 handshakes and never in TLS 1.3
CertificateVerify, ECDSA schemes not bound to a curve in TLS 1.2, SHA-1 refused; and TLS 1.2 ECDHE with
the ServerKeyExchange signature. (Real OpenSSL signatures are verified in test_tls12_openssl_session.py.)"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tlslens.crypto.ecdhe12 import (
    TLS12_GROUPS,
    client_key_exchange,
    server_key_exchange_input,
    server_key_share,
    sign_server_key_exchange,
    verify_server_key_exchange,
)
from tlslens.crypto.provider import DefaultProvider
from tlslens.crypto.signatures import (
    TLS12_SIGNATURE_SCHEMES,
    KeySigner,
    handshake_schemes,
    scheme_fits_public_key,
    schemes_for_private_key,
    sign,
    verify,
)
from tlslens.errors import DecryptError, IllegalParameter, LocalProtocolError
from tlslens.wire.enums import NamedGroup, ProtocolVersion, SignatureScheme

S = SignatureScheme
TLS12, TLS13 = ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3
PKCS1_SHA2 = {S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512}
REFUSED = {S.RSA_PKCS1_SHA1, S.ECDSA_SHA1, S.RSA_PKCS1_MD5, S.RSA_PKCS1_SHA224, S.ECDSA_SHA224}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def test_allowed_scheme_sets_per_version() -> None:
    assert handshake_schemes(TLS12) >= PKCS1_SHA2
    assert not PKCS1_SHA2 & handshake_schemes(TLS13)
    assert not REFUSED & (handshake_schemes(TLS12) | handshake_schemes(TLS13))
    assert handshake_schemes(TLS13) < handshake_schemes(TLS12) == set(TLS12_SIGNATURE_SCHEMES)
    assert handshake_schemes(ProtocolVersion.TLS1_1) == frozenset()


def test_pkcs1_signs_in_tls12_only(rsa_key: rsa.RSAPrivateKey) -> None:
    sig = sign(rsa_key, S.RSA_PKCS1_SHA256, b"params", version=TLS12)
    rsa_key.public_key().verify(sig, b"params", padding.PKCS1v15(), hashes.SHA256())  # really PKCS#1 v1.5
    verify(rsa_key.public_key(), S.RSA_PKCS1_SHA256, b"params", sig, version=TLS12)
    with pytest.raises(LocalProtocolError, match=r"TLS 1\.3"):
        sign(rsa_key, S.RSA_PKCS1_SHA256, b"params")
    with pytest.raises(IllegalParameter, match="not allowed"):
        verify(rsa_key.public_key(), S.RSA_PKCS1_SHA256, b"params", sig, version=TLS13)
    verify(rsa_key.public_key(), S.RSA_PKCS1_SHA256, b"params", sig)  # certificate signatures: no version


def test_sha1_is_refused_in_both_versions(rsa_key: rsa.RSAPrivateKey) -> None:
    sig = rsa_key.sign(b"x", padding.PKCS1v15(), hashes.SHA1())
    for version in (TLS12, TLS13):
        with pytest.raises(IllegalParameter):
            verify(rsa_key.public_key(), S.RSA_PKCS1_SHA1, b"x", sig, version=version)
        with pytest.raises(LocalProtocolError):
            sign(rsa_key, S.RSA_PKCS1_SHA1, b"x", version=version)


def test_ecdsa_scheme_names_only_the_hash_in_tls12() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    sig = sign(key, S.ECDSA_SECP256R1_SHA256, b"params", version=TLS12)
    key.public_key().verify(sig, b"params", ec.ECDSA(hashes.SHA256()))
    verify(key.public_key(), S.ECDSA_SECP256R1_SHA256, b"params", sig, version=TLS12)
    assert scheme_fits_public_key(S.ECDSA_SECP256R1_SHA256, key.public_key(), version=TLS12)
    assert not scheme_fits_public_key(S.ECDSA_SECP256R1_SHA256, key.public_key(), version=TLS13)
    with pytest.raises(IllegalParameter, match="does not fit"):
        verify(key.public_key(), S.ECDSA_SECP256R1_SHA256, b"params", sig, version=TLS13)
    with pytest.raises(LocalProtocolError):
        sign(key, S.ECDSA_SECP256R1_SHA256, b"params", version=TLS13)


def test_schemes_for_keys_in_tls12(rsa_key: rsa.RSAPrivateKey) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    assert schemes_for_private_key(p256, version=TLS12) == (
        S.ECDSA_SECP256R1_SHA256,  # its own curve first
        S.ECDSA_SECP384R1_SHA384,
        S.ECDSA_SECP521R1_SHA512,
    )
    assert schemes_for_private_key(p256) == (S.ECDSA_SECP256R1_SHA256,)
    rsae = schemes_for_private_key(rsa_key, version=TLS12)
    assert rsae[:3] == (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512)
    assert set(rsae[3:]) == PKCS1_SHA2
    assert not PKCS1_SHA2 & set(schemes_for_private_key(rsa_key, rsa_pss_key=True, version=TLS12))


def test_key_signer_signs_per_version(rsa_key: rsa.RSAPrivateKey) -> None:
    signer = KeySigner(rsa_key)
    assert S.RSA_PKCS1_SHA256 in signer.schemes_for(TLS12)
    assert signer.schemes_for(TLS13) == signer.schemes and S.RSA_PKCS1_SHA256 not in signer.schemes
    assert signer.schemes_for(ProtocolVersion.TLS1_0) == ()
    sig = signer.sign(S.RSA_PKCS1_SHA384, b"data", version=TLS12)
    verify(rsa_key.public_key(), S.RSA_PKCS1_SHA384, b"data", sig, version=TLS12)
    with pytest.raises(LocalProtocolError):
        signer.sign(S.RSA_PKCS1_SHA384, b"data")


@pytest.mark.parametrize("group", TLS12_GROUPS, ids=lambda g: g.iana_name)
def test_tls12_ecdhe_both_sides_agree(group: NamedGroup) -> None:
    provider = DefaultProvider()
    server = server_key_share(group, provider)
    client_public, client_pms = client_key_exchange(group, server.public_bytes, provider)
    assert server.exchange(client_public) == client_pms


def test_hybrid_groups_are_not_tls12_curves() -> None:
    with pytest.raises(LocalProtocolError, match=r"not a TLS 1\.2"):
        server_key_share(NamedGroup.X25519MLKEM768, DefaultProvider())
    with pytest.raises(LocalProtocolError):
        client_key_exchange(NamedGroup.FFDHE2048, b"\x01", DefaultProvider())


def test_compressed_or_off_curve_server_points_are_illegal() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    compressed = key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    with pytest.raises(IllegalParameter):
        client_key_exchange(NamedGroup.SECP256R1, compressed, DefaultProvider())
    with pytest.raises(IllegalParameter):
        client_key_exchange(NamedGroup.SECP256R1, b"\x04" + bytes(64), DefaultProvider())


def test_server_key_exchange_signature_covers_randoms_and_params(rsa_key: rsa.RSAPrivateKey) -> None:
    cr, sr, params = b"c" * 32, b"s" * 32, bytes.fromhex("03001d20") + bytes(32)
    assert server_key_exchange_input(cr, sr, params) == cr + sr + params
    for scheme in (S.RSA_PSS_RSAE_SHA256, S.RSA_PKCS1_SHA256):
        sig = sign_server_key_exchange(rsa_key, scheme, cr, sr, params)
        verify_server_key_exchange(rsa_key.public_key(), scheme, sig, cr, sr, params)
        for bad in ((sr, cr, params), (cr, sr, params[:-1] + b"\x01")):
            with pytest.raises(DecryptError):
                verify_server_key_exchange(rsa_key.public_key(), scheme, sig, *bad)
    with pytest.raises(IllegalParameter):
        verify_server_key_exchange(rsa_key.public_key(), S.RSA_PKCS1_SHA1, b"x", cr, sr, params)
