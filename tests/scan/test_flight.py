"""The probe's two pure halves: the ClientHellos it builds, and the reader of the server's answer."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlslens.record.deframer import encode_plaintext
from tlslens.scan.flight import MAX_FLIGHT, FlightReader, ServerAnswer
from tlslens.scan.hellos import (
    SSL3,
    TLS10,
    TLS12,
    TLS13,
    HelloSpec,
    client_hello,
    encode_hello,
    encode_sslv2_hello,
)
from tlslens.wire.enums import (
    CipherSuite,
    CompressionMethod,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
)
from tlslens.wire.extensions import (
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    RenegotiationInfo,
    ServerName,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from tlslens.wire.hello import HRR_RANDOM, ClientHello, ServerHello
from tlslens.wire.messages import decode_handshake, encode_handshake

SUITE = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256


def server_hello(version: int = 0x0303, *, tls13: bool = False, hrr: bool = False, **kw: object) -> bytes:
    exts: list[object] = [RenegotiationInfo(b"")]
    if tls13 or hrr:
        exts = [SupportedVersionsServerHello(ProtocolVersion.TLS1_3)]
    if hrr:
        exts.append(KeyShareHelloRetryRequest(NamedGroup.SECP384R1))
    sh = ServerHello(
        ProtocolVersion(version),
        HRR_RANDOM if hrr else os.urandom(32),
        b"",
        CipherSuite.TLS_AES_128_GCM_SHA256 if tls13 or hrr else SUITE,
        CompressionMethod(kw.get("compression", 0)),  # type: ignore[arg-type]
        tuple(exts),  # type: ignore[arg-type]
    )
    return encode_handshake(sh)


def message(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def tls12_flight() -> bytes:
    hs = server_hello() + message(11, b"\x00\x00\x03" + b"\x00\x00\x00") + message(12, b"\x03\x00\x17\x00")
    return encode_plaintext(22, hs + message(14, b""))


def read(data: bytes, chunks: list[int] | None = None) -> ServerAnswer:
    reader = FlightReader()
    pos = 0
    for size in chunks or []:
        if reader.feed(data[pos : pos + size]):
            break
        pos += size
    else:
        if pos < len(data):
            reader.feed(data[pos:])
    answer = reader.answer
    return answer if answer is not None else reader.eof()


def test_tls12_flight_ends_at_server_hello_done_with_the_messages_kept_raw() -> None:
    answer = read(tls12_flight())
    assert answer.kind == "hello"
    assert answer.version == ProtocolVersion.TLS1_2
    assert answer.cipher_suite == SUITE
    assert [t for t, _ in answer.messages] == [
        HandshakeType.CERTIFICATE,
        HandshakeType.SERVER_KEY_EXCHANGE,
        HandshakeType.SERVER_HELLO_DONE,
    ]
    assert answer.message(HandshakeType.SERVER_KEY_EXCHANGE) == message(12, b"\x03\x00\x17\x00")


@given(st.lists(st.integers(1, 40), max_size=30))
def test_any_chunking_gives_the_same_answer(chunks: list[int]) -> None:
    data = tls12_flight()
    whole = read(data)
    split = read(data, chunks)
    assert (split.kind, split.cipher_suite, split.messages) == (
        whole.kind,
        whole.cipher_suite,
        whole.messages,
    )


def test_tls13_server_hello_is_enough() -> None:
    answer = read(encode_plaintext(22, server_hello(tls13=True)) + b"\x14\x03\x03\x00\x01\x01")
    assert (answer.kind, answer.version) == ("hello", ProtocolVersion.TLS1_3)


def test_hello_retry_request_is_its_own_kind() -> None:
    answer = read(encode_plaintext(22, server_hello(hrr=True)))
    assert answer.kind == "hello_retry"
    assert answer.server_hello is not None and answer.server_hello.is_hello_retry_request


@pytest.mark.parametrize(
    ("description", "name"),
    [(40, "HANDSHAKE_FAILURE"), (70, "PROTOCOL_VERSION"), (86, "INAPPROPRIATE_FALLBACK")],
)
def test_fatal_alert_before_the_hello(description: int, name: str) -> None:
    answer = read(encode_plaintext(21, bytes([2, description])))
    assert answer.kind == "alert"
    assert answer.alert is not None and answer.alert.name == name
    assert answer.describe() == f"alert {name.lower()}"


def test_warning_alert_does_not_end_the_answer() -> None:
    data = encode_plaintext(21, bytes([1, 112])) + tls12_flight()  # unrecognized_name as a warning
    assert read(data).kind == "hello"


def test_eof_before_anything_is_closed() -> None:
    assert read(b"").kind == "closed"


def test_http_answer_is_not_tls() -> None:
    answer = read(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert answer.kind == "not_tls"
    assert "does not speak TLS" in (answer.error or "")


def test_message_before_server_hello_is_malformed() -> None:
    answer = read(encode_plaintext(22, message(11, b"\x00\x00\x00")))
    assert answer.kind == "malformed"


def test_oversized_flight_is_cut_off() -> None:
    reader = FlightReader()
    reader.feed(encode_plaintext(22, server_hello()))
    done = False
    chunk = encode_plaintext(22, b"\x0b\xff\xff\xff")  # a Certificate that claims 16 MiB
    done = reader.feed(chunk)
    assert done and reader.answer is not None
    assert reader.answer.kind == "hello" and "after the ServerHello" in (reader.answer.error or "")
    assert MAX_FLIGHT < 0xFFFFFF


def test_sslv2_server_hello_lists_cipher_kinds() -> None:
    specs = bytes.fromhex("0100800700c0")
    body = (
        b"\x04\x00\x01\x00\x02"
        + (0).to_bytes(2, "big")
        + len(specs).to_bytes(2, "big")
        + (16).to_bytes(2, "big")
    )
    data = (0x8000 | (len(body) + len(specs) + 16)).to_bytes(2, "big") + body + specs + os.urandom(16)
    answer = read(data)
    assert answer.kind == "sslv2"
    assert answer.sslv2_cipher_kinds == (0x010080, 0x0700C0)


def test_sslv2_client_hello_is_well_formed() -> None:
    hello = encode_sslv2_hello()
    length = int.from_bytes(hello[:2], "big") & 0x7FFF
    assert hello[0] & 0x80 and len(hello) == 2 + length
    assert hello[2:5] == b"\x01\x00\x02"  # CLIENT-HELLO, version 2


def decode_hello(data: bytes) -> tuple[int, ClientHello]:
    record_version = int.from_bytes(data[1:3], "big")
    msg = decode_handshake(data[5:])
    assert isinstance(msg, ClientHello)
    return record_version, msg


def test_tls13_hello_offers_versions_and_key_shares() -> None:
    spec = HelloSpec(
        version=TLS13, cipher_suites=(0x1301,), server_name="example.com", versions=(TLS13, TLS12)
    )
    record_version, hello = decode_hello(encode_hello(spec))
    assert record_version == 0x0301
    assert hello.legacy_version == ProtocolVersion.TLS1_2
    sv = hello.extension(SupportedVersionsClientHello)
    assert sv is not None and list(sv.versions) == [TLS13, TLS12]
    ks = hello.extension(KeyShareClientHello)
    assert ks is not None and [e.group for e in ks.client_shares] == [NamedGroup.X25519, NamedGroup.SECP256R1]
    sni = hello.extension(ServerName)
    assert sni is not None and sni.host_names == ("example.com",)


def test_empty_key_share_asks_for_a_hello_retry() -> None:
    hello = client_hello(HelloSpec(version=TLS13, cipher_suites=(0x1301,), key_shares=()))
    ks = hello.extension(KeyShareClientHello)
    assert ks is not None and ks.client_shares == ()


def test_legacy_hello_has_no_tls13_extensions_and_can_offer_compression() -> None:
    spec = HelloSpec(version=TLS10, cipher_suites=(0x002F,), compression=True, fallback_scsv=True)
    _, hello = decode_hello(encode_hello(spec))
    assert hello.legacy_version == ProtocolVersion.TLS1_0
    assert hello.legacy_compression_methods == (CompressionMethod.DEFLATE, CompressionMethod.NULL)
    assert hello.cipher_suites[-1] == CipherSuite.TLS_FALLBACK_SCSV
    types = {e.ext_type for e in hello.extensions or ()}
    assert ExtensionType.SUPPORTED_VERSIONS not in types and ExtensionType.SIGNATURE_ALGORITHMS not in types
    assert ExtensionType.HEARTBEAT in types and ExtensionType.RENEGOTIATION_INFO in types


def test_ssl3_hello_has_no_extensions_and_the_renegotiation_scsv() -> None:
    record_version, hello = decode_hello(
        encode_hello(HelloSpec(version=SSL3, cipher_suites=(0x000A,), extensions=False))
    )
    assert record_version == 0x0300
    assert hello.extensions is None
    assert CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV in hello.cipher_suites
