"""``tlslens certs HOST:PORT`` as a user runs it: a subprocess against a live server on loopback.

The servers are a small tlslens ServerConnection in a thread (always run), and ``openssl s_server``
(``-m interop``, skipped without openssl). Every wait has a deadline; every process and socket is closed
in ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from cryptography.hazmat.primitives import hashes

from tests.pki.factory import DAY, NOW, Issued, make_intermediate, make_leaf, make_root, write_key, write_pem
from tlslens import ConnectionClosed, ServerConfig, ServerConnection, TLSError
from tlslens.cli.certs import key_text, parse_target, validity_text
from tlslens.pki import findings as F

TIMEOUT = 10.0
OPENSSL = shutil.which("openssl")


def tlslens_certs(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlslens", "certs", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@dataclass(frozen=True)
class Files:
    dir: Path
    root: Issued
    inter: Issued
    leaf: Issued
    expired: Issued

    @property
    def root_pem(self) -> Path:
        return self.dir / "root.pem"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    d = tmp_path_factory.mktemp("certs")
    root = make_root()
    inter = make_intermediate(root)
    leaf = make_leaf(inter, "localhost", sans=["localhost"], aia_url="http://ca.example.test/inter.cer")
    expired = make_leaf(
        inter, "localhost", sans=["localhost"], not_before=NOW - 400 * DAY, not_after=NOW - 3 * DAY
    )
    write_pem(d / "root.pem", [root])
    write_pem(d / "inter.pem", [inter])
    write_pem(d / "leaf.pem", [leaf])
    write_key(d / "leaf.key", leaf.key)
    return Files(d, root, inter, leaf, expired)


# --- a tlslens server in a thread ---------------------------------------------------------------------


class ThreadServer:
    """Serves one TLS 1.3 connection with a tlslens ServerConnection, then closes."""

    def __init__(self, config: ServerConfig | None, *, silent: bool = False) -> None:
        self.config = config
        self.silent = silent  # accept and never answer (for timeouts)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError as exc:
            self.error = exc
            return
        with sock:
            sock.settimeout(TIMEOUT)
            if self.silent or self.config is None:
                if self.silent:
                    self._stop.wait(TIMEOUT)
                return
            conn = ServerConnection(self.config)
            try:
                while not self._stop.is_set():
                    data = sock.recv(65536)
                    try:
                        events = conn.receive_data(data)
                    finally:
                        out = conn.data_to_send()
                        if out:
                            sock.sendall(out)
                    if not data or any(isinstance(e, ConnectionClosed) for e in events):
                        conn.close()
                        sock.sendall(conn.data_to_send())
                        return
            except (OSError, TLSError) as exc:
                self.error = exc

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(TIMEOUT)


@contextlib.contextmanager
def serving(config: ServerConfig | None, *, silent: bool = False) -> Iterator[ThreadServer]:
    server = ThreadServer(config, silent=silent)
    try:
        yield server
    finally:
        server.close()


def _config(chain: list[Issued], key: Issued) -> ServerConfig:
    return ServerConfig(certificate_chain=[c.cert for c in chain], private_key=key.key)


# --- units ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com:8443", ("example.com", 8443)),
        ("example.com", ("example.com", 443)),
        ("127.0.0.1:4433", ("127.0.0.1", 4433)),
        ("[::1]:4433", ("::1", 4433)),
        ("[::1]", ("::1", 443)),
        ("::1", ("::1", 443)),
    ],
)
def test_parse_target(text: str, expected: tuple[str, int]) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "text", ["example.com:0", "example.com:99999", "example.com:https", ":443", "[::1", "a:b:c"]
)
def test_parse_target_rejects(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_target(text)


def test_validity_and_key_texts(files: Files) -> None:
    cert = files.leaf.cert
    assert "364 days left" in validity_text(cert, NOW + DAY)
    assert "EXPIRED 3 days ago" in validity_text(files.expired.cert, NOW)
    assert "NOT YET VALID, starts in 30 days" in validity_text(cert, NOW - 60 * DAY)
    assert key_text(cert) == "EC secp256r1 (256 bits)"


# --- usage and connection errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["localhost:notaport"],
        ["localhost:4433", "--at", "yesterday"],
        ["localhost:4433", "--servername", "bad name!"],
        ["localhost:4433", "--cafile", "/nonexistent/ca.pem"],
        ["localhost:4433", "--timeout", "0"],
        [],
    ],
    ids=["bad-port", "bad-time", "bad-servername", "missing-cafile", "zero-timeout", "no-target"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    run = tlslens_certs(*args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Error" in run.stderr


def test_connection_refused_exits_1_with_one_line(files: Files) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    run = tlslens_certs(f"127.0.0.1:{port}", "--cafile", files.root_pem)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0
    assert re.match(rf"tlslens certs: cannot connect to 127\.0\.0\.1:{port}: connection refused", run.stderr)


def test_silent_server_times_out(files: Files) -> None:
    with serving(None, silent=True) as server:
        start = time.monotonic()
        run = tlslens_certs(f"127.0.0.1:{server.port}", "--cafile", files.root_pem, "--timeout", "0.5")
        assert time.monotonic() - start < 30
    assert run.returncode == 1
    assert "did not complete the handshake within 0.5s" in run.stderr


def test_server_that_hangs_up_exits_1(files: Files) -> None:
    with serving(None) as server:
        run = tlslens_certs(f"127.0.0.1:{server.port}", "--cafile", files.root_pem)
    assert run.returncode == 1
    assert "closed the connection during the handshake" in run.stderr


# --- against a tlslens server ---------------------------------------------------------------------------


def test_good_chain_exits_0_and_shows_every_certificate(files: Files) -> None:
    with serving(_config([files.leaf, files.inter], files.leaf)) as server:
        run = tlslens_certs(
            f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", files.root_pem
        )
        assert server.error is None
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "TLSv1.3" in out and "Presented chain (2 certificates)" in out
    assert "#0 [leaf] CN=localhost,O=tlslens tests" in out
    assert "#1 [intermediate] CN=Test Intermediate CA,O=tlslens tests" in out
    assert "issuer     CN=Test Root CA,O=tlslens tests" in out
    assert "names      localhost" in out
    assert "days left" in out and "EC secp256r1 (256 bits)" in out and "ecdsa-with-SHA256" in out
    assert files.leaf.cert.fingerprint(hashes.SHA256()).hex(":").upper() in out
    assert "✓ VALID" in out and "[root, trusted] CN=Test Root CA" in out
    assert "\x1b[" not in out  # no colour when piped
    assert run.stderr == ""


def test_expired_leaf_is_shown_and_diagnosed(files: Files) -> None:
    with serving(_config([files.expired, files.inter], files.expired)) as server:
        run = tlslens_certs(
            f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", files.root_pem
        )
    assert run.returncode == 1
    assert "EXPIRED 3 days ago" in run.stdout
    assert "✗ error   expired" in run.stdout and "fix: " in run.stdout
    assert run.stderr.startswith("tlslens certs: invalid chain: expired: ")


def test_at_judges_the_chain_at_another_time(files: Files) -> None:
    with serving(_config([files.leaf, files.inter], files.leaf)) as server:
        later = (NOW + 400 * DAY).date().isoformat()
        run = tlslens_certs(
            f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", files.root_pem, "--at", later
        )
    assert run.returncode == 1
    assert "invalid chain: expired" in run.stderr


def test_json_output(files: Files) -> None:
    with serving(_config([files.leaf], files.leaf)) as server:
        run = tlslens_certs(
            f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", files.root_pem, "--json"
        )
    assert run.returncode == 1
    doc = json.loads(run.stdout)
    assert doc["target"] == f"127.0.0.1:{server.port}" and doc["server_name"] == "localhost"
    assert doc["handshake_completed"] and doc["handshake"]["version"] == "TLSv1.3" and doc["error"] is None
    [cert] = doc["certificates"]
    assert cert["subject"] == "CN=localhost,O=tlslens tests" and cert["names"] == ["localhost"]
    assert cert["key"] == "EC secp256r1 (256 bits)" and 360 <= cert["days_left"] <= 365
    assert len(cert["sha256"]) == 32 * 3 - 1
    assert [f["code"] for f in doc["report"]["findings"]] == [F.MISSING_INTERMEDIATE]
    assert not doc["report"]["valid"]


def test_name_checked_is_the_host_without_servername(files: Files) -> None:
    with serving(_config([files.leaf, files.inter], files.leaf)) as server:
        run = tlslens_certs(f"127.0.0.1:{server.port}", "--cafile", files.root_pem)
    assert run.returncode == 1
    assert "name-mismatch" in run.stdout and "127.0.0.1" in run.stderr


# --- against openssl s_server ---------------------------------------------------------------------------


class SServer:
    """``openssl s_server -tls1_3 ... -accept 127.0.0.1:0 -naccept 1``; OpenSSL picks the port and prints it
    (so no other process can take it in between). stdin stays an open pipe (EOF makes s_server quit)."""

    def __init__(self, *args: str) -> None:
        assert OPENSSL is not None
        self.proc = subprocess.Popen(
            [OPENSSL, "s_server", "-tls1_3", "-accept", "127.0.0.1:0", "-naccept", "1", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.port = self._read_port()

    def _read_port(self) -> int:
        assert self.proc.stdout is not None
        lines: list[str] = []
        result: list[int] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode("latin-1")
                lines.append(line)
                m = re.match(r"^ACCEPT \S+:(\d+)\s*$", line)
                if m:
                    result.append(int(m.group(1)))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(TIMEOUT)
        if not result:
            raise AssertionError("openssl s_server did not start:\n" + "".join(lines))
        # Keep draining its output so the pipe never fills up.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        return result[0]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


@contextlib.contextmanager
def s_server(*args: str) -> Iterator[SServer]:
    server = SServer(*args)
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.interop
@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
def test_openssl_server_without_its_intermediate_is_diagnosed(files: Files) -> None:
    d = files.dir
    with s_server("-cert", str(d / "leaf.pem"), "-key", str(d / "leaf.key")) as server:
        run = tlslens_certs(
            f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", files.root_pem
        )
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "Presented chain (1 certificate)" in out
    assert "✗ INVALID" in out
    assert "missing-intermediate" in out
    assert 'missing: "CN=Test Intermediate CA,O=tlslens tests" (neither presented nor trusted)' in out
    assert "http://ca.example.test/inter.cer" in out
    assert "fix: Serve the leaf followed by its intermediates in order" in out
    assert run.stderr.startswith("tlslens certs: invalid chain: missing-intermediate: ")
    assert run.stderr.count("\n") == 1


@pytest.mark.interop
@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
def test_openssl_server_with_the_full_chain_is_valid(files: Files) -> None:
    d = files.dir
    args = ("-cert", str(d / "leaf.pem"), "-key", str(d / "leaf.key"), "-cert_chain", str(d / "inter.pem"))
    with s_server(*args) as server:
        run = tlslens_certs(
            f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", files.root_pem
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Presented chain (2 certificates)" in run.stdout
    assert "✓ VALID" in run.stdout and "No problems found." in run.stdout
    assert run.stderr == ""
