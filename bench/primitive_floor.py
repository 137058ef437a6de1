"""The primitive floor: the ``cryptography`` calls a full handshake cannot avoid, timed alone, and the row
that sets them against tlslens' full handshake (ratio = floor / tlslens time per handshake)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from common import Env
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from harness import Bench, race
from report import Row, Target

BATCH = 50  # calls per timed batch


def floor_calls(env: Env) -> dict[str, tuple[int, Callable[[], object]]]:
    """The ``cryptography`` calls one full handshake (both ends) cannot avoid: name -> (count, call).

    Key schedule HMACs per end: handshake secret (extract), client and server handshake traffic
    secrets, "derived", master secret (extract), client and server application traffic secrets, key and
    IV for four traffic secrets, two finished keys and two Finished MACs: 19. Early Secret and its
    "derived" secret are constants for a full handshake. Exporter and resumption secrets are left out.
    The chain verifier checks two signatures (intermediate over leaf, root over intermediate); the
    client checks the CertificateVerify: three ECDSA verifications. AEAD: the server's encrypted flight
    (one record: EncryptedExtensions..Finished) and the client's Finished, each sealed and opened, with
    the AEAD object for each handshake key made once per end.
    """
    pki = env.pki
    leaf, intermediate, root = pki.leaf.certificate, pki.intermediate.certificate, pki.root.certificate
    leaf_private = pki.leaf.private_key
    if not isinstance(leaf_private, ec.EllipticCurvePrivateKey):
        raise TypeError("the benchmark PKI's leaf key is not ECDSA")
    ecdsa = ec.ECDSA(hashes.SHA256())
    cv_content = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + os.urandom(32)
    signature = leaf_private.sign(cv_content, ecdsa)
    leaf_key, intermediate_key, root_key = (_ec_public(c.public_key()) for c in (leaf, intermediate, root))
    peer = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    sha256 = hashes.SHA256()
    secret, message = os.urandom(32), os.urandom(48)
    key, nonce, aad = os.urandom(16), os.urandom(12), b"\x17\x03\x03\x04\x00"
    flight, finished = os.urandom(1000), os.urandom(37)
    sealed_flight = AESGCM(key).encrypt(nonce, flight, aad)
    sealed_finished = AESGCM(key).encrypt(nonce, finished, aad)

    def x25519_pair() -> None:  # one end: key pair, public bytes out, peer share in, exchange
        private = x25519.X25519PrivateKey.generate()
        private.public_key().public_bytes_raw()
        private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))

    def hmac_sha256() -> None:
        mac = hmac.HMAC(secret, sha256)
        mac.update(message)
        mac.finalize()

    def aead() -> None:  # both records, sealed by their sender and opened by their receiver
        AESGCM(key).encrypt(nonce, flight, aad)
        AESGCM(key).decrypt(nonce, sealed_flight, aad)
        AESGCM(key).encrypt(nonce, finished, aad)
        AESGCM(key).decrypt(nonce, sealed_finished, aad)

    return {
        "X25519 key pair + exchange": (2, x25519_pair),
        "ECDSA P-256 sign (CertificateVerify)": (1, lambda: leaf_private.sign(cv_content, ecdsa)),
        "ECDSA P-256 verify (CertificateVerify)": (1, lambda: leaf_key.verify(signature, cv_content, ecdsa)),
        "ECDSA P-256 verify (leaf, by intermediate)": (
            1,
            lambda: intermediate_key.verify(leaf.signature, leaf.tbs_certificate_bytes, ecdsa),
        ),
        "ECDSA P-256 verify (intermediate, by root)": (
            1,
            lambda: root_key.verify(intermediate.signature, intermediate.tbs_certificate_bytes, ecdsa),
        ),
        "HMAC-SHA256 (key schedule)": (38, hmac_sha256),
        "AES-128-GCM handshake records": (1, aead),
    }


def _ec_public(key: object) -> ec.EllipticCurvePublicKey:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise TypeError("the benchmark PKI is not ECDSA")
    return key


def measure_floor(env: Env, seconds: float) -> tuple[float, dict[str, float]]:
    """(seconds per handshake's worth of floor calls, the same per call name)."""
    calls = floor_calls(env)
    per_call = race({name: call for name, (_, call) in calls.items()}, BATCH, seconds)
    parts = {name: calls[name][0] * per_call[name] for name in calls}
    return sum(parts.values()), parts


@dataclass(frozen=True)
class Floor:
    """One row: the time per handshake of row ``of`` (measured before it) on both stacks, in us, and as
    its ratio the floor over tlslens' time."""

    key: str
    label: str
    of: str = "full"
    target: Target | None = None

    def measure(self, bench: Bench) -> list[Row]:
        handshake = bench.rows[self.of]
        floor, parts = measure_floor(bench.env, bench.budget.pace("handshake", 1 / 3)[1])
        bench.extra["floor_parts_us"] = {k: v * 1e6 for k, v in parts.items()}
        ours = 1e6 / handshake.tlslens if handshake.tlslens else None
        theirs = 1e6 / handshake.openssl if handshake.openssl else None
        return [
            Row(
                self.key,
                f"{handshake.label} time; ratio = floor {floor * 1e6:.0f} us / tlslens",
                "us",
                ours,
                theirs,
                f"floor {floor * 1e6:.0f} us ({1 / floor:,.0f} hs/s): "
                + ", ".join(f"{k} {v * 1e6:.0f}" for k, v in parts.items()),
                fraction=None if ours is None else floor * 1e6 / ours,
                target=self.target,
            )
        ]
