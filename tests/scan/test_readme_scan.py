"""The README's ``tlslens scan`` example, run as written (only the port number is changed): the files of
its ``make_certs.py``, its ``openssl s_server`` command, its ``tlslens scan`` command, and the grade line
it shows."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.procs import free_port, openssl, tlslens_args

from .conftest import requires_openssl

README = Path(__file__).resolve().parents[2] / "README.md"
pytestmark = [pytest.mark.interop, requires_openssl]


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(title)
    return text[start : text.find("\n## ", start + 1)]


def test_readme_scan_example_gives_the_grade_it_shows(tmp_path: Path) -> None:
    make_certs = re.search(r"```python\n(# make_certs\.py.*?)```", section("## Using tlslens\n"), re.S)
    assert make_certs is not None
    (tmp_path / "make_certs.py").write_text(make_certs.group(1))
    subprocess.run([sys.executable, "make_certs.py"], cwd=tmp_path, check=True, timeout=60)
    scan_section = section("## Scanning servers: `tlslens scan`")
    lines = [line.removeprefix("$ ") for line in scan_section.splitlines() if line.startswith("$ ")]
    server = shlex.split(lines[0].removesuffix(" &"))
    command = shlex.split(lines[1])
    shown = next(line for line in scan_section.splitlines() if "  grade " in line)
    port = free_port()
    server = [a.replace("4433", str(port)) for a in server]
    proc = openssl(*[str(tmp_path / a) if a.endswith(".pem") else a for a in server[1:]])
    try:
        proc.wait_for("^ACCEPT", "stdout", timeout=15)
        args = [a.replace("4433", str(port)) for a in command[1:]]
        args = [str(tmp_path / a) if a.endswith(".pem") else a for a in args]
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
        result = subprocess.run(
            tlslens_args(*args), capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
        )
    finally:
        proc.kill()
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.replace(str(port), "4433") == shown
