"""Extension codec: forms by context, list-wide rules, lower bounds, and what never raises."""

from __future__ import annotations

import pytest

from tlslens.errors import DecodeError, IllegalParameter, LocalProtocolError
from tlslens.wire.enums import (
    CertificateStatusType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    NameType,
    ProtocolVersion,
)
from tlslens.wire.extensions import (
    ALPN,
    EXTENSION_FORMS,
    CertificateStatus,
    EarlyData,
    ExtendedMasterSecret,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    OCSPStatusRequest,
    OtherServerName,
    Padding,
    PreSharedKeyClientHello,
    PskIdentity,
    ServerName,
    StatusRequest,
    SupportedGroups,
    SupportedVersionsClientHello,
    UnknownExtension,
    decode_extensions,
    encode_extensions,
    find_extension,
    resolve_context,
)
from tlslens.wire.reader import Reader, Writer

CH = HandshakeType.CLIENT_HELLO


def encode(exts: list[Extension] | tuple[Extension, ...]) -> bytes:
    w = Writer()
    encode_extensions(w, exts)
    return w.getvalue()


def decode(data: bytes, context: HandshakeType | str = CH, *, strict: bool = True) -> tuple[Extension, ...]:
    r = Reader(data)
    exts = decode_extensions(r, context, strict=strict)
    r.expect_end("extensions")
    return exts


def raw_ext(ext_type: int, body: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def block(*exts: bytes) -> bytes:
    body = b"".join(exts)
    return len(body).to_bytes(2, "big") + body


def test_grease_extension_round_trips_as_unknown() -> None:
    data = block(raw_ext(0x2A2A, b""), raw_ext(0xFAFA, b"\x00"))
    exts = decode(data)
    assert exts == (
        UnknownExtension(ExtensionType(0x2A2A), b""),
        UnknownExtension(ExtensionType(0xFAFA), b"\x00"),
    )
    assert exts[0].ext_type.name == "UNKNOWN_0x2a2a"
    assert encode(exts) == data


def test_key_share_takes_the_form_of_its_context() -> None:
    share = KeyShareEntry(NamedGroup.X25519, b"\x01" * 32)
    ch_body = encode([KeyShareClientHello((share,))])
    assert decode(ch_body, "client_hello") == (KeyShareClientHello((share,)),)
    sh_body = encode([KeyShareServerHello(share)])
    assert decode(sh_body, HandshakeType.SERVER_HELLO) == (KeyShareServerHello(share),)
    hrr_body = encode([KeyShareHelloRetryRequest(NamedGroup.SECP256R1)])
    assert decode(hrr_body, "hello_retry_request") == (KeyShareHelloRetryRequest(NamedGroup.SECP256R1),)


def test_empty_key_exchange_decodes_for_the_handshake_to_refuse() -> None:
    """key_exchange<1..2^16-1>, but an empty one is the handshake's illegal_parameter (RFC 8446 §4.2.8.2
    checks: a share of the wrong length for its group), so the codec lets it through."""
    (ks,) = decode(block(raw_ext(0x0033, bytes.fromhex("0004 001d 0000"))))
    assert isinstance(ks, KeyShareClientHello)
    assert ks.client_shares == (KeyShareEntry(NamedGroup.X25519, b""),)


def test_extension_in_a_context_without_a_form_decodes_as_unknown() -> None:
    data = encode([KeyShareClientHello(())])
    exts = decode(data, HandshakeType.CERTIFICATE_REQUEST)
    assert exts == (UnknownExtension(ExtensionType.KEY_SHARE, b"\x00\x00"),)
    assert encode(exts) == data
    # A message type with no extensions at all: everything is unknown, nothing is rejected.
    assert decode(data, HandshakeType.FINISHED) == exts


def test_duplicate_extension_is_illegal_parameter_unless_not_strict() -> None:
    data = block(raw_ext(0x0017, b""), raw_ext(0x002B, b"\x02\x03\x04"), raw_ext(0x002B, b"\x02\x03\x03"))
    with pytest.raises(IllegalParameter, match="duplicate"):
        decode(data, "encrypted_extensions")
    exts = decode(data, CH, strict=False)
    assert [type(e) for e in exts] == [
        ExtendedMasterSecret,
        SupportedVersionsClientHello,
        SupportedVersionsClientHello,
    ]
    assert find_extension(exts, SupportedVersionsClientHello) == SupportedVersionsClientHello(
        (ProtocolVersion.TLS1_3,)
    )


def test_duplicate_unknown_extensions_are_also_rejected() -> None:
    with pytest.raises(IllegalParameter):
        decode(block(raw_ext(0x1A1A, b""), raw_ext(0x1A1A, b"")))


def test_pre_shared_key_must_be_last_in_client_hello() -> None:
    psk = PreSharedKeyClientHello((PskIdentity(b"ticket", 7),), (b"\xbb" * 32,))
    data = encode([psk, EarlyData()])
    with pytest.raises(IllegalParameter, match="last"):
        decode(data)
    assert decode(data, strict=False) == (psk, EarlyData())
    assert decode(encode([EarlyData(), psk])) == (EarlyData(), psk)


def test_binders_length_covers_the_binders_vector_with_its_length() -> None:
    psk = PreSharedKeyClientHello((PskIdentity(b"a", 0), PskIdentity(b"b", 1)), (b"\x01" * 32, b"\x02" * 48))
    w = Writer()
    psk.encode_body(w)
    body = w.getvalue()
    assert psk.binders_length() == 2 + 33 + 49
    assert (
        body[-psk.binders_length() :]
        == bytes.fromhex("0052") + b"\x20" + b"\x01" * 32 + b"\x30" + b"\x02" * 48
    )


def test_server_name_keeps_host_names_as_str_and_other_types_raw() -> None:
    sni = ServerName(("example.com", OtherServerName(NameType(7), b"\xff\x00"), "a.example"))
    data = encode([sni])
    (decoded,) = decode(data)
    assert decoded == sni
    assert isinstance(decoded, ServerName) and decoded.host_names == ("example.com", "a.example")


@pytest.mark.parametrize(
    "body",
    [
        bytes.fromhex("0005 00 0002 c3a9"),  # host_name "é" in UTF-8
        bytes.fromhex("0004 00 0001 ff"),
    ],
    ids=["utf8", "high-byte"],
)
def test_non_ascii_host_name_is_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError, match="ASCII"):
        decode(block(raw_ext(0, body)))


def test_status_request_parses_ocsp_and_keeps_other_types_raw() -> None:
    ocsp = StatusRequest(CertificateStatusType.OCSP, OCSPStatusRequest((b"id",), b"\x30\x00"))
    other = StatusRequest(CertificateStatusType(9), b"opaque")
    assert decode(encode([ocsp])) == (ocsp,)
    assert decode(encode([other])) == (other,)
    assert decode(raw_ext(5, bytes.fromhex("01 0000 0000")).join([b"\x00\x09", b""])) == (
        StatusRequest(CertificateStatusType.OCSP, OCSPStatusRequest()),
    )


def test_certificate_entry_status_is_the_ocsp_response() -> None:
    status = CertificateStatus(CertificateStatusType.OCSP, b"\x30\x03\x0a\x01\x00")
    assert decode(encode([status]), "certificate_entry") == (status,)
    with pytest.raises(DecodeError):
        decode(block(raw_ext(5, b"\x01\x00\x00\x00")), "certificate")


def test_padding_keeps_its_length_and_must_be_zeros() -> None:
    assert decode(block(raw_ext(21, bytes(17)))) == (Padding(17),)
    with pytest.raises(DecodeError, match="zeros"):
        decode(block(raw_ext(21, b"\x00\x01")))


@pytest.mark.parametrize(
    "ext_type, body",
    [
        (0x0000, b"\x00\x00"),  # server_name_list<1..>
        (0x0000, bytes.fromhex("0003 00 0000")),  # HostName<1..>
        (0x000A, b"\x00\x00"),  # named_group_list<2..>
        (0x000A, b"\x00\x03\x00\x1d\x00"),  # odd length
        (0x000D, b"\x00\x00"),  # supported_signature_algorithms<2..>
        (0x0032, b"\x00\x00"),  # signature_algorithms_cert
        (0x0010, b"\x00\x00"),  # protocol_name_list<2..>
        (0x0010, b"\x00\x01\x00"),  # ProtocolName<1..>
        (0x002B, b"\x00"),  # versions<2..254>
        (0x002D, b"\x00"),  # ke_modes<1..>
        (0x002C, b"\x00\x00"),  # cookie<1..>
        (0x0029, bytes.fromhex("0000 0021") + b"\x20" + bytes(32)),  # identities<7..>
        (0x0029, bytes.fromhex("0007 0001 61 00000000 0020") + b"\x1f" + bytes(31)),  # binders<33..>
        (0x0029, bytes.fromhex("0007 0001 61 00000000 0022") + b"\x1f" + bytes(31) + b"\x01\x00"),
        (0x002F, b"\x00\x00"),  # authorities<3..>
        (0x002F, bytes.fromhex("0004 0000 0000")),  # DistinguishedName<1..>
        (0x001B, b"\x00"),  # compress_certificate algorithms<2..>
        (0x000B, b"\x00"),  # ec_point_format_list<1..>
        (0x0005, bytes.fromhex("01 0002 0000 0000")),  # ResponderID<1..>
        (0x000A, b"\x00\x02\x00\x1d\xff"),  # trailing byte in the body
        (0x002A, b"\x00"),  # early_data in a ClientHello is empty
        (0x001C, b"\x40"),  # record_size_limit is a uint16
    ],
    ids=lambda v: f"{v:#06x}" if isinstance(v, int) else v.hex() or "empty",
)
def test_rfc_lower_bounds_and_exact_bodies_are_enforced(ext_type: int, body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(block(raw_ext(ext_type, body)))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"\x00\x05\x00\x00\x00", b"\x00\x04\x00\x00\x00\x01", b"\x00\x03\x00\x00\x00"],
    ids=["no-length", "short-length", "short-ext", "body-overrun", "short-header"],
)
def test_truncated_extension_block_is_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(data)


def test_every_modelled_form_is_listed_under_its_own_type() -> None:
    for context, forms in EXTENSION_FORMS.items():
        for ext_type, cls in forms.items():
            assert cls.ext_type == ext_type, (context, cls)


def test_context_names_resolve_and_unknown_names_are_local_errors() -> None:
    assert resolve_context("ClientHello") == CH
    assert resolve_context("client_hello") == CH
    assert resolve_context("CERTIFICATE_ENTRY") == HandshakeType.CERTIFICATE
    assert resolve_context("Certificate entry") == HandshakeType.CERTIFICATE
    assert resolve_context("hrr") == HandshakeType.HELLO_RETRY_REQUEST
    assert resolve_context(HandshakeType.NEW_SESSION_TICKET) == HandshakeType.NEW_SESSION_TICKET
    with pytest.raises(LocalProtocolError):
        resolve_context("server_hello_done_please")


def test_encoding_does_not_enforce_lower_bounds_so_scanners_can_craft() -> None:
    data = encode([SupportedGroups(()), ALPN(())])
    assert data == block(raw_ext(10, b"\x00\x00"), raw_ext(16, b"\x00\x00"))
    with pytest.raises(DecodeError):
        decode(data)
