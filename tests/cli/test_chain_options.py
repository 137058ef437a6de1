"""The peer's chain on the command line: `client --showcerts`, `client -k/--insecure`, `certs --pem`,
`certs --json` with PEM, `certs --insecure`, and `--trace-format json` as nothing but JSON lines."""

from __future__ import annotations

import json
import signal
import socket

import pytest

from tests.cli.conftest import ClientPkiFiles, PkiFiles
from tests.cli.procs import Proc, run_tlslens, summary_lines, tlslens_args, tlslens_server

pytestmark = pytest.mark.timeout(90)

BEGIN = "-----BEGIN CERTIFICATE-----"


def _summary(stderr: str) -> dict[str, object]:
    return json.loads(summary_lines(stderr)[-1].removeprefix("tlslens-summary: "))  # type: ignore[no-any-return]


def test_showcerts_prints_the_presented_chain_before_the_data(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        result = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost",
            "--showcerts", input=b"data after the chain\n",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == pki.chain.read_text() + "data after the chain\n"


def test_showcerts_shows_a_refused_chain_too(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        result = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(client_pki.ca), "--servername", "localhost",
            "--showcerts",
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == pki.chain.read_text()
    assert "error: certificate problem" in result.stderr


def test_insecure_finishes_the_handshake_and_warns(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        result = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(client_pki.ca), "--servername", "localhost", "-k",
            input=b"hello anyway\n",
        )  # fmt: skip
        trusted = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost", "--insecure",
            input=b"x",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello anyway\n"
    assert "warning: the server's certificate chain does not verify (ignored: --insecure)" in result.stderr
    assert "  missing-intermediate: " in result.stderr and "    fix: " in result.stderr
    assert _summary(result.stderr)["verified"] is False
    assert trusted.returncode == 0 and _summary(trusted.stderr)["verified"] is True
    assert "warning" not in trusted.stderr


def test_trace_format_json_writes_only_json_lines(pki: PkiFiles, client_pki: ClientPkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        ok = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost",
            "--trace", "--trace-format", "json", input=b"x",
        )  # fmt: skip
        refused = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(client_pki.ca), "--servername", "localhost",
            "--trace", "--trace-format", "json",
        )  # fmt: skip
    assert ok.returncode == 0 and refused.returncode == 1
    for result in (ok, refused):
        objects = [json.loads(line) for line in result.stderr.splitlines()]  # every line parses
        assert objects[-1]["type"] == "summary"
        assert any(o.get("kind") == "message" and o["title"] == "ClientHello" for o in objects)
    assert json.loads(ok.stderr.splitlines()[-1])["version"] == "TLSv1.3"
    error = next(json.loads(line) for line in refused.stderr.splitlines() if '"type": "error"' in line)
    assert error["reason"].startswith("certificate problem") and error["details"]


def test_certs_pem_and_json_carry_each_certificate(pki: PkiFiles) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        target = ("certs", f"127.0.0.1:{port}", "--servername", "localhost", "--cafile", str(pki.ca))
        shown = run_tlslens(*target, "--pem")
        as_json = run_tlslens(*target, "--json")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count(BEGIN) == 2
    report = json.loads(as_json.stdout)
    assert "".join(c["pem"] for c in report["certificates"]) == pki.chain.read_text()
    assert report["verified"] is True


def test_certs_insecure_reports_an_invalid_chain_as_a_warning(
    pki: PkiFiles, client_pki: ClientPkiFiles
) -> None:
    with tlslens_server("--cert", str(pki.chain), "--key", str(pki.key)) as (_server, port):
        target = ("certs", f"127.0.0.1:{port}", "--servername", "localhost", "--cafile", str(client_pki.ca))
        strict = run_tlslens(*target)
        lenient = run_tlslens(*target, "--insecure", "--json")
    assert strict.returncode == 1 and "invalid chain" in strict.stderr
    assert lenient.returncode == 0
    assert "warning: invalid chain (--insecure): missing-intermediate" in lenient.stderr
    assert json.loads(lenient.stdout)["verified"] is False


def test_certs_says_a_connection_failure_once_on_stderr() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    result = run_tlslens("certs", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("connection refused") == 1


def test_server_trace_format_json_writes_only_json_lines(pki: PkiFiles) -> None:
    args = ("server", "--host", "127.0.0.1", "--port", "0", "--cert", str(pki.chain), "--key", str(pki.key))
    proc = Proc(tlslens_args(*args, "--trace", "--trace-format", "json"))
    try:
        port = int(proc.wait_for(r'"text": "listening on 127\.0\.0\.1:(\d+)"').group(1))
        client = run_tlslens(
            "client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost", input=b"x"
        )
        assert client.returncode == 0, client.stderr
        proc.wait_for(r'"text": "127\.0\.0\.1:\d+ ok TLSv1\.3 ')
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0
    finally:
        proc.kill()
    objects = [json.loads(line) for line in proc.stderr.splitlines()]  # every line parses
    assert any(o.get("kind") == "message" and o["title"] == "ClientHello" for o in objects)
    assert objects[-1] == {"type": "log", "text": "stopped"}
    assert any(
        o.get("type") == "log" and o["text"].startswith("warning: our certificate chain") for o in objects
    )
