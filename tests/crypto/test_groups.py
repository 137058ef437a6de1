from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tlslens.crypto.groups import (
    SHARE_LENGTHS,
    SUPPORTED_GROUPS,
    KeyShare,
    generate_key_share,
    key_share_from_private_bytes,
    private_key_length,
    server_key_exchange,
)
from tlslens.crypto.provider import DefaultProvider, DeterministicProvider
from tlslens.errors import IllegalParameter, LocalProtocolError
from tlslens.wire.enums import NamedGroup

G = NamedGroup
EC_GROUPS = [G.SECP256R1, G.SECP384R1, G.SECP521R1]
CURVES = {G.SECP256R1: ec.SECP256R1(), G.SECP384R1: ec.SECP384R1(), G.SECP521R1: ec.SECP521R1()}
by_name = pytest.mark.parametrize("group", SUPPORTED_GROUPS, ids=lambda g: g.iana_name)


def test_supported_groups_keep_their_preference_order() -> None:
    assert SUPPORTED_GROUPS == (G.X25519MLKEM768, G.X25519, G.SECP256R1, G.SECP384R1, G.SECP521R1, G.X448)
    assert set(SHARE_LENGTHS) == set(SUPPORTED_GROUPS)


@by_name
def test_client_and_server_agree_on_the_shared_secret(group: NamedGroup) -> None:
    provider = DefaultProvider()
    client = provider.generate_key_share(group)
    assert isinstance(client, KeyShare)
    assert client.group == group
    assert len(client.public_bytes) == SHARE_LENGTHS[group][0]
    server_share, secret = server_key_exchange(group, client.public_bytes, provider)
    assert len(server_share) == SHARE_LENGTHS[group][1]
    assert client.exchange(server_share) == secret
    assert generate_key_share(group).public_bytes != client.public_bytes  # fresh keys every time


@by_name
def test_wrong_length_shares_are_illegal_parameters(group: NamedGroup) -> None:
    client = generate_key_share(group)
    server_share, _ = server_key_exchange(group, client.public_bytes, DefaultProvider())
    for bad in (b"", client.public_bytes[:-1], client.public_bytes + b"\x00"):
        with pytest.raises(IllegalParameter):
            server_key_exchange(group, bad, DefaultProvider())
    for bad in (b"", server_share[:-1], server_share + b"\x00"):
        with pytest.raises(IllegalParameter):
            client.exchange(bad)


@by_name
def test_key_share_from_private_bytes_is_deterministic(group: NamedGroup) -> None:
    private = b"\x01" + bytes([7]) * (private_key_length(group) - 1)  # below every EC group order
    a = key_share_from_private_bytes(group, private)
    b = key_share_from_private_bytes(group, private)
    assert a.public_bytes == b.public_bytes
    with pytest.raises(LocalProtocolError):
        key_share_from_private_bytes(group, private + b"\x00")


def test_key_share_repr_names_the_group_and_hides_the_key() -> None:
    share = key_share_from_private_bytes(G.X25519, bytes([9]) * 32)
    assert repr(share) == "<_X25519Share x25519>"


# --- peer point validation (RFC 8446 §4.2.8.2, §7.4) ---------------------------------------------


@pytest.mark.parametrize("group", EC_GROUPS, ids=lambda g: g.iana_name)
def test_compressed_off_curve_and_identity_points_are_refused(group: NamedGroup) -> None:
    peer = ec.generate_private_key(CURVES[group]).public_key()
    uncompressed = peer.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    compressed = peer.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    off_curve = uncompressed[:-1] + bytes([uncompressed[-1] ^ 1])
    compressed_tag_full_length = bytes([2 + (uncompressed[-1] & 1)]) + uncompressed[1:]
    coordinate_len = (len(uncompressed) - 1) // 2
    beyond_field = b"\x04" + b"\xff" * (2 * coordinate_len)
    bad_points = {
        "compressed": compressed,
        "compressed tag, full length": compressed_tag_full_length,
        "hybrid tag": b"\x06" + uncompressed[1:],
        "off the curve": off_curve,
        "identity (infinity)": b"\x00",
        "all-zero coordinates": b"\x04" + bytes(2 * coordinate_len),
        "coordinates beyond the field": beyond_field,
    }
    client = generate_key_share(group)
    for what, point in bad_points.items():
        with pytest.raises(IllegalParameter):
            client.exchange(point)
        with pytest.raises(IllegalParameter):
            server_key_exchange(group, point, DefaultProvider())
        assert what  # the dict key documents which case failed
    assert len(client.exchange(uncompressed)) == coordinate_len  # the x coordinate (RFC 8446 §7.4.2)


# Small-order points of Curve25519 (RFC 7748 §6.1 and the well-known list); X25519 with them is zero.
X25519_LOW_ORDER = [
    bytes(32),
    bytes([1]) + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


@pytest.mark.parametrize("point", X25519_LOW_ORDER, ids=["zero", "one", "order-8", "p-1"])
def test_x25519_all_zero_shared_secret_is_refused(point: bytes) -> None:
    with pytest.raises(IllegalParameter):
        generate_key_share(G.X25519).exchange(point)
    with pytest.raises(IllegalParameter):
        server_key_exchange(G.X25519, point, DefaultProvider())


def test_x448_all_zero_shared_secret_is_refused() -> None:
    for point in (bytes(56), bytes([1]) + bytes(55)):
        with pytest.raises(IllegalParameter):
            generate_key_share(G.X448).exchange(point)
        with pytest.raises(IllegalParameter):
            server_key_exchange(G.X448, point, DefaultProvider())


def test_unsupported_groups_are_caller_errors() -> None:
    with pytest.raises(LocalProtocolError):
        generate_key_share(G.FFDHE2048)
    with pytest.raises(LocalProtocolError):
        server_key_exchange(G.X25519KYBER768DRAFT00, bytes(1216), DefaultProvider())
    with pytest.raises(LocalProtocolError):
        private_key_length(NamedGroup(0x0A0A))


def test_ec_private_scalar_out_of_range_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        key_share_from_private_bytes(G.SECP256R1, bytes(32))
    with pytest.raises(LocalProtocolError):
        key_share_from_private_bytes(G.SECP256R1, b"\xff" * 32)


def test_server_refuses_a_bad_point_before_using_a_key() -> None:
    provider = DeterministicProvider()  # no keys: generating one would raise LocalProtocolError
    with pytest.raises(IllegalParameter):
        server_key_exchange(G.SECP256R1, b"\x04" + bytes(64), provider)
    with pytest.raises(IllegalParameter):
        server_key_exchange(G.X25519MLKEM768, b"\xff" * 1216, provider)


# --- X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem) -------------------------------------------------


def test_x25519mlkem768_layout_is_mlkem_first_then_x25519() -> None:
    seed, client_x25519 = bytes(range(64)), bytes(range(100, 132))
    server_x25519 = bytes(range(200, 232))
    client = key_share_from_private_bytes(G.X25519MLKEM768, seed + client_x25519)
    kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
    x_client = x25519.X25519PrivateKey.from_private_bytes(client_x25519)
    assert len(client.public_bytes) == 1184 + 32
    assert client.public_bytes[:1184] == kem.public_key().public_bytes_raw()
    assert client.public_bytes[1184:] == x_client.public_key().public_bytes_raw()

    server = DeterministicProvider(private_keys={G.X25519: [server_x25519]})
    server_share, secret = server_key_exchange(G.X25519MLKEM768, client.public_bytes, server)
    x_server = x25519.X25519PrivateKey.from_private_bytes(server_x25519)
    assert len(server_share) == 1088 + 32 and len(secret) == 64
    assert server_share[1088:] == x_server.public_key().public_bytes_raw()
    assert secret[:32] == kem.decapsulate(server_share[:1088])
    assert secret[32:] == x_server.exchange(x_client.public_key())
    assert client.exchange(server_share) == secret


def test_x25519mlkem768_refuses_invalid_shares() -> None:
    client = generate_key_share(G.X25519MLKEM768)
    with pytest.raises(IllegalParameter):  # encapsulation key fails the FIPS 203 modulus check
        server_key_exchange(G.X25519MLKEM768, b"\xff" * 1184 + client.public_bytes[1184:], DefaultProvider())
    with pytest.raises(IllegalParameter):  # the X25519 half is checked too
        server_key_exchange(G.X25519MLKEM768, client.public_bytes[:1184] + bytes(32), DefaultProvider())
    server_share, _ = server_key_exchange(G.X25519MLKEM768, client.public_bytes, DefaultProvider())
    with pytest.raises(IllegalParameter):
        client.exchange(server_share[:1088] + bytes(32))
    with pytest.raises(IllegalParameter):
        client.exchange(client.public_bytes)  # a client-sized share is not a server share


def test_x25519mlkem768_tampered_ciphertext_gives_a_different_secret() -> None:
    client = generate_key_share(G.X25519MLKEM768)
    server_share, secret = server_key_exchange(G.X25519MLKEM768, client.public_bytes, DefaultProvider())
    tampered = bytes([server_share[0] ^ 1]) + server_share[1:]
    assert client.exchange(tampered) != secret  # ML-KEM implicit rejection: no error, no agreement
