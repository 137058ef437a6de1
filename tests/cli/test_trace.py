"""The trace renderer, in process: engine events from an in-memory client/server pair, decoded and drawn."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tlslens.certgen import make_ca, make_leaf, make_pki
from tlslens.cli.common import tracer_factory
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.trace import DiagramRow, JsonSink, TextSink, Tracer, describe_message, diagram_lines, field_lines
from tlslens.trace.certs import describe_certificate
from tlslens.trace.describe import enum_name, extension_name, extension_value, message_summary
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import (
    CipherSuite,
    ExtensionType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ALPN,
    EarlyDataNewSessionTicket,
    KeyShareClientHello,
    KeyShareEntry,
    PreSharedKeyClientHello,
    PskIdentity,
    SupportedGroups,
    UnknownExtension,
)
from tlslens.wire.messages import ClientHello, EndOfEarlyData, KeyUpdate, NewSessionTicket


class Recorder:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.entries: list[Any] = []
        self.diagrams: list[tuple[list[DiagramRow], str, str]] = []

    def entry(self, entry: Any, label: str) -> None:
        self.entries.append(entry)

    def diagram(self, rows: list[DiagramRow], side: Any, label: str) -> None:
        self.diagrams.append((rows, side, label))


def _pump(client: ClientConnection, server: ServerConnection, ct: Tracer, st: Tracer) -> None:
    """Move bytes both ways until neither side has anything to send (never a b"" EOF)."""
    while True:
        ct.feed(client.pending_events())
        st.feed(server.pending_events())
        to_server, to_client = client.data_to_send(), server.data_to_send()
        if not to_server and not to_client:
            return
        if to_server:
            st.feed(server.receive_data(to_server))
        if to_client:
            ct.feed(client.receive_data(to_client))


def _handshake(client_tracer: Tracer, server_tracer: Tracer, *, client_auth: bool = True) -> None:
    pki = make_pki()
    client_ca = make_ca("client CA")
    client_leaf = make_leaf(client_ca, ("alice",), client=True)
    server = ServerConnection(
        ServerConfig(
            certificate_chain=pki.chain,
            private_key=pki.leaf.private_key,
            groups=["secp256r1"],  # the client's x25519 share does not fit: HelloRetryRequest
            alpn_protocols=["h2"],
            client_verifier=WebPkiVerifier([client_ca.certificate]) if client_auth else None,
        ),
        trace=True,
    )
    client = ClientConnection(
        ClientConfig(
            trust_anchors=[pki.root.certificate],
            groups=["x25519", "secp256r1"],
            key_share_groups=["x25519"],
            alpn_protocols=["h2", "http/1.1"],
            certificate_chain=[client_leaf.certificate],
            private_key=client_leaf.private_key,
        ),
        "localhost",
        trace=True,
    )
    client_tracer.feed(client.pending_events())
    _pump(client, server, client_tracer, server_tracer)
    assert client.handshake_complete and server.handshake_complete
    client.update_keys(request_peer=True)
    client.send_data(b"ping")
    _pump(client, server, client_tracer, server_tracer)
    server.send_data(b"pong!")
    _pump(client, server, client_tracer, server_tracer)
    client.close()
    _pump(client, server, client_tracer, server_tracer)
    client_tracer.finish()
    server_tracer.finish()


def test_trace_of_a_whole_handshake_in_order() -> None:
    client, server = Recorder(), Recorder()
    _handshake(Tracer(client, "client"), Tracer(server, "server"))
    messages = [(e.direction, e.title) for e in client.entries if e.kind == "message"]
    assert messages == [
        ("sent", "ClientHello"),
        ("received", "HelloRetryRequest"),
        ("sent", "ClientHello"),
        ("received", "ServerHello"),
        ("received", "EncryptedExtensions"),
        ("received", "CertificateRequest"),
        ("received", "CompressedCertificate"),  # (both ends compress by default: RFC 8879)
        ("received", "Certificate (inflated)"),
        ("received", "CertificateVerify"),
        ("received", "Finished"),
        ("sent", "CompressedCertificate"),
        ("sent", "CertificateVerify"),
        ("sent", "Finished"),
        ("received", "NewSessionTicket"),
        ("received", "NewSessionTicket"),
        ("sent", "KeyUpdate"),
        ("received", "KeyUpdate"),
    ]
    decisions = [e.detail for e in server.entries if e.kind == "decision"]
    assert "chose TLS_AES_128_GCM_SHA256: first in server preference that the client offered" in decisions
    assert any(d.startswith("HelloRetryRequest: client sent key shares for x25519, none") for d in decisions)
    assert "chose ALPN h2: first in server preference" in decisions
    secrets = [e.title for e in client.entries if e.kind == "secret"]
    assert secrets[:2] == ["SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET"]
    done = next(e for e in client.entries if e.title == "handshake complete")
    assert done.fields["group"] == "secp256r1" and done.fields["alpn"] == "h2"
    rows, side, _ = client.diagrams[0]
    assert side == "client"
    labels = [(r.sender, r.label) for r in rows]
    assert labels[:4] == [
        ("client", "ClientHello"),
        ("server", "HelloRetryRequest"),
        ("client", "ClientHello"),
        ("server", "ServerHello"),
    ]
    assert ("client", "{CompressedCertificate}") in labels and ("server", "{Finished}") in labels
    assert ("server", "{Certificate (inflated)}") not in labels  # (it was the CompressedCertificate)
    assert ("client", "[KeyUpdate]") in labels and ("server", "[NewSessionTicket]") in labels
    assert ("client", "close_notify") not in labels  # our close_notify is traced by the CLI (sent_alert)
    data = [(r.sender, r.detail) for r in rows if r.label == "[Application Data]"]
    assert data == [("client", "4 bytes"), ("server", "5 bytes")]
    server_rows = server.diagrams[0][0]
    assert server_rows[-1].sender == "client" and server_rows[-1].label == "close_notify"


def test_messages_are_decoded_field_by_field() -> None:
    client, server = Recorder(), Recorder()
    _handshake(Tracer(client, "client"), Tracer(server, "server"))
    by_title = {e.title: e.fields for e in client.entries if e.kind == "message"}
    hello = by_title["ClientHello"]
    assert hello["legacy_version"] == "TLSv1.2 (0x0303)"
    assert len(hello["random"]) == 64 and hello["legacy_session_id"].startswith("32 bytes: ")
    assert hello["cipher_suites"][0] == "TLS_AES_128_GCM_SHA256"
    exts = {e["name"]: e["value"] for e in hello["extensions"]}
    assert exts["server_name"] == "localhost"
    assert exts["supported_groups"] == ["x25519", "secp256r1"]
    assert exts["supported_versions"] == ["TLSv1.3", "TLSv1.2"] and exts["alpn"] == ["h2", "http/1.1"]
    assert exts["cookie"].startswith(tuple("0123456789"))  # the second hello carries the cookie
    [share] = exts["key_share"]
    assert share["group"] == "secp256r1" and share["length"] == 65 and len(share["first_bytes"]) == 16
    hrr = by_title["HelloRetryRequest"]
    assert hrr["random"].endswith("(HelloRetryRequest marker)")
    compressed = by_title["CompressedCertificate"]  # ours (the client's, sent last)
    assert compressed["algorithm"] in ("brotli", "zstd", "zlib")
    assert compressed["uncompressed_length"].endswith(" bytes") and compressed["compressed_to"].endswith("%")
    inflated = {e.title: e.fields for e in server.entries if e.kind == "message"}
    [leaf] = inflated["Certificate (inflated)"]["certificates"]  # the client's, as the server read it
    assert (
        leaf["subject"] == "CN=alice,O=tlslens throwaway"
        and leaf["issuer"] == "CN=client CA,O=tlslens throwaway"
    )
    assert leaf["not_before"].endswith(" UTC") and leaf["key"] == "EC secp256r1"
    assert by_title["CertificateVerify"]["algorithm"] == "ecdsa_secp256r1_sha256"
    assert len(by_title["Finished"]["verify_data"]) == 64
    server_certs = next(e for e in client.entries if e.title == "Certificate (inflated)")
    assert server_certs.fields["certificates"][0]["names"] == ["DNS:localhost", "IP:127.0.0.1"]
    request = next(e for e in client.entries if e.title == "CertificateRequest")
    assert any(x["name"] == "signature_algorithms" for x in request.fields["extensions"])


def test_json_lines_and_plain_text_say_the_same() -> None:
    text, lines = io.StringIO(), io.StringIO()
    _handshake(Tracer(TextSink(text), "client"), Tracer(JsonSink(lines), "server", label="#1"))
    plain = text.getvalue()
    assert "\x1b[" not in plain  # a StringIO is not a terminal: no colour
    assert "→ ClientHello" in plain and "← HelloRetryRequest" in plain
    assert "      key_share: group: secp256r1, length: 65, first_bytes: " in plain
    assert "Round trip, as the client saw it" in plain
    objects = [json.loads(x) for x in lines.getvalue().splitlines()]
    assert all(o["conn"] == "#1" for o in objects)
    assert objects[-1]["kind"] == "diagram" and objects[-1]["lines"][0].startswith("Round trip of #1")
    hello = next(o for o in objects if o["title"] == "ClientHello")
    assert hello["dir"] == "received" and hello["side"] == "server" and "fields" in hello


def test_colour_only_when_asked_or_on_a_terminal() -> None:
    out = io.StringIO()
    sink = TextSink(out, colour=True)
    tracer = Tracer(sink, "client")
    tracer.note("TCP connected", "to example")
    tracer.finish()
    assert "\x1b[" in out.getvalue()


def test_field_lines_layout() -> None:
    fields = {
        "scalar": 1,
        "flag": True,
        "names": ["a", "b"],
        "empty": [],
        "inline": {"group": "x25519", "length": 32},
        "extensions": [{"name": "alpn", "value": ["h2"]}, {"name": "cookie", "value": "ab"}],
        "certificates": [{"subject": "CN=a", "issuer": "CN=b"}],
        "nested": {"inner": {"deep": [1, 2]}},
    }
    assert field_lines(fields) == [
        "scalar: 1",
        "flag: true",
        "names: a, b",
        "empty: (none)",
        "inline: group: x25519, length: 32",
        "extensions:",
        "  alpn: h2",
        "  cookie: ab",
        "certificates:",
        "  - subject: CN=a",
        "    issuer: CN=b",
        "nested:",
        "  inner:",
        "    deep: 1, 2",
    ]


def test_grease_unknown_and_special_values_are_named() -> None:
    assert enum_name(CipherSuite(0x0A0A)) == "GREASE (0x0a0a)"
    assert enum_name(NamedGroup(0x1234)) == "unknown (0x1234)"
    assert enum_name(SignatureScheme(0x0302)) == "unknown (0x0302)"
    assert enum_name(ProtocolVersion(0x7F1C)) == "0x7f1c"
    assert enum_name(KeyUpdateRequest.UPDATE_REQUESTED) == "update_requested"
    grease = UnknownExtension(ExtensionType(0x1A1A), b"")
    assert extension_name(grease) == "GREASE (0x1a1a)" and extension_value(grease) == "(empty)"
    assert extension_name(UnknownExtension(ExtensionType(0x4444), b"\x01")) == "unknown (0x4444)"
    assert extension_value(ALPN((b"h2",))) == ["h2"]
    psk = PreSharedKeyClientHello((PskIdentity(b"\xfe" + b"ticket" * 10, 1234),), (b"\x00" * 32,))
    external = PreSharedKeyClientHello((PskIdentity(b"client1", 0),), (b"\x00" * 32,))
    assert extension_value(external)["identities"][0]["identity"] == '"client1"'  # printable: as text
    assert extension_value(psk)["identities"][0] == {
        "identity": "61 bytes: fe7469636b657474…",
        "obfuscated_ticket_age": 1234,
    }
    hello = ClientHello(
        ProtocolVersion.TLS1_2,
        b"\x01" * 32,
        b"",
        (CipherSuite(0x0A0A), CipherSuite.TLS_AES_128_GCM_SHA256),
        extensions=(
            SupportedGroups((NamedGroup.X25519,)),
            KeyShareClientHello((KeyShareEntry(NamedGroup.X25519, b"\x02" * 32),)),
        ),
    )
    fields = describe_message(hello)
    assert fields["cipher_suites"] == ["GREASE (0x0a0a)", "TLS_AES_128_GCM_SHA256"]
    assert message_summary(hello) == "shares x25519"


def test_post_handshake_messages() -> None:
    ticket = NewSessionTicket(7200, 42, b"\x00", b"t" * 100, (EarlyDataNewSessionTicket(16384),))
    assert describe_message(ticket) == {
        "ticket_lifetime": "7200 s",
        "ticket_age_add": 42,
        "ticket_nonce": "00",
        "ticket": "100 bytes: 7474747474747474…",
        "extensions": [{"name": "early_data", "value": 16384}],
    }
    assert describe_message(KeyUpdate(KeyUpdateRequest.UPDATE_NOT_REQUESTED)) == {
        "request_update": "update_not_requested"
    }
    assert describe_message(EndOfEarlyData()) == {}


def test_unparseable_certificate() -> None:
    assert describe_certificate(b"\x30\x03junk")["unparsed"].startswith("6 bytes (")


def test_diagram_layout() -> None:
    rows = [
        DiagramRow(0.001, "client", "ClientHello", "shares x25519"),
        DiagramRow(0.002, "server", "ServerHello", "TLS_AES_128_GCM_SHA256, x25519"),
        DiagramRow(0.003, "client", "a label far too long to share its line with the arrow", ""),
    ]
    lines = diagram_lines(rows, "client")
    assert lines[0].startswith("Round trip, as the client saw it")
    assert lines[2] == "   1.00 ms  ClientHello (shares x25519)  ──────────►"
    server_column = " " * 31 + "◄──────────  "
    assert lines[3] == "   2.00 ms" + server_column + "ServerHello (TLS_AES_128_GCM_SHA256, x25519)"
    assert lines[4].endswith("a label far too long to share its line with the arrow")
    assert lines[5].strip() == "──────────►"
    assert diagram_lines([], "server", "#3") == [
        "Round trip of #3, as the server saw it: nothing was exchanged"
    ]


def test_tracer_kinds_filter_and_data_merging() -> None:
    rec = Recorder()
    tracer = Tracer(rec, "server", kinds=frozenset({"decision"}))
    tracer.note("ignored")
    tracer.finish()
    assert rec.entries == [] and rec.diagrams == []
    tracer = Tracer(rec, "client")
    for size in (3, 4):
        tracer._row(0.0, "client", "[Application Data]", size=size)
    assert [r.detail for r in tracer.rows] == ["7 bytes"]


@pytest.mark.parametrize("trace", [False, True])
def test_tracing_off_makes_no_tracer(trace: bool) -> None:
    make = tracer_factory(trace, "text", io.StringIO(), "client")
    assert (make("x") is not None) is trace
    pki = make_pki()
    conn = ClientConnection(ClientConfig(trust_anchors=[pki.root.certificate]), "localhost", trace=trace)
    assert bool(conn.pending_events()) is trace  # the engine makes no trace events without trace=True
