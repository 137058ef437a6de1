"""TLS 1.2 through the command line, against real OpenSSL: `--tls1_2` / `--tls1_3` on client, server and
certs (as `openssl s_client` has them), the default client reaching a TLS 1.2-only server, sessions
saved and resumed with `--sess-out` / `--sess-in`, the summary line and the demo."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import PkiFiles, requires_openssl
from tests.cli.procs import Proc, free_port, openssl, run_tlslens, summary_lines, tlslens_server

pytestmark = [pytest.mark.interop, requires_openssl, pytest.mark.timeout(90)]


def _summary(stderr: str) -> dict[str, object]:
    lines = summary_lines(stderr)
    assert lines, stderr
    return json.loads(lines[-1].removeprefix("tlslens-summary: "))  # type: ignore[no-any-return]


@contextlib.contextmanager
def s_server(pki: PkiFiles, *args: str) -> Iterator[tuple[Proc, int]]:
    """`openssl s_server` (both versions unless ``args`` narrow them) on a free loopback port."""
    port = free_port()
    proc = openssl(
        "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki.chain), "-cert_chain", str(pki.chain),
        "-key", str(pki.key), *args,
    )  # fmt: skip
    try:
        proc.wait_for("^ACCEPT", "stdout", timeout=10)
        yield proc, port
    finally:
        proc.kill()


def client(port: int, pki: PkiFiles, *args: str, data: bytes = b"hello\n") -> tuple[int, str, str]:
    result = run_tlslens(
        "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost", *args, input=data
    )
    return result.returncode, result.stdout, result.stderr


def s_client(port: int, pki: PkiFiles, *args: str) -> Proc:
    return openssl(
        "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-CAfile", str(pki.ca),
        "-verify_return_error", *args,
    )  # fmt: skip


def test_client_tls12_flag_against_a_server_that_speaks_both(pki: PkiFiles, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    with s_server(pki) as (server, port):
        code, _out, err = client(port, pki, "--tls1_2", "--keylog", str(keys))
        server.wait_for("^hello$", "stdout")
    assert code == 0, err
    summary = _summary(err)
    assert summary["version"] == "TLSv1.2" and summary["cipher"] == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert keys.read_text().startswith("CLIENT_RANDOM ")


def test_default_client_reaches_a_tls12_only_server(pki: PkiFiles) -> None:
    with s_server(pki, "-tls1_2") as (server, port):
        code, _out, err = client(port, pki, "--trace")
        server.wait_for("^hello$", "stdout")
    assert code == 0, err
    assert _summary(err)["version"] == "TLSv1.2"
    assert "decision [version] TLSv1.2: the server does not speak TLS 1.3" in err
    assert "extended_master_secret: true" in err


def test_client_tls13_flag_refuses_a_tls12_only_server(pki: PkiFiles) -> None:
    with s_server(pki, "-tls1_2") as (_server, port):
        code, _out, err = client(port, pki, "--tls1_3")
    assert code == 1
    assert "protocol_version" in err


def test_client_saves_and_resumes_a_tls12_session(pki: PkiFiles, tmp_path: Path) -> None:
    session = tmp_path / "session.pem"
    with s_server(pki, "-tls1_2") as (server, port):
        code, _out, err = client(port, pki, "--sess-out", str(session))
        assert code == 0, err
        assert session.read_text().startswith("-----BEGIN TLSLENS SESSION-----")
        code, _out, err = client(port, pki, "--sess-in", str(session))
        assert code == 0, err
        server.wait_for("^Reused session-id$", "stdout")
    summary = _summary(err)
    assert summary["version"] == "TLSv1.2" and summary["resumed"] is True


def test_server_tls12_flag_with_s_client(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--tls1_2") as (server, port):
        proc = s_client(port, pki)
        try:
            proc.send(b"echo me\n")
            proc.wait_for("^echo me$", "stdout")
            proc.wait_for(r"^New, TLSv1\.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256$", "stdout")
            proc.wait_for(r"Extended master secret: yes", "stdout")
        finally:
            proc.kill()
        server.wait_for(r" ok TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ")


def test_server_resumes_an_s_client_tls12_session(pki: PkiFiles, tmp_path: Path) -> None:
    session = tmp_path / "ossl.sess"
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        for args, expect in ((("-sess_out", str(session)), "New"), (("-sess_in", str(session)), "Reused")):
            proc = s_client(port, pki, "-tls1_2", *args)
            try:
                proc.send(b"ping\n")
                proc.wait_for("^ping$", "stdout")
                proc.wait_for(rf"^{expect}, TLSv1\.2, ", "stdout")
                assert proc.finish() == 0
            finally:
                proc.kill()


def test_server_tls13_flag_refuses_a_tls12_only_s_client(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--tls1_3") as (_server, port):
        proc = s_client(port, pki, "-tls1_2")
        try:
            proc.wait_for("alert protocol version", "stderr")
        finally:
            proc.kill()


def test_certs_tls12_flag(pki: PkiFiles) -> None:
    with s_server(pki) as (_server, port):
        result = run_tlslens(
            "certs", f"127.0.0.1:{port}", "--servername", "localhost", "--cafile", str(pki.ca), "--tls1_2",
            "--json",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["handshake"]["version"] == "TLSv1.2"


def test_demo_tls12_shows_a_tls12_handshake() -> None:
    result = run_tlslens("demo", "--tls1_2", timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in ("version: TLSv1.2", "← ServerKeyExchange", "→ ChangeCipherSpec", "protocol: TLSv1.2"):
        assert line in out, line
    assert "extended_master_secret: true" in out
