"""The harness: budgets, the timing race, the rule for a failing tlslens side, and the in-memory row.

A row is declared (rows.py lists them) as an object with a ``key``, a ``label`` and a
``measure(bench) -> list[Row]`` method; ``Timed`` is the common kind, two steps raced against each other.
``measure_all`` builds the shared setup once (``Bench``: the PKI, both stacks) and measures the rows in
order; a row may read the rows measured before it (``bench.rows``).

The tlslens side of every row goes through ``Bench.ours``: when it raises, a strict (``--smoke``) run
fails with ``TlslensFailed`` naming the row, and any other run reports the row's tlslens figure as n/a
with the error as its note. The OpenSSL side is the reference: its failures always fail the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from common import Env, Step, environment
from report import Row, Target
from stack_openssl import Ssl
from stack_tlslens import Tlslens

T = TypeVar("T")

MEMORY_PAIRS = 200


@dataclass(frozen=True)
class Budget:
    """How long each measurement runs."""

    seconds: float  # per handshake row (shared by the two stacks)
    bulk_seconds: float  # per bulk row
    batch: int  # handshakes per timed batch
    bulk_batch: int  # records per timed batch
    asyncio_connections: int
    asyncio_concurrency: int
    asyncio_rounds: int
    memory_pairs: int
    strict: bool = False  # a failing tlslens measurement fails the run (instead of n/a)
    load: Literal["default", "quick", "smoke"] = "quick"  # load.py's budget for the rows under load

    def pace(self, kind: Literal["handshake", "bulk"], share: float = 1.0) -> tuple[int, float]:
        """(calls per timed batch, seconds) for a timed row of this kind taking ``share`` of the time."""
        if kind == "bulk":
            return self.bulk_batch, self.bulk_seconds * share
        return self.batch, self.seconds * share


BUDGETS = {
    "default": Budget(20.0, 5.0, 20, 64, 2000, 50, 3, MEMORY_PAIRS, load="default"),
    "quick": Budget(8.0, 2.0, 20, 64, 600, 50, 2, MEMORY_PAIRS),
    "smoke": Budget(0.0, 0.0, 1, 1, 4, 2, 1, 3, strict=True, load="smoke"),
}


def race(steps: dict[str, Step], batch: int, seconds: float) -> dict[str, float]:
    """Run each step ``batch`` times per timed batch, the steps' batches interleaved, for about
    ``seconds`` in total; return the best seconds per call of each step.

    Batches are timed in CPU seconds of this process: the steps are single-threaded and never wait,
    so that is their wall time on a quiet machine, and other processes on a busy one do not count."""
    for step in steps.values():  # warm up (caches, lazy imports, branch predictors)
        for _ in range(min(batch, 5)):
            step()
    best = dict.fromkeys(steps, float("inf"))
    deadline = time.perf_counter() + seconds
    cpu = time.process_time
    while True:
        for name, step in steps.items():
            start = cpu()
            for _ in range(batch):
                step()
            best[name] = min(best[name], (cpu() - start) / batch)
        if time.perf_counter() >= deadline:
            return best


class TlslensFailed(Exception):
    """The tlslens side of a row failed in a strict run."""


@dataclass
class Bench:
    """What every row's measurements receive: the budget, the PKI, both stacks, the rows so far."""

    budget: Budget
    env: Env
    tlslens: Tlslens
    openssl: Ssl
    rows: dict[str, Row] = field(default_factory=dict)  # measured so far, by key
    extra: dict[str, Any] = field(default_factory=dict)  # more figures for --json

    def ours(self, key: str, measure: Callable[[Bench], T]) -> tuple[T | None, str]:
        """Run the tlslens side of row ``key``: (its result, "") or, outside a strict run, (None, why)."""
        try:
            return measure(self), ""
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if self.budget.strict:
                raise TlslensFailed(f"tlslens failed on row {key!r}: {reason}") from exc
            return None, f"n/a: {reason}"


Measure = Callable[[Bench], Step]
Note = str | Callable[[Bench], str]


class Declaration(Protocol):
    """A row (or a few rows measured together) of the report."""

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str: ...

    def measure(self, bench: Bench) -> list[Row]: ...


def _checked(measure: Measure) -> Callable[[Bench], Step]:
    """The measurement, its step run once: a step that cannot run fails here, on its own side."""

    def prepare(bench: Bench) -> Step:
        step = measure(bench)
        step()
        return step

    return prepare


def note_text(note: Note, bench: Bench) -> str:
    return note(bench) if callable(note) else note


@dataclass(frozen=True)
class Timed:
    """A row timed in memory: each side's measurement returns a step that does ``work`` units of the
    row's unit (1 handshake, 16384 / 1e6 MB...); the steps are raced (``race``) and the row reports
    ``work`` / best seconds per step for each side."""

    key: str
    label: str
    unit: str
    tlslens: Measure
    openssl: Measure
    target: Target | None = None
    note: Note = ""
    work: float = 1.0
    pace: Literal["handshake", "bulk"] = "handshake"
    share: float = 1.0  # of the budget's seconds for this kind of row

    def measure(self, bench: Bench) -> list[Row]:
        ours, failure = bench.ours(self.key, _checked(self.tlslens))  # first: OpenSSL may mirror it
        theirs = _checked(self.openssl)(bench)
        steps = {"openssl": theirs} if ours is None else {"tlslens": ours, "openssl": theirs}
        batch, seconds = bench.budget.pace(self.pace, self.share)
        best = race(steps, batch, seconds)
        return [
            Row(
                self.key,
                self.label,
                self.unit,
                self.work / best["tlslens"] if "tlslens" in best else None,
                self.work / best["openssl"],
                failure or note_text(self.note, bench),
                target=self.target,
            )
        ]


def measure_all(
    declarations: list[Declaration], budget: Budget, progress: Callable[[str], None]
) -> tuple[list[Row], dict[str, Any]]:
    """Measure the rows in order on one shared setup; (the rows, extra figures for --json)."""
    rows: list[Row] = []
    with environment() as env:
        tl = Tlslens(env)
        bench = Bench(budget, env, tl, Ssl(env, tl.tickets_per_handshake()))
        for declaration in declarations:
            progress(declaration.label)
            for row in declaration.measure(bench):
                rows.append(row)
                bench.rows[row.key] = row
        return rows, bench.extra
