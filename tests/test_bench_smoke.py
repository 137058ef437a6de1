"""bench/run.py keeps working: one iteration of every measurement, on both stacks (no timing is checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_bench_smoke_measures_every_row_on_both_stacks() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    keys = [row["key"] for row in report["rows"]]
    assert {"full", "hrr", "resumed", "asyncio", "memory RSS", "floor"} <= set(keys)
    for suite in ("AES-128-GCM", "AES-256-GCM", "ChaCha20"):
        assert {f"bulk {suite} 16 KiB", f"bulk {suite} 1 KiB"} <= set(keys)
    assert len(keys) == len(set(keys)), keys
    for row in report["rows"]:
        assert row["tlslens"] is not None, row
        assert row["openssl"] is not None, row
        assert not (row["note"] or "").startswith("n/a"), row
    assert report["floor_parts_us"]


# A row whose tlslens step raises, next to a working OpenSSL side, through the harness run.py uses.
BROKEN_ROW = """
import dataclasses, sys
sys.path.insert(0, sys.argv[1])
from harness import BUDGETS, Timed, measure_all

def broken(bench):
    def step():
        raise RuntimeError("the tlslens step broke")
    return step

row = Timed("broken", "broken row", "hs/s", broken, lambda b: b.openssl.full())
budget = dataclasses.replace(BUDGETS["smoke"], strict=sys.argv[2] == "strict")
(measured,) = measure_all([row], budget, lambda what: None)[0]
print(measured.tlslens, measured.openssl is not None, measured.note)
"""


@pytest.mark.parametrize("strict", [True, False])
def test_a_failing_tlslens_measurement_fails_a_smoke_run_and_is_noted_elsewhere(strict: bool) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BROKEN_ROW, str(BENCH), "strict" if strict else "lenient"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if strict:
        assert result.returncode != 0
        assert "TlslensFailed: tlslens failed on row 'broken'" in result.stderr
        assert "RuntimeError: the tlslens step broke" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "None True n/a: RuntimeError: the tlslens step broke"
