"""Child processes for the command-line tests: `python -m tlslens ...` and `openssl s_server/s_client`.

stdout and stderr are read by threads into buffers, so a test can wait for a pattern with a deadline
while the child keeps running, and a chatty child never blocks on a full pipe. stdin stays an open
pipe until ``close_stdin()`` (both tlslens client and OpenSSL treat stdin EOF as "done").
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

OPENSSL = shutil.which("openssl")
STDBUF = shutil.which("stdbuf")
TIMEOUT = 15.0


class Proc:
    def __init__(
        self,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            preexec_fn=preexec_fn,  # e.g. lower a resource limit of the child only
        )
        self._bufs = {"stdout": bytearray(), "stderr": bytearray()}
        self._cond = threading.Condition()
        self._open = 2
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: IO[bytes]) -> None:
        while True:
            chunk = stream.read1(65536)  # type: ignore[attr-defined]
            with self._cond:
                if not chunk:
                    self._open -= 1
                    self._cond.notify_all()
                    return
                self._bufs[name] += chunk
                self._cond.notify_all()

    def text(self, name: str) -> str:
        with self._cond:
            return self._bufs[name].decode("utf-8", "replace")

    @property
    def stdout(self) -> str:
        return self.text("stdout")

    @property
    def stderr(self) -> str:
        return self.text("stderr")

    def wait_for(self, pattern: str, name: str = "stderr", timeout: float = TIMEOUT) -> re.Match[str]:
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = regex.search(self._bufs[name].decode("utf-8", "replace"))
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self._open == 0 and self.proc.poll() is not None):
                    raise AssertionError(
                        f"{pattern!r} not seen on {name} of {self.args}\n"
                        f"--- stdout ---\n{self.text('stdout')}\n--- stderr ---\n{self.text('stderr')}"
                    )
                self._cond.wait(min(left, 0.2))

    def wait_count(self, pattern: str, count: int, name: str = "stderr", timeout: float = TIMEOUT) -> None:
        """Wait until ``pattern`` (a line regex) has matched ``count`` times."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = len(regex.findall(self._bufs[name].decode("utf-8", "replace")))
                if seen >= count:
                    return
                left = deadline - time.monotonic()
                if left <= 0 or (self._open == 0 and self.proc.poll() is not None):
                    raise AssertionError(
                        f"{pattern!r} seen {seen} times, not {count}, on {name} of {self.args}\n"
                        f"--- stderr ---\n{self.text('stderr')}"
                    )
                self._cond.wait(min(left, 0.2))

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for exit and for both output streams to be read completely."""
        code = self.proc.wait(timeout)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._open and time.monotonic() < deadline:
                self._cond.wait(0.1)
        return code

    def finish(self, timeout: float = TIMEOUT) -> int:
        self.close_stdin()
        return self.wait(timeout)

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """Always called in a finally: stops the child if it is still running."""
        self.close_stdin()
        if self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)


def tlslens_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "tlslens", *args]


def run_tlslens(
    *args: str, input: bytes = b"", timeout: float = TIMEOUT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A short-lived tlslens command (usage errors, a client whose stdin is given in full)."""
    proc = Proc(tlslens_args(*args), env=env)
    try:
        if input:
            proc.send(input)
        code = proc.finish(timeout)
        return subprocess.CompletedProcess(proc.args, code, proc.stdout, proc.stderr)
    finally:
        proc.kill()


@contextlib.contextmanager
def tlslens_server(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[Proc, int]]:
    """`tlslens server --port 0 ...`; yields the process and the port its "listening on" line names."""
    proc = Proc(tlslens_args("server", "--host", "127.0.0.1", "--port", "0", *args), env=env)
    try:
        port = int(proc.wait_for(r"^listening on 127\.0\.0\.1:(\d+)$").group(1))
        yield proc, port
    finally:
        proc.signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.proc.wait(5)
        proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def openssl(*args: str) -> Proc:
    assert OPENSSL is not None
    prefix = [STDBUF, "-oL", "-eL"] if STDBUF else []
    return Proc([*prefix, OPENSSL, *args])


@contextlib.contextmanager
def openssl_server(*args: str) -> Iterator[tuple[Proc, int]]:
    """`openssl s_server -tls1_3` on a free loopback port, once it accepts."""
    for _attempt in range(3):
        port = free_port()
        proc = openssl("s_server", "-tls1_3", "-accept", f"127.0.0.1:{port}", *args)
        try:
            proc.wait_for("^ACCEPT", "stdout", timeout=10)
        except AssertionError:
            proc.kill()
            if "in use" in proc.stdout + proc.stderr:
                continue
            raise
        try:
            yield proc, port
        finally:
            proc.kill()
        return
    raise AssertionError("no free port for openssl s_server")


def summary_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("tlslens-summary: ")]
