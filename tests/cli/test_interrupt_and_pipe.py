"""Ctrl-C at any moment (during the imports at start-up too) ends with "interrupted" and exit status
130, never a traceback; a stdout closed by its reader (`| head -1`) ends quietly with the verdict's
exit status."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

from tests.cli.conftest import PkiFiles
from tests.cli.procs import Proc, tlslens_args

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("module", ["click", "cryptography.x509", "tlslens.cli.certs"])
def test_ctrl_c_during_the_imports_at_start_up(module: str) -> None:
    # -X importtime reports each import as it completes: SIGINT lands while the rest still loads.
    proc = Proc([sys.executable, "-X", "importtime", "-m", "tlslens", "certs", "127.0.0.1:9"])
    try:
        proc.wait_for(r"\| +" + re.escape(module) + "$")
        proc.signal(signal.SIGINT)
        code = proc.wait()
    finally:
        proc.kill()
    assert code == 130, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.rstrip().endswith("interrupted")


@pytest.mark.parametrize("command", ["certs", "client"])
def test_ctrl_c_while_connecting_is_worded_the_same(command: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts, never answers
        accepted: list[socket.socket] = []
        connected = threading.Event()

        def accept() -> None:
            accepted.append(server.accept()[0])
            connected.set()

        threading.Thread(target=accept, daemon=True).start()
        proc = Proc(tlslens_args(command, f"127.0.0.1:{server.getsockname()[1]}", "--timeout", "30"))
        try:
            assert connected.wait(30)  # the command is in its handshake now
            proc.signal(signal.SIGINT)
            code = proc.wait()
        finally:
            proc.kill()
            for conn in accepted:
                conn.close()
    assert code == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.rstrip().splitlines()[-1]
    if command == "client":  # the summary stays the last line, naming the reason
        assert "error: interrupted" in proc.stderr and last.endswith('"error": "interrupted"}')
    else:
        assert last == "interrupted"


def test_a_closed_stdout_ends_quietly_with_the_verdicts_status(pki: PkiFiles) -> None:
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        tlslens_args("verify", str(pki.chain), "--cafile", str(pki.ca), "--host", "localhost"),
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    os.close(read_end)  # the reader is gone before the first line is written (as `| head -0`)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert err == b""
