"""CompressedCertificate faults (RFC 8879 §4), both roles: a decompression bomb refused before anything
is inflated, bytes that do not inflate to the announced length, an algorithm we did not offer, and the
message when we offered no compression at all."""

from __future__ import annotations

import dataclasses
import zlib

import pytest

from tests.handshake.faults.fault import Fault, faults
from tests.handshake.faults.scenes import requiring_client_certificate, with_client_certificate
from tests.handshake.helpers import ConnectionPair, TamperingServer, client_config, replacing, server_config
from tlslens.connection import ClientConnection
from tlslens.errors import BadCertificate, IllegalParameter, UnexpectedMessage
from tlslens.handshake import certificate_compression
from tlslens.wire.enums import CertificateCompressionAlgorithm
from tlslens.wire.messages import CompressedCertificate

A = CertificateCompressionAlgorithm
replace = dataclasses.replace
SITE = "handshake/certificate_compression.py:receive_compressed"
ZLIB = {"certificate_compression": (A.ZLIB,)}
BOMB = zlib.compress(bytes(2**24), 9)  # 16 MiB of zeros in about 16 KiB


def compressed(fn: object) -> object:
    return replacing(CompressedCertificate, fn)  # type: ignore[arg-type]


CLIENT_FAULTS = [
    Fault(
        id="compressed_certificate-bomb_announced",
        fails="client",
        raises=BadCertificate,
        site=SITE,
        match=r"announces 16777215 bytes uncompressed \(limit 262144\): refused without inflating",
        client=ZLIB,
        server=ZLIB,
        tamper=compressed(lambda m: CompressedCertificate(A.ZLIB, 2**24 - 1, BOMB)),
    ),
    Fault(
        id="compressed_certificate-bomb_understated",
        fails="client",
        raises=BadCertificate,
        site=SITE,
        match="inflates to more than the 1000 bytes announced",
        client=ZLIB,
        server=ZLIB,
        tamper=compressed(lambda m: CompressedCertificate(A.ZLIB, 1000, BOMB)),
    ),
    Fault(
        id="compressed_certificate-length_overstated",
        fails="client",
        raises=BadCertificate,
        site=SITE,
        match="does not decompress",
        client=ZLIB,
        server=ZLIB,
        tamper=compressed(lambda m: replace(m, uncompressed_length=m.uncompressed_length + 1)),
    ),
    Fault(
        id="compressed_certificate-corrupt",
        fails="client",
        raises=BadCertificate,
        site=SITE,
        match=r"does not decompress: error: Error -3",
        client=ZLIB,
        server=ZLIB,
        tamper=compressed(lambda m: replace(m, compressed_certificate_message=b"\x78\x9c\xff\xff\xff")),
    ),
    Fault(
        id="compressed_certificate-algorithm_not_offered",
        fails="client",
        raises=IllegalParameter,
        site=SITE,
        match="uses brotli, which we did not offer",
        client=ZLIB,
        server=ZLIB,
        tamper=compressed(lambda m: replace(m, algorithm=A.BROTLI)),
    ),
    Fault(
        id="compressed_certificate-client_bomb_announced",
        fails="server",
        raises=BadCertificate,
        site=SITE,
        match="refused without inflating",
        client=lambda: {**ZLIB, **with_client_certificate()},
        server=lambda: {**ZLIB, **requiring_client_certificate()},
        tamper=compressed(lambda m: CompressedCertificate(A.ZLIB, 2**24 - 1, BOMB)),
    ),
    Fault(
        id="compressed_certificate-client_algorithm_not_offered",
        fails="server",
        raises=IllegalParameter,
        site=SITE,
        client=lambda: {**ZLIB, **with_client_certificate()},
        server=lambda: {**ZLIB, **requiring_client_certificate()},
        tamper=compressed(lambda m: replace(m, algorithm=A.ZSTD)),
    ),
]


@faults(CLIENT_FAULTS)
def test_compressed_certificate_faults(fault: Fault) -> None:
    fault.check()


def test_a_bomb_is_refused_before_anything_is_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object) -> bytes:
        raise AssertionError("decompress was called")

    monkeypatch.setattr(certificate_compression, "decompress", never)
    bomb = compressed(lambda m: CompressedCertificate(A.ZLIB, 2**20, BOMB))
    server = TamperingServer(server_config(**ZLIB), tamper=bomb)  # type: ignore[arg-type]
    client = ClientConnection(client_config(**ZLIB, certificate_decompression_limit=2**16), "localhost")
    with pytest.raises(BadCertificate, match="limit 65536"):
        ConnectionPair(client=client, server=server).pump()


def test_compressed_certificate_when_none_was_offered_is_unexpected() -> None:
    # The server compresses although the client offered nothing: refused at the message's header.
    def unsolicited(message: object) -> object:
        from tlslens.wire.messages import Certificate
        from tlslens.wire.reader import Writer

        if isinstance(message, Certificate):
            w = Writer()
            message.encode_body(w)
            body = w.getvalue()
            return CompressedCertificate(A.ZLIB, len(body), zlib.compress(body))
        return message

    server = TamperingServer(server_config(), tamper=unsolicited)  # type: ignore[arg-type]
    client = ClientConnection(client_config(certificate_compression=()), "localhost")
    with pytest.raises(UnexpectedMessage, match="expected Certificate or CertificateRequest"):
        ConnectionPair(client=client, server=server).pump()
