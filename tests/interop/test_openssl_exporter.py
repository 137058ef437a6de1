"""Exported keying material (RFC 8446 §7.5) equals OpenSSL's for the same connection, both directions."""

from __future__ import annotations

import re
import shutil

import pytest

from .harness import TIMEOUT, Harness

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

LABEL = "EXPERIMENTAL-tlslens"


def _openssl_material(output: str) -> bytes:
    m = re.search(r"Keying material: ([0-9A-Fa-f]+)", output)
    assert m, output
    return bytes.fromhex(m.group(1))


def test_tlslens_client_exports_what_s_server_exports(harness: Harness) -> None:
    server = harness.s_server("-keymatexport", LABEL, "-keymatexportlen", "40")
    pump = harness.tlslens_client(server.port, harness.client_config())
    pump.handshake()
    server.proc.wait_for(r"Keying material: [0-9A-Fa-f]+", TIMEOUT)
    assert pump.conn.export_keying_material(LABEL, b"", 40) == _openssl_material(server.proc.output)


def test_tlslens_server_exports_what_s_client_exports(harness: Harness) -> None:
    listener, port = harness.listen()
    client = harness.s_client(port, "-keymatexport", LABEL, "-keymatexportlen", "40")
    pump = harness.accept(listener, harness.server_config())
    pump.handshake()
    client.proc.wait_for(r"Keying material: [0-9A-Fa-f]+", TIMEOUT)
    assert pump.conn.export_keying_material(LABEL, b"", 40) == _openssl_material(client.proc.output)
