"""`tlslens client` against `tlslens server`, both as real processes on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.cli.conftest import ClientPkiFiles, PkiFiles
from tests.cli.procs import Proc, run_tlslens, summary_lines, tlslens_args, tlslens_server

pytestmark = pytest.mark.timeout(90)

REQUEST = b"GET /info HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _summary(stderr: str) -> dict[str, object]:
    lines = summary_lines(stderr)
    assert lines, stderr
    assert stderr.rstrip("\n").splitlines()[-1] == lines[-1], "the summary must be the last line on stderr"
    return json.loads(lines[-1].removeprefix("tlslens-summary: "))  # type: ignore[no-any-return]


def _page(stdout: str) -> dict[str, str]:
    head, _, body = stdout.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), stdout
    assert "Connection: close" in head
    return dict(line.split(": ", 1) for line in body.splitlines() if ": " in line)


def test_echo_round_trip_and_summary(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (server, port):
        data = os.urandom(3_000_000).hex().encode() + b"\nlast line\n"  # 6 MB: flow control both ways
        result = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost", input=data
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.encode() == data  # echoed back in full before the server closed
        summary = _summary(result.stderr)
        assert summary == {
            "version": "TLSv1.3",
            "cipher": "TLS_AES_128_GCM_SHA256",
            "group": "X25519MLKEM768",
            "alpn": None,
            "resumed": False,
            "early_data_accepted": False,
            "verified": True,
        }
        log = server.wait_for(r"^127\.0\.0\.1:\d+ ok TLSv1\.3 .*handshake [\d.]+ ms.*$").group(0)
        assert "sni=localhost" in log and "TLS_AES_128_GCM_SHA256" in log


def test_www_page_names_what_was_negotiated(pki: PkiFiles) -> None:
    with tlslens_server(
        "--cert",
        str(pki.chain),
        "--key",
        str(pki.key),
        "--www",
        "--alpn",
        "h2,http/1.1",
        "--ciphers",
        "TLS_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256",
    ) as (server, port):
        result = run_tlslens(
            "client",
            f"127.0.0.1:{port}",
            "--cafile",
            str(pki.ca),
            "--servername",
            "localhost",
            "--alpn",
            "http/1.1",
            "--groups",
            "secp384r1,x25519",
            input=REQUEST,
        )
        assert result.returncode == 0, result.stderr
        page = _page(result.stdout)
        assert page == {
            "protocol": "TLSv1.3",
            "cipher": "TLS_CHACHA20_POLY1305_SHA256",
            "group": "secp384r1",  # the client's share is taken (no HelloRetryRequest for our preference)
            "alpn": "http/1.1",
            "sni": "localhost",
            "resumed": "false",
            "early_data": "false",
            "client_cert": "none",
        }
        assert _summary(result.stderr)["alpn"] == "http/1.1"
        server.wait_for(
            r"ok TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256 secp384r1 alpn=http/1\.1 sni=localhost http=200"
        )


def test_client_certificate_is_verified_and_named(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    args = ("--cert", str(pki.chain), "--key", str(pki.key), "--www", "--verify-client", str(client_pki.ca))
    with tlslens_server(*args) as (server, port):
        client = ("client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost")
        ok = run_tlslens(*client, "--cert", str(client_pki.cert), "--key", str(client_pki.key), input=REQUEST)
        assert ok.returncode == 0, ok.stderr
        assert _page(ok.stdout)["client_cert"] == f"{client_pki.subject} (required)"
        refused = run_tlslens(*client, input=REQUEST)
        assert refused.returncode == 1
        assert "alert received: the server sent certificate_required (116)" in refused.stderr
        assert _summary(refused.stderr)["error"].startswith("alert received")  # type: ignore[union-attr]
        server.wait_for(r"failed: the client sent no certificate \(sent alert certificate_required\)")


def test_hello_retry_request_is_traced_on_both_sides(pki: PkiFiles) -> None:
    args = ("--cert", str(pki.chain), "--key", str(pki.key), "--groups", "secp256r1", "--trace")
    with tlslens_server(*args) as (server, port):
        result = run_tlslens(
            "client",
            f"127.0.0.1:{port}",
            "--cafile",
            str(pki.ca),
            "--servername",
            "localhost",
            "--groups",
            "x25519,secp256r1",
            "--trace",
            input=b"ping\n",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ping\n"
        assert _summary(result.stderr)["group"] == "secp256r1"
        assert "HelloRetryRequest: server wants a secp256r1 key share" in result.stderr
        server.wait_for(
            r"HelloRetryRequest: client sent key shares for x25519, none in a group the server accepts;"
            r" asking for secp256r1"
        )
        server.wait_for(r"decision \[cipher_suite\] chose TLS_AES_128_GCM_SHA256: first in server preference")
        server.wait_for(r"^Round trip of #1 127\.0\.0\.1:\d+, as the server saw it")


def test_key_update_before_data(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--trace") as (server, port):
        result = run_tlslens(
            "client",
            f"127.0.0.1:{port}",
            "--cafile",
            str(pki.ca),
            "--servername",
            "localhost",
            "--key-update",
            "--trace",
            input=b"after the update\n",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "after the update\n"
        sent = result.stderr.index("→ KeyUpdate")
        assert "request_update: update_requested" in result.stderr[sent:]
        assert sent < result.stderr.index("→ record application_data")
        assert "← KeyUpdate" in result.stderr  # the server's answer
        server.wait_for(r"← KeyUpdate")
        server.wait_for(r"· keys updated  receive \(peer asked us to update too\)")


def test_server_serves_clients_concurrently(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (server, port):
        client = tlslens_args(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost"
        )
        first = Proc(client)
        try:
            first.send(b"first\n")
            first.wait_for("^first$", "stdout")  # connected, and still open
            second = run_tlslens(*client[3:], input=b"second\n")
            assert second.returncode == 0 and second.stdout == "second\n"
            assert first.proc.poll() is None
            first.send(b"first again\n")
            assert first.finish() == 0
            assert first.stdout == "first\nfirst again\n"
        finally:
            first.kill()
        logs = [line for line in server.stderr.splitlines() if " ok TLSv1.3 " in line]
        assert len(logs) == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_server_stops_cleanly_on_signal(pki: PkiFiles, sig: signal.Signals) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (server, port):
        client = Proc(tlslens_args(*_client_args(port, pki)))
        try:
            client.send(b"still here\n")
            client.wait_for("^still here$", "stdout")
            server.signal(sig)
            assert server.wait(10) == 0
            # The open connection got close_notify: for the client a clean end, not a truncation.
            assert client.wait(10) == 0
        finally:
            client.kill()
        assert "Traceback" not in server.stderr
        assert server.stderr.rstrip().endswith("stopped")
        assert "failed: server shutting down" in server.stderr
        assert "without close_notify" not in client.stderr


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        result = run_tlslens("client", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert f"error: cannot connect to 127.0.0.1:{port}: connection refused" in result.stderr
    assert _summary(result.stderr)["error"] == f"cannot connect to 127.0.0.1:{port}: connection refused"


def test_port_443_when_none_is_given() -> None:
    result = run_tlslens("client", "127.0.0.1", "--trace", "--timeout", "2")
    # Refused (nothing listens on 443 here), or connected if something does: port 443 either way.
    assert re.search(r"(cannot connect to|TCP connected  to) 127\.0\.0\.1:443\b", result.stderr)


def test_handshake_timeout() -> None:
    with socket.socket() as silent:  # accepts TCP, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True)
        thread.start()
        started = time.monotonic()
        result = run_tlslens("client", f"127.0.0.1:{port}", "--timeout", "1")
        assert time.monotonic() - started < 10
        for conn in accepted:
            conn.close()
    assert result.returncode == 1
    assert "error: timeout: the handshake with 127.0.0.1:" in result.stderr


def test_untrusted_server_certificate_is_diagnosed(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (server, port):
        # Trusting an unrelated CA: the chain leads nowhere we trust.
        result = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(client_pki.ca), "--servername", "localhost"
        )
        assert result.returncode == 1
        assert "error: certificate problem:" in result.stderr
        assert "fix:" in result.stderr
        server.wait_for(r"failed: alert received: the client sent unknown_ca \(48\)")


def test_a_failed_handshake_is_traced_in_wire_order_on_the_client(
    pki: PkiFiles, client_pki: ClientPkiFiles
) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        result = run_tlslens(
            "client",
            f"127.0.0.1:{port}",
            "--servername",
            "localhost",
            "--cafile",
            str(client_pki.ca),
            "--trace",
        )
    assert result.returncode == 1
    trace = result.stderr
    # What we received, why it failed, the alert we sent about it, then the record carrying it.
    received = trace.index("← Certificate ")
    failed = trace.index("· failed  ")
    alert = trace.index("→ alert ", failed)
    assert received < failed < alert < trace.index("→ record alert", alert)
    assert trace.index("error: certificate problem") > alert


def test_wrong_name_is_a_certificate_problem(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        result = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "example.org"
        )
        assert result.returncode == 1
        line = next(x for x in result.stderr.splitlines() if x.startswith("error: "))
        assert "certificate problem" in line and "example.org" in line


def test_keylog_from_environment(pki: PkiFiles, tmp_path: Path) -> None:
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    env = {**os.environ, "SSLKEYLOGFILE": str(server_log)}
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), env=env) as (_server, port):
        result = run_tlslens(
            "client",
            f"127.0.0.1:{port}",
            "--cafile",
            str(pki.ca),
            "--servername",
            "localhost",
            input=b"x",
            env={**os.environ, "SSLKEYLOGFILE": str(client_log)},
        )
        assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(server_log.read_text().splitlines()) < 5:
        time.sleep(0.05)
    theirs, ours = server_log.read_text().splitlines(), client_log.read_text().splitlines()
    assert sorted(theirs) == sorted(ours)
    assert {line.split()[0] for line in ours} == {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    }


# --- resumption and 0-RTT ----------------------------------------------------------------------------


def _client_args(port: int, pki: PkiFiles, *more: str) -> tuple[str, ...]:
    return ("client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost", *more)


def test_resumption_with_early_data(pki: PkiFiles, tmp_path: Path) -> None:
    session, request = tmp_path / "session.pem", tmp_path / "request.txt"
    request.write_bytes(REQUEST)
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--www", "--early-data") as (
        server,
        port,
    ):
        first = run_tlslens(*_client_args(port, pki, "--sess-out", str(session)), input=REQUEST)
        assert first.returncode == 0, first.stderr
        assert _page(first.stdout)["resumed"] == "false"
        assert session.read_text().startswith("-----BEGIN TLSLENS SESSION-----")
        assert session.stat().st_mode & 0o077 == 0  # it holds the PSK
        second = run_tlslens(
            *_client_args(port, pki, "--sess-in", str(session), "--early-data", str(request), "--trace")
        )
        assert second.returncode == 0, second.stderr
        page = _page(second.stdout)
        assert page["resumed"] == "true" and page["early_data"] == "true"
        summary = _summary(second.stderr)
        assert summary["resumed"] is True and summary["early_data_accepted"] is True
        assert "decision [early_data] server accepted our 0-RTT data" in second.stderr
        assert re.search(r"\(Application Data\) \(\d+ bytes\) +──────────►", second.stderr)
        assert re.search(r"\(EndOfEarlyData\) +──────────►", second.stderr)
        server.wait_for(r" ok TLSv1\.3 .* resumed with 0-RTT .*; \d+ bytes of 0-RTT data$")


def test_www_answers_a_non_get_sent_in_0rtt_with_425_too_early(pki: PkiFiles, tmp_path: Path) -> None:
    session, post = tmp_path / "session.pem", tmp_path / "post.txt"
    post.write_bytes(b"POST /order HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--www", "--early-data") as (
        server,
        port,
    ):
        first = run_tlslens(*_client_args(port, pki, "--sess-out", str(session)), input=REQUEST)
        assert first.returncode == 0, first.stderr
        second = run_tlslens(*_client_args(port, pki, "--sess-in", str(session), "--early-data", str(post)))
        assert second.returncode == 0, second.stderr
        assert _summary(second.stderr)["early_data_accepted"] is True
        assert second.stdout.startswith("HTTP/1.1 425 Too Early\r\n")
        server.wait_for(r" resumed with 0-RTT .*http=425")


def test_refused_early_data_is_sent_again(pki: PkiFiles, tmp_path: Path) -> None:
    session, request = tmp_path / "session.pem", tmp_path / "request.txt"
    request.write_bytes(REQUEST)
    args = ("--cert", str(pki.chain), "--key", str(pki.key), "--www", "--early-data")
    with tlslens_server(*args) as (_server, port):
        assert (
            run_tlslens(*_client_args(port, pki, "--sess-out", str(session)), input=REQUEST).returncode == 0
        )
    with tlslens_server(*args) as (_server, port):  # a new server: new ticket keys, the ticket is refused
        result = run_tlslens(
            *_client_args(port, pki, "--sess-in", str(session), "--early-data", str(request), "--trace")
        )
    assert result.returncode == 0, result.stderr
    page = _page(result.stdout)  # the request was answered all the same
    assert page["resumed"] == "false" and page["early_data"] == "false"
    summary = _summary(result.stderr)
    assert summary["resumed"] is False and summary["early_data_accepted"] is False
    assert "0-RTT refused  the early data is sent again, after the handshake" in result.stderr


def test_early_data_larger_than_the_ticket_allows(pki: PkiFiles, tmp_path: Path) -> None:
    session, request = tmp_path / "session.pem", tmp_path / "request.txt"
    request.write_bytes(REQUEST)
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--www") as (_server, port):
        assert (
            run_tlslens(*_client_args(port, pki, "--sess-out", str(session)), input=REQUEST).returncode == 0
        )
        result = run_tlslens(
            *_client_args(port, pki, "--sess-in", str(session), "--early-data", str(request))
        )
    assert result.returncode == 2
    assert "--early-data" in result.stderr and "does not accept 0-RTT" in result.stderr


def test_no_ticket_no_session_file(pki: PkiFiles, tmp_path: Path) -> None:
    session = tmp_path / "session.pem"
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--tickets", "0") as (_server, port):
        result = run_tlslens(*_client_args(port, pki, "--sess-out", str(session)), input=b"x")
    assert result.returncode == 0, result.stderr
    assert "warning: the server sent no session ticket" in result.stderr and not session.exists()
    assert _summary(result.stderr)["resumed"] is False


def test_no_common_cipher_suite_is_explained_on_both_sides(pki: PkiFiles) -> None:
    args = ("--cert", str(pki.chain), "--key", str(pki.key), "--ciphers", "TLS_AES_256_GCM_SHA384", "--trace")
    with tlslens_server(*args) as (server, port):
        result = run_tlslens(*_client_args(port, pki, "--ciphers", "TLS_AES_128_GCM_SHA256"))
        assert result.returncode == 1
        assert "error: alert received: the server sent handshake_failure (40)" in result.stderr
        assert _summary(result.stderr)["version"] is None
        log = server.wait_for(r"^127\.0\.0\.1:\d+ failed: .*$").group(0)
    assert "no cipher suite in common: client offers TLS_AES_128_GCM_SHA256" in log
    trace = server.stderr
    failed = trace.index("· failed  no cipher suite in common")
    assert failed < trace.index("→ alert handshake_failure  fatal (40)") < trace.index("→ record alert")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_www_negotiates_http11_alpn_with_curl(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--www") as (server, port):
        curl = subprocess.run(
            [
                "curl",
                "-v",
                "--silent",
                "--show-error",
                "--max-time",
                "20",
                "--cacert",
                str(pki.ca),
                "--resolve",
                f"localhost:{port}:127.0.0.1",
                f"https://localhost:{port}/",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "all_proxy")},
        )
        assert curl.returncode == 0, curl.stderr
        assert "ALPN: server accepted http/1.1" in curl.stderr
        assert "alpn: http/1.1" in curl.stdout and "protocol: TLSv1.3" in curl.stdout
        server.wait_for(r" ok TLSv1\.3 .* alpn=http/1\.1 sni=localhost http=200")


@pytest.mark.parametrize(
    ("env", "coloured"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)],
    ids=["piped", "FORCE_COLOR", "NO_COLOR-wins"],
)
def test_colour_follows_no_color_and_force_color(pki: PkiFiles, env: dict[str, str], coloured: bool) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        traced = run_tlslens(*_client_args(port, pki, "--trace"), input=b"x", env={**base, **env})
        assert traced.returncode == 0, traced.stderr
        assert ("\x1b[" in traced.stderr) is coloured
        shown = run_tlslens(
            "certs",
            f"127.0.0.1:{port}",
            "--servername",
            "localhost",
            "--cafile",
            str(pki.ca),
            env={**base, **env},
        )
        assert shown.returncode == 0, shown.stderr
        assert ("\x1b[" in shown.stdout) is coloured
