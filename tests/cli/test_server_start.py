"""What `tlslens server` says at start about its own key and chain, and encrypted keys on both sides
(`--key-password` in OpenSSL's forms)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.cli.conftest import ClientPkiFiles, PkiFiles
from tests.cli.procs import Proc, run_tlslens, tlslens_args, tlslens_server
from tlslens.pki import load_pem_certificates, load_pem_private_key

pytestmark = pytest.mark.timeout(90)

PASSWORD = "correct horse"


def _encrypted(key_path: Path, out: Path) -> Path:
    key = load_pem_private_key(key_path)
    out.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    return out


def test_an_encrypted_key_without_its_password_names_the_option(pki: PkiFiles, tmp_path: Path) -> None:
    key = _encrypted(pki.key, tmp_path / "enc.pem")
    result = run_tlslens("server", "--port", "0", "--cert", str(pki.chain), "--key", str(key))
    assert result.returncode == 2
    assert "encrypted" in result.stderr and "--key-password" in result.stderr
    wrong = run_tlslens(
        "server", "--port", "0", "--cert", str(pki.chain), "--key", str(key), "--key-password", "pass:nope"
    )
    assert wrong.returncode == 2 and "wrong password" in wrong.stderr


@pytest.mark.parametrize("form", ["pass", "env", "file"])
def test_server_key_password_forms(pki: PkiFiles, tmp_path: Path, form: str) -> None:
    key = _encrypted(pki.key, tmp_path / "enc.pem")
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")
    source = {"pass": f"pass:{PASSWORD}", "env": "env:TLSLENS_TEST_PASSWORD", "file": f"file:{secret}"}[form]
    env = {**os.environ, "TLSLENS_TEST_PASSWORD": PASSWORD}
    with tlslens_server("--cert", str(pki.chain), "--key", str(key), "--key-password", source, env=env) as (
        _server,
        port,
    ):
        result = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost", input=b"ok\n"
        )
        assert result.returncode == 0 and result.stdout == "ok\n", result.stderr


def test_client_key_password_from_stdin_leaves_the_rest_of_stdin_as_data(
    pki: PkiFiles, client_pki: ClientPkiFiles, tmp_path: Path
) -> None:
    key = _encrypted(client_pki.key, tmp_path / "client-enc.pem")
    args = ("--cert", str(pki.chain), "--key", str(pki.key), "--www", "--verify-client", str(client_pki.ca))
    with tlslens_server(*args) as (_server, port):
        result = run_tlslens(
            *("client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost"),
            *("--cert", str(client_pki.cert), "--key", str(key), "--key-password", "stdin"),
            input=PASSWORD.encode() + b"\nGET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
    assert result.returncode == 0, result.stderr
    assert f"client_cert: {client_pki.subject}" in result.stdout


def test_a_chain_file_with_the_intermediate_first_is_named_as_such(pki: PkiFiles, tmp_path: Path) -> None:
    leaf, intermediate = load_pem_certificates(pki.chain)
    reversed_chain = tmp_path / "reversed.pem"
    pem = serialization.Encoding.PEM
    reversed_chain.write_bytes(intermediate.public_bytes(pem) + leaf.public_bytes(pem))
    result = run_tlslens("server", "--port", "0", "--cert", str(reversed_chain), "--key", str(pki.key))
    assert result.returncode == 2
    assert (
        "the first certificate must be the leaf for this key; found CN=tlslens throwaway intermediate,"
        "O=tlslens throwaway first" in " ".join(result.stderr.split())
    )
    assert "does not match" not in result.stderr


def test_the_server_checks_its_own_chain_at_start_and_serves_anyway(pki: PkiFiles) -> None:
    # The throwaway leaf is valid for a week: "expiring-soon". Without the private root, the chain
    # cannot be completed from the system store: "missing-intermediate", with its fix.
    proc = Proc(
        tlslens_args(
            "server", "--host", "127.0.0.1", "--port", "0", "--cert", str(pki.chain), "--key", str(pki.key)
        )
    )
    try:
        proc.wait_for(r"^listening on 127\.0\.0\.1:\d+$")
        before = proc.stderr.split("listening on")[0]
    finally:
        proc.kill()
    assert "warning: our certificate chain: expiring-soon: The leaf" in before
    assert "warning: our certificate chain: missing-intermediate: " in before and "  fix: " in before
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key), "--cafile", str(pki.ca)) as (
        server,
        _p,
    ):
        before = server.stderr.split("listening on")[0]
    assert "expiring-soon" in before and "missing-intermediate" not in before
