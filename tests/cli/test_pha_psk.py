"""The command line's external PSKs (``--psk-identity ID --psk HEX``, as ``openssl -psk``; a PSK-only
``tlslens server``) and post-handshake client authentication (``tlslens server --www --pha CA.pem``
asks on ``GET /auth``; ``tlslens client --cert/--key --ign-eof`` answers), between tlslens processes
and against ``openssl s_client`` / ``s_server``."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.conftest import ClientPkiFiles, PkiFiles, requires_openssl
from tests.cli.procs import (
    Proc,
    openssl,
    openssl_server,
    run_tlslens,
    summary_lines,
    tlslens_args,
    tlslens_server,
)

pytestmark = pytest.mark.timeout(90)

KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
AUTH = b"GET /auth HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _summary(stderr: str) -> dict[str, object]:
    lines = summary_lines(stderr)
    assert lines, stderr
    return json.loads(lines[-1].removeprefix("tlslens-summary: "))  # type: ignore[no-any-return]


def _client(port: int, *args: str, input: bytes = AUTH) -> tuple[int, str, str]:
    result = run_tlslens("client", f"127.0.0.1:{port}", *args, input=input)
    return result.returncode, result.stdout, result.stderr


def _usage_error(*args: str) -> str:
    result = run_tlslens(*args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    return result.stderr


# --- external PSKs ------------------------------------------------------------------------------------------


def test_psk_only_server_and_client() -> None:
    with tlslens_server("--www", "--psk-identity", "alice", "--psk", KEY) as (server, port):
        code, out, err = _client(
            port, "--psk-identity", "alice", "--psk", KEY, "--trace", input=b"GET / HTTP/1.0\r\n\r\n"
        )
        log = server.wait_for(r"^127\.0\.0\.1:\d+ ok .*$").group(0)
    assert code == 0, err
    assert "client_cert: none" in out and 'psk: "alice"' in out
    assert _summary(err)["psk_identity"] == "alice" and _summary(err)["verified"] is True
    assert 'psk="alice"' in log
    assert 'psk_identity: "alice"' in err  # the trace's "handshake complete" entry
    assert 'authenticated by the external PSK "alice"' in err
    assert "could not be checked" not in server.stderr  # no chain to warn about


def test_psk_client_with_the_wrong_key_is_refused_with_decrypt_error() -> None:
    with tlslens_server("--psk", KEY) as (server, port):
        code, _out, err = _client(port, "--psk", "ff" * 32, input=b"hello\n")
        server.wait_for(r"failed: .*binder does not verify")
    assert code == 1
    assert "decrypt_error" in err


def test_client_without_a_psk_is_refused_by_a_psk_only_server() -> None:
    with tlslens_server("--psk", KEY) as (server, port):
        code, _out, err = _client(port, "--servername", "localhost", input=b"hello\n")
        server.wait_for(r"failed: .*PSKs only, and the client offered none")
    assert code == 1 and "handshake_failure" in err


@requires_openssl
@pytest.mark.interop
def test_psk_only_server_with_openssl_s_client() -> None:
    with tlslens_server("--psk-identity", "alice", "--psk", KEY) as (server, port):
        client = openssl("s_client", "-connect", f"127.0.0.1:{port}", "-psk_identity", "alice", "-psk", KEY)
        try:
            client.send(b"echo over psk\n")
            client.wait_for("^echo over psk$", "stdout")
            assert client.finish() == 0
        finally:
            client.kill()
        server.wait_for(r'ok TLSv1\.3 TLS_AES_128_GCM_SHA256 \S+ psk="alice"')
    assert "Verify return code" not in client.stdout or "no peer certificate" in client.stdout


@requires_openssl
@pytest.mark.interop
def test_psk_client_with_openssl_s_server_nocert() -> None:
    """OpenSSL's default identity is Client_identity on both sides, and so is ours."""
    with openssl_server("-nocert", "-psk", KEY) as (server, port):
        code, _out, err = _client(port, "--psk", KEY, input=b"from tlslens over psk\n")
        server.wait_for("^from tlslens over psk$", "stdout")
    assert code == 0, err
    assert _summary(err)["psk_identity"] == "Client_identity"


def test_psk_usage_errors(pki: PkiFiles) -> None:
    assert "--psk-identity needs --psk" in _usage_error("client", "127.0.0.1:1", "--psk-identity", "x")
    assert "not hex" in _usage_error("client", "127.0.0.1:1", "--psk", "0xzz")
    assert "at least 16" in _usage_error("client", "127.0.0.1:1", "--psk", "1a2b3c4d")
    assert "--cert and --key" in _usage_error("server", "--port", "0")
    assert "--cert and --key" in _usage_error("server", "--port", "0", "--cert", str(pki.chain))


# --- post-handshake client authentication -----------------------------------------------------------------


def _pha_server(pki: PkiFiles, client_pki: ClientPkiFiles) -> list[str]:
    return ["--cert", str(pki.chain), "--key", str(pki.key), "--www", "--pha", str(client_pki.ca)]


def _with_certificate(pki: PkiFiles, client_pki: ClientPkiFiles) -> list[str]:
    return ["--cafile", str(pki.ca), "--servername", "localhost", "--cert", str(client_pki.cert),
            "--key", str(client_pki.key)]  # fmt: skip


def test_get_auth_asks_the_tlslens_client_for_its_certificate(
    pki: PkiFiles, client_pki: ClientPkiFiles
) -> None:
    with tlslens_server(*_pha_server(pki, client_pki), "--trace") as (server, port):
        code, out, err = _client(port, *_with_certificate(pki, client_pki), "--ign-eof", "--trace")
        log = server.wait_for(r"^127\.0\.0\.1:\d+ ok .*$").group(0)
    assert re.search(rf"client certificate verified +{re.escape(client_pki.subject)} \(ecdsa", server.stderr)
    assert "post_handshake_auth: true" in server.stderr  # in the server's "handshake complete" entry
    assert code == 0, err
    assert out.startswith("HTTP/1.1 200 OK")
    assert re.search(
        rf"^client_cert: {re.escape(client_pki.subject)} \(verified after the handshake", out, re.M
    )
    assert "post_handshake_auth: (empty: the client accepts post-handshake authentication)" in err
    assert f"sent the client certificate {client_pki.subject} after the handshake" in err
    assert "http=200" in log and f"GET /auth: client_cert {client_pki.subject}" in log


def test_get_auth_without_a_client_certificate_says_why(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server(*_pha_server(pki, client_pki)) as (_server, port):
        code, out, _err = _client(port, "--cafile", str(pki.ca), "--servername", "localhost", "--ign-eof")
    assert code == 0
    assert out.startswith("HTTP/1.1 403 Forbidden")
    assert "client_cert: none; the client does not offer post-handshake authentication" in out


def test_get_auth_refuses_a_certificate_from_another_ca(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    args = ["--cert", str(pki.chain), "--key", str(pki.key), "--www", "--pha", str(pki.ca)]  # not alice's CA
    with tlslens_server(*args) as (_server, port):
        code, out, _err = _client(port, *_with_certificate(pki, client_pki), "--ign-eof")
    assert code == 0
    assert out.startswith("HTTP/1.1 403 Forbidden")
    assert re.search(r"^client_cert: none; refused: the client certificate was refused: ", out, re.M)


@requires_openssl
@pytest.mark.interop
def test_get_auth_with_openssl_s_client_enable_pha(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server(*_pha_server(pki, client_pki)) as (server, port):
        client = openssl(
            "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-CAfile", str(pki.ca),
            "-enable_pha", "-cert", str(client_pki.cert), "-key", str(client_pki.key), "-ign_eof",
        )  # fmt: skip
        try:
            client.send(AUTH)
            client.wait_for(rf"^client_cert: {re.escape(client_pki.subject)} \(verified", "stdout")
            client.finish()
        finally:
            client.kill()
        server.wait_for(r"http=200; .*GET /auth: client_cert CN=alice")


@requires_openssl
@pytest.mark.interop
def test_tlslens_client_answers_openssl_s_server(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    """s_server's ``c`` command asks after the handshake; it checks the answer under -CAfile."""
    with openssl_server(
        "-cert", str(pki.chain), "-cert_chain", str(pki.chain), "-key", str(pki.key),
        "-CAfile", str(client_pki.ca), "-verify_return_error",
    ) as (server, port):  # fmt: skip
        client = Proc(
            tlslens_args("client", f"127.0.0.1:{port}", *_with_certificate(pki, client_pki), "--trace")
        )
        try:
            client.wait_for("^tlslens-summary: ")
            client.send(b"before\n")
            server.wait_for("^before$", "stdout")
            server.send(b"c\n")
            subject = re.escape(client_pki.subject)
            client.wait_for(rf"sent the client certificate {subject} after the handshake")
            server.wait_for(r"^depth=0 .*CN = alice\nverify return:1$", "stderr")
            client.send(b"after\n")
            server.wait_for("^after$", "stdout")
            assert client.finish() == 0
        finally:
            client.kill()


def test_pha_usage_errors(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    base = ["server", "--port", "0", "--cert", str(pki.chain), "--key", str(pki.key)]
    assert "needs --www" in _usage_error(*base, "--pha", str(client_pki.ca))
    err = _usage_error(*base, "--www", "--pha", str(client_pki.ca), "--verify-client", str(client_pki.ca))
    assert "choose one" in err
