"""Across processes: separate Python processes sharing one SQLite file or one real redis-server race
on the same keys, and each key is accepted at most once in total (here: exactly once)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("replay_worker.py")
ATTEMPTS = 200


def race(backend: str, location: str, processes: int) -> list[list[int]]:
    namespace = uuid.uuid4().hex
    args = [sys.executable, str(WORKER), backend, location, namespace, str(ATTEMPTS)]
    workers = [
        subprocess.Popen(
            [*args, str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(processes)
    ]
    try:
        for w in workers:
            assert w.stdout is not None
            line = w.stdout.readline()
            assert line == "ready\n", f"worker did not start: {line!r} {w.stderr.read() if w.stderr else ''}"
        for w in workers:  # release them together
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = []
        for w in workers:
            out, err = w.communicate(timeout=90)
            assert w.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()


def assert_each_key_accepted_exactly_once(results: list[list[int]]) -> None:
    everything = sorted(i for accepted in results for i in accepted)
    assert everything == list(range(ATTEMPTS)), "a key was accepted twice, or never"


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_sharing_one_sqlite_file_accept_each_key_once(tmp_path: Path, processes: int) -> None:
    results = race("sqlite", str(tmp_path / "replay.db"), processes)
    assert_each_key_accepted_exactly_once(results)


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_sharing_one_redis_accept_each_key_once(redis_url: str, processes: int) -> None:
    results = race("redis", redis_url, processes)
    assert_each_key_accepted_exactly_once(results)
