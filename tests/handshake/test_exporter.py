"""RFC 8446 §7.5 exporters through the connection API."""

from __future__ import annotations

import pytest

import tlslens
from tests.handshake.test_resumption import client_config, run, server_config
from tlslens.certgen import ThrowawayPki, make_pki
from tlslens.errors import LocalProtocolError


@pytest.fixture(scope="module")
def pki() -> ThrowawayPki:
    return make_pki(("localhost",))


def test_both_ends_export_the_same_keying_material(pki: ThrowawayPki) -> None:
    c = tlslens.ClientConnection(client_config(pki), "localhost")
    s = tlslens.ServerConnection(server_config(pki))
    with pytest.raises(LocalProtocolError, match="after the handshake"):
        c.export_keying_material("EXPORTER-test")
    run(c, s)
    ours = c.export_keying_material("EXPORTER-test", b"ctx", 48)
    assert ours == s.export_keying_material(b"EXPORTER-test", b"ctx", 48) and len(ours) == 48
    assert ours != c.export_keying_material("EXPORTER-test", b"other", 48)
    other = tlslens.ClientConnection(client_config(pki), "localhost")
    run(other, tlslens.ServerConnection(server_config(pki)))
    assert other.export_keying_material("EXPORTER-test", b"ctx", 48) != ours  # per connection
