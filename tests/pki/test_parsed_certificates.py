"""A config parses each certificate a peer presents once (by its exact DER), bounded, and can turn
that off; a connection through it sees the very objects parsed before."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.handshake.helpers import ConnectionPair, client_config, of_type, pki, server_config
from tlslens.events import HandshakeCompleted
from tlslens.parsed_certificates import ParsedCertificates


def ders() -> list[bytes]:
    p = pki()
    return [c.public_bytes(Encoding.DER) for c in (p.leaf.certificate, p.intermediate.certificate)]


def test_the_same_der_gives_the_same_object() -> None:
    cache = ParsedCertificates()
    leaf, intermediate = ders()
    first = cache.load(leaf)
    assert cache.load(bytes(leaf)) is first  # equal bytes, another object: the same certificate
    second = cache.load(intermediate)
    assert second is not first and second == pki().intermediate.certificate
    assert len(cache) == 2


def test_it_is_bounded_least_recently_used_out() -> None:
    cache = ParsedCertificates(size=1)
    leaf, intermediate = ders()
    first = cache.load(leaf)
    cache.load(intermediate)
    assert len(cache) == 1 and cache.load(leaf) is not first  # parsed again
    with pytest.raises(ValueError):
        ParsedCertificates(size=0)


def test_bad_der_is_not_kept() -> None:
    cache = ParsedCertificates()
    with pytest.raises(ValueError):
        cache.load(b"\x30\x03\x02\x01\x00")
    assert len(cache) == 0


@pytest.mark.parametrize("enabled", [True, False])
def test_connections_of_one_config_share_it(enabled: bool) -> None:
    client = client_config() if enabled else dataclasses.replace(client_config(), parsed_certificates=None)
    server = server_config()
    chains = []
    for _ in range(2):
        pair = ConnectionPair(client, server).handshake()
        (done,) = of_type(pair.client_events, HandshakeCompleted)
        chains.append(done.peer_certificates)
    assert chains[0] == chains[1] == tuple(pki().chain)
    assert (chains[0][0] is chains[1][0]) == enabled
