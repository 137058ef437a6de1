"""Input mistakes are usage errors (exit 2) that say what is valid, before any connection is made."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cli.conftest import ClientPkiFiles, PkiFiles
from tests.cli.procs import run_tlslens

pytestmark = pytest.mark.timeout(60)


def _usage_error(*args: str) -> str:
    result = run_tlslens(*args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "tlslens-summary" not in result.stderr
    return result.stderr


def test_client_unknown_cipher_suite_lists_the_valid_names() -> None:
    err = _usage_error("client", "127.0.0.1:1", "--ciphers", "TLS_AES_128_GCM_SHA256,TLS_RSA_WITH_RC4")
    assert "--ciphers" in err and "TLS_RSA_WITH_RC4" in err
    assert "TLS_AES_256_GCM_SHA384" in err and "TLS_CHACHA20_POLY1305_SHA256" in err


def test_client_unknown_group_lists_the_valid_names() -> None:
    err = _usage_error("client", "127.0.0.1:1", "--groups", "x25519,curve9999")
    assert "--groups" in err and "curve9999" in err
    assert "secp256r1" in err and "X25519MLKEM768" in err


def test_server_unknown_group_lists_the_valid_names(pki: PkiFiles) -> None:
    err = _usage_error(
        "server", "--port", "0", "--cert", str(pki.chain), "--key", str(pki.key), "--groups", "p256"
    )
    assert "--groups" in err and "x25519" in err


@pytest.mark.parametrize(
    "target",
    ["localhost:", ":443", "localhost:https", "localhost:0", "localhost:70000", "::1:443", "[]"],
    ids=["empty-port", "no-host", "port-name", "port-zero", "port-too-big", "bare-ipv6", "empty-brackets"],
)
def test_client_bad_host_port(target: str) -> None:
    err = _usage_error("client", target)
    assert "HOST:PORT" in err or "brackets" in err


def test_client_unreadable_cafile(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    err = _usage_error("client", "127.0.0.1:1", "--cafile", str(missing))
    assert "--cafile" in err and "nope.pem" in err


def test_client_cafile_without_certificates(pki: PkiFiles) -> None:
    err = _usage_error("client", "127.0.0.1:1", "--cafile", str(pki.key))
    assert "--cafile" in err and "no certificate" in err


def test_client_cert_without_key(client_pki: ClientPkiFiles) -> None:
    err = _usage_error("client", "127.0.0.1:1", "--cert", str(client_pki.cert))
    assert "--cert" in err and "--key" in err


def test_client_key_not_matching_certificate(client_pki: ClientPkiFiles, other_key: Path) -> None:
    err = _usage_error("client", "127.0.0.1:1", "--cert", str(client_pki.cert), "--key", str(other_key))
    assert "does not match" in err


def test_server_key_not_matching_certificate(pki: PkiFiles, other_key: Path) -> None:
    err = _usage_error("server", "--port", "0", "--cert", str(pki.chain), "--key", str(other_key))
    assert "does not match" in err and "--key" in err


def test_server_key_file_is_a_certificate(pki: PkiFiles) -> None:
    err = _usage_error("server", "--port", "0", "--cert", str(pki.chain), "--key", str(pki.chain))
    assert "--key" in err and "no usable private key" in err


def test_server_missing_certificate_file(pki: PkiFiles, tmp_path: Path) -> None:
    err = _usage_error("server", "--port", "0", "--cert", str(tmp_path / "chain.pem"), "--key", str(pki.key))
    assert "--cert" in err and "cannot read" in err


def test_server_port_in_use(pki: PkiFiles) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = _usage_error("server", "--port", str(port), "--cert", str(pki.chain), "--key", str(pki.key))
    assert f"port {port}" in err and "in use" in err


def test_client_early_data_needs_a_session(tmp_path: Path) -> None:
    request = tmp_path / "request.txt"
    request.write_bytes(b"GET / HTTP/1.1\r\n\r\n")
    err = _usage_error("client", "127.0.0.1:1", "--early-data", str(request))
    assert "--early-data" in err and "--sess-in" in err


def test_client_damaged_session_file(tmp_path: Path) -> None:
    damaged = tmp_path / "session.pem"
    damaged.write_text("-----BEGIN SSL SESSION PARAMETERS-----\nMAA=\n-----END SSL SESSION PARAMETERS-----\n")
    err = _usage_error("client", "127.0.0.1:1", "--sess-in", str(damaged))
    assert "--sess-in" in err and "session.pem" in err


def test_client_session_out_in_a_missing_folder(tmp_path: Path) -> None:
    err = _usage_error("client", "127.0.0.1:1", "--sess-out", str(tmp_path / "no" / "such" / "session.pem"))
    assert "--sess-out" in err


@pytest.mark.parametrize("count", ["17", "-1"])
def test_server_tickets_out_of_range(pki: PkiFiles, count: str) -> None:
    err = _usage_error(
        "server", "--port", "0", "--cert", str(pki.chain), "--key", str(pki.key), "--tickets", count
    )
    assert "--tickets" in err and "between 0 and 16" in err


def test_server_early_data_without_tickets(pki: PkiFiles) -> None:
    err = _usage_error(
        "server",
        "--port",
        "0",
        "--cert",
        str(pki.chain),
        "--key",
        str(pki.key),
        "--early-data",
        "--tickets",
        "0",
    )
    assert "--early-data" in err and "tickets" in err


def test_unknown_trace_format() -> None:
    err = _usage_error("client", "127.0.0.1:1", "--trace", "--trace-format", "xml")
    assert "text" in err and "json" in err


def test_server_requires_certificate_and_key() -> None:
    err = _usage_error("server", "--port", "0")
    assert "--cert" in err
