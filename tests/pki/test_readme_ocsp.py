"""The README's OCSP example (``# ocsp_staple.py``), run as written in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_ocsp_example_runs_as_written(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## OCSP stapling and certificate compression") :]
    section = section[: section.index("\n## ", 10)]
    block = re.search(r"```python\n(# ocsp_staple\.py.*?)```", section, re.S)
    assert block is not None, "no # ocsp_staple.py block in the README's OCSP section"
    script = tmp_path / "ocsp_staple.py"
    script.write_text(block.group(1), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    expected = re.search(r"# (OCSP: .*)$", block.group(1), re.M)
    assert expected is not None
    assert result.stdout.strip() == expected.group(1)
