"""RFC 8448 as full replays through ClientConnection / ServerConnection.

The deterministic provider hands the engine the RFC's randoms and ephemeral keys. The client then must
produce the RFC's ClientHello(s) and every client record byte for byte, and accept the RFC's server
flight; the server must produce the RFC's server flight byte for byte (its RSA-PSS signature is
randomized, so a recorded signer returns the RFC's signature). The RFC traces come from NSS, whose
ClientHello carries TLS 1.2 leftovers and lists groups and schemes tlslens does not offer: the
``client_hello_hook`` reshapes our hello the way NSS lays it out; everything else (random, session id,
suites, SNI, key share, versions, record_size_limit) comes from the engine.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509

from tests.conftest import RFC8448_SECTIONS
from tlslens import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from tlslens.config import CertifiedKey
from tlslens.crypto.provider import DeterministicProvider
from tlslens.dangerous import NoVerification
from tlslens.events import ConnectionClosed, DataReceived, HandshakeCompleted, SessionTicketReceived
from tlslens.wire.enums import CipherSuite, ExtensionType, NamedGroup, SignatureScheme
from tlslens.wire.extensions import (
    Extension,
    Padding,
    RenegotiationInfo,
    ServerNameEmpty,
    SessionTicket,
    SignatureAlgorithms,
    SupportedGroups,
)
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import EncryptedExtensions, decode_handshake, encode_handshake

H = bytes.fromhex
S = SignatureScheme
NSS_SCHEMES = (
    S.ECDSA_SECP256R1_SHA256, S.ECDSA_SECP384R1_SHA384, S.ECDSA_SECP521R1_SHA512, S.ECDSA_SHA1,
    S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512, S.RSA_PKCS1_SHA256,
    S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512, S.RSA_PKCS1_SHA1,
    S(0x0402), S(0x0502), S(0x0602), S(0x0202),  # DSA schemes, which TLS 1.3 deprecates
)  # fmt: skip
NSS_ORDER = [
    ExtensionType.SERVER_NAME, ExtensionType.RENEGOTIATION_INFO, ExtensionType.SUPPORTED_GROUPS,
    ExtensionType.SESSION_TICKET, ExtensionType.KEY_SHARE, ExtensionType.SUPPORTED_VERSIONS,
    ExtensionType.SIGNATURE_ALGORITHMS, ExtensionType.COOKIE, ExtensionType.PSK_KEY_EXCHANGE_MODES,
    ExtensionType.RECORD_SIZE_LIMIT, ExtensionType.PADDING,
]  # fmt: skip
RFC_SUITES = (CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
              CipherSuite.TLS_AES_256_GCM_SHA384)  # fmt: skip


def nss_shape(groups: tuple[NamedGroup, ...], *, session_ticket: bool, pad_to: int | None = None) -> Any:
    """A client_hello_hook laying the hello out the way NSS (which produced RFC 8448) does."""

    def hook(hello: ClientHello) -> ClientHello:
        exts: dict[ExtensionType, Extension] = {e.ext_type: e for e in hello.extensions or ()}
        exts[ExtensionType.RENEGOTIATION_INFO] = RenegotiationInfo(b"")
        exts[ExtensionType.SUPPORTED_GROUPS] = SupportedGroups(groups)
        exts[ExtensionType.SIGNATURE_ALGORITHMS] = SignatureAlgorithms(NSS_SCHEMES)
        if session_ticket:
            exts[ExtensionType.SESSION_TICKET] = SessionTicket(b"")
        exts.pop(ExtensionType.PADDING, None)
        shaped = replace(hello, extensions=tuple(exts[t] for t in NSS_ORDER if t in exts))
        if pad_to is not None:
            n = len(encode_handshake(shaped))
            if 256 <= n < pad_to:  # NSS pads hellos of 256..511 bytes (with a 4-byte extension header)
                shaped = replace(shaped, extensions=(*(shaped.extensions or ()), Padding(pad_to - n - 4)))
        return shaped

    return hook


class RecordedSigner:
    """Returns the RFC's (randomized, so unreproducible) RSA-PSS CertificateVerify signature."""

    def __init__(self, signature: bytes) -> None:
        self.signature = signature

    @property
    def schemes(self) -> tuple[SignatureScheme, ...]:
        return (SignatureScheme.RSA_PSS_RSAE_SHA256,)

    def schemes_for(self, version: int) -> tuple[SignatureScheme, ...]:
        return self.schemes if version == 0x0304 else ()

    def sign(self, scheme: SignatureScheme, data: bytes, *, version: int = 0x0304) -> bytes:
        assert scheme == SignatureScheme.RSA_PSS_RSAE_SHA256
        return self.signature


def records(section: dict[str, Any], sender: str) -> list[bytes]:
    return [H(r["complete_record"]) for r in section["records"] if r["sender"] == sender]


def keylog_lines(section: dict[str, Any]) -> set[str]:
    cr = section["inputs"]["client_hello_random"]
    secrets = section["secrets"]
    labels = {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET": "client_handshake_traffic_secret",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET": "server_handshake_traffic_secret",
        "CLIENT_TRAFFIC_SECRET_0": "client_application_traffic_secret_0",
        "SERVER_TRAFFIC_SECRET_0": "server_application_traffic_secret_0",
        "EXPORTER_SECRET": "exporter_master_secret",
    }
    return {f"{label} {cr} {secrets[key]}" for label, key in labels.items()}


def client_config(section: dict[str, Any], lines: list[str]) -> ClientConfig:
    inputs = section["inputs"]
    keys: dict[NamedGroup, list[bytes]] = {
        NamedGroup.X25519: [H(inputs["client_x25519_ephemeral"]["private_key"])]
    }
    if "client_p256_ephemeral" in inputs:
        keys[NamedGroup.SECP256R1] = [H(inputs["client_p256_ephemeral"]["private_key"])]
    randoms = [H(inputs["client_hello_random"])]
    if inputs["client_hello_legacy_session_id"]:
        randoms.append(H(inputs["client_hello_legacy_session_id"]))
    first = decode_handshake(H(section["handshake_messages"][0]["hex"]))
    assert isinstance(first, ClientHello)
    groups = first.extension(SupportedGroups)
    assert groups is not None
    return ClientConfig(
        verifier=NoVerification(),  # the RFC's certificate is not a Web PKI one; signatures still checked
        provider=DeterministicProvider(randoms=randoms, private_keys=keys),
        cipher_suites=RFC_SUITES,
        groups=[
            g
            for g in groups.named_group_list
            if g in (NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1)
        ],
        key_share_groups=[NamedGroup.X25519],
        record_size_limit=0x4001,
        middlebox_compatibility=bool(inputs["client_hello_legacy_session_id"]),
        client_hello_hook=nss_shape(
            groups.named_group_list,
            session_ticket=first.extension(SessionTicket) is not None,
            pad_to=512 if section["section"] == "5" else None,
        ),
        keylog=lines.append,
    )


@pytest.mark.parametrize("section_id", ["3", "5", "7"], ids=["s3-simple-1rtt", "s5-hello-retry", "s7-compat"])
def test_client_replays_rfc8448(section_id: str) -> None:
    section = RFC8448_SECTIONS[section_id]
    lines: list[str] = []
    client = ClientConnection(client_config(section, lines), "server")
    sent = client.data_to_send()
    ours, theirs = records(section, "client"), records(section, "server")
    # The first ClientHello, byte for byte (record header included: 0x0301 legacy record version).
    assert sent == ours[0]
    events = []
    client_out = [sent]
    for record in theirs:
        events += client.receive_data(record)
        client_out.append(client.data_to_send())
    done = [e for e in events if isinstance(e, HandshakeCompleted)]
    assert len(done) == 1 and done[0].cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    assert done[0].signature_scheme in (
        SignatureScheme.RSA_PSS_RSAE_SHA256,
        SignatureScheme.ECDSA_SECP256R1_SHA256,
    )
    # Every record the client sent equals the RFC's, in order: ClientHello(s), CCS in §7, Finished. (The
    # RFC's client then sends data or closes, which the engine does only when asked: see below.)
    handshake_records = [
        r
        for r in section["records"]
        if r["sender"] == "client"
        and r["content_type"] != "alert"
        and r["content_type"] != "application_data"
    ]
    assert b"".join(client_out) == b"".join(H(r["complete_record"]) for r in handshake_records)
    assert set(lines) >= keylog_lines(section)


def test_client_rfc8448_s3_application_data_and_close() -> None:
    section = RFC8448_SECTIONS["3"]
    lines: list[str] = []
    client = ClientConnection(client_config(section, lines), "server")
    client.data_to_send()
    ours, theirs = records(section, "client"), records(section, "server")
    events = []
    for record in theirs[:2]:
        events += client.receive_data(record)
    assert client.data_to_send() == ours[1]  # client Finished
    # NewSessionTicket under the server's application key.
    events += client.receive_data(theirs[2])
    assert any(isinstance(e, SessionTicketReceived) for e in events)
    # Application data both ways, byte for byte.
    client.send_data(H(section["inputs"]["client_application_data"]))
    assert client.data_to_send() == ours[2]
    got = client.receive_data(theirs[3])
    assert got == [DataReceived(H(section["inputs"]["server_application_data"]))]
    # close_notify both ways.
    client.close()
    assert client.data_to_send() == ours[3]
    assert client.receive_data(theirs[4]) == [ConnectionClosed(clean=True)]


def server_config(section: dict[str, Any], lines: list[str]) -> ServerConfig:
    inputs = section["inputs"]
    cert = x509.load_der_x509_certificate(H(inputs["server_certificate_der"]))
    signer = RecordedSigner(H(inputs["server_certificate_verify"]["signature"]))
    ee = decode_handshake(
        H(next(m["hex"] for m in section["handshake_messages"] if m["name"] == "EncryptedExtensions"))
    )
    assert isinstance(ee, EncryptedExtensions)
    rfc_groups = ee.extension(SupportedGroups)

    def shape_ee(ours: EncryptedExtensions) -> EncryptedExtensions:
        # NSS's server announces its groups and acknowledges SNI; tlslens acknowledges SNI only when a
        # certificate matched the name, and the RFC's certificate (CN=rsa) names nothing.
        assert rfc_groups is not None
        return EncryptedExtensions((rfc_groups, *ours.extensions, ServerNameEmpty()))

    return ServerConfig(
        certificates=[CertifiedKey((cert,), signer)],
        provider=DeterministicProvider(
            randoms=[H(inputs["server_hello_random"])],
            private_keys={NamedGroup.X25519: [H(inputs["server_x25519_ephemeral"]["private_key"])]},
        ),
        cipher_suites=RFC_SUITES,
        groups=[NamedGroup.X25519, NamedGroup.SECP256R1],
        signature_schemes=[SignatureScheme.RSA_PSS_RSAE_SHA256],
        record_size_limit=0x4001,
        encrypted_extensions_hook=shape_ee,
        tickets=0,  # the RFC's ticket is sealed under the RFC server's own keys: not reproducible
        keylog=lines.append,
    )


@pytest.mark.parametrize("section_id", ["3", "7"], ids=["s3-simple-1rtt", "s7-compat"])
def test_server_replays_rfc8448(section_id: str) -> None:
    section = RFC8448_SECTIONS[section_id]
    lines: list[str] = []
    server = ServerConnection(server_config(section, lines))
    ours, theirs = records(section, "server"), records(section, "client")
    server.receive_data(theirs[0])
    flight = [r for r in ours if r[0] in (0x16, 0x14) or (r[0] == 0x17 and len(r) == 679)]
    assert server.data_to_send() == b"".join(flight)
    events = []
    for record in theirs[1:]:
        if record[0] == 0x17 and len(record) == 24:
            break  # the client's close_notify comes after our NewSessionTicket in §3 (a later issue)
        events += server.receive_data(record)
    done = [e for e in events if isinstance(e, HandshakeCompleted)]
    assert len(done) == 1 and done[0].server_name == "server"
    assert set(lines) >= keylog_lines(section)
