"""The record layer against OpenSSL, both directions: padded records, handshake messages and data
split over small records, bulk transfers, max_fragment_length, and record_size_limit against a peer
without RFC 8449.
"""

from __future__ import annotations

import shutil

import pytest

from tlslens.events import RecordReceived
from tlslens.wire.enums import ContentType

from .harness import (
    Harness,
    protected_records,
    read_keylog_file,
    s_client_exchange,
    s_client_session,
    s_server_exchange,
)

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

BULK = b"0123456789" * 10_000 + b"\n"
"""100 kB of digits: s_server and s_client treat a read that starts with certain letters (q, Q, P, S, k,
K, R...) as a command, and a pipe read may start anywhere in the payload."""



# --- record layer -------------------------------------------------------------------------------------


def test_client_strips_the_padding_s_server_adds(harness: Harness) -> None:
    server = harness.s_server("-record_padding", "512")
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    s_server_exchange(pump, server)
    # every protected record (EncryptedExtensions onwards) was padded to a multiple of 512 + tag
    assert all((r.length - 16) % 512 == 0 for r in protected_records(pump))


def test_server_strips_the_padding_s_client_adds(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config(), "-record_padding", "512")
    pump.handshake()
    s_client_exchange(pump, client)
    assert all((r.length - 16) % 512 == 0 for r in protected_records(pump))


def test_client_reassembles_handshake_messages_split_by_s_server(harness: Harness) -> None:
    pki = harness.pki("rsa2048")  # Certificate and CertificateVerify are each larger than 512 bytes
    server = harness.s_server("-max_send_frag", "512", pki=pki)
    pump = harness.tlslens_client(server.port, harness.client_config(pki))
    pump.handshake()
    assert max(r.length for r in protected_records(pump)) <= 512 + 1 + 16
    server.proc.write(BULK.decode())
    pump.read_until(BULK)


def test_server_reassembles_a_client_hello_split_by_s_client(harness: Harness) -> None:
    protocols = [f"protocol-{i:03d}-padding-the-hello" for i in range(40)]  # a ClientHello over 1 kB
    config = harness.server_config(alpn_protocols=["protocol-039-padding-the-hello"])
    client, pump = s_client_session(harness, config, "-max_send_frag", "512", "-alpn", ",".join(protocols))
    pump.handshake()
    plaintext = [e for e in pump.events if isinstance(e, RecordReceived) and not e.protected]
    assert [r.content_type for r in plaintext[:3]] == [ContentType.HANDSHAKE] * 3  # 512 + 512 + rest
    assert pump.completed is not None and pump.completed.alpn_protocol == "protocol-039-padding-the-hello"
    s_client_exchange(pump, client)


def test_client_bulk_transfer_both_ways(harness: Harness) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    pump.send(BULK)
    server.proc.wait_for_bytes(BULK)
    server.proc.write(BULK.decode())
    pump.read_until(BULK)


def test_server_bulk_transfer_both_ways(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config())
    pump.handshake()
    pump.send(BULK)
    client.proc.wait_for_bytes(BULK)
    client.proc.write(BULK.decode())
    pump.read_until(BULK)


def test_server_ignores_max_fragment_length_and_s_client_copes(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config(), "-maxfraglen", "512")
    pump.handshake()
    pump.send(BULK)  # full-size records: the extension was not acknowledged
    client.proc.wait_for_bytes(BULK)


def test_client_record_size_limit_is_void_when_s_server_does_not_negotiate_it(harness: Harness) -> None:
    server = harness.s_server()
    pump = harness.tlslens_client(server.port, harness.client_config(record_size_limit=1024))
    pump.handshake()
    server.proc.write(BULK.decode())
    pump.read_until(BULK)


def test_server_record_size_limit_is_void_when_s_client_does_not_offer_it(harness: Harness) -> None:
    client, pump = s_client_session(harness, harness.server_config(record_size_limit=1024))
    pump.handshake()
    client.proc.write(BULK.decode())
    pump.read_until(BULK)


# --- chunking -----------------------------------------------------------------------------------------


def test_client_fed_byte_by_byte(harness: Harness) -> None:
    server = harness.s_server("-record_padding", "64")
    pump = harness.tlslens_client(server.port, harness.client_config(), feed_size=1)
    pump.handshake()
    server.key_update(request_peer=True)
    s_server_exchange(pump, server)
    assert harness.tlslens_keylog == read_keylog_file(server.keylog)


def test_server_fed_byte_by_byte(harness: Harness) -> None:
    config = harness.server_config(groups=["secp256r1", "x25519"])  # with an HRR
    client, pump = s_client_session(harness, config, "-groups", "x25519:secp256r1", feed_size=1)
    pump.handshake()
    client.key_update(request_peer=True)
    s_client_exchange(pump, client)
    assert harness.tlslens_keylog == read_keylog_file(client.keylog)
