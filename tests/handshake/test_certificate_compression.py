"""Certificate compression (RFC 8879) between tlslens ends, in memory: each algorithm both ways (the
server's chain, and a client certificate the server asked for), byte-exact, compressed once per config;
what is not compressed (no algorithm in common, TLS 1.2); the trace's sizes; the codec's own limits.

brotli and zstd need their packages (``tlslens[compression]``): those cases skip cleanly without them.
"""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.handshake.faults.scenes import requiring_client_certificate, with_client_certificate
from tests.handshake.helpers import ConnectionPair, client_config, of_type, pki, server_config
from tlslens import compression
from tlslens.compression import CompressionCache, DecompressionFailed, decompress
from tlslens.events import DecisionMade, HandshakeCompleted, MessageReceived, MessageSent
from tlslens.wire.enums import CertificateCompressionAlgorithm, ProtocolVersion
from tlslens.wire.extensions import CompressCertificate
from tlslens.wire.messages import Certificate, CertificateRequest, ClientHello, CompressedCertificate

A = CertificateCompressionAlgorithm


def needs(algorithm: A) -> pytest.MarkDecorator:
    package = compression.missing_package(algorithm)
    return pytest.mark.skipif(
        package is not None, reason=f"{package} is not installed (tlslens[compression])"
    )


ALGORITHMS = [pytest.param(a, id=a.name.lower(), marks=needs(a)) for a in (A.ZLIB, A.BROTLI, A.ZSTD)]


def traced_pair(client_kwargs: dict, server_kwargs: dict) -> ConnectionPair:
    from tlslens.connection import ClientConnection, ServerConnection

    client = ClientConnection(client_config(**client_kwargs), "localhost", trace=True)
    server = ServerConnection(server_config(**server_kwargs), trace=True)
    return ConnectionPair(client=client, server=server).handshake()


def received(events: list, cls: type) -> list:
    return [e.message for e in of_type(events, MessageReceived) if isinstance(e.message, cls)]


def sent(events: list, cls: type) -> list:
    return [e.message for e in of_type(events, MessageSent) if isinstance(e.message, cls)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_server_certificate_round_trips_compressed(algorithm: A) -> None:
    pair = traced_pair({"certificate_compression": (algorithm,)}, {"certificate_compression": (algorithm,)})
    [compressed] = received(pair.client_events, CompressedCertificate)
    assert compressed.algorithm == algorithm
    # Byte for byte the Certificate the server would have sent, and the chain the client verified.
    expected = Certificate(b"", server_config().certified_keys[0].entries)
    [inflated] = received(pair.client_events, Certificate)
    assert inflated == expected
    body = decompress(algorithm, compressed.compressed_certificate_message, compressed.uncompressed_length)
    from tlslens.wire.reader import Writer

    w = Writer()
    expected.encode_body(w)
    assert body == w.getvalue()
    assert len(compressed.compressed_certificate_message) < compressed.uncompressed_length
    [done] = of_type(pair.client_events, HandshakeCompleted)
    assert done.peer_certificates == tuple(pki().chain)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_client_certificate_round_trips_compressed(algorithm: A) -> None:
    pair = traced_pair(
        {"certificate_compression": (algorithm,), **with_client_certificate()},
        {"certificate_compression": (algorithm,), **requiring_client_certificate()},
    )
    [request] = sent(pair.server_events, CertificateRequest)
    assert request.extension(CompressCertificate) == CompressCertificate((algorithm,))
    [compressed] = received(pair.server_events, CompressedCertificate)
    assert compressed.algorithm == algorithm
    [done] = of_type(pair.server_events, HandshakeCompleted)
    assert done.peer_certificates == tuple(with_client_certificate()["certificate_chain"])


def test_server_compresses_with_its_own_first_choice_among_the_offered() -> None:
    pair = traced_pair(
        {"certificate_compression": (A.ZLIB, A.BROTLI)} if compression.available(A.BROTLI) else {},
        {"certificate_compression": (A.BROTLI, A.ZLIB)} if compression.available(A.BROTLI) else {},
    )
    if not compression.available(A.BROTLI):
        pytest.skip("brotli is not installed")
    [compressed] = received(pair.client_events, CompressedCertificate)
    assert compressed.algorithm == A.BROTLI


def test_no_algorithm_in_common_sends_a_plain_certificate() -> None:
    pair = traced_pair({"certificate_compression": (A.ZLIB,)}, {"certificate_compression": ()})
    assert not received(pair.client_events, CompressedCertificate)
    assert received(pair.client_events, Certificate)


def test_a_client_without_compression_does_not_offer_it() -> None:
    pair = traced_pair({"certificate_compression": ()}, {"certificate_compression": (A.ZLIB,)})
    [hello] = received(pair.server_events, ClientHello)
    assert hello.extension(CompressCertificate) is None
    assert not received(pair.client_events, CompressedCertificate)


def test_tls12_never_compresses() -> None:
    pair = traced_pair(
        {"certificate_compression": (A.ZLIB,), "versions": ("TLSv1.2",)},
        {"certificate_compression": (A.ZLIB,)},
    )
    [done] = of_type(pair.client_events, HandshakeCompleted)
    assert done.version == ProtocolVersion.TLS1_2
    [hello] = received(pair.server_events, ClientHello)
    assert hello.extension(CompressCertificate) is None  # RFC 8879 §3: TLS 1.3 only
    assert not received(pair.client_events, CompressedCertificate)


def test_the_trace_shows_both_sizes() -> None:
    pair = traced_pair({"certificate_compression": (A.ZLIB,)}, {"certificate_compression": (A.ZLIB,)})
    [compressed] = received(pair.client_events, CompressedCertificate)
    n, length = len(compressed.compressed_certificate_message), compressed.uncompressed_length
    client = [
        e.text for e in of_type(pair.client_events, DecisionMade) if e.topic == "certificate_compression"
    ]
    server = [
        e.text for e in of_type(pair.server_events, DecisionMade) if e.topic == "certificate_compression"
    ]
    assert client == [f"CompressedCertificate (zlib) inflated: {n} → {length} bytes"]
    assert server[0].startswith(f"Certificate compressed with zlib: {length} → {n} bytes")


def test_a_config_compresses_its_chain_once() -> None:
    calls: list[A] = []

    def counting(algorithm: A, data: bytes) -> bytes:
        calls.append(algorithm)
        return compression.compress(algorithm, data)

    config = server_config(certificate_compression=(A.ZLIB,))
    config.certified_keys[0].compressed.compress = counting
    for _ in range(3):
        ConnectionPair(client_config(certificate_compression=(A.ZLIB,)), config).handshake()
    assert calls == [A.ZLIB]


# --- the codec's limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_decompress_refuses_every_length_but_the_announced_one(algorithm: A) -> None:
    data = bytes(range(256)) * 40
    packed = compression.compress(algorithm, data)
    assert decompress(algorithm, packed, len(data)) == data
    for wrong in (len(data) - 1, len(data) + 1, 1):
        with pytest.raises(DecompressionFailed):
            decompress(algorithm, packed, wrong)
    for broken in (packed[:-4], packed + b"\x00\x01\x02", packed[: len(packed) // 2]):
        with pytest.raises(DecompressionFailed):
            decompress(algorithm, broken, len(data))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_bomb_that_lies_about_its_length_stops_at_that_length(algorithm: A) -> None:
    bomb = compression.compress(algorithm, bytes(64 * 2**20))  # 64 MiB of zeros in a few KiB at most
    assert len(bomb) < 100_000
    with pytest.raises(DecompressionFailed, match="more than the 1000 bytes"):
        decompress(algorithm, bomb, 1000)


def test_cache_is_bounded() -> None:
    cache = CompressionCache(size=2)
    for i in range(5):
        assert zlib.decompress(cache.get(A.ZLIB, bytes([i]) * 100)) == bytes([i]) * 100
    assert len(cache) == 2


def test_config_names_the_package_an_algorithm_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    from tlslens.errors import ConfigurationError

    monkeypatch.setattr(compression, "_module", lambda a: None if a == A.BROTLI else zlib)
    with pytest.raises(ConfigurationError, match=r"needs the brotli package .*tlslens\[compression\]"):
        client_config(certificate_compression=("brotli",))
    with pytest.raises(ConfigurationError, match="unknown certificate compression algorithm 'lzma'"):
        client_config(certificate_compression=("lzma",))


# --- whatever a peer puts in a CompressedCertificate, only a TLS alert comes out ---------------------------

_FIELDS = st.tuples(
    st.sampled_from([1, 2, 3, 0x1234]),
    st.integers(0, 2**24 - 1) | st.integers(0, 4096),
    st.binary(min_size=1, max_size=600),
    st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=_FIELDS)
def test_any_compressed_certificate_ends_in_an_alert_or_a_verified_chain(fields: tuple) -> None:
    from tests.handshake.helpers import TamperingServer, replacing
    from tlslens.connection import ClientConnection
    from tlslens.errors import RemoteProtocolError

    code, length, data, compress_it = fields
    algorithm = A(code)
    if compress_it and compression.available(algorithm):  # well-formed bytes, perhaps the wrong length
        data = compression.compress(algorithm, data)
    every = tuple(a for a in (A.ZLIB, A.BROTLI, A.ZSTD) if compression.available(a))
    tamper = replacing(CompressedCertificate, lambda m: CompressedCertificate(algorithm, length, data))
    server = TamperingServer(server_config(certificate_compression=every), tamper=tamper)
    client = ClientConnection(client_config(certificate_compression=every), "localhost")
    try:
        ConnectionPair(client=client, server=server).pump()
    except RemoteProtocolError:
        return
    raise AssertionError("a forged CompressedCertificate was accepted")
