"""The trace's field-by-field description of TLS 1.2 messages (``trace.describe``): titles as the RFCs
name them, the fields a person debugging a TLS 1.2 handshake looks for, and JSON-able output for any
message the codec can produce."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import MESSAGE12_STRATEGIES
from tlslens.certgen import make_pki
from tlslens.trace.describe import describe_message, message_summary, message_title
from tlslens.wire.enums import (
    CertificateStatusType,
    ClientCertificateType,
    NamedGroup,
    SignatureScheme,
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
)

ECDHE_SKE = ServerKeyExchange(
    ServerECDHParams(NamedGroup.X25519, bytes(range(32))),
    DigitallySigned(SignatureScheme.RSA_PSS_RSAE_SHA256, b"\x55" * 256),
)


def test_ecdhe_server_key_exchange_names_curve_key_and_scheme() -> None:
    assert message_title(ECDHE_SKE) == "ServerKeyExchange"
    assert describe_message(ECDHE_SKE) == {
        "curve_type": "named_curve",
        "named_curve": "x25519",
        "public_key": {"length": 32, "first_bytes": "0001020304050607"},
        "signature_algorithm": "rsa_pss_rsae_sha256",
        "signature": "256 bytes: 5555555555555555…",
    }
    assert message_summary(ECDHE_SKE) == "x25519, rsa_pss_rsae_sha256"


def test_dhe_and_anonymous_and_old_signatures() -> None:
    p = (1 << 2047 | 1).to_bytes(256, "big")
    dhe = ServerKeyExchange(ServerDHParams(p, b"\x02", b"\x07" * 256), DigitallySigned(None, b"\x01" * 4))
    d = describe_message(dhe)
    assert d["dh_p"].startswith("2048-bit prime: 256 bytes") and d["dh_g"] == 2
    assert d["signature_algorithm"] == "(implicit: TLS 1.0/1.1)"
    assert message_summary(dhe) == "DH 2048 bits"
    anon = ServerKeyExchange(ServerECDHParams(NamedGroup.SECP256R1, b"\x04" + bytes(64)), None)
    assert describe_message(anon)["signature"] == "(none: an anonymous suite)"
    assert message_summary(anon) == "secp256r1"


def test_certificate_request_and_status_and_tickets() -> None:
    req = CertificateRequest12(
        (ClientCertificateType.RSA_SIGN, ClientCertificateType.ECDSA_SIGN),
        (SignatureScheme.ECDSA_SECP256R1_SHA256, SignatureScheme.RSA_PKCS1_SHA256),
        (b"\x30\x00", b"\x31\x00"),
    )
    assert message_title(req) == "CertificateRequest"
    assert describe_message(req) == {
        "certificate_types": ["rsa_sign", "ecdsa_sign"],
        "supported_signature_algorithms": ["ecdsa_secp256r1_sha256", "rsa_pkcs1_sha256"],
        "certificate_authorities": ["(empty name)", "not a Name: 3100"],  # an empty Name, and a SET
    }
    assert (
        describe_message(CertificateRequest12((ClientCertificateType.RSA_SIGN,), None))[
            "supported_signature_algorithms"
        ]
        is None
    )
    status = CertificateStatusMessage(CertificateStatusType.OCSP, b"\x30\x03\x0a\x01\x01")
    assert message_title(status) == "CertificateStatus"
    assert describe_message(status)["status_type"] == "ocsp"
    nst = NewSessionTicket12(7200, b"\xaa" * 100)
    assert message_title(nst) == "NewSessionTicket"
    assert describe_message(nst) == {
        "ticket_lifetime_hint": "7200 s",
        "ticket": "100 bytes: aaaaaaaaaaaaaaaa…",
    }
    assert describe_message(NewSessionTicket12(0, b""))["ticket"] == "(empty: no ticket after all)"


def test_client_key_exchange_and_empty_messages_and_change_cipher_spec() -> None:
    for msg in (
        ClientKeyExchangeECDHE(b"\x04" * 65),
        ClientKeyExchangeDHE(b"\x01"),
        ClientKeyExchangeRSA(b"\x02"),
    ):
        assert message_title(msg) == "ClientKeyExchange"
    assert describe_message(ClientKeyExchangeECDHE(b"\x04" * 65)) == {
        "public_key": {"length": 65, "first_bytes": "0404040404040404"}
    }
    assert describe_message(ClientKeyExchangeRSA(b"\x02" * 256))["encrypted_pre_master_secret"].startswith(
        "256"
    )
    assert message_title(ServerHelloDone()) == "ServerHelloDone" and describe_message(ServerHelloDone()) == {}
    assert message_title(HelloRequest()) == "HelloRequest"
    assert message_title(ChangeCipherSpec()) == "ChangeCipherSpec"
    assert describe_message(ChangeCipherSpec()) == {"type": "change_cipher_spec (1)"}


def test_certificate_list_is_decoded_certificate_by_certificate() -> None:
    pki = make_pki(("localhost",))
    from cryptography.hazmat.primitives.serialization import Encoding

    msg = Certificate12(tuple(c.public_bytes(Encoding.DER) for c in pki.chain))
    d = describe_message(msg)
    assert message_title(msg) == "Certificate" and message_summary(msg) == "2 certificates"
    assert "localhost" in d["certificates"][0]["subject"]


@pytest.mark.parametrize("cls", list(MESSAGE12_STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_every_tls12_message_describes_as_json(cls: type[Any], data: st.DataObject) -> None:
    msg = data.draw(MESSAGE12_STRATEGIES[cls])
    json.dumps(describe_message(msg))
    assert isinstance(message_summary(msg), str) and message_title(msg)
