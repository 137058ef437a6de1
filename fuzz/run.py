"""Run the fuzz target (fuzz/target.py) for longer than the test suite does.

    python fuzz/run.py --seconds 600              # built-in mutator, 10 minutes
    python fuzz/run.py --runs 200000 --seed 7     # a number of inputs
    python fuzz/run.py --atheris --seconds 600    # coverage-guided, when atheris is installed
                                                  # (pip install -e '.[fuzz]')
    python fuzz/run.py --replay fuzz/crashes/crash-....bin

Every run starts with a sweep of every recorded conversation, every state (how many genuine records
came first) and every way of making the next input hostile, then draws random inputs. An input that
breaks the invariant is written to fuzz/crashes/ and the run stops with status 1. The built-in mutator
needs nothing but the standard library; with ``--atheris``, libFuzzer mutates the same inputs, guided
by coverage of the engine, starting from the sweep as its seed corpus.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CRASHES = Path(__file__).resolve().parent / "crashes"


# (tlslens is imported lazily: with --atheris it must be imported under atheris's instrumentation.)


def sweep(seed: int = 0, tails: int = 2) -> Iterator[bytes]:
    """Inputs that pick each conversation, each state and each mode in turn (then random choices)."""
    from fuzz.target import MODES
    from fuzz.transcripts import load_corpus

    corpus = load_corpus()
    rng = random.Random(seed)
    for t, transcript in enumerate(corpus):
        for n in range(len(transcript.records) + 1):
            for m in range(len(MODES)):
                for _ in range(tails):
                    yield bytes((t, n, m)) + rng.randbytes(rng.randint(0, 120))


def random_inputs(seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    while True:
        yield rng.randbytes(rng.randint(0, 400))


def _save(data: bytes) -> Path:
    CRASHES.mkdir(exist_ok=True)
    path = CRASHES / f"crash-{hashlib.sha1(data).hexdigest()}.bin"
    path.write_bytes(data)
    return path


def run_builtin(runs: int | None, seconds: float | None, seed: int) -> int:
    from fuzz.target import fuzz_one
    from fuzz.transcripts import load_corpus

    corpus = load_corpus()
    outcomes: collections.Counter[str] = collections.Counter()
    deadline = time.monotonic() + seconds if seconds else None
    inputs = [*sweep(seed)]
    count = 0
    source = iter(inputs)
    fallback = random_inputs(seed)
    while (runs is None or count < runs) and (deadline is None or time.monotonic() < deadline):
        data = next(source, None)
        if data is None:
            data = next(fallback)
        count += 1
        try:
            outcomes[fuzz_one(data, corpus)] += 1
        except BaseException:
            traceback.print_exc()
            print(f"invariant broken by input {data.hex()} (saved as {_save(data)})", file=sys.stderr)
            return 1
    print(f"{count} inputs, no invariant broken: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    return 0


def run_atheris(runs: int | None, seconds: float | None, seed: int) -> int:
    import atheris

    with atheris.instrument_imports(include=["tlslens"]):  # coverage of the engine, not of its deps
        from fuzz.target import fuzz_one
        from fuzz.transcripts import load_corpus
    corpus = load_corpus()

    def one(data: bytes) -> None:
        try:
            fuzz_one(data, corpus)
        except BaseException:
            _save(data)
            raise

    with tempfile.TemporaryDirectory(prefix="tlslens-fuzz-seeds-") as seeds:
        for i, data in enumerate(sweep(seed, tails=1)):
            (Path(seeds) / f"seed-{i}").write_bytes(data)
        args = [sys.argv[0], seeds, f"-seed={seed}", "-max_len=4096"]
        if runs is not None:
            args.append(f"-runs={runs}")
        if seconds is not None:
            args.append(f"-max_total_time={int(seconds)}")
        atheris.Setup(args, one)
        atheris.Fuzz()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, help="stop after this many inputs")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--atheris", action="store_true", help="coverage-guided (needs atheris)")
    parser.add_argument("--replay", type=Path, help="run one saved input and show what happens")
    args = parser.parse_args(argv)
    if args.replay:
        from fuzz.target import fuzz_one

        print(fuzz_one(args.replay.read_bytes()))
        return 0
    if args.runs is None and args.seconds is None:
        args.runs = sum(1 for _ in sweep(args.seed))
    if args.atheris:
        return run_atheris(args.runs, args.seconds, args.seed)
    return run_builtin(args.runs, args.seconds, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
