"""The README's "External PSKs and client certificates after the handshake" examples, run exactly as
written, printing what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("name", ["external_psk.py", "later_auth.py"])
def test_readme_example_runs_and_prints_what_the_readme_says(tmp_path: Path, name: str) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## External PSKs and client certificates after the handshake") :]
    script = re.search(rf"```python\n(# {re.escape(name)}.*?)```", section, flags=re.S)
    shown = re.search(rf"```console\n\$ python {re.escape(name)}\n(.*?)```", section, flags=re.S)
    assert script and shown
    (tmp_path / name).write_text(script.group(1))
    result = subprocess.run(
        [sys.executable, name], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == shown.group(1)
