"""`tlslens client` against `openssl s_server`, and `tlslens server` against `openssl s_client`.

The key log check is the strongest one: for the same connection, the NSS key log lines tlslens writes
(--keylog) equal the ones OpenSSL writes (-keylogfile), so both sides derived every secret alike.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.cli.conftest import ClientPkiFiles, PkiFiles, requires_openssl
from tests.cli.procs import openssl, openssl_server, run_tlslens, summary_lines, tlslens_server

pytestmark = [pytest.mark.interop, requires_openssl, pytest.mark.timeout(90)]

LABELS = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
}


def _keylog(path: Path, expected: int = 5) -> list[str]:
    deadline = time.monotonic() + 5
    while True:
        lines = (
            [x for x in path.read_text().splitlines() if x and not x.startswith("#")] if path.exists() else []
        )
        if len(lines) >= expected or time.monotonic() > deadline:
            return sorted(lines)
        time.sleep(0.05)


def _summary(stderr: str) -> dict[str, object]:
    lines = summary_lines(stderr)
    assert lines, stderr
    return json.loads(lines[-1].removeprefix("tlslens-summary: "))  # type: ignore[no-any-return]


def _server_args(pki: PkiFiles) -> list[str]:
    return ["-cert", str(pki.chain), "-cert_chain", str(pki.chain), "-key", str(pki.key)]


def _client(port: int, pki: PkiFiles, *args: str, input: bytes = b"") -> tuple[int, str, str]:
    result = run_tlslens(
        "client",
        f"127.0.0.1:{port}",
        "--cafile",
        str(pki.ca),
        "--servername",
        "localhost",
        *args,
        input=input,
    )
    return result.returncode, result.stdout, result.stderr


# --- tlslens client against openssl s_server ---------------------------------------------------------


@pytest.mark.parametrize(
    "suite", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
)
def test_client_keylog_equals_openssl(pki: PkiFiles, tmp_path: Path, suite: str) -> None:
    theirs, ours = tmp_path / "openssl.keys", tmp_path / "tlslens.keys"
    with openssl_server(*_server_args(pki), "-www", "-keylogfile", str(theirs)) as (_server, port):
        code, out, err = _client(
            port, pki, "--ciphers", suite, "--keylog", str(ours), input=b"GET / HTTP/1.0\r\n\r\n"
        )
    assert code == 0, err
    assert out.startswith("HTTP/1.0 200 ok")
    summary = _summary(err)
    assert summary["version"] == "TLSv1.3" and summary["cipher"] == suite
    assert summary["group"] == "x25519"  # OpenSSL 3.0 has no X25519MLKEM768: our second share is taken
    our_lines = _keylog(ours)
    assert {line.split()[0] for line in our_lines} == LABELS
    assert our_lines == _keylog(theirs)


def test_client_trace_shows_messages_in_order_and_the_retry(pki: PkiFiles) -> None:
    with openssl_server(*_server_args(pki), "-groups", "secp384r1") as (server, port):
        code, _out, err = _client(port, pki, "--groups", "x25519,secp384r1", "--trace", input=b"hello\n")
        server.wait_for("^hello$", "stdout")
    assert code == 0, err
    assert _summary(err)["group"] == "secp384r1"
    messages = re.findall(r"^ +[\d.]+ ms ([→←]) ([A-Za-z]+)  \d+ bytes$", err, re.MULTILINE)
    assert messages[:9] == [
        ("→", "ClientHello"),
        ("←", "HelloRetryRequest"),
        ("→", "ClientHello"),
        ("←", "ServerHello"),
        ("←", "EncryptedExtensions"),
        ("←", "Certificate"),
        ("←", "CertificateVerify"),
        ("←", "Finished"),
        ("→", "Finished"),
    ]
    assert "decision [key_share] sent key shares for x25519" in err
    assert "decision [hello_retry_request] HelloRetryRequest: server wants a secp384r1 key share" in err
    assert "decision [certificate_verify] server signature (ecdsa_secp256r1_sha256) verified" in err
    assert "key_share: selected_group: secp384r1" in err
    assert "subject: CN=localhost,O=tlslens throwaway" in err and "not_after: " in err
    diagram = err[err.index("Round trip, as the client saw it") :]
    assert re.search(r"ClientHello \(shares x25519\) +──────────►", diagram)
    assert re.search(r"◄──────────  HelloRetryRequest \(wants secp384r1\)", diagram)
    assert re.search(r"◄──────────  \{Finished\}", diagram)
    assert err.rstrip().splitlines()[-1].startswith("tlslens-summary: ")


def test_client_trace_as_json_lines(pki: PkiFiles) -> None:
    with openssl_server(*_server_args(pki), "-www") as (_server, port):
        code, _out, err = _client(
            port, pki, "--trace", "--trace-format", "json", input=b"GET / HTTP/1.0\r\n\r\n"
        )
    assert code == 0, err
    lines = [json.loads(line) for line in err.splitlines()]  # only JSON lines, the summary one of them
    assert lines[-1]["type"] == "summary" and lines[-1]["version"] == "TLSv1.3"
    objects = [o for o in lines if "kind" in o]
    titles = [(o["dir"], o["title"]) for o in objects if o["kind"] == "message"]
    assert titles[0] == ("sent", "ClientHello") and ("received", "ServerHello") in titles
    hello = next(o for o in objects if o["title"] == "ClientHello")
    exts = {e["name"]: e["value"] for e in hello["fields"]["extensions"]}
    assert exts["server_name"] == "localhost" and exts["supported_versions"] == ["TLSv1.3", "TLSv1.2"]
    assert [s["group"] for s in exts["key_share"]] == ["X25519MLKEM768", "x25519"]
    assert any(o["kind"] == "decision" for o in objects)
    diagram = objects[-1]
    assert diagram["kind"] == "diagram" and diagram["rows"][0]["message"] == "ClientHello"


def test_client_alpn_and_key_update(pki: PkiFiles) -> None:
    with openssl_server(*_server_args(pki), "-alpn", "h2") as (server, port):
        code, _out, err = _client(
            port, pki, "--alpn", "h2,http/1.1", "--key-update", "--trace", input=b"after key update\n"
        )
        server.wait_for("^after key update$", "stdout")
    assert code == 0, err
    assert _summary(err)["alpn"] == "h2"
    assert "→ KeyUpdate" in err and "request_update: update_requested" in err


def test_client_no_common_group_is_an_alert(pki: PkiFiles) -> None:
    with openssl_server(*_server_args(pki), "-groups", "secp521r1") as (_server, port):
        code, _out, err = _client(port, pki, "--groups", "x25519")
    assert code == 1
    error = next(line for line in err.splitlines() if line.startswith("error: "))
    assert "alert received: the server sent handshake_failure (40)" in error
    assert "no cipher suite, group or signature scheme in common" in error
    assert "error" in _summary(err)


def test_client_certificate_for_openssl(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    args = [*_server_args(pki), "-Verify", "1", "-CAfile", str(client_pki.ca)]
    with openssl_server(*args) as (server, port):
        code, _out, err = _client(
            port,
            pki,
            "--cert",
            str(client_pki.cert),
            "--key",
            str(client_pki.key),
            input=b"with a certificate\n",
        )
        server.wait_for("^with a certificate$", "stdout")
    assert code == 0, err
    with openssl_server(*args) as (_server, port):
        code, _out, err = _client(port, pki, input=b"without\n")
    assert code == 1
    assert "alert received: the server sent certificate_required (116)" in err


# --- openssl s_client against tlslens server ---------------------------------------------------------


def _s_client(port: int, pki: PkiFiles, *args: str) -> list[str]:
    return [
        "s_client",
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        "localhost",
        "-CAfile",
        str(pki.ca),
        "-verify_return_error",
        *args,
    ]


def test_server_www_page_and_keylog_with_s_client(pki: PkiFiles, tmp_path: Path) -> None:
    ours, theirs = tmp_path / "server.keys", tmp_path / "s_client.keys"
    server_args = (
        "--cert",
        str(pki.chain),
        "--key",
        str(pki.key),
        "--www",
        "--keylog",
        str(ours),
        "--ciphers",
        "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256",
        "--alpn",
        "http/1.1",
    )
    with tlslens_server(*server_args) as (server, port):
        client = openssl(*_s_client(port, pki, "-ign_eof", "-alpn", "http/1.1", "-keylogfile", str(theirs)))
        try:
            client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            client.wait_for("^client_cert: none", "stdout")
            assert client.finish() == 0
        finally:
            client.kill()
        server.wait_for(r" ok TLSv1\.3 TLS_AES_256_GCM_SHA384 x25519 alpn=http/1\.1 sni=localhost http=200")
    page = client.stdout
    for line in (
        "protocol: TLSv1.3",
        "cipher: TLS_AES_256_GCM_SHA384",
        "group: x25519",
        "alpn: http/1.1",
        "sni: localhost",
        "resumed: false",
        "early_data: false",
        "client_cert: none",
    ):
        assert re.search(f"^{re.escape(line)}\r?$", page, re.MULTILINE), line
    assert "HTTP/1.1 200 OK" in page and "Connection: close" in page
    assert _keylog(ours) == _keylog(theirs)


def test_server_echo_with_s_client(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (server, port):
        client = openssl(*_s_client(port, pki))
        try:
            client.send(b"echo me\n")
            client.wait_for("^echo me$", "stdout")
            assert client.finish() == 0  # stdin EOF: s_client sends close_notify, the server answers it
        finally:
            client.kill()
        log = server.wait_for(r"^127\.0\.0\.1:\d+ ok TLSv1\.3 .*$").group(0)
    assert "handshake" in log and "without close_notify" not in log


def test_server_hello_retry_and_client_certificate_with_s_client(
    pki: PkiFiles, client_pki: ClientPkiFiles
) -> None:
    args = (
        "--cert",
        str(pki.chain),
        "--key",
        str(pki.key),
        "--www",
        "--groups",
        "secp384r1",  # s_client's x25519 share does not fit: HelloRetryRequest
        "--verify-client",
        str(client_pki.ca),
        "--trace",
    )
    with tlslens_server(*args) as (server, port):
        client = openssl(
            *_s_client(port, pki, "-ign_eof", "-cert", str(client_pki.cert), "-key", str(client_pki.key))
        )
        try:
            client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            client.wait_for(f"^client_cert: {re.escape(client_pki.subject)}", "stdout")
            client.finish()
        finally:
            client.kill()
        server.wait_for(
            r"HelloRetryRequest: client sent key shares for x25519, none in a group the server accepts;"
            r" asking for secp384r1"
        )
        server.wait_for(r" ok TLSv1\.3 TLS_AES_128_GCM_SHA256 secp384r1 .*client_cert=CN=alice")
    assert re.search(r"^group: secp384r1\r?$", client.stdout, re.MULTILINE)


def test_server_requests_a_client_certificate_and_s_client_has_none(
    pki: PkiFiles, client_pki: ClientPkiFiles
) -> None:
    args = (
        "--cert",
        str(pki.chain),
        "--key",
        str(pki.key),
        "--www",
        "--request-client-cert",
        str(client_pki.ca),
    )
    with tlslens_server(*args) as (server, port):
        client = openssl(*_s_client(port, pki, "-ign_eof", "-msg"))
        try:
            client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            client.wait_for(r"^client_cert: none \(requested\)\r?$", "stdout")
            client.finish()
        finally:
            client.kill()
        server.wait_for(r" ok TLSv1\.3 .*client_cert=none .*http=200")
    # Asked (a CertificateRequest), answered with an empty Certificate.
    assert re.search(r"<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], CertificateRequest", client.stdout)
    assert re.search(r">>> TLS 1\.3, Handshake \[length 0008\], Certificate\r?$", client.stdout, re.MULTILINE)


def test_server_www_keyupdate_with_s_client(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--www") as (server, port):
        client = openssl(*_s_client(port, pki, "-ign_eof", "-msg"))
        try:
            client.send(b"GET /keyupdate HTTP/1.1\r\nHost: localhost\r\n\r\n")
            client.wait_for(r"^key_update: sent before this page, update_requested\r?$", "stdout")
            client.finish()
        finally:
            client.kill()
        server.wait_for(r" ok TLSv1\.3 .*http=200.*; sent KeyUpdate\(update_requested\) for GET /keyupdate$")
    # OpenSSL took our KeyUpdate (request_update = 1: update_requested) and read the page under the new key.
    # (It sends its own KeyUpdate with its next write; s_client writes nothing more here.)
    out = client.stdout
    received = out.index("<<< TLS 1.3, Handshake [length 0005], KeyUpdate\n    18 00 00 01 01\n")
    assert received < out.index("key_update: sent before this page")


# --- resumption and 0-RTT with OpenSSL ---------------------------------------------------------------


def test_client_resumes_with_early_data_against_s_server(pki: PkiFiles, tmp_path: Path) -> None:
    session, early = tmp_path / "session.pem", tmp_path / "early.txt"
    early.write_bytes(b"zero round trip\n")
    with openssl_server(*_server_args(pki), "-early_data", "-naccept", "2") as (server, port):
        code, _out, err = _client(port, pki, "--sess-out", str(session), input=b"first\n")
        assert code == 0, err
        server.wait_for("^first$", "stdout")
        code, _out, err = _client(
            port, pki, "--sess-in", str(session), "--early-data", str(early), input=b"then\n"
        )
        assert code == 0, err
        server.wait_for("^Early data received:\n(.*\n)?zero round trip$", "stdout")
        server.wait_for("^then$", "stdout")
    summary = _summary(err)
    assert summary["resumed"] is True and summary["early_data_accepted"] is True


def test_s_client_resumes_with_early_data_against_server(pki: PkiFiles, tmp_path: Path) -> None:
    session, request = tmp_path / "openssl.sess", tmp_path / "request.txt"
    request.write_bytes(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    args = ("--cert", str(pki.chain), "--key", str(pki.key), "--www", "--early-data")
    with tlslens_server(*args) as (server, port):
        first = openssl(*_s_client(port, pki, "-ign_eof", "-sess_out", str(session)))
        try:
            first.send(request.read_bytes())
            first.wait_for("^client_cert: none", "stdout")
            first.finish()
        finally:
            first.kill()
        second = openssl(
            *_s_client(port, pki, "-ign_eof", "-sess_in", str(session), "-early_data", str(request))
        )
        try:
            second.wait_for("^early_data: true", "stdout")
            second.finish()
        finally:
            second.kill()
        server.wait_for(r" ok TLSv1\.3 .* resumed with 0-RTT .*0-RTT data$")
    assert "Reused, TLSv1.3" in second.stdout and "Early data was accepted" in second.stdout
    assert re.search(r"^resumed: true\r?$", second.stdout, re.MULTILINE)
