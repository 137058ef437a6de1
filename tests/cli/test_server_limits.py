"""What a peer can pin on `tlslens server`: connections that go silent after the handshake are closed
after --idle-timeout (with --www, the whole request must come within it), and the number of open
connections stays under --max-connections (by default, below the open-file limit), so that accept never
fails in a loop: at the cap the server stops accepting, the listening socket's backlog holds the rest,
and it goes on when a connection ends."""

from __future__ import annotations

import asyncio
import re
import resource
import select
import socket
import subprocess
import sys

import pytest

import tlslens.aio
from tests.cli.conftest import PkiFiles
from tests.cli.procs import Proc, run_tlslens, tlslens_args, tlslens_server
from tlslens import ClientConfig
from tlslens.pki.trust import load_ca_locations

pytestmark = pytest.mark.timeout(120)

SILENT_CLIENTS = 100


def _server(pki: PkiFiles, *more: str) -> tuple[str, ...]:
    return ("--cert", str(pki.chain), "--key", str(pki.key), *more)


def _config(pki: PkiFiles) -> ClientConfig:
    return ClientConfig(trust_anchors=load_ca_locations([str(pki.ca)]))


# --- idle connections --------------------------------------------------------------------------------


@pytest.mark.parametrize("www", [False, True], ids=["echo", "www"])
def test_silent_clients_are_closed_after_the_idle_timeout(pki: PkiFiles, www: bool) -> None:
    more = ("--www",) if www else ()
    with tlslens_server(*_server(pki, "--idle-timeout", "1", *more)) as (server, port):

        async def silent_clients() -> list[bytes]:
            async def one() -> bytes:
                reader, writer = await tlslens.aio.open_connection(
                    "127.0.0.1", port, config=_config(pki), server_name="localhost"
                )
                data = await reader.read()  # we say nothing; the server ends it: close_notify, EOF
                closed_cleanly = reader.at_eof()
                writer.close()
                await writer.wait_closed()
                assert closed_cleanly
                return data

            return await asyncio.gather(*(one() for _ in range(SILENT_CLIENTS)))

        replies = asyncio.run(asyncio.wait_for(silent_clients(), 90))
        assert replies == [b""] * SILENT_CLIENTS
        note = "closed: no whole request within 1 s" if www else "closed: nothing received for 1 s"
        line = rf"^127\.0\.0\.1:\d+ ok TLSv1\.3 .*; {note} \(--idle-timeout\)$"
        server.wait_count(line, SILENT_CLIENTS)  # every one of them, logged as such
        assert len(re.findall(line, server.stderr, re.MULTILINE)) == SILENT_CLIENTS


def test_www_bounds_the_time_to_the_whole_request(pki: PkiFiles) -> None:
    with tlslens_server(*_server(pki, "--www", "--idle-timeout", "1")) as (server, port):

        async def dribble() -> int:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=_config(pki), server_name="localhost"
            )
            writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            sent = 0
            # A header byte every 0.2 s: the server hears from us well within a second each time, but
            # the request never completes. It must be closed all the same.
            while sent < 200 and not reader.at_eof():
                writer.write(b"X-Slow: 1\r\n"[sent % 11 : sent % 11 + 1])
                sent += 1
                try:
                    await asyncio.wait_for(reader.read(), 0.2)
                except TimeoutError:
                    continue
            writer.close()
            return sent

        sent = asyncio.run(asyncio.wait_for(dribble(), 90))
        assert sent < 200  # closed long before the 40 s the dribble would take
        server.wait_for(r" ok TLSv1\.3 .*; closed: no whole request within 1 s \(--idle-timeout\)$")


def test_idle_timeout_must_be_positive(pki: PkiFiles) -> None:
    result = run_tlslens("server", *_server(pki, "--idle-timeout", "-1"))
    assert result.returncode == 2 and "--idle-timeout" in result.stderr and "range" in result.stderr


# --- more clients than file descriptors --------------------------------------------------------------


def _low_file_limit(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def _server_with_file_limit(pki: PkiFiles, limit: int, *more: str) -> tuple[Proc, int]:
    """`tlslens server` with RLIMIT_NOFILE lowered to ``limit`` in its process only."""
    args = tlslens_args("server", "--host", "127.0.0.1", "--port", "0", *_server(pki, *more))
    proc = Proc(args, preexec_fn=lambda: _low_file_limit(limit))
    port = int(proc.wait_for(r"^listening on 127\.0\.0\.1:(\d+)$").group(1))
    return proc, port


def _open_silent(port: int, n: int) -> list[socket.socket]:
    """``n`` TCP connections that say nothing (the kernel completes them into the backlog)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    for s in socks:
        select.select([], [s], [], 10)
    return socks


def _served(port: int, pki: PkiFiles) -> subprocess.CompletedProcess[str]:
    client = ("client", f"127.0.0.1:{port}", "--cafile", str(pki.ca), "--servername", "localhost")
    return run_tlslens(*client, "--timeout", "30", input=b"still serving\n", timeout=60)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_NOFILE as on Linux")
def test_more_clients_than_descriptors_with_the_default_cap(pki: PkiFiles) -> None:
    proc, port = _server_with_file_limit(pki, 40)
    try:
        silent = _open_silent(port, 3 * 40)
        try:
            # The default cap is below the limit: the server stops accepting there, and says so once.
            proc.wait_for(r"connections open \(--max-connections \d+\): accepting more when one ends")
        finally:
            for s in silent:
                s.close()
        result = _served(port, pki)
        assert result.returncode == 0, result.stderr + proc.stderr
        assert result.stdout == "still serving\n"
    finally:
        proc.kill()
    assert "Traceback" not in proc.stderr
    assert "Too many open files" not in proc.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_NOFILE as on Linux")
def test_an_accept_error_is_logged_once_and_the_server_goes_on(pki: PkiFiles) -> None:
    proc, port = _server_with_file_limit(pki, 40, "--max-connections", "1000")  # above what fits
    try:
        silent = _open_silent(port, 3 * 40)
        try:
            proc.wait_for(r"cannot accept: .*too many open files")
        finally:
            for s in silent:
                s.close()
        result = _served(port, pki)
        assert result.returncode == 0, result.stderr + proc.stderr
    finally:
        proc.kill()
    assert "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "cannot accept" in line]) == 1
