"""Start-up time of the command line: wall time of whole commands, process start included, median of N
runs after a warm-up (so every run reads compiled bytecode), beside references that show the floor.

    python bench/startup.py [--runs 20] [--warmup 2] [--scan HOST:PORT] [--compile] [--json]

Rows: ``tlslens --version``, ``tlslens --help``, ``tlslens client --help`` and ``tlslens scan --help``;
with ``--scan HOST:PORT``, a whole ``tlslens scan HOST:PORT --json`` too (start a server first, e.g.
``tlslens server --port 4433 --cert chain.pem --key key.pem``). References: ``python -c pass`` (the
interpreter alone), ``python -c 'import ssl'`` and ``openssl version`` (when ``openssl`` is on PATH).

``tlslens`` is the console script installed beside this Python (``python -m tlslens`` without one).
Whether tlslens's own modules have compiled bytecode changes every figure: an installed wheel has it, a
source checkout under ``PYTHONDONTWRITEBYTECODE=1`` never does (each run compiles them again). The
table says which it measured; ``--compile`` writes the bytecode (``compileall``) first.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from report import Row, at_most


def tlslens_command() -> list[str]:
    script = Path(sys.executable).parent / "tlslens"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tlslens"]


def rows(scan: str | None) -> list[tuple[str, list[str]]]:
    tlslens = tlslens_command()
    chosen = [
        ("tlslens --version", [*tlslens, "--version"]),
        ("tlslens --help", [*tlslens, "--help"]),
        ("tlslens client --help", [*tlslens, "client", "--help"]),
        ("tlslens scan --help", [*tlslens, "scan", "--help"]),
    ]
    if scan is not None:
        chosen.append((f"tlslens scan {scan} --json", [*tlslens, "scan", scan, "--json"]))
    chosen.append(("python -c pass", [sys.executable, "-c", "pass"]))
    chosen.append(("python -c 'import ssl'", [sys.executable, "-c", "import ssl"]))
    openssl = shutil.which("openssl")
    if openssl is not None:
        chosen.append(("openssl version", [openssl, "version"]))
    return chosen


def package_folder() -> Path:
    spec = importlib.util.find_spec("tlslens")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("tlslens is not installed in this Python")
    return Path(next(iter(spec.submodule_search_locations)))


def has_bytecode(folder: Path) -> bool:
    """Whether the modules every command imports at start have up-to-date bytecode."""
    for name in ("__init__.py", "cli/main.py", "cli/commands.py", "cli/catalog.py"):
        source = folder / name
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file() or cached.stat().st_mtime < source.stat().st_mtime:
            return False
    return True


def wall_time(args: list[str]) -> float:
    """Seconds from start to exit of one run (its output discarded; the exit status is not judged:
    ``scan`` exits 1 or 2 for a poor grade or an unreachable target)."""
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(args: list[str], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        wall_time(args)
    return [wall_time(args) for _ in range(runs)]


# --- the rows of bench/run.py ----------------------------------------------------------------------------

BUDGET_S = {"tlslens --version": 0.25, "tlslens client --help": 0.25, "scan": 0.5}
"""The speed issue's budgets, in seconds of wall time per whole command."""


@dataclass(frozen=True)
class Startup:
    """For rows.py: ``tlslens --version``, ``tlslens client --help`` and a whole ``tlslens scan`` of one
    local ``openssl s_server`` (TLS 1.2 and 1.3), each the median of ``runs`` runs, with bytecode
    compiled first (as an installed wheel has it). The OpenSSL column is ``python -c 'import ssl'``, what
    any Python program on ``ssl`` pays to start; the ratio is the time over the command's budget."""

    key: str = "startup"
    label: str = "start-up"

    def measure(self, bench: Any) -> list[Row]:
        from load import start_server  # (its servers: openssl s_server among them)

        runs = 1 if bench.budget.strict else 10
        compileall.compile_dir(package_folder(), quiet=1)
        python_ssl = statistics.median(measure([sys.executable, "-c", "import ssl"], runs, 1))
        tlslens = tlslens_command()
        rows: list[Row] = []
        for label, args in (
            ("tlslens --version", [*tlslens, "--version"]),
            ("tlslens client --help", [*tlslens, "client", "--help"]),
        ):
            took, failure = bench.ours(f"{self.key} {label}", lambda _, a=args: measure(a, runs, 1))
            rows.append(self._row(label, label, took, python_ssl, failure))
        with start_server("openssl", bench.env) as (_, port):
            root = str(bench.env.root_pem)
            scan = [*tlslens, "scan", f"127.0.0.1:{port}", "--servername", "localhost", "--cafile", root]
            took, failure = bench.ours(f"{self.key} scan", lambda _: measure([*scan, "--json"], runs, 1))
        rows.append(self._row("scan", "tlslens scan of one local server", took, python_ssl, failure))
        return rows

    def _row(self, key: str, label: str, took: list[float] | None, ref: float, failure: str) -> Row:
        median = None if took is None else statistics.median(took)
        budget = BUDGET_S[key]
        return Row(
            f"{self.key} {key}",
            f"{self.label}: {label}",
            "s",
            median,
            ref,
            failure or f"whole command, median of {len(took or ())}; ratio = time / {budget:g} s budget",
            fraction=None if median is None else median / budget,
            target=at_most(1.0),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--scan", metavar="HOST:PORT", help="also time a whole scan of this server")
    parser.add_argument("--compile", action="store_true", help="compile tlslens's bytecode first")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    options = parser.parse_args(argv)
    if options.runs < 1 or options.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    folder = package_folder()
    if options.compile:
        compileall.compile_dir(folder, quiet=1)
    bytecode = has_bytecode(folder)
    results = []
    for label, args in rows(options.scan):
        times = measure(args, options.runs, options.warmup)
        results.append({"command": label, "median_s": statistics.median(times), "best_s": min(times)})
    if options.json:
        print(json.dumps({"runs": options.runs, "bytecode": bytecode, "results": results}))
        return 0
    width = max(len(r["command"]) for r in results)
    print(f"{'command':<{width}}  {'median':>8}  {'best':>8}   ({options.runs} runs each)")
    for r in results:
        print(f"{r['command']:<{width}}  {r['median_s']:>7.3f}s  {r['best_s']:>7.3f}s")
    state = "compiled" if bytecode else "not compiled: each run compiled tlslens's sources (try --compile)"
    print(f"tlslens bytecode: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
