from __future__ import annotations

import time

import pytest

from tests.crypto.rfc8448_replay import H, section, transcript_messages
from tlslens.crypto.groups import SUPPORTED_GROUPS, server_key_exchange
from tlslens.crypto.provider import CryptoProvider, DefaultProvider, DeterministicProvider
from tlslens.errors import LocalProtocolError
from tlslens.wire.enums import NamedGroup


def test_deterministic_provider_reproduces_the_rfc8448_section_3_client() -> None:
    inputs = section("3")["inputs"]
    client_random = H(inputs["client_hello_random"])
    provider: CryptoProvider = DeterministicProvider(
        randoms=[client_random],
        private_keys={NamedGroup.X25519: [H(inputs["client_x25519_ephemeral"]["private_key"])]},
    )
    random = provider.random(32)
    share = provider.generate_key_share(NamedGroup.X25519)
    assert random.hex() == inputs["client_hello_random"]
    assert share.public_bytes.hex() == inputs["client_x25519_ephemeral"]["public_key"]
    client_hello = H(transcript_messages(section("3"))[0]["hex"])
    assert client_hello[6:38] == random  # type(1) length(3) legacy_version(2) random(32)
    assert share.public_bytes in client_hello


def test_deterministic_provider_reproduces_the_rfc8448_section_3_server() -> None:
    inputs = section("3")["inputs"]
    provider = DeterministicProvider(
        randoms=[H(inputs["server_hello_random"])],
        private_keys={NamedGroup.X25519: [H(inputs["server_x25519_ephemeral"]["private_key"])]},
    )
    assert provider.random(32).hex() == inputs["server_hello_random"]
    server_share, secret = server_key_exchange(
        NamedGroup.X25519, H(inputs["client_x25519_ephemeral"]["public_key"]), provider
    )
    assert server_share.hex() == inputs["server_x25519_ephemeral"]["public_key"]
    assert secret.hex() == section("3")["secrets"]["ecdhe_shared_secret"]


def test_deterministic_provider_hands_values_out_in_order_and_then_refuses() -> None:
    provider = DeterministicProvider(randoms=[b"a" * 32, b"b" * 16])
    assert provider.random(32) == b"a" * 32
    assert provider.random(16) == b"b" * 16
    with pytest.raises(LocalProtocolError):
        provider.random(32)
    with pytest.raises(LocalProtocolError):
        provider.generate_key_share(NamedGroup.X25519)


def test_deterministic_provider_catches_a_random_value_of_the_wrong_length() -> None:
    with pytest.raises(LocalProtocolError):
        DeterministicProvider(randoms=[b"short"]).random(32)


@pytest.mark.parametrize("group", SUPPORTED_GROUPS, ids=lambda g: g.iana_name)
def test_seeded_provider_is_reproducible_for_every_group(group: NamedGroup) -> None:
    a, b = DeterministicProvider(seed=b"one"), DeterministicProvider(seed=b"one")
    assert a.random(32) == b.random(32)
    share_a, share_b = a.generate_key_share(group), b.generate_key_share(group)
    assert share_a.public_bytes == share_b.public_bytes
    assert a.generate_key_share(group).public_bytes != share_a.public_bytes  # the stream moves on
    assert DeterministicProvider(seed=b"two").generate_key_share(group).public_bytes != share_a.public_bytes


def test_seed_takes_over_once_given_values_run_out() -> None:
    provider = DeterministicProvider(randoms=[b"x" * 4], seed=b"s")
    assert provider.random(4) == b"x" * 4
    assert provider.random(4) == DeterministicProvider(seed=b"s").random(4)


def test_clock_is_fixed_or_a_callable() -> None:
    assert DeterministicProvider(clock=1_700_000_000.5).now() == 1_700_000_000.5
    ticks = iter([10.0, 11.0])
    provider = DeterministicProvider(clock=lambda: next(ticks))
    assert (provider.now(), provider.now()) == (10.0, 11.0)


def test_default_provider_uses_the_system_sources() -> None:
    provider: CryptoProvider = DefaultProvider()
    assert len(provider.random(32)) == 32
    assert provider.random(32) != provider.random(32)
    assert abs(provider.now() - time.time()) < 5
    share = provider.generate_key_share(NamedGroup.X25519)
    server_share, secret = server_key_exchange(NamedGroup.X25519, share.public_bytes, provider)
    assert share.exchange(server_share) == secret


def test_provider_repr_shows_no_key_material() -> None:
    key = bytes(range(32))
    provider = DeterministicProvider(private_keys={NamedGroup.X25519: [key]})
    assert key.hex() not in repr(provider)
