"""`tlslens demo`, run the way the README's Quick start says, and the README's promises about it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.cli.procs import Proc

pytestmark = pytest.mark.timeout(90)

README = Path(__file__).resolve().parents[2] / "README.md"


def _quick_start_commands() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Quick start") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_quick_start_runs_the_demo_first() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert commands[0] == "pip install . && tlslens demo"


def test_demo_as_the_readme_says(tmp_path: Path) -> None:
    command = _quick_start_commands()[0].split("&&")[-1].strip()
    args = shlex.split(command)
    assert args == ["tlslens", "demo"]
    script = shutil.which("tlslens")
    # The installed console script, as a user runs it; the module when the script is not on PATH.
    argv = [script, *args[1:]] if script else [sys.executable, "-m", "tlslens", *args[1:]]
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = Proc(argv, env={**os.environ, "TMPDIR": str(temp)})
    try:
        assert proc.finish(60) == 0, proc.stderr
    finally:
        proc.kill()
    out = proc.stdout
    assert "\x1b[" not in out  # piped: plain text, no colour
    # The trace: messages in order, decoded, and the decisions of both sides.
    order = [
        out.index(m)
        for m in (
            "→ ClientHello",
            "← ServerHello",
            "← EncryptedExtensions",
            "← Certificate ",
            "← CertificateVerify",
            "← Finished",
            "→ Finished",
        )
    ]
    assert order == sorted(order)
    assert "supported_versions: TLSv1.3" in out and "alpn: http/1.1" in out
    assert "[server] " in out and "decision [cipher_suite] chose TLS_AES_128_GCM_SHA256" in out
    assert "decision [certificate_verify] server signature (ecdsa_secp256r1_sha256) verified" in out
    # The reply of the --www server, and the closing diagram.
    assert "HTTP/1.1 200 OK" in out and "protocol: TLSv1.3" in out and "sni: localhost" in out
    diagram = out[out.index("Round trip, as the client saw it") :]
    assert re.search(r"◄──────────  ServerHello \(TLS_AES_128_GCM_SHA256, X25519MLKEM768\)", diagram)
    assert re.search(r"\{Finished\} +──────────►", diagram)
    assert "close_notify" in diagram
    # No files left behind: the temporary folder it used is gone.
    assert list(temp.iterdir()) == []
    assert "removed at exit" in out
