"""Reading TLS 1.2 flights: certificates, OCSP status and ServerKeyExchange parameters, and the table of
well-known DH primes (checked against OpenSSL's named groups and the RFC 2409/3526 formula)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import warnings

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.pki.factory import make_leaf
from tlslens.scan.flight import ServerAnswer
from tlslens.scan.tls12 import KNOWN_DH_PRIMES, dh_prime_name, read_flight12
from tlslens.wire.enums import (
    CertificateStatusType,
    CipherSuite,
    CompressionMethod,
    NamedGroup,
    ProtocolVersion,
)
from tlslens.wire.hello import ServerHello
from tlslens.wire.messages import encode_handshake
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateStatusMessage,
    DigitallySigned,
    ServerDHParams,
    ServerECDHParams,
    ServerKeyExchange,
)

OPENSSL = shutil.which("openssl")


def _pi_fixed(bits: int) -> int:
    """floor(pi * 2^bits), by Machin's formula in integers."""

    def arctan_inv(x: int, scale: int) -> int:
        total = term = (1 << scale) // x
        n, sign = 1, -1
        while term:
            term //= x * x
            total += sign * (term // (2 * n + 1))
            sign, n = -sign, n + 1
        return total

    guard = 32
    return (16 * arctan_inv(5, bits + guard) - 4 * arctan_inv(239, bits + guard)) >> guard


def modp_prime(n: int, c: int) -> int:
    """RFC 2409 §6 / RFC 3526: p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + c)."""
    return 2**n - 2 ** (n - 64) - 1 + 2**64 * (_pi_fixed(n - 130) + c)


def _digest(p: int) -> str:
    return hashlib.sha256(p.to_bytes((p.bit_length() + 7) // 8, "big")).hexdigest()


@pytest.mark.parametrize(
    ("n", "c", "name"),
    [
        (768, 149686, "Oakley group 1"),
        (1024, 129093, "Oakley group 2"),
        (1536, 741804, "group 5"),
        (2048, 124476, "group 14"),
    ],
)
def test_modp_primes_from_the_rfc_formula(n: int, c: int, name: str) -> None:
    p = modp_prime(n, c)
    assert p.bit_length() == n
    assert name in KNOWN_DH_PRIMES[_digest(p)]
    assert dh_prime_name(b"\x00" + p.to_bytes(n // 8, "big")) == KNOWN_DH_PRIMES[_digest(p)]


OPENSSL_GROUPS = [
    "ffdhe2048",
    "ffdhe3072",
    "ffdhe4096",
    "ffdhe6144",
    "ffdhe8192",
    "modp_1536",
    "modp_2048",
    "modp_3072",
    "modp_4096",
    "modp_6144",
    "modp_8192",
    "dh_1024_160",
    "dh_2048_224",
    "dh_2048_256",
]


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
@pytest.mark.parametrize("group", OPENSSL_GROUPS)
def test_known_primes_match_openssl_named_groups(group: str) -> None:
    assert OPENSSL is not None
    pem = subprocess.run(
        [OPENSSL, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{group}"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # finite-field DH is deprecated in cryptography; we only read p
        from cryptography.hazmat.primitives.serialization import load_pem_parameters

        p = load_pem_parameters(pem).parameter_numbers().p  # type: ignore[union-attr]
    assert _digest(p) in KNOWN_DH_PRIMES


def test_a_random_prime_is_custom() -> None:
    assert dh_prime_name(os.urandom(128)) is None


def flight(suite: int, *messages: object) -> ServerAnswer:
    sh = ServerHello(
        ProtocolVersion.TLS1_2, os.urandom(32), b"", CipherSuite(suite), CompressionMethod.NULL, ()
    )
    raw = [(m.msg_type, encode_handshake(m)) for m in messages]  # type: ignore[attr-defined]
    return ServerAnswer("hello", sh, tuple(raw))


def test_reads_chain_ocsp_and_ecdhe_curve() -> None:
    leaf = make_leaf(None, "localhost")
    der = leaf.cert.public_bytes(Encoding.DER)
    ske = ServerKeyExchange(
        ServerECDHParams(NamedGroup.SECP384R1, b"\x04" + bytes(96)), DigitallySigned(0x0403, b"s")
    )  # type: ignore[arg-type]
    answer = flight(
        0xC02B,
        Certificate12((der,)),
        CertificateStatusMessage(CertificateStatusType.OCSP, b"\x30\x00"),
        ske,
    )
    got = read_flight12(answer)
    assert got.chain == (leaf.cert,) and got.ocsp_stapled
    assert got.curve == NamedGroup.SECP384R1 and got.dh is None and got.errors == ()


def test_reads_dhe_group() -> None:
    p = modp_prime(1024, 129093).to_bytes(128, "big")
    ske = ServerKeyExchange(ServerDHParams(p, b"\x02", b"\x05" * 128), DigitallySigned(0x0401, b"s"))  # type: ignore[arg-type]
    got = read_flight12(flight(0x009E, ske))
    assert got.dh is not None and got.dh.bits == 1024 and got.dh.generator == 2
    assert got.dh.name == "RFC 2409 Oakley group 2 (1024 bits)"


def test_a_broken_certificate_is_an_error_not_an_exception() -> None:
    got = read_flight12(flight(0xC02F, Certificate12((b"\x30\x03\x02\x01\x00",))))
    assert got.chain == () and got.errors and got.errors[0].startswith("CERTIFICATE")
