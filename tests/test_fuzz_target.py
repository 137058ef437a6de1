"""The fuzz target of fuzz/ (server and client, every state, recorded conversations), run for a bounded
number of inputs: `python fuzz/run.py --seconds N` (or `--atheris`) runs it for longer.

The corpus must stay replayable (each recorded conversation gives the recorded output, byte for byte),
and together its conversations must reach every state of both state machines, or the fuzzer would be
fuzzing less than it claims.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz.run import sweep
from fuzz.target import MODES, fuzz_one, start
from fuzz.transcripts import load_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlslens.events import HandshakeCompleted

ROOT = Path(__file__).resolve().parent.parent
CORPUS = load_corpus()

SERVER_STATES = {
    "ExpectClientHello",
    "ExpectClientHello-after_retry",
    "ExpectEndOfEarlyData",
    "ExpectClientCertificate",
    "ExpectClientCertificateVerify",
    "ExpectClientFinished",
    "ServerTraffic",
}
CLIENT_STATES = {
    "ExpectServerHello",
    "ExpectServerHello-after_retry",
    "ExpectEncryptedExtensions",
    "ExpectCertificateOrRequest",
    "ExpectCertificate",
    "ExpectCertificateVerify",
    "ExpectFinished",
    "ClientTraffic",
}


def _state(conn: object) -> str:
    state = conn._state  # type: ignore[attr-defined]
    retry = getattr(state, "after_retry", False) or getattr(getattr(state, "sent", None), "retry_suite", None)
    name = type(state).__name__
    return f"{name}-after_retry" if retry and name in ("ExpectClientHello", "ExpectServerHello") else name


def test_corpus_holds_tlslens_and_openssl_conversations_for_both_roles() -> None:
    names = {t.name for t in CORPUS}
    assert {t.endpoint.role for t in CORPUS} == {"client", "server"}
    assert any("openssl" in n and t.endpoint.role == "server" for t in CORPUS for n in [t.name])
    assert any("openssl" in n and t.endpoint.role == "client" for t in CORPUS for n in [t.name])
    assert len(names) == len(CORPUS) >= 6


@pytest.mark.parametrize("transcript", CORPUS, ids=[t.name for t in CORPUS])
def test_each_recorded_conversation_replays_exactly(transcript: object) -> None:
    from fuzz.transcripts import Transcript

    assert isinstance(transcript, Transcript)
    transcript.replay()  # raises when the output differs from the recording
    conn = transcript.endpoint.build()
    events = []
    for chunk in transcript.chunks:
        events += conn.receive_data(chunk)
    assert any(isinstance(e, HandshakeCompleted) for e in events)


def test_the_corpus_reaches_every_state_of_both_roles() -> None:
    reached: dict[str, set[str]] = {"server": set(), "client": set()}
    for t in CORPUS:
        for n in range(len(t.records) + 1):
            reached[t.endpoint.role].add(_state(start(t, n)))
    assert reached["server"] >= SERVER_STATES, SERVER_STATES - reached["server"]
    assert reached["client"] >= CLIENT_STATES, CLIENT_STATES - reached["client"]


def test_the_peer_records_open_under_the_recorded_secrets() -> None:
    """Every protected record of every peer opens (so 'inner' and 'message' mutations reach past the
    AEAD everywhere, KeyUpdates included)."""
    for t in CORPUS:
        protected = [r for r in t.records if r.content_type == 23]
        assert protected and all(r.inner is not None for r in protected), t.name


def test_sweep_of_every_conversation_state_and_mode() -> None:
    outcomes = [
        fuzz_one(data, CORPUS) for data in sweep(seed=int(os.environ.get("TLSLENS_FUZZ_SEED", "0")), tails=1)
    ]
    assert len(outcomes) == sum((len(t.records) + 1) * len(MODES) for t in CORPUS)
    assert "accepted" in outcomes and "UnexpectedMessage" in outcomes and "BadRecordMac" in outcomes


# TLSLENS_FUZZ_EXAMPLES=20000 for a deep run; fuzz/run.py for longer still.
@settings(
    max_examples=int(os.environ.get("TLSLENS_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.binary(max_size=400))
def test_random_inputs_raise_only_protocol_errors(data: bytes) -> None:
    fuzz_one(data, CORPUS)


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
@pytest.mark.timeout(120)
def test_the_atheris_runner_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), "--atheris", "--runs", "300"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^Done \d+ runs", result.stderr, re.MULTILINE), result.stderr


def test_the_builtin_runner_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), "--runs", "200"],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "200 inputs, no invariant broken" in result.stdout
