"""bench/startup.py runs: one timed run of every row (the times themselves are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_startup_bench_times_every_command() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "startup.py"), "--runs", "1", "--warmup", "0", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = {r["command"]: r for r in json.loads(done.stdout)["results"]}
    for command in ("tlslens --version", "tlslens client --help", "python -c 'import ssl'"):
        assert results[command]["median_s"] > 0
