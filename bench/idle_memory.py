#!/usr/bin/env python3
"""Memory rows: per idle established connection pair (client + server objects), in a fresh process per
stack so that memory freed by other rows cannot hide growth.

Two figures: the RSS delta over N pairs, and (a second batch of N) tracemalloc, which cannot see
OpenSSL's C allocations (for ssl it reports only the Python wrappers), so the RSS row is the comparable
one. This file is also the worker: ``python bench/idle_memory.py tlslens|openssl PAIRS`` prints its JSON.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass

from common import environment
from harness import Bench
from report import Row, Target
from stack_openssl import Ssl
from stack_tlslens import Tlslens

STACKS = ("tlslens", "openssl")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker(stack_name: str, pairs: int) -> dict[str, float]:
    """Per pair of idle established connections: RSS delta, then (a second batch) tracemalloc."""
    with environment() as env:
        tl = Tlslens(env)
        stack = tl if stack_name == "tlslens" else Ssl(env, tl.tickets_per_handshake())
        make_pair = stack.idle_pairs()
        for _ in range(20):  # warm up: lazy imports, caches, the allocator's first arenas
            make_pair()
        kept: list[object] = []
        gc.collect()
        before = _rss()
        kept += [make_pair() for _ in range(pairs)]
        gc.collect()
        rss = (_rss() - before) / pairs
        tracemalloc.start()
        gc.collect()
        traced_before = tracemalloc.get_traced_memory()[0]
        kept += [make_pair() for _ in range(pairs)]
        gc.collect()
        traced = (tracemalloc.get_traced_memory()[0] - traced_before) / pairs
        tracemalloc.stop()
        return {"rss": rss, "traced": traced}


def in_fresh_process(stack_name: str, pairs: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, stack_name, str(pairs)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {stack_name} memory worker failed:\n{result.stderr.strip()}")
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


@dataclass(frozen=True)
class IdleMemory:
    """Two rows: RSS per pair (``key`` + " RSS", with the target) and tracemalloc (``key`` + " traced")."""

    key: str
    label: str
    target: Target | None = None

    def measure(self, bench: Bench) -> list[Row]:
        pairs = bench.budget.memory_pairs
        ours, failure = bench.ours(self.key, lambda _: in_fresh_process("tlslens", pairs))
        theirs = in_fresh_process("openssl", pairs)
        return [
            Row(
                f"{self.key} RSS",
                f"{self.label}, RSS",
                "bytes",
                None if ours is None else ours["rss"],
                theirs["rss"],
                failure or f"{pairs} client+server pairs, fresh process per stack",
                target=self.target,
            ),
            Row(
                f"{self.key} traced",
                "  tracemalloc (ssl: Python objects only)",
                "bytes",
                None if ours is None else ours["traced"],
                theirs["traced"],
                "tracemalloc cannot see OpenSSL's C allocations; the RSS row is the comparable one",
            ),
        ]


if __name__ == "__main__":
    print(json.dumps(worker(sys.argv[1], int(sys.argv[2]))))
