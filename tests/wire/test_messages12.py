"""TLS 1.2 handshake messages in their TLS 1.2 form: round trips, the forms picked by version and key
exchange, value rules, and peer bytes raising nothing but RemoteProtocolError subclasses."""

from __future__ import annotations

import contextlib
import typing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import MESSAGE12_STRATEGIES, decode_args12
from tlslens.errors import (
    DecodeError,
    IllegalParameter,
    LocalProtocolError,
    RemoteProtocolError,
    UnexpectedMessage,
)
from tlslens.wire.enums import (
    CertificateStatusType,
    ClientCertificateType,
    HandshakeType,
    HeartbeatMode,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import Heartbeat, decode_extensions, encode_extensions
from tlslens.wire.messages import (
    EncryptedExtensions,
    Finished,
    NewSessionTicket,
    decode_handshake,
    encode_handshake,
)
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    CertificateStatusMessage,
    ChangeCipherSpec,
    ClientKeyExchangeDHE,
    ClientKeyExchangeECDHE,
    ClientKeyExchangeRSA,
    DigitallySigned,
    HelloRequest,
    NewSessionTicket12,
    ServerDHParams,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
    Tls12Message,
    decode_handshake12,
)
from tlslens.wire.reader import Reader, Writer
from tlslens.wire.suite_info import KeyExchange

TLS12 = ProtocolVersion.TLS1_2
VERSIONS_BEFORE_13 = [ProtocolVersion.SSL3, ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1, TLS12]


def frame(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


# --- round trips ----------------------------------------------------------------------------------


def test_every_tls12_message_has_a_strategy() -> None:
    assert set(MESSAGE12_STRATEGIES) == set(typing.get_args(Tls12Message))


@pytest.mark.parametrize("cls", list(MESSAGE12_STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_tls12_message_round_trips(cls: type[Any], data: st.DataObject) -> None:
    msg = data.draw(MESSAGE12_STRATEGIES[cls])
    version, kx = decode_args12(msg)
    raw = encode_handshake(msg)
    assert decode_handshake(raw, version=version, key_exchange=kx) == msg
    assert decode_handshake12(raw, version=version, key_exchange=kx) == msg
    assert encode_handshake(decode_handshake12(raw, version=version, key_exchange=kx)) == raw


# --- peer bytes raise only RemoteProtocolError -------------------------------------------------------

_KINDS = st.sampled_from(list(KeyExchange))
_TLS12_TYPES = [0, 1, 2, 11, 12, 13, 14, 15, 16, 20, 22, 4]


@given(st.binary(max_size=300), st.sampled_from(VERSIONS_BEFORE_13), _KINDS, st.booleans())
def test_arbitrary_bytes_raise_only_remote_protocol_errors(
    raw: bytes, version: ProtocolVersion, kx: KeyExchange, strict: bool
) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_handshake(raw, version=version, key_exchange=kx, strict=strict)


@given(st.sampled_from(_TLS12_TYPES), st.binary(max_size=400), st.sampled_from(VERSIONS_BEFORE_13), _KINDS)
def test_valid_header_with_random_body_raises_only_remote_protocol_errors(
    msg_type: int, body: bytes, version: ProtocolVersion, kx: KeyExchange
) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_handshake(frame(msg_type, body), version=version, key_exchange=kx)


@given(data=st.data())
def test_mutated_tls12_messages_raise_only_remote_protocol_errors(data: st.DataObject) -> None:
    msg = data.draw(st.one_of(*MESSAGE12_STRATEGIES.values()))
    version, kx = decode_args12(msg)
    raw = bytearray(encode_handshake(msg))
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    with contextlib.suppress(RemoteProtocolError):
        decode_handshake(bytes(raw), version=version, key_exchange=kx or KeyExchange.ECDHE)


# --- forms picked by version and key exchange --------------------------------------------------------

ECDHE_PARAMS = bytes.fromhex("03 001d 04") + b"\x11\x22\x33\x44"


def test_ecdhe_server_key_exchange_reads_named_curve_point_and_signature() -> None:
    body = ECDHE_PARAMS + bytes.fromhex("0403 0003 aabbcc")
    msg = decode_handshake(frame(12, body), version=TLS12, key_exchange=KeyExchange.ECDHE)
    assert msg == ServerKeyExchange(
        ServerECDHParams(NamedGroup.X25519, b"\x11\x22\x33\x44"),
        DigitallySigned(SignatureScheme.ECDSA_SECP256R1_SHA256, b"\xaa\xbb\xcc"),
    )
    assert msg.params_bytes == ECDHE_PARAMS


def test_anonymous_server_key_exchange_has_no_signature() -> None:
    body = bytes.fromhex("0002 00ff 0001 02 0002 1234")
    msg = decode_handshake(frame(12, body), version=TLS12, key_exchange=KeyExchange.DHE)
    assert isinstance(msg, ServerKeyExchange) and msg.signed is None
    assert isinstance(msg.params, ServerDHParams) and msg.params.p_bits == 8
    assert encode_handshake(msg) == frame(12, body)


def test_server_key_exchange_before_tls12_has_no_signature_algorithm() -> None:
    body = bytes.fromhex("0001 17 0001 02 0001 05") + bytes.fromhex("0002 abcd")
    msg = decode_handshake(frame(12, body), version=ProtocolVersion.TLS1_0, key_exchange=KeyExchange.DHE)
    assert isinstance(msg, ServerKeyExchange)
    assert msg.signed == DigitallySigned(None, b"\xab\xcd")
    with pytest.raises(DecodeError):  # the same bytes in TLS 1.2 read 0x0002 as the algorithm
        decode_handshake(frame(12, body), version=TLS12, key_exchange=KeyExchange.DHE)


def test_explicit_curve_parameters_are_illegal() -> None:
    body = bytes.fromhex("01 0004 00000000")
    with pytest.raises(IllegalParameter, match="only named curves"):
        decode_handshake(frame(12, body), version=TLS12, key_exchange=KeyExchange.ECDHE)


@pytest.mark.parametrize("kx", [KeyExchange.RSA, KeyExchange.ECDH, KeyExchange.DH, KeyExchange.PSK])
def test_server_key_exchange_outside_ephemeral_suites_is_unexpected(kx: KeyExchange) -> None:
    with pytest.raises(UnexpectedMessage, match="ServerKeyExchange"):
        decode_handshake(frame(12, ECDHE_PARAMS), version=TLS12, key_exchange=kx)


@pytest.mark.parametrize("msg_type", [12, 16])
def test_key_exchange_messages_need_the_key_exchange_kind(msg_type: int) -> None:
    with pytest.raises(LocalProtocolError, match="key_exchange="):
        decode_handshake(frame(msg_type, b"\x01\x02"), version=TLS12)


def test_client_key_exchange_form_follows_the_key_exchange() -> None:
    ec = decode_handshake(frame(16, b"\x02\xab\xcd"), version=TLS12, key_exchange=KeyExchange.ECDHE)
    assert ec == ClientKeyExchangeECDHE(b"\xab\xcd")
    dh = decode_handshake(frame(16, b"\x00\x02\xab\xcd"), version=TLS12, key_exchange=KeyExchange.DHE)
    assert dh == ClientKeyExchangeDHE(b"\xab\xcd")
    rsa = decode_handshake(frame(16, b"\x00\x02\xab\xcd"), version=TLS12, key_exchange=KeyExchange.RSA)
    assert rsa == ClientKeyExchangeRSA(b"\xab\xcd")
    ssl3 = decode_handshake(
        frame(16, b"\xab\xcd"), version=ProtocolVersion.SSL3, key_exchange=KeyExchange.RSA
    )
    assert ssl3 == ClientKeyExchangeRSA(b"\xab\xcd", ssl3=True)
    with pytest.raises(DecodeError):
        decode_handshake(frame(16, b"\x00"), version=TLS12, key_exchange=KeyExchange.ECDHE)  # empty point
    with pytest.raises(UnexpectedMessage, match="not decoded"):
        decode_handshake(frame(16, b"\x00\x00"), version=TLS12, key_exchange=KeyExchange.PSK)


def test_certificate_request_form_follows_the_version() -> None:
    body12 = bytes.fromhex("02 01 40  0004 0401 0403  0005 0003 616263")
    msg = decode_handshake(frame(13, body12), version=TLS12)
    assert msg == CertificateRequest12(
        (ClientCertificateType.RSA_SIGN, ClientCertificateType.ECDSA_SIGN),
        (SignatureScheme.RSA_PKCS1_SHA256, SignatureScheme.ECDSA_SECP256R1_SHA256),
        (b"abc",),
    )
    body11 = bytes.fromhex("01 01  0000")
    assert decode_handshake(frame(13, body11), version=ProtocolVersion.TLS1_1) == CertificateRequest12(
        (ClientCertificateType.RSA_SIGN,), None, ()
    )
    with pytest.raises(DecodeError):  # a certificate_types list must not be empty
        decode_handshake(frame(13, bytes.fromhex("00 0002 0401 0000")), version=TLS12)
    with pytest.raises(DecodeError):  # nor a DistinguishedName
        decode_handshake(frame(13, bytes.fromhex("01 01 0002 0401 0002 0000")), version=TLS12)


def test_certificate_has_no_context_and_no_entry_extensions() -> None:
    body = bytes.fromhex("00000a 000002 3082 000002 3081")
    msg = decode_handshake(frame(11, body), version=TLS12)
    assert msg == Certificate12((b"\x30\x82", b"\x30\x81"))
    with pytest.raises(DecodeError):
        decode_handshake(frame(11, bytes.fromhex("000003 000000")), version=TLS12)  # empty ASN.1Cert


def test_new_session_ticket_form_follows_the_version() -> None:
    body = bytes.fromhex("00001c20 0003 010203")
    assert decode_handshake(frame(4, body), version=TLS12) == NewSessionTicket12(7200, b"\x01\x02\x03")
    assert decode_handshake(frame(4, bytes.fromhex("00000000 0000")), version=TLS12) == NewSessionTicket12(
        0, b""
    )
    with pytest.raises(DecodeError):  # the same bytes are no TLS 1.3 NewSessionTicket
        decode_handshake(frame(4, body))
    tls13 = NewSessionTicket(1, 2, b"n", b"t")
    assert decode_handshake(encode_handshake(tls13), version=ProtocolVersion.TLS1_3) == tls13


def test_empty_messages_and_finished() -> None:
    assert decode_handshake(frame(0, b""), version=TLS12) == HelloRequest()
    assert decode_handshake(frame(14, b""), version=TLS12) == ServerHelloDone()
    with pytest.raises(DecodeError, match="trailing"):
        decode_handshake(frame(14, b"\x00"), version=TLS12)
    assert decode_handshake(frame(20, bytes(12)), version=TLS12) == Finished(bytes(12))


def test_certificate_status_carries_the_ocsp_response() -> None:
    body = bytes.fromhex("01 000003 308201")
    msg = decode_handshake(frame(22, body), version=TLS12)
    assert msg == CertificateStatusMessage(CertificateStatusType.OCSP, b"\x30\x82\x01")
    with pytest.raises(DecodeError):
        decode_handshake(frame(22, bytes.fromhex("01 000000")), version=TLS12)


@pytest.mark.parametrize("tls13_only", [EncryptedExtensions(), NewSessionTicket(1, 2, b"", b"t")])
def test_tls13_only_messages_are_unexpected_in_tls12(tls13_only: Any) -> None:
    raw = encode_handshake(tls13_only)
    if isinstance(tls13_only, NewSessionTicket):
        with pytest.raises(DecodeError):  # the type exists in 1.2, with another body
            decode_handshake(raw, version=TLS12)
    else:
        with pytest.raises(UnexpectedMessage, match=r"not a TLS 1\.2 handshake message"):
            decode_handshake(raw, version=TLS12)
    with pytest.raises(UnexpectedMessage):
        decode_handshake(frame(HandshakeType.KEY_UPDATE, b"\x00"), version=TLS12)


def test_tls12_forms_are_not_decoded_without_a_version() -> None:
    with pytest.raises(UnexpectedMessage):
        decode_handshake(frame(14, b""))  # ServerHelloDone is no TLS 1.3 message


def test_change_cipher_spec_is_the_single_byte_one() -> None:
    assert ChangeCipherSpec.decode(b"\x01") == ChangeCipherSpec()
    assert ChangeCipherSpec().encode() == b"\x01"
    for bad in (b"", b"\x02", b"\x01\x01"):
        with pytest.raises(DecodeError):
            ChangeCipherSpec.decode(bad)


def test_heartbeat_extension_round_trips_in_hellos() -> None:
    w = Writer()
    encode_extensions(w, (Heartbeat(HeartbeatMode.PEER_NOT_ALLOWED_TO_SEND),))
    assert w.getvalue() == bytes.fromhex("0005 000f 0001 02")
    for ctx in (HandshakeType.CLIENT_HELLO, HandshakeType.SERVER_HELLO):
        assert decode_extensions(Reader(w.getvalue()), ctx) == (
            Heartbeat(HeartbeatMode.PEER_NOT_ALLOWED_TO_SEND),
        )
