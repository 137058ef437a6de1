"""A real OpenSSL TLS 1.2 server flight (ServerHello .. ServerHelloDone, sent in the clear) decodes in
its TLS 1.2 forms and re-encodes to the same bytes, for each key exchange and message OpenSSL sends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.ossl import PkiFiles
from tests.wire.openssl12 import Tls12Peer, client_hello12, pki_files, read_handshake_messages
from tlslens.wire.enums import (
    CertificateStatusType,
    CipherSuite,
    ClientCertificateType,
    NamedGroup,
    ProtocolVersion,
)
from tlslens.wire.extensions import (
    ExtendedMasterSecret,
    OCSPStatusRequest,
    RenegotiationInfo,
    SessionTicket,
    StatusRequest,
    StatusRequestEmpty,
)
from tlslens.wire.messages import ServerHello, decode_handshake, encode_handshake
from tlslens.wire.messages12 import (
    Certificate12,
    CertificateRequest12,
    CertificateStatusMessage,
    ServerDHParams,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlslens.wire.suite_registry import suite_info

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(60),
]

TLS12 = ProtocolVersion.TLS1_2


@pytest.fixture(scope="module")
def pkis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PkiFiles]:
    return {k: pki_files(k, tmp_path_factory.mktemp(k)) for k in ("ecdsa-p256", "rsa2048")}


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[list[Tls12Peer]]:
    started: list[Tls12Peer] = []
    yield started
    for peer in started:
        peer.close()


def server_flight(
    peers: list[Tls12Peer], pki: PkiFiles, tmp_path: Path, suite: CipherSuite, *args: str, **hello: object
) -> tuple[list[bytes], list[object]]:
    peer = Tls12Peer.start(pki, tmp_path, *args)
    peers.append(peer)
    peer.send_hello(client_hello12([suite], **hello))  # type: ignore[arg-type]
    raws = read_handshake_messages(peer.conn, last_type=14)
    kx = suite_info(suite).key_exchange  # type: ignore[union-attr]
    msgs: list[object] = [decode_handshake(raw, version=TLS12, key_exchange=kx) for raw in raws]
    for raw, msg in zip(raws, msgs, strict=True):
        assert encode_handshake(msg) == raw  # type: ignore[arg-type]
    return raws, msgs


@pytest.mark.parametrize(
    ("key_type", "suite"),
    [
        ("ecdsa-p256", CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ("rsa2048", CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    ],
)
def test_ecdhe_flight_decodes_byte_exact(
    peers: list[Tls12Peer], pkis: dict[str, PkiFiles], tmp_path: Path, key_type: str, suite: CipherSuite
) -> None:
    _, msgs = server_flight(peers, pkis[key_type], tmp_path, suite)
    sh, cert, ske, done = msgs
    assert isinstance(sh, ServerHello) and sh.cipher_suite == suite
    assert sh.extension(RenegotiationInfo) == RenegotiationInfo(b"")
    assert sh.extension(ExtendedMasterSecret) is not None
    assert sh.extension(SessionTicket) == SessionTicket(b"")
    assert isinstance(cert, Certificate12) and len(cert.certificate_list) == 2
    assert isinstance(ske, ServerKeyExchange) and isinstance(ske.params, ServerECDHParams)
    assert ske.params.named_curve == NamedGroup.X25519 and len(ske.params.public) == 32
    assert ske.signed is not None and ske.signed.algorithm is not None and ske.signed.signature
    assert isinstance(done, ServerHelloDone)


def test_dhe_flight_carries_the_dh_group(
    peers: list[Tls12Peer], pkis: dict[str, PkiFiles], tmp_path: Path
) -> None:
    suite = CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
    _, msgs = server_flight(peers, pkis["rsa2048"], tmp_path, suite)
    ske = msgs[2]
    assert isinstance(ske, ServerKeyExchange) and isinstance(ske.params, ServerDHParams)
    assert ske.params.p_bits >= 2048 and ske.params.dh_g == b"\x02"
    assert ske.signed is not None


def test_anonymous_ecdh_flight_has_an_unsigned_server_key_exchange(
    peers: list[Tls12Peer], pkis: dict[str, PkiFiles], tmp_path: Path
) -> None:
    suite = CipherSuite.TLS_ECDH_anon_WITH_AES_128_CBC_SHA
    _, msgs = server_flight(peers, pkis["rsa2048"], tmp_path, suite, "-cipher", "aNULL:@SECLEVEL=0")
    sh, ske, done = msgs
    assert isinstance(sh, ServerHello) and sh.cipher_suite == suite
    assert isinstance(ske, ServerKeyExchange) and ske.signed is None
    assert isinstance(done, ServerHelloDone)


def test_certificate_request_in_tls12_form(
    peers: list[Tls12Peer], pkis: dict[str, PkiFiles], tmp_path: Path
) -> None:
    pki = pkis["ecdsa-p256"]
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    _, msgs = server_flight(peers, pki, tmp_path, suite, "-Verify", "1", "-CAfile", str(pki.root))
    req = msgs[3]
    assert isinstance(req, CertificateRequest12)
    assert ClientCertificateType.ECDSA_SIGN in req.certificate_types
    assert req.supported_signature_algorithms
    assert len(req.certificate_authorities) == 1  # the root, as a DER DistinguishedName


def test_stapled_ocsp_response_arrives_in_certificate_status(
    peers: list[Tls12Peer], pkis: dict[str, PkiFiles], tmp_path: Path
) -> None:
    response = tmp_path / "ocsp.der"
    response.write_bytes(bytes.fromhex("30030a0101"))  # OCSPResponse{ responseStatus malformedRequest }
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    status_request = StatusRequest(CertificateStatusType.OCSP, OCSPStatusRequest())
    _, msgs = server_flight(
        peers, pkis["ecdsa-p256"], tmp_path, suite, "-status_file", str(response), extra=[status_request]
    )
    sh, status = msgs[0], msgs[2]
    assert isinstance(sh, ServerHello) and sh.extension(StatusRequestEmpty) is not None
    assert status == CertificateStatusMessage(CertificateStatusType.OCSP, response.read_bytes())
