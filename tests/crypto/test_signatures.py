from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa, x25519

from tests.crypto.rfc8448_replay import SECTION_IDS, H, last_index, replay, rsa_private_key_numbers, section
from tests.crypto.rfc8448_replay import transcript_messages as messages
from tlslens.crypto.signatures import (
    TLS13_CERTIFICATE_ONLY_SCHEMES,
    TLS13_CERTIFICATE_SCHEMES,
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    KeySigner,
    PrivateKey,
    Signer,
    certificate_verify_input,
    is_rsa_pss_certificate,
    scheme_fits_public_key,
    schemes_for_private_key,
    sign,
    verify,
)
from tlslens.errors import DecryptError, IllegalParameter, LocalProtocolError
from tlslens.wire.enums import SignatureScheme

S = SignatureScheme


# --- RFC 8448 CertificateVerify signatures ---------------------------------------------------------

CV_CASES = [
    pytest.param(n, side, id=f"{SECTION_IDS[n]}-{side}")
    for n, side in (("3", "server"), ("5", "server"), ("6", "server"), ("6", "client"), ("7", "server"))
]


def _certificate_verify(n: str, side: str) -> tuple[x509.Certificate, SignatureScheme, bytes, bytes]:
    sec = section(n)
    msgs = messages(sec)
    cv = H(msgs[last_index(msgs, side, "CertificateVerify")]["hex"])
    scheme = SignatureScheme(int.from_bytes(cv[4:6], "big"))
    signature = cv[8:]
    assert int.from_bytes(cv[6:8], "big") == len(signature)
    assert signature.hex() == sec["inputs"][f"{side}_certificate_verify"]["signature"]
    cert = x509.load_der_x509_certificate(H(sec["inputs"][f"{side}_certificate_der"]))
    content = certificate_verify_input(side == "server", replay(n).certificate_hashes[side])
    return cert, scheme, content, signature


@pytest.mark.parametrize(("n", "side"), CV_CASES)
def test_rfc8448_certificate_verify_signature_verifies(n: str, side: str) -> None:
    cert, scheme, content, signature = _certificate_verify(n, side)
    public_key = cert.public_key()
    assert scheme_fits_public_key(scheme, public_key, rsa_pss_key=is_rsa_pss_certificate(cert))
    verify(public_key, scheme, content, signature, rsa_pss_key=is_rsa_pss_certificate(cert))


@pytest.mark.parametrize(("n", "side"), CV_CASES)
def test_rfc8448_certificate_verify_fails_on_a_flipped_bit_or_the_wrong_context(n: str, side: str) -> None:
    cert, scheme, content, signature = _certificate_verify(n, side)
    tampered = bytearray(signature)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(DecryptError):
        verify(cert.public_key(), scheme, content, bytes(tampered))
    other_side = certificate_verify_input(side != "server", content[-32:])
    with pytest.raises(DecryptError):
        verify(cert.public_key(), scheme, other_side, signature)


def test_rfc8448_section_2_rsa_key_is_the_server_certificate_key_and_signs_rsa_pss() -> None:
    k = rsa_private_key_numbers()
    public = rsa.RSAPublicNumbers(k["public_exponent"], k["modulus"])
    private_key = rsa.RSAPrivateNumbers(
        k["prime1"],
        k["prime2"],
        k["private_exponent"],
        k["exponent1"],
        k["exponent2"],
        k["coefficient"],
        public,
    ).private_key()
    cert = x509.load_der_x509_certificate(H(section("3")["inputs"]["server_certificate_der"]))
    cert_key = cert.public_key()
    assert isinstance(cert_key, rsa.RSAPublicKey)
    assert cert_key.public_numbers() == public
    signer = KeySigner(private_key)
    assert signer.schemes == (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384)  # 1024 bits: no PSS SHA-512
    content = certificate_verify_input(True, replay("3").certificate_hashes["server"])
    verify(cert_key, S.RSA_PSS_RSAE_SHA256, content, signer.sign(S.RSA_PSS_RSAE_SHA256, content))


class RecordedSigner:
    """Returns a recorded signature: RSA-PSS is randomized, so a byte-exact replay cannot re-sign."""

    def __init__(self, scheme: SignatureScheme, signature: bytes) -> None:
        self.schemes = (scheme,)
        self.signature = signature
        self.signed: list[bytes] = []

    def schemes_for(self, version: int) -> tuple[SignatureScheme, ...]:
        return self.schemes if version == 0x0304 else ()

    def sign(self, scheme: SignatureScheme, data: bytes, *, version: int = 0x0304) -> bytes:
        assert scheme in self.schemes
        self.signed.append(data)
        return self.signature


def _sign_certificate_verify(signer: Signer, transcript_hash: bytes) -> tuple[SignatureScheme, bytes]:
    scheme = signer.schemes[0]
    return scheme, signer.sign(scheme, certificate_verify_input(True, transcript_hash))


def test_recorded_signer_replays_the_rfc8448_server_signature_through_the_signer_seam() -> None:
    cert, scheme, content, signature = _certificate_verify("3", "server")
    signer = RecordedSigner(scheme, signature)
    got_scheme, got = _sign_certificate_verify(signer, replay("3").certificate_hashes["server"])
    assert (got_scheme, got) == (S.RSA_PSS_RSAE_SHA256, signature)
    assert signer.signed == [content]
    verify(cert.public_key(), got_scheme, content, got)


# --- fresh keys: every scheme signs and verifies -----------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def _key_for(scheme: SignatureScheme, rsa_key: rsa.RSAPrivateKey) -> PrivateKey:
    curves: dict[SignatureScheme, ec.EllipticCurve] = {
        S.ECDSA_SECP256R1_SHA256: ec.SECP256R1(),
        S.ECDSA_SECP384R1_SHA384: ec.SECP384R1(),
        S.ECDSA_SECP521R1_SHA512: ec.SECP521R1(),
        S.ECDSA_SHA1: ec.SECP256R1(),
    }
    if scheme in curves:
        return ec.generate_private_key(curves[scheme])
    if scheme == S.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if scheme == S.ED448:
        return ed448.Ed448PrivateKey.generate()
    return rsa_key


@pytest.mark.parametrize("scheme", TLS13_CERTIFICATE_VERIFY_SCHEMES, ids=lambda s: s.iana_name)
def test_every_certificate_verify_scheme_signs_and_verifies(
    scheme: SignatureScheme, rsa_key: rsa.RSAPrivateKey
) -> None:
    key = _key_for(scheme, rsa_key)
    pss_key = scheme.name.startswith("RSA_PSS_PSS")
    data = certificate_verify_input(False, bytes(range(32)))
    signer = KeySigner(key, rsa_pss_key=pss_key)
    assert scheme in signer.schemes
    signature = signer.sign(scheme, data)
    verify(key.public_key(), scheme, data, signature, rsa_pss_key=pss_key)
    verify(key.public_key(), scheme, data, sign(key, scheme, data, rsa_pss_key=pss_key), rsa_pss_key=pss_key)
    with pytest.raises(DecryptError):
        verify(key.public_key(), scheme, data + b"x", signature, rsa_pss_key=pss_key)


def test_rsa_pss_signatures_use_a_salt_as_long_as_the_hash(rsa_key: rsa.RSAPrivateKey) -> None:
    data = b"salted"
    for scheme, h in ((S.RSA_PSS_RSAE_SHA256, hashes.SHA256()), (S.RSA_PSS_RSAE_SHA512, hashes.SHA512())):
        signature = sign(rsa_key, scheme, data)
        rsa_key.public_key().verify(signature, data, padding.PSS(padding.MGF1(h), h.digest_size), h)


@pytest.mark.parametrize("scheme", TLS13_CERTIFICATE_ONLY_SCHEMES, ids=lambda s: s.iana_name)
def test_certificate_only_schemes_verify_but_never_sign(
    scheme: SignatureScheme, rsa_key: rsa.RSAPrivateKey
) -> None:
    key = _key_for(scheme, rsa_key)
    h = {0x0401: hashes.SHA256(), 0x0501: hashes.SHA384(), 0x0601: hashes.SHA512()}.get(scheme, hashes.SHA1())
    data = b"tbsCertificate"
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), h)
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        signature = key.sign(data, ec.ECDSA(h))
    verify(key.public_key(), scheme, data, signature)
    with pytest.raises(DecryptError):
        verify(key.public_key(), scheme, b"other", signature)
    with pytest.raises(LocalProtocolError):
        sign(key, scheme, data)


def test_scheme_lists_are_in_preference_order() -> None:
    assert TLS13_CERTIFICATE_VERIFY_SCHEMES == (
        S.ECDSA_SECP256R1_SHA256,
        S.ECDSA_SECP384R1_SHA384,
        S.ECDSA_SECP521R1_SHA512,
        S.ED25519,
        S.ED448,
        S.RSA_PSS_RSAE_SHA256,
        S.RSA_PSS_RSAE_SHA384,
        S.RSA_PSS_RSAE_SHA512,
        S.RSA_PSS_PSS_SHA256,
        S.RSA_PSS_PSS_SHA384,
        S.RSA_PSS_PSS_SHA512,
    )
    assert set(TLS13_CERTIFICATE_ONLY_SCHEMES) == {
        S.RSA_PKCS1_SHA256,
        S.RSA_PKCS1_SHA384,
        S.RSA_PKCS1_SHA512,
        S.RSA_PKCS1_SHA1,
        S.ECDSA_SHA1,
    }
    assert TLS13_CERTIFICATE_SCHEMES == TLS13_CERTIFICATE_VERIFY_SCHEMES + TLS13_CERTIFICATE_ONLY_SCHEMES


def test_certificate_verify_input_is_64_spaces_context_zero_and_hash() -> None:
    th = bytes(range(32))
    assert certificate_verify_input(True, th) == b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + th
    assert certificate_verify_input(False, th) == b" " * 64 + b"TLS 1.3, client CertificateVerify\x00" + th


# --- which schemes fit which keys ----------------------------------------------------------------


def test_schemes_for_private_key_follow_the_key_type_and_curve(rsa_key: rsa.RSAPrivateKey) -> None:
    assert schemes_for_private_key(ec.generate_private_key(ec.SECP256R1())) == (S.ECDSA_SECP256R1_SHA256,)
    assert schemes_for_private_key(ec.generate_private_key(ec.SECP384R1())) == (S.ECDSA_SECP384R1_SHA384,)
    assert schemes_for_private_key(ec.generate_private_key(ec.SECP521R1())) == (S.ECDSA_SECP521R1_SHA512,)
    assert schemes_for_private_key(ec.generate_private_key(ec.SECP256K1())) == ()
    assert schemes_for_private_key(ed25519.Ed25519PrivateKey.generate()) == (S.ED25519,)
    assert schemes_for_private_key(ed448.Ed448PrivateKey.generate()) == (S.ED448,)
    rsae = (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512)
    pss = (S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384, S.RSA_PSS_PSS_SHA512)
    assert schemes_for_private_key(rsa_key) == rsae
    assert schemes_for_private_key(rsa_key, rsa_pss_key=True) == pss
    assert schemes_for_private_key(dsa.generate_private_key(2048)) == ()


def test_small_rsa_key_drops_the_pss_hashes_it_cannot_hold() -> None:
    small = rsa.generate_private_key(65537, 1024)
    assert schemes_for_private_key(small) == (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384)
    with pytest.raises(LocalProtocolError):
        sign(small, S.RSA_PSS_RSAE_SHA512, b"data")


def test_verify_refuses_a_scheme_for_another_curve_or_key_type(rsa_key: rsa.RSAPrivateKey) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    signature = sign(p256, S.ECDSA_SECP256R1_SHA256, b"data")
    with pytest.raises(IllegalParameter):  # TLS 1.3 ties the ECDSA scheme to the curve
        verify(p256.public_key(), S.ECDSA_SECP384R1_SHA384, b"data", signature)
    with pytest.raises(IllegalParameter):
        verify(rsa_key.public_key(), S.ED25519, b"data", signature)
    with pytest.raises(IllegalParameter):
        verify(p256.public_key(), S.RSA_PSS_RSAE_SHA256, b"data", signature)
    with pytest.raises(IllegalParameter):
        verify(x25519.X25519PrivateKey.generate().public_key(), S.ED25519, b"data", signature)
    with pytest.raises(IllegalParameter):  # unknown (GREASE) and unsupported schemes
        verify(p256.public_key(), SignatureScheme(0x0A0A), b"data", signature)
    with pytest.raises(IllegalParameter):
        verify(rsa_key.public_key(), S.RSA_PKCS1_MD5, b"data", signature)


def test_rsa_pss_key_kind_separates_rsae_and_pss_schemes(rsa_key: rsa.RSAPrivateKey) -> None:
    public = rsa_key.public_key()
    signature = sign(rsa_key, S.RSA_PSS_PSS_SHA256, b"data", rsa_pss_key=True)
    verify(public, S.RSA_PSS_PSS_SHA256, b"data", signature, rsa_pss_key=True)
    verify(public, S.RSA_PSS_PSS_SHA256, b"data", signature)  # kind not known: same computation
    with pytest.raises(IllegalParameter):
        verify(public, S.RSA_PSS_PSS_SHA256, b"data", signature, rsa_pss_key=False)
    with pytest.raises(IllegalParameter):
        verify(public, S.RSA_PSS_RSAE_SHA256, b"data", signature, rsa_pss_key=True)
    with pytest.raises(IllegalParameter):
        verify(public, S.RSA_PKCS1_SHA256, b"data", signature, rsa_pss_key=True)
    with pytest.raises(LocalProtocolError):
        sign(rsa_key, S.RSA_PSS_PSS_SHA256, b"data", rsa_pss_key=False)
    assert scheme_fits_public_key(S.RSA_PSS_RSAE_SHA256, public)
    assert scheme_fits_public_key(S.RSA_PSS_PSS_SHA256, public)
    assert not scheme_fits_public_key(S.RSA_PSS_PSS_SHA256, public, rsa_pss_key=False)
    assert not scheme_fits_public_key(S.ECDSA_SECP256R1_SHA256, public)
    assert not scheme_fits_public_key(SignatureScheme(0x0A0A), public)


def test_scheme_fits_public_key_checks_the_ecdsa_curve() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert scheme_fits_public_key(S.ECDSA_SECP384R1_SHA384, p384)
    assert not scheme_fits_public_key(S.ECDSA_SECP256R1_SHA256, p384)
    assert scheme_fits_public_key(S.ECDSA_SHA1, p384)  # certificate-only: no curve binding
    assert scheme_fits_public_key(S.ED448, ed448.Ed448PrivateKey.generate().public_key())
    assert not scheme_fits_public_key(S.ED448, ed25519.Ed25519PrivateKey.generate().public_key())


def test_malformed_signatures_are_decrypt_errors() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    for public, scheme in ((p256.public_key(), S.ECDSA_SECP256R1_SHA256), (ed.public_key(), S.ED25519)):
        for junk in (b"", b"\x30\x00", b"\xff" * 200):
            with pytest.raises(DecryptError):
                verify(public, scheme, b"data", junk)


def test_key_signer_refuses_other_schemes_and_unusable_keys(rsa_key: rsa.RSAPrivateKey) -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    assert signer.schemes == (S.ECDSA_SECP256R1_SHA256,)
    with pytest.raises(LocalProtocolError):
        signer.sign(S.ECDSA_SECP384R1_SHA384, b"data")
    with pytest.raises(LocalProtocolError):
        KeySigner(dsa.generate_private_key(2048))
    with pytest.raises(LocalProtocolError):
        sign(rsa_key, S.ED25519, b"data")
    assert "RSA" in repr(KeySigner(rsa_key))


@pytest.mark.skipif(
    shutil.which("openssl") is None, reason="needs the openssl command to make an RSASSA-PSS key"
)
def test_rsassa_pss_certificate_key_signs_and_verifies_rsa_pss_pss(tmp_path: Path) -> None:
    key_pem, cert_pem = tmp_path / "key.pem", tmp_path / "cert.pem"
    run = [
        "openssl",
        "genpkey",
        "-algorithm",
        "RSA-PSS",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        str(key_pem),
    ]
    subprocess.run(run, check=True, capture_output=True)
    run = ["openssl", "req", "-new", "-x509", "-key", str(key_pem), "-subj", "/CN=pss", "-days", "1"]
    subprocess.run([*run, "-out", str(cert_pem)], check=True, capture_output=True)
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    key = serialization.load_pem_private_key(key_pem.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)  # cryptography forgets it is an RSASSA-PSS key
    assert is_rsa_pss_certificate(cert)
    signer = KeySigner(key, rsa_pss_key=True)
    assert signer.schemes[0] == S.RSA_PSS_PSS_SHA256
    data = certificate_verify_input(True, bytes(32))
    verify(
        cert.public_key(),
        S.RSA_PSS_PSS_SHA256,
        data,
        signer.sign(S.RSA_PSS_PSS_SHA256, data),
        rsa_pss_key=True,
    )
    assert not scheme_fits_public_key(S.RSA_PSS_RSAE_SHA256, cert.public_key(), rsa_pss_key=True)


def test_rfc8448_certificates_are_not_rsassa_pss_keys() -> None:
    cert = x509.load_der_x509_certificate(H(section("3")["inputs"]["server_certificate_der"]))
    assert not is_rsa_pss_certificate(cert)
