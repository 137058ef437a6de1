"""The README's "Using tlslens" examples, run as written (only the port numbers are changed).

The Python blocks are taken from README.md by their first line (``# make_certs.py``, ``# fetch.py``,
``# echo_server.py``, ``# echo_client.py``, ``# smtp_starttls.py``, ``# blocking_server.py``) and run
as scripts in a temporary folder, so the README cannot drift from what works; the ``openssl s_server``
command comes from the README too.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tlslens
import tlslens.aio
from tests.adapters.helpers import TIMEOUT

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.interop


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Using tlslens\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def python_blocks() -> dict[str, str]:
    blocks = re.findall(r"```python\n(.*?)```", readme_section(), flags=re.S)
    named = {}
    for block in blocks:
        first = block.splitlines()[0]
        match = re.match(r"# (\w+\.py)\b", first)
        assert match, f"README python block without a '# name.py' first line: {first!r}"
        named[match.group(1)] = block
    return named


def s_server_command() -> list[str]:
    for line in readme_section().splitlines():
        if line.startswith("openssl s_server "):
            return shlex.split(line)
    raise AssertionError("no openssl s_server command in the README section")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # type: ignore[no-any-return]


def with_port(code: str, old: int, new: int) -> str:
    assert str(old) in code
    return code.replace(str(old), str(new))


class Lines:
    """The lines a process prints, collected by a thread (so waiting for one can time out)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self._stdout = proc.stdout
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self._stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} never appeared; output: {''.join(self.seen)!r}")


def run_script(folder: Path, name: str, code: str) -> str:
    (folder / name).write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, name], cwd=folder, capture_output=True, text=True, timeout=TIMEOUT * 2, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def example_folder(tmp_path: Path) -> Path:
    """A folder with the README's throwaway chain in it (made by its make_certs.py)."""
    run_script(tmp_path, "make_certs.py", python_blocks()["make_certs.py"])
    for name in ("root.pem", "leaf.pem", "intermediate.pem", "chain.pem", "key.pem"):
        assert (tmp_path / name).stat().st_size > 0
    return tmp_path


@pytest.fixture
def background_processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; each is ended (by its own handle) when the test is over."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(TIMEOUT)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_fetch_a_page_from_openssl_s_server_www(
    example_folder: Path, background_processes: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    command = [arg.replace("4433", str(port)) for arg in s_server_command()]
    server = subprocess.Popen(
        command,
        cwd=example_folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    background_processes.append(server)
    Lines(server).wait_for("ACCEPT")

    out = run_script(example_folder, "fetch.py", with_port(python_blocks()["fetch.py"], 4433, port))
    first, _, page = out.partition("\n")
    version, cipher = first.split()
    assert version == "TLSv1.3" and cipher.startswith("TLS_")
    assert page.startswith("HTTP/1.0 200 ok")
    assert f"Cipher is {cipher}" in page  # s_server -www describes the connection it served


def test_serve_asyncio_clients_with_tlslens_aio(
    example_folder: Path, background_processes: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    blocks = python_blocks()
    (example_folder / "echo_server.py").write_text(
        with_port(blocks["echo_server.py"], 8443, port), encoding="utf-8"
    )
    server = subprocess.Popen(
        [sys.executable, "echo_server.py"],
        cwd=example_folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    background_processes.append(server)
    lines = Lines(server)
    lines.wait_for("listening on")

    # The README's client: asyncio with Python's ssl.
    out = run_script(example_folder, "echo_client.py", with_port(blocks["echo_client.py"], 8443, port))
    assert out.strip() == "b'hello, tlslens\\n'"
    assert "TLS_" in lines.wait_for("127.0.0.1")  # the server printed its client

    # More asyncio clients at once: Python's ssl and tlslens.aio side by side.
    root = tlslens.load_pem_certificates(example_folder / "root.pem")

    async def one_client(i: int) -> bytes:
        if i % 2:
            ctx = ssl.create_default_context(cafile=str(example_folder / "root.pem"))
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
            )
        else:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=tlslens.ClientConfig(trust_anchors=root), server_name="localhost"
            )
        message = f"client {i}\n".encode() * 1000
        writer.write(message)
        echoed = await reader.readexactly(len(message))
        writer.close()
        await writer.wait_closed()
        return echoed

    async def many() -> list[bytes]:
        return await asyncio.wait_for(asyncio.gather(*(one_client(i) for i in range(6))), TIMEOUT * 2)

    echoed = asyncio.run(many())
    assert echoed == [f"client {i}\n".encode() * 1000 for i in range(6)]
    assert server.poll() is None  # still serving


def test_starttls_example_against_an_smtp_speaker(example_folder: Path) -> None:
    from tests.cli.speakers import loop_thread, starttls_speaker

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(example_folder / "chain.pem", example_folder / "key.pem")
    (example_folder / "smtp_starttls.py").write_text(python_blocks()["smtp_starttls.py"], encoding="utf-8")
    with loop_thread() as loop:
        server, port = loop.serve(starttls_speaker("smtp", context))
        try:
            done = subprocess.run(
                [sys.executable, "smtp_starttls.py", "localhost", str(port), "root.pem"],
                cwd=example_folder,
                capture_output=True,
                text=True,
                timeout=TIMEOUT * 2,
                check=False,
            )
        finally:
            loop.loop.call_soon_threadsafe(server.close)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("received 220 ") and "sent STARTTLS" in lines
    assert lines[-1] == "TLSv1.3 CN=localhost,O=tlslens throwaway"


def test_blocking_server_example_serves_clients_one_after_another(
    example_folder: Path, background_processes: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    code = with_port(python_blocks()["blocking_server.py"], 4443, port)
    (example_folder / "blocking_server.py").write_text(code, encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "blocking_server.py"],
        cwd=example_folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    background_processes.append(server)
    lines = Lines(server)
    lines.wait_for("listening on")
    root = tlslens.load_pem_certificates(example_folder / "root.pem")
    config = tlslens.ClientConfig(trust_anchors=root)
    for message in (b"first", b"second"):
        with tlslens.connect("127.0.0.1", port, config, "localhost", timeout=TIMEOUT) as tls:
            tls.sendall(message)
            assert tls.recv(100) == message
    # A client that fails its handshake is reported, and the next one is served.
    with pytest.raises(tlslens.TLSError):
        tlslens.connect(
            "127.0.0.1", port, tlslens.ClientConfig(trust_anchors=[]), "localhost", timeout=TIMEOUT
        )
    lines.wait_for("FatalAlert")  # the client's alert, printed by the server
    ctx = ssl.create_default_context(cafile=str(example_folder / "root.pem"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls_ssl:
        tls_ssl.sendall(b"python ssl")
        assert tls_ssl.recv(100) == b"python ssl"
