"""Real servers for the scan tests, started on 127.0.0.1 and stopped by PID: ``openssl s_server`` in any
configuration, nginx (Debian nginx-light) with a config of the test's own, ``tlslens server``, and a
plain HTTP server (Python's ``http.server``) that serves AIA downloads. On an asyncio loop in a thread
(``tests.cli.speakers.LoopThread``): an HTTP proxy and an SMTP STARTTLS front for ``openssl s_server``.

Each helper waits for a real readiness signal (the server's own "ACCEPT" line, or a TCP connect that
succeeds), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from tests.cli.procs import STDBUF, Proc, free_port, openssl, tlslens_server
from tests.cli.speakers import _pipe as pipe
from tests.cli.speakers import smtp

GNUTLS_SERV = shutil.which("gnutls-serv")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OPENSSL = shutil.which("openssl")
STDBUF_PREFIX = [STDBUF, "-oL", "-eL"] if STDBUF else []

__all__ = [
    "GNUTLS_SERV",
    "NGINX",
    "OPENSSL",
    "HttpProxy",
    "gnutls_server",
    "http_server",
    "nginx_server",
    "openssl_server",
    "smtp_relay",
    "tlslens_server",
]


def wait_listening(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 15.0) -> None:
    """Until 127.0.0.1:port accepts a connection (or the process died, or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"server exited with {proc.returncode} before listening") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.02)  # poll interval: a refused connect returns at once


@contextlib.contextmanager
def openssl_server(*args: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """``openssl s_server -accept 127.0.0.1:PORT ARGS`` once it accepts; yields the port. ``env``
    replaces its environment (``OPENSSL_CONF`` for options the command line does not have)."""
    for _attempt in range(3):
        port = free_port()
        command = ("s_server", "-accept", f"127.0.0.1:{port}", *args)
        proc = openssl(*command) if env is None else Proc([*STDBUF_PREFIX, str(OPENSSL), *command], env=env)
        try:
            proc.wait_for("^ACCEPT", "stdout", timeout=15)
        except AssertionError:
            proc.kill()
            if "in use" in proc.stdout + proc.stderr:
                continue
            raise
        try:
            yield port
        finally:
            proc.kill()
        return
    raise AssertionError("no free port for openssl s_server")


@contextlib.contextmanager
def gnutls_server(*args: str) -> Iterator[int]:
    """``gnutls-serv -p PORT ARGS`` (Debian gnutls-bin) once it accepts; stopped by PID."""
    assert GNUTLS_SERV is not None
    port = free_port()  # gnutls-serv cannot take port 0
    proc = subprocess.Popen(
        [GNUTLS_SERV, "-p", str(port), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_listening(port, proc)
        yield port
    finally:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def http_server(directory: Path) -> Iterator[int]:
    """``python -m http.server`` serving ``directory`` on 127.0.0.1 (for AIA caIssuers URLs)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, proc)
        yield port
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()


@contextlib.contextmanager
def nginx_server(prefix: Path, servers: list[str]) -> Iterator[Proc]:
    """nginx in the foreground with one ``server { ... }`` block per entry of ``servers`` (each must
    ``listen 127.0.0.1:PORT ssl``); stopped by PID (SIGQUIT, then SIGKILL)."""
    assert NGINX is not None
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root;\n"
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
        f"  fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n"
        f"  scgi_temp_path {prefix}/scgi;\n" + "\n".join(servers) + "\n}\n"
    )
    proc = Proc([NGINX, "-p", str(prefix), "-c", str(conf)])
    try:
        ports = [
            int(line.split(":")[1].split()[0]) for s in servers for line in s.splitlines() if "listen" in line
        ]
        for port in ports:
            wait_listening(port, proc.proc)
        yield proc
    finally:
        proc.signal(signal.SIGQUIT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.proc.wait(5)
        proc.kill()


def nginx_block(port: int, cert: Path, key: Path, *extra: str, http2: bool = False) -> str:
    lines = "\n".join(f"    {e}" for e in extra)
    listen = f"127.0.0.1:{port} ssl" + (" http2" if http2 else "")
    return (
        f"  server {{\n    listen {listen};\n    server_name localhost;\n"
        f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n{lines}\n"
        '    location / { return 200 "hello from nginx\\n"; }\n  }'
    )


class HttpProxy:
    """An HTTP proxy for the route tests: CONNECT tunnels (RFC 9110 §9.3.6), and GETs with an absolute
    URL (RFC 9112 §3.2.2: what a proxied AIA download sends) forwarded to the origin. It records each
    request line's target (``connects``, ``gets``)."""

    def __init__(self) -> None:
        self.connects: list[str] = []
        self.gets: list[str] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, headers = head.partition(b"\r\n")
            method, target, version = request_line.decode().split()
            if method == "CONNECT":
                self.connects.append(target)
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            elif method == "GET" and target.startswith("http://"):
                self.gets.append(target)
                parts = urlsplit(target)
                up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                up_writer.write(f"GET {path} {version}\r\n".encode() + headers)
            else:
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


def smtp_relay(tls_port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """An SMTP server up to STARTTLS (RFC 3207: the speaker of the CLI tests), then a relay of the
    connection to 127.0.0.1:``tls_port`` (an ``openssl s_server``), which does the TLS."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if await smtp(reader, writer, True):
                await writer.drain()
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", tls_port)
                await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, AssertionError):
            pass
        finally:
            writer.close()

    return handle
