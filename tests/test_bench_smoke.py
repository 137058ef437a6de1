"""bench/run.py keeps working: one iteration of every measurement (no timing is checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_bench_smoke_runs_every_row() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    keys = {row["key"] for row in report["rows"]}
    assert {"full", "hrr", "resumed", "asyncio", "memory RSS", "floor"} <= keys
    assert "bulk ChaCha20 16 KiB" in keys
    for row in report["rows"]:  # OpenSSL's side is always measured
        assert row["openssl"] is not None, row
