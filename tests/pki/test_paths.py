"""The path search's building blocks: signature checks by hand, self-signed detection, issuer choice."""

from __future__ import annotations

import pytest

from tests.pki.factory import NOW, make_intermediate, make_leaf, make_root, tamper_signature
from tlslens.pki import TrustStore
from tlslens.pki.paths import build_path, is_self_signed, signature_verifies


@pytest.mark.parametrize(
    ("issuer_key", "options"),
    [
        ("ec", {}),
        ("p384", {}),
        ("rsa2048", {}),
        ("rsa2048", {"pss": True}),
        ("ed25519", {}),
        ("ec", {"hash_alg": "sha1"}),
        ("rsa2048", {"hash_alg": "sha1"}),
        ("rsa2048", {"hash_alg": "md5"}),
    ],
    ids=["ecdsa-p256", "ecdsa-p384", "rsa-pkcs1", "rsa-pss", "ed25519", "ecdsa-sha1", "rsa-sha1", "rsa-md5"],
)
def test_signature_verifies_every_algorithm_even_legacy_ones(
    issuer_key: str, options: dict[str, object]
) -> None:
    root = make_root(f"Root {issuer_key}", key_type=issuer_key)
    leaf = make_leaf(root, **options)
    assert signature_verifies(leaf.cert, root.cert) is True
    assert (
        signature_verifies(leaf.cert, make_root("Other", key_type=issuer_key, key_slot="other").cert) is False
    )
    assert signature_verifies(tamper_signature(leaf.cert), root.cert) is False


def test_signature_with_a_key_of_another_type_does_not_verify() -> None:
    ec_root, rsa_root = make_root("EC"), make_root("RSA", key_type="rsa2048")
    assert signature_verifies(make_leaf(ec_root).cert, rsa_root.cert) is False
    assert signature_verifies(make_leaf(rsa_root).cert, ec_root.cert) is False


def test_is_self_signed() -> None:
    root = make_root()
    assert is_self_signed(root.cert)
    assert not is_self_signed(make_intermediate(root).cert)
    assert not is_self_signed(tamper_signature(root.cert))


def test_build_path_ends_and_bad_links() -> None:
    root = make_root()
    inter = make_intermediate(root)
    leaf = make_leaf(inter)
    store = TrustStore([root.cert])
    full = build_path(leaf.cert, [leaf.cert, inter.cert], store, NOW)
    assert full.path == (leaf.cert, inter.cert, root.cert) and full.end == "trusted" and not full.bad_links
    missing = build_path(leaf.cert, [leaf.cert], store, NOW)
    assert missing.path == (leaf.cert,) and missing.end == "missing-issuer"
    private = make_root("Private")
    alone = build_path(private.cert, [private.cert], store, NOW)
    assert alone.end == "self-signed" and alone.path == (private.cert,)
    broken = build_path(tamper_signature(leaf.cert), [inter.cert], store, NOW)
    assert broken.end == "trusted" and broken.bad_links == (0,)


def test_build_path_prefers_the_store_copy_of_a_served_root() -> None:
    root = make_root()
    reissued = make_root(root.cert.subject.rfc4514_string(), key=root.key, subject=root.cert.subject)
    inter = make_intermediate(root)
    leaf = make_leaf(inter)
    result = build_path(leaf.cert, [leaf.cert, inter.cert, reissued.cert], TrustStore([root.cert]), NOW)
    assert result.end == "trusted" and result.path[-1] == root.cert
