"""`tlslens server` options beyond the basics, each against a real client: optional client certificates
(--request-client-cert beside --verify-client), --key-update, --record-size-limit and --www's
/keyupdate."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.conftest import ClientPkiFiles, PkiFiles
from tests.cli.procs import run_tlslens, summary_lines, tlslens_server

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
