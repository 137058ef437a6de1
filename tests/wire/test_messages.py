"""Handshake message codec: framing, old-version hellos, HelloRetryRequest, value rules, alerts."""

from __future__ import annotations

import pytest

from tlslens.errors import DecodeError, IllegalParameter, UnexpectedMessage
from tlslens.wire.alert import Alert
from tlslens.wire.enums import (
    AlertDescription,
    AlertLevel,
    CipherSuite,
    CompressionMethod,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ExtendedMasterSecret,
    KeyShareHelloRetryRequest,
    RenegotiationInfo,
    ServerName,
    SignatureAlgorithms,
    SignedCertificateTimestampList,
    SupportedVersionsServerHello,
)
from tlslens.wire.messages import (
    HRR_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    KeyUpdate,
    MessageHash,
    NewSessionTicket,
    ServerHello,
    decode_handshake,
    encode_handshake,
)
from tlslens.wire.reader import Reader, Writer


def frame(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def hello_prefix(version: int = 0x0303, session_id: bytes = b"") -> bytes:
    return version.to_bytes(2, "big") + bytes(range(32)) + bytes([len(session_id)]) + session_id


def test_hrr_random_is_sha256_of_hello_retry_request() -> None:
    import hashlib

    assert hashlib.sha256(b"HelloRetryRequest").digest() == HRR_RANDOM


def test_tls12_client_hello_without_extensions_round_trips() -> None:
    body = hello_prefix(0x0301) + bytes.fromhex("0004 c013 002f") + b"\x01\x00"
    raw = frame(1, body)
    ch = decode_handshake(raw)
    assert isinstance(ch, ClientHello)
    assert ch.extensions is None
    assert ch.legacy_version == ProtocolVersion.TLS1_0
    assert ch.cipher_suites == (
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
    )
    assert ch.extension(ServerName) is None
    assert encode_handshake(ch) == raw


def test_empty_extensions_block_is_distinct_from_no_block() -> None:
    body = hello_prefix() + bytes.fromhex("0002 002f 01 00") + b"\x00\x00"
    ch = decode_handshake(frame(1, body))
    assert isinstance(ch, ClientHello) and ch.extensions == ()
    assert encode_handshake(ch) == frame(1, body)


def test_sslv3_server_hello_without_extensions_round_trips() -> None:
    raw = frame(2, hello_prefix(0x0300, b"\x07" * 32) + b"\x00\x0a\x00")
    sh = decode_handshake(raw)
    assert isinstance(sh, ServerHello)
    assert sh.extensions is None and not sh.is_hello_retry_request
    assert sh.cipher_suite == CipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA
    assert encode_handshake(sh) == raw


def test_tls12_server_hello_extensions_decode_in_server_hello_context() -> None:
    sh = ServerHello(
        ProtocolVersion.TLS1_2,
        bytes(32),
        b"",
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CompressionMethod.NULL,
        (RenegotiationInfo(), ExtendedMasterSecret()),
    )
    assert decode_handshake(encode_handshake(sh)) == sh


def test_hello_retry_request_extensions_use_the_hrr_forms() -> None:
    hrr = ServerHello(
        ProtocolVersion.TLS1_2,
        HRR_RANDOM,
        b"",
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CompressionMethod.NULL,
        (SupportedVersionsServerHello(ProtocolVersion.TLS1_3), KeyShareHelloRetryRequest(NamedGroup.X25519)),
    )
    decoded = decode_handshake(encode_handshake(hrr))
    assert isinstance(decoded, ServerHello) and decoded.is_hello_retry_request
    assert decoded == hrr


def test_session_id_longer_than_32_bytes_is_decode_error() -> None:
    with pytest.raises(DecodeError, match="legacy_session_id"):
        decode_handshake(frame(1, hello_prefix(session_id=bytes(33)) + bytes.fromhex("0002 1301 01 00")))


@pytest.mark.parametrize(
    "tail",
    [bytes.fromhex("0000 0100"), bytes.fromhex("0002 1301 00"), bytes.fromhex("0003 130101 0100")],
    ids=["no-suites", "no-compression", "odd-suites"],
)
def test_client_hello_vector_bounds_are_enforced(tail: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_handshake(frame(1, hello_prefix() + tail))


def test_unknown_handshake_type_is_unexpected_message() -> None:
    with pytest.raises(UnexpectedMessage):
        decode_handshake(frame(0x63, b""))
    with pytest.raises(UnexpectedMessage):
        decode_handshake(frame(HandshakeType.SERVER_HELLO_DONE, b""))


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x14", b"\x14\x00\x00", b"\x14\x00\x00\x05abc", b"\x05\x00\x00\x00\x00", b"\x05\x00\x00\x01\x00"],
    ids=["empty", "type-only", "short-length", "short-body", "trailing-after-message", "unconsumed-body"],
)
def test_bad_framing_is_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_handshake(raw)


def test_key_update_refuses_values_other_than_0_and_1() -> None:
    assert decode_handshake(frame(24, b"\x01")) == KeyUpdate(KeyUpdateRequest.UPDATE_REQUESTED)
    with pytest.raises(IllegalParameter):
        decode_handshake(frame(24, b"\x02"))


def test_certificate_request_needs_an_extension() -> None:
    with pytest.raises(DecodeError):
        decode_handshake(frame(13, b"\x00\x00\x00"))
    cr = CertificateRequest(b"\x01", (SignatureAlgorithms((SignatureScheme.ED25519,)),))
    assert decode_handshake(encode_handshake(cr)) == cr


def test_certificate_entry_needs_cert_data() -> None:
    with pytest.raises(DecodeError):
        decode_handshake(frame(11, bytes.fromhex("00 000005 000000 0000")))
    scts = SignedCertificateTimestampList((b"sct",))
    cert = Certificate(b"", (CertificateEntry(b"\x30\x00", (scts,)), CertificateEntry(b"\x30\x01\x00")))
    decoded = decode_handshake(encode_handshake(cert))
    assert decoded == cert
    assert isinstance(decoded, Certificate)
    assert decoded.certificate_list[0].extension(SignedCertificateTimestampList) == scts
    assert decoded.certificate_list[1].extension(SignedCertificateTimestampList) is None
    with pytest.raises(DecodeError, match="sct_list"):
        decode_handshake(frame(11, bytes.fromhex("00 00000d 000002 3000 0006 0012 0002 0000")))


def test_new_session_ticket_needs_a_ticket() -> None:
    with pytest.raises(DecodeError):
        decode_handshake(frame(4, bytes.fromhex("00000001 00000002 00 0000 0000")))
    nst = NewSessionTicket(7200, 1, b"\x00", b"ticket")
    assert decode_handshake(encode_handshake(nst)) == nst


def test_end_of_early_data_and_empty_encrypted_extensions_encode_exactly() -> None:
    assert encode_handshake(EndOfEarlyData()) == b"\x05\x00\x00\x00"
    assert encode_handshake(EncryptedExtensions()) == b"\x08\x00\x00\x02\x00\x00"


def test_message_hash_is_type_254_with_the_hash_as_body() -> None:
    digest = bytes(range(32))
    assert encode_handshake(MessageHash(digest)) == b"\xfe\x00\x00\x20" + digest
    assert decode_handshake(b"\xfe\x00\x00\x20" + digest) == MessageHash(digest)


def test_decoding_accepts_memoryview_slices() -> None:
    buf = bytearray(b"junk" + b"\x05\x00\x00\x00" + b"more")
    assert decode_handshake(memoryview(buf)[4:8]) == EndOfEarlyData()


def test_alert_is_two_bytes() -> None:
    alert = Alert(AlertLevel.FATAL, AlertDescription.DECODE_ERROR)
    assert alert.encode() == b"\x02\x32"
    assert Alert.decode(b"\x02\x32") == alert
    assert Alert.decode(b"\x01\x00").is_close_notify
    assert Alert.decode(b"\x09\xff").description.name == "UNKNOWN_0x00ff"
    w = Writer()
    alert.encode_body(w)
    assert w.getvalue() == b"\x02\x32"
    assert Alert.decode_body(Reader(w.getvalue())) == alert
    for bad in (b"", b"\x02", b"\x02\x32\x00"):
        with pytest.raises(DecodeError):
            Alert.decode(bad)
