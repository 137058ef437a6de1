"""The README's "Resumption and 0-RTT" example, run exactly as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_zero_rtt_example_runs_and_prints_what_the_readme_says(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Resumption and 0-RTT") :]
    script = re.search(r"```python\n(# zero_rtt\.py.*?)```", section, flags=re.S)
    shown = re.search(r"```console\n\$ python zero_rtt\.py\n(.*?)```", section, flags=re.S)
    assert script and shown
    (tmp_path / "zero_rtt.py").write_text(script.group(1))
    result = subprocess.run(
        [sys.executable, "zero_rtt.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == shown.group(1)
