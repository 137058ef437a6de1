"""A real 0-RTT flight replayed byte for byte: to the same server config, to separate server processes
sharing a ticket key file and a SQLite anti-replay store, and to separate processes sharing a real
redis-server. The early data is accepted at most once in total (here: exactly once, by whoever checks
the store first), and every server still resumes the session (RFC 8446 §8: a replay gets no 0-RTT,
and without the client's keys it cannot finish the handshake either).

The flight is what a tlslens ClientConnection queues when constructed with a session and early data:
ClientHello (with pre_shared_key and early_data), change_cipher_spec, and the early data record. Real
clocks throughout: the ticket is minutes old at most, well inside its lifetime, and each flight is
captured just before it is sent, inside the 10-second freshness window.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.handshake.helpers import ConnectionPair, client_config, server_config
from tlslens import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from tlslens.events import DecisionMade, EarlyDataReceived, Event, HandshakeCompleted, SessionTicketReceived
from tlslens.session import (
    MemoryReplayStore,
    RedisReplayStore,
    ReplayStore,
    Session,
    SqliteReplayStore,
    TicketKeyRing,
    replay_key,
)

pytestmark = pytest.mark.timeout(60)

WORKER = Path(__file__).with_name("early_data_server.py")
REQUEST = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"
LIFETIME = 3600  # what the worker configures too
MAX_EARLY = 4096
PROCESS_TIMEOUT = 30.0


# An empty shared store is the case that matters (a fresh deployment); one already holding an unrelated
# entry is truthy and shows the cross-process machinery itself works.
STORE_STATES = [
    "empty",
    "in-use",
]


@dataclass
class Issued:
    """A session issued by a server on a shared ticket key file, and what to resume it with."""

    key_file: Path
    issuing: ServerConfig
    client: ClientConfig
    session: Session

    def flight(self) -> bytes:
        """The bytes a resuming client sends first, early data included (captured now)."""
        conn = ClientConnection(self.client, "localhost", session=self.session, early_data=REQUEST)
        data = conn.data_to_send()
        assert REQUEST not in data  # the early data is encrypted
        return data


@pytest.fixture
def issued(tmp_path: Path) -> Issued:
    key_file = tmp_path / "ticket-keys.json"
    issuing = server_config(
        ticket_keys=TicketKeyRing.from_file(key_file),  # creates the file the other servers load
        max_early_data_size=MAX_EARLY,
        ticket_lifetime=LIFETIME,
        tickets=1,
    )
    pair = ConnectionPair(client_config(), issuing).handshake()
    (ticket,) = [e for e in pair.client_events if isinstance(e, SessionTicketReceived)]
    session = ticket.session
    assert isinstance(session, Session)
    assert session.max_early_data_size == MAX_EARLY and session.lifetime == LIFETIME
    return Issued(key_file, issuing, client_config(), session)


def early_data(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, EarlyDataReceived))


def decisions(events: list[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, DecisionMade) and e.topic == "resumption"]


def assert_accepted_once(results: list[dict[str, Any]]) -> None:
    """Every server resumed; exactly one took the early data; the others refused it as a replay."""
    assert all(r["resumed"] for r in results), results
    winners = [r for r in results if r["early_data"]]
    assert len(winners) == 1, results
    assert bytes.fromhex(winners[0]["early_data"]) == REQUEST
    for r in results:
        if r is not winners[0]:
            assert any("already used for 0-RTT" in d for d in r["decisions"]), r


# --- (a) one server config -------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_flight_replayed_to_the_same_server_config_gets_no_second_0rtt(
    issued: Issued, tmp_path: Path, store: str
) -> None:
    config = issued.issuing
    if store == "sqlite":
        config = server_config(
            ticket_keys=TicketKeyRing.from_file(issued.key_file, create=False),
            replay_store=SqliteReplayStore(tmp_path / "replay.db"),
            max_early_data_size=MAX_EARLY,
        )
    client = ClientConnection(issued.client, "localhost", session=issued.session, early_data=REQUEST)
    flight = client.data_to_send()
    server = ServerConnection(config, trace=True)
    pair = ConnectionPair(client=client, server=server)
    pair.server_events += server.receive_data(flight)  # the genuine connection, completed
    pair.handshake()
    assert early_data(pair.server_events) == REQUEST
    done = [e for e in pair.server_events if isinstance(e, HandshakeCompleted)]
    assert done and done[0].resumed and done[0].early_data_accepted

    for _ in range(2):  # the captured flight, byte for byte, twice more
        events = ServerConnection(config, trace=True).receive_data(flight)
        assert early_data(events) == b""
        assert any(d.startswith("resuming with") for d in decisions(events))
        assert any("already used for 0-RTT" in d for d in decisions(events)), decisions(events)


# --- the store a ServerConfig is given is the one it uses ---------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_server_config_uses_the_empty_replay_store_it_is_given(tmp_path: Path, kind: str) -> None:
    store: ReplayStore = MemoryReplayStore() if kind == "memory" else SqliteReplayStore(tmp_path / "r.db")
    assert server_config(replay_store=store).effective_replay_store is store


# --- (b), (c) separate server processes ------------------------------------------------------------------


def seed_store(backend: str, location: str, prefix: str) -> None:
    """Put an unrelated entry in the shared store (see STORE_STATES)."""
    now = time.time()
    key = replay_key(b"another ticket " + uuid.uuid4().bytes)
    store = SqliteReplayStore(location) if backend == "sqlite" else RedisReplayStore(location, prefix=prefix)
    assert store.check_and_remember(key, now + 600, now)
    store.close()


def serve_in_processes(
    issued: Issued, tmp_path: Path, backend: str, location: str, n: int, state: str
) -> list[Any]:
    """Start ``n`` server processes, then capture a flight and release them on it together."""
    prefix = f"tlslens-test:{uuid.uuid4().hex}:"
    if state == "in-use":
        seed_store(backend, location, prefix)
    flight_file = tmp_path / "flight.bin"
    args = [sys.executable, str(WORKER), str(issued.key_file), backend, location, prefix, str(flight_file)]
    workers = [
        subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(n)
    ]
    try:
        for w in workers:
            assert w.stdout is not None
            line = w.stdout.readline()  # bounded by the module timeout; a dead worker gives ""
            assert line == "ready\n", f"worker did not start: {line!r} {w.stderr.read() if w.stderr else ''}"
        flight_file.write_bytes(issued.flight())
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = []
        for w in workers:
            out, err = w.communicate(timeout=PROCESS_TIMEOUT)
            assert w.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
            w.wait(timeout=PROCESS_TIMEOUT)
            for stream in (w.stdin, w.stdout, w.stderr):
                if stream is not None:
                    stream.close()


@pytest.mark.parametrize("state", STORE_STATES)
def test_a_flight_sent_to_two_processes_sharing_sqlite_gets_0rtt_once(
    issued: Issued, tmp_path: Path, state: str
) -> None:
    results = serve_in_processes(issued, tmp_path, "sqlite", str(tmp_path / "replay.db"), 2, state)
    assert_accepted_once(results)


def test_a_flight_accepted_in_this_process_is_refused_by_another_sharing_sqlite(
    issued: Issued, tmp_path: Path
) -> None:
    db = tmp_path / "replay.db"
    here = server_config(
        ticket_keys=TicketKeyRing.from_file(issued.key_file, create=False),
        replay_store=SqliteReplayStore(db),
        max_early_data_size=MAX_EARLY,
    )
    flight = issued.flight()
    events = ServerConnection(here, trace=True).receive_data(flight)
    assert early_data(events) == REQUEST
    flight_file = tmp_path / "flight.bin"
    flight_file.write_bytes(flight)  # the same bytes, byte for byte, to another process
    args = [sys.executable, str(WORKER), str(issued.key_file), "sqlite", str(db), "-", str(flight_file)]
    proc = subprocess.run(args, input="go\n", capture_output=True, text=True, timeout=PROCESS_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["resumed"] and result["early_data"] == "", result
    assert any("already used for 0-RTT" in d for d in result["decisions"]), result


@pytest.mark.interop
def test_a_flight_sent_to_two_processes_sharing_redis_gets_0rtt_once(
    issued: Issued, tmp_path: Path, redis_url: str
) -> None:
    results = serve_in_processes(issued, tmp_path, "redis", redis_url, 2, "empty")
    assert_accepted_once(results)
