"""RFC 8448 traces through the codec: every handshake message decodes and re-encodes byte for byte."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RFC8448_SECTIONS
from tlslens.wire.enums import (
    CipherSuite,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    Cookie,
    EarlyData,
    EarlyDataNewSessionTicket,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskKeyExchangeModes,
    ServerName,
    ServerNameEmpty,
    SignatureAlgorithms,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlslens.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    NewSessionTicket,
    ServerHello,
    decode_handshake,
    encode_handshake,
)

CASES = [
    pytest.param(section, index, m, id=f"s{section}-{index}-{m['sender']}-{m['name']}")
    for section, s in RFC8448_SECTIONS.items()
    for index, m in enumerate(s["handshake_messages"])
]


def _msg(section: str, index: int) -> Any:
    return decode_handshake(bytes.fromhex(RFC8448_SECTIONS[section]["handshake_messages"][index]["hex"]))


def _step_value(section: str, label: str, name: str) -> bytes:
    for step in RFC8448_SECTIONS[section]["steps"]:
        if step["label"] == label:
            for value in step["values"]:
                if value["name"] == name:
                    return bytes.fromhex(value["hex"])
    raise LookupError(f"{label} / {name} not in section {section}")


@pytest.mark.parametrize("section, index, message", CASES)
def test_rfc8448_message_round_trips_byte_exactly(section: str, index: int, message: dict[str, Any]) -> None:
    raw = bytes.fromhex(message["hex"])
    msg = decode_handshake(raw)
    assert type(msg).__name__ == message["name"]
    assert encode_handshake(msg) == raw
    assert decode_handshake(memoryview(raw)) == msg


@pytest.mark.parametrize("section, index, message", CASES)
def test_rfc8448_messages_use_only_modelled_extensions(
    section: str, index: int, message: dict[str, Any]
) -> None:
    msg = decode_handshake(bytes.fromhex(message["hex"]))
    exts = list(getattr(msg, "extensions", None) or ())
    for entry in getattr(msg, "certificate_list", ()):
        exts.extend(entry.extensions)
    assert not [e for e in exts if isinstance(e, UnknownExtension)]


def test_s3_client_hello_offers_x25519_share_and_tls13() -> None:
    ch = _msg("3", 0)
    assert isinstance(ch, ClientHello)
    assert ch.legacy_version == ProtocolVersion.TLS1_2
    assert ch.cipher_suites == (
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_AES_256_GCM_SHA384,
    )
    key_share = ch.extension(KeyShareClientHello)
    assert key_share is not None
    assert [e.group for e in key_share.client_shares] == [NamedGroup.X25519]
    assert key_share.client_shares[0].key_exchange == bytes.fromhex(
        "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c"
    )
    versions = ch.extension(SupportedVersionsClientHello)
    assert versions is not None and versions.versions == (ProtocolVersion.TLS1_3,)
    server_name = ch.extension(ServerName)
    assert server_name is not None and server_name.host_names == ("server",)
    modes = ch.extension(PskKeyExchangeModes)
    assert modes is not None and modes.ke_modes == (PskKeyExchangeMode.PSK_DHE_KE,)
    sigalgs = ch.extension(SignatureAlgorithms)
    assert (
        sigalgs is not None and SignatureScheme.RSA_PSS_RSAE_SHA256 in sigalgs.supported_signature_algorithms
    )


def test_s3_server_flight_decodes_to_expected_fields() -> None:
    sh = _msg("3", 1)
    assert isinstance(sh, ServerHello) and not sh.is_hello_retry_request
    assert sh.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    share = sh.extension(KeyShareServerHello)
    assert share is not None and share.server_share.group == NamedGroup.X25519
    selected = sh.extension(SupportedVersionsServerHello)
    assert selected is not None and selected.selected_version == ProtocolVersion.TLS1_3
    ee = _msg("3", 2)
    assert isinstance(ee, EncryptedExtensions) and ee.extension(ServerNameEmpty) == ServerNameEmpty()
    cert = _msg("3", 3)
    assert isinstance(cert, Certificate) and cert.certificate_request_context == b""
    assert len(cert.certificate_list) == 1 and cert.certificate_list[0].cert_data[:2] == b"\x30\x82"
    cv = _msg("3", 4)
    assert isinstance(cv, CertificateVerify) and cv.algorithm == SignatureScheme.RSA_PSS_RSAE_SHA256
    assert len(cv.signature) == 128
    fin = _msg("3", 5)
    assert isinstance(fin, Finished) and len(fin.verify_data) == 32


def test_s3_new_session_ticket_allows_1024_bytes_of_early_data() -> None:
    nst = _msg("3", 7)
    assert isinstance(nst, NewSessionTicket)
    assert nst.ticket_lifetime == 30
    assert nst.ticket_nonce == b"\x00\x00"
    assert nst.extension(EarlyDataNewSessionTicket) == EarlyDataNewSessionTicket(1024)


def test_s4_pre_shared_key_is_last_and_binders_length_gives_the_rfc_prefix() -> None:
    raw = bytes.fromhex(RFC8448_SECTIONS["4"]["handshake_messages"][0]["hex"])
    ch = decode_handshake(raw)
    assert isinstance(ch, ClientHello)
    assert ch.extensions is not None
    psk = ch.extensions[-1]
    assert isinstance(psk, PreSharedKeyClientHello)
    assert len(psk.identities) == 1 and len(psk.binders) == 1 and len(psk.binders[0]) == 32
    prefix = _step_value("4", "{client} calculate PSK binder", "ClientHello prefix")
    assert raw[: -psk.binders_length()] == prefix
    assert psk.binders_length() == 35
    # The section 4 PSK identity is the section 3 ticket.
    nst = _msg("3", 7)
    assert psk.identities[0].identity == nst.ticket
    assert ch.extension(EarlyData) == EarlyData()
    assert ch.extension(Padding) is not None


def test_s4_server_accepts_psk_and_early_data() -> None:
    sh = _msg("4", 1)
    assert sh.extension(PreSharedKeyServerHello) == PreSharedKeyServerHello(0)
    ee = _msg("4", 2)
    assert ee.extension(EarlyData) == EarlyData()
    assert isinstance(_msg("4", 4), EndOfEarlyData)


def test_s5_second_message_is_hrr_selecting_secp256r1_with_cookie() -> None:
    hrr = _msg("5", 1)
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    assert hrr.extension(KeyShareHelloRetryRequest) == KeyShareHelloRetryRequest(NamedGroup.SECP256R1)
    assert hrr.extension(KeyShareServerHello) is None
    cookie = hrr.extension(Cookie)
    assert cookie is not None
    selected = hrr.extension(SupportedVersionsServerHello)
    assert selected is not None and selected.selected_version == ProtocolVersion.TLS1_3
    # The second ClientHello echoes the cookie and sends a secp256r1 share.
    ch2 = _msg("5", 2)
    assert ch2.extension(Cookie) == cookie
    shares = ch2.extension(KeyShareClientHello)
    assert [s.group for s in shares.client_shares] == [NamedGroup.SECP256R1]
    assert len(shares.client_shares[0].key_exchange) == 65


def test_s6_certificate_request_asks_for_signature_algorithms() -> None:
    cr = _msg("6", 3)
    assert isinstance(cr, CertificateRequest)
    assert cr.certificate_request_context == b""
    sigalgs = cr.extension(SignatureAlgorithms)
    assert sigalgs is not None
    assert SignatureScheme.RSA_PSS_RSAE_SHA256 in sigalgs.supported_signature_algorithms
    client_cert = _msg("6", 7)
    assert isinstance(client_cert, Certificate) and len(client_cert.certificate_list) == 1


def test_s7_compatibility_mode_session_id_is_echoed() -> None:
    ch, sh = _msg("7", 0), _msg("7", 1)
    assert len(ch.legacy_session_id) == 32
    assert sh.legacy_session_id_echo == ch.legacy_session_id


def test_vectors_cover_every_section_and_message_type() -> None:
    assert sorted(RFC8448_SECTIONS) == ["3", "4", "5", "6", "7"]
    types = {
        decode_handshake(bytes.fromhex(m["hex"])).msg_type
        for s in RFC8448_SECTIONS.values()
        for m in s["handshake_messages"]
    }
    assert types == {
        HandshakeType.CLIENT_HELLO,
        HandshakeType.SERVER_HELLO,
        HandshakeType.ENCRYPTED_EXTENSIONS,
        HandshakeType.CERTIFICATE_REQUEST,
        HandshakeType.CERTIFICATE,
        HandshakeType.CERTIFICATE_VERIFY,
        HandshakeType.FINISHED,
        HandshakeType.NEW_SESSION_TICKET,
        HandshakeType.END_OF_EARLY_DATA,
    }
