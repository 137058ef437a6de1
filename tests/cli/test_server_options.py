"""`tlslens server` options beyond the basics, each against a real client: optional client certificates
(--request-client-cert beside --verify-client), --key-update, --record-size-limit and --www's
/keyupdate."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

import tlslens.aio
from tests.cli.conftest import ClientPkiFiles, PkiFiles
from tests.cli.procs import run_tlslens, summary_lines, tlslens_server
from tlslens import ClientConfig
from tlslens.events import Event, KeyUpdated
from tlslens.pki.trust import load_ca_locations

pytestmark = pytest.mark.timeout(90)

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _server(pki: PkiFiles, *more: str) -> tuple[str, ...]:
    return ("--cert", str(pki.chain), "--key", str(pki.key), *more)


def _client(port: int, pki: PkiFiles, *more: str) -> tuple[str, ...]:
    return ("client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost", *more)


def _page(stdout: str) -> dict[str, str]:
    head, _, body = stdout.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), stdout
    return dict(line.split(": ", 1) for line in body.splitlines() if ": " in line)


def _summary(stderr: str) -> dict[str, object]:
    lines = summary_lines(stderr)
    assert lines, stderr
    return json.loads(lines[-1].removeprefix("tlslens-summary: "))  # type: ignore[no-any-return]


# --- client certificates: required or only requested -------------------------------------------------


def test_request_client_cert_accepts_a_client_without_one(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server(*_server(pki, "--www", "--request-client-cert", str(client_pki.ca), "--trace")) as (
        server,
        port,
    ):
        without = run_tlslens(*_client(port, pki, "--trace"), input=REQUEST)
        assert without.returncode == 0, without.stderr
        assert _page(without.stdout)["client_cert"] == "none (requested)"
        assert "← CertificateRequest" in without.stderr  # it was asked, and answered with no certificate
        server.wait_for(r" ok TLSv1\.3 .*client_cert=none .*http=200")

        with_cert = run_tlslens(
            *_client(port, pki, "--cert", str(client_pki.cert), "--key", str(client_pki.key)), input=REQUEST
        )
        assert with_cert.returncode == 0, with_cert.stderr
        assert _page(with_cert.stdout)["client_cert"] == f"{client_pki.subject} (requested)"
        server.wait_for(rf" ok TLSv1\.3 .*client_cert={re.escape(client_pki.subject)} .*http=200")


def test_request_client_cert_still_verifies_a_certificate_that_comes(
    pki: PkiFiles, client_pki: ClientPkiFiles
) -> None:
    with tlslens_server(*_server(pki, "--www", "--request-client-cert", str(client_pki.ca))) as (
        server,
        port,
    ):
        # A certificate from another CA (the server's own chain): refused, not ignored.
        result = run_tlslens(
            *_client(port, pki, "--cert", str(pki.chain), "--key", str(pki.key)), input=REQUEST
        )
        assert result.returncode == 1
        assert "alert received: the server sent" in result.stderr
        server.wait_for(r"failed: .*certificate")


def test_verify_client_page_says_required(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server(*_server(pki, "--www", "--verify-client", str(client_pki.ca))) as (_proc, port):
        ok = run_tlslens(
            *_client(port, pki, "--cert", str(client_pki.cert), "--key", str(client_pki.key)), input=REQUEST
        )
        assert ok.returncode == 0, ok.stderr
        assert _page(ok.stdout)["client_cert"] == f"{client_pki.subject} (required)"


def test_verify_client_and_request_client_cert_exclude_each_other(
    pki: PkiFiles, client_pki: ClientPkiFiles
) -> None:
    ca = str(client_pki.ca)
    result = run_tlslens("server", *_server(pki, "--verify-client", ca, "--request-client-cert", ca))
    assert result.returncode == 2
    assert "--request-client-cert" in result.stderr and "--verify-client" in result.stderr


# --- key updates from the server's side --------------------------------------------------------------


def test_www_keyupdate_answers_after_a_key_update_that_requests_the_clients(pki: PkiFiles) -> None:
    with tlslens_server(*_server(pki, "--www")) as (server, port):

        async def get() -> tuple[list[KeyUpdated], bytes]:
            events: list[Event] = []
            config = ClientConfig(trust_anchors=load_ca_locations([str(pki.ca)]))
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=config, server_name="localhost", on_event=events.append
            )
            writer.write(b"GET /keyupdate HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = await reader.read()
            writer.close()
            await writer.wait_closed()
            return [e for e in events if isinstance(e, KeyUpdated)], reply

        updates, reply = asyncio.run(get())
        assert updates == [KeyUpdated(direction="receive", update_requested=True)]
        assert _page(reply.decode())["key_update"] == "sent before this page, update_requested"
        server.wait_for(r" ok TLSv1\.3 .*http=200.*; sent KeyUpdate\(update_requested\) for GET /keyupdate$")


def test_www_other_pages_send_no_key_update(pki: PkiFiles) -> None:
    with tlslens_server(*_server(pki, "--www")) as (_proc, port):
        result = run_tlslens(*_client(port, pki, "--trace"), input=REQUEST)
        assert result.returncode == 0, result.stderr
        assert "key_update" not in _page(result.stdout)
        assert "KeyUpdate" not in result.stderr


def test_server_key_update_after_the_first_application_data(pki: PkiFiles) -> None:
    with tlslens_server(*_server(pki, "--key-update")) as (server, port):
        result = run_tlslens(*_client(port, pki, "--trace"), input=b"first\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "first\n"  # echoed, under the server's next key
        trace = result.stderr
        sent = trace.index("→ record application_data")
        update = trace.index("← KeyUpdate")
        assert sent < update < trace.index("← record application_data", update)
        assert "request_update: update_requested" in trace[update:]
        assert "keys updated  receive (peer asked us to update too)" in trace
        server.wait_for(r" ok TLSv1\.3 .*; sent KeyUpdate\(update_requested\) for --key-update$")


def test_key_updates_over_tls12_are_skipped_and_said(pki: PkiFiles) -> None:
    with tlslens_server(*_server(pki, "--key-update")) as (server, port):
        result = run_tlslens(*_client(port, pki, "--tls1_2", "--key-update"), input=b"one\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "one\n"
        assert "warning: --key-update: TLSv1.2 has no KeyUpdate; none was sent" in result.stderr
        server.wait_for(r" ok TLSv1\.2 .*; no KeyUpdate for --key-update: TLSv1\.2 has none$")
    with tlslens_server(*_server(pki, "--www")) as (server, port):
        page = run_tlslens(
            *_client(port, pki, "--tls1_2"), input=b"GET /keyupdate HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert page.returncode == 0, page.stderr
        assert _page(page.stdout)["key_update"] == "none, TLSv1.2 has no KeyUpdate"
        server.wait_for(r" ok TLSv1\.2 .*http=200.*; no KeyUpdate for GET /keyupdate: TLSv1\.2 has none$")


# --- record_size_limit (RFC 8449) --------------------------------------------------------------------


def _record_lengths(trace: str, arrow: str) -> list[int]:
    """The lengths of the application data records a trace shows arriving (arrow "←")."""
    pattern = rf"{arrow} record application_data  (\d+) bytes, encrypted"
    return [int(n) for n in re.findall(pattern, trace)]


def test_record_size_limit_on_both_sides(pki: PkiFiles) -> None:
    data = b"x" * 3000
    with tlslens_server(*_server(pki, "--record-size-limit", "64", "--trace")) as (server, port):
        result = run_tlslens(*_client(port, pki, "--record-size-limit", "100", "--trace"), input=data)
        assert result.returncode == 0, result.stderr
        assert result.stdout.encode() == data
        server.wait_for(r" ok TLSv1\.3 ")
    # Each side sends records of at most the other's limit: content and type, plus a 16-byte tag.
    to_client = _record_lengths(result.stderr, "←")
    assert to_client and max(to_client) <= 100 + 16 and sum(n - 17 for n in to_client) >= len(data)
    to_server = _record_lengths(server.stderr, "←")
    assert to_server and max(to_server) <= 64 + 16 and sum(n - 17 for n in to_server) >= len(data)
    assert "record_size_limit: 100" in result.stderr and "record_size_limit: 64" in result.stderr


@pytest.mark.parametrize("command", ["client", "server"])
def test_record_size_limit_out_of_range_is_a_usage_error(command: str, pki: PkiFiles) -> None:
    args = _client(1, pki)[1:] if command == "client" else _server(pki)
    result = run_tlslens(command, *args, "--record-size-limit", "63")
    assert result.returncode == 2
    assert "--record-size-limit" in result.stderr and "64" in result.stderr
