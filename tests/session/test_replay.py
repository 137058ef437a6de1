"""Anti-replay stores (memory, SQLite, a real redis-server), the replay key and the freshness window."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.session.conftest import _free_port
from tlslens.errors import LocalProtocolError
from tlslens.session.cache import Session
from tlslens.session.replay import (
    MemoryReplayStore,
    RedisReplayStore,
    ReplayStore,
    ReplayStoreError,
    SqliteReplayStore,
    replay_expiry,
    replay_key,
    ticket_age_is_fresh,
    ticket_age_skew,
)
from tlslens.wire.enums import CipherSuite

BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReplayStore]:
    if request.param == "memory":
        yield MemoryReplayStore()
    elif request.param == "sqlite":
        s = SqliteReplayStore(tmp_path / "replay.db")
        yield s
        s.close()
    else:
        url = request.getfixturevalue("redis_url")
        r = RedisReplayStore(url, prefix=f"test:{uuid.uuid4().hex}:")
        yield r
        r.close()


def test_every_backend_implements_the_interface(store: ReplayStore) -> None:
    assert isinstance(store, ReplayStore)


def test_first_use_is_accepted_and_the_second_refused(store: ReplayStore) -> None:
    now = time.time()
    k1, k2 = replay_key(b"ticket-1"), replay_key(b"ticket-2")
    assert store.check_and_remember(k1, now + 60, now) is True
    assert store.check_and_remember(k1, now + 60, now + 1) is False
    assert store.check_and_remember(k2, now + 60, now + 1) is True
    assert store.check_and_remember(k1, now + 120, now + 2) is False  # a later expiry changes nothing


def test_an_entry_is_forgotten_once_it_expires(store: ReplayStore) -> None:
    # Real time: Redis expires keys on its own clock.
    key = replay_key(uuid.uuid4().bytes)
    now = time.time()
    assert store.check_and_remember(key, now + 0.2, now) is True
    assert store.check_and_remember(key, now + 0.2, time.time()) is False
    time.sleep(0.35)
    now = time.time()
    assert store.check_and_remember(key, now + 60, now) is True
    assert store.check_and_remember(key, now + 60, now) is False


def test_an_already_expired_entry_is_refused(store: ReplayStore) -> None:
    now = time.time()
    assert store.check_and_remember(replay_key(b"late"), now, now) is False
    assert store.check_and_remember(replay_key(b"late"), now - 1, now) is False
    assert store.check_and_remember(replay_key(b"late"), now + 60, now) is True


def test_concurrent_threads_accept_each_key_at_most_once(store: ReplayStore) -> None:
    now = time.time()
    keys = [replay_key(b"thread-%d" % i) for i in range(100)]
    accepted: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        mine = [i for i, k in enumerate(keys) if store.check_and_remember(k, now + 60, now)]
        with lock:
            accepted.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(accepted) == list(range(100))


# --- backend specifics --------------------------------------------------------------------------


def test_memory_store_on_an_injected_clock_expires_entries() -> None:
    store = MemoryReplayStore()
    assert store.check_and_remember(b"k", 110.0, 100.0)
    assert not store.check_and_remember(b"k", 120.0, 109.999)
    assert store.check_and_remember(b"k", 130.0, 110.0)  # expired: a new first use
    assert not store.check_and_remember(b"k", 140.0, 120.0)  # remembered until 130 now
    assert len(store) == 1


def test_a_full_memory_store_refuses_rather_than_forgets() -> None:
    store = MemoryReplayStore(max_entries=2)
    assert store.check_and_remember(b"a", 10.0, 0.0)
    assert store.check_and_remember(b"b", 20.0, 0.0)
    assert not store.check_and_remember(b"c", 20.0, 1.0)  # full: no eviction of a live key
    assert not store.check_and_remember(b"a", 10.0, 1.0)  # and "a" is still remembered
    assert store.check_and_remember(b"c", 20.0, 10.0)  # "a" expired, room again
    assert len(store) == 2
    with pytest.raises(LocalProtocolError):
        MemoryReplayStore(max_entries=0)


def test_sqlite_store_uses_wal_and_purges_expired_rows(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    store = SqliteReplayStore(path, purge_interval=10.0)
    for i in range(5):
        assert store.check_and_remember(b"k%d" % i, 105.0, 100.0)
    assert len(store) == 5
    assert store.check_and_remember(b"x", 200.0, 106.0)  # within purge interval: rows stay
    assert len(store) == 6
    assert store.check_and_remember(b"y", 200.0, 111.0)  # purge due: the five expired rows go
    assert len(store) == 2
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM tlslens_replay").fetchone()[0] == 2
    store.close()
    store.close()


def test_two_sqlite_store_objects_share_one_file(tmp_path: Path) -> None:
    a, b = SqliteReplayStore(tmp_path / "r.db"), SqliteReplayStore(tmp_path / "r.db")
    assert a.check_and_remember(b"k", 200.0, 100.0)
    assert not b.check_and_remember(b"k", 200.0, 100.0)


def test_sqlite_store_reports_an_unusable_path(tmp_path: Path) -> None:
    with pytest.raises(ReplayStoreError, match="cannot open anti-replay database"):
        SqliteReplayStore(tmp_path)  # a directory
    with pytest.raises(LocalProtocolError):
        SqliteReplayStore(tmp_path / "r.db", synchronous="SOMETIMES")
    with pytest.raises(LocalProtocolError, match="MemoryReplayStore"):
        SqliteReplayStore(":memory:")


def test_sqlite_store_waits_for_another_writer_then_gives_up(tmp_path: Path) -> None:
    store = SqliteReplayStore(tmp_path / "r.db", timeout=0.3)
    other = sqlite3.connect(tmp_path / "r.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    started = time.monotonic()
    with pytest.raises(ReplayStoreError, match="locked"):
        store.check_and_remember(b"k", 200.0, 100.0)
    assert 0.3 <= time.monotonic() - started < 2.0
    release = threading.Timer(0.1, lambda: other.execute("COMMIT"))
    release.start()
    assert store.check_and_remember(b"k", 200.0, 100.0)  # got the lock once it was released
    release.join()
    other.close()


def test_sqlite_store_reports_a_broken_database(tmp_path: Path) -> None:
    store = SqliteReplayStore(tmp_path / "r.db")
    with sqlite3.connect(tmp_path / "r.db") as conn:
        conn.execute("DROP TABLE tlslens_replay")
    with pytest.raises(ReplayStoreError, match="no such table"):
        store.check_and_remember(b"k", 200.0, 100.0)


def test_redis_store_uses_prefixed_keys_with_a_ttl(redis_url: str) -> None:
    import redis

    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisReplayStore(redis.Redis.from_url(redis_url), prefix=prefix)
    key = replay_key(b"ticket")
    now = time.time()
    assert store.check_and_remember(key, now + 30, now)
    client = redis.Redis.from_url(redis_url)
    assert client.get(prefix + key.hex()) == b"1"
    assert 29_000 < int(client.pttl(prefix + key.hex())) <= 30_000
    assert "RedisReplayStore" in repr(store)
    client.close()
    store.close()


def test_an_unreachable_redis_is_a_replay_store_error() -> None:
    store = RedisReplayStore(f"redis://127.0.0.1:{_free_port()}/0", timeout=0.5)
    with pytest.raises(ReplayStoreError, match="redis anti-replay store"):
        store.check_and_remember(b"k", time.time() + 60, time.time())


def test_an_asyncio_redis_client_is_refused() -> None:
    import redis.asyncio

    store = RedisReplayStore(redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0"))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="synchronous"):
        store.check_and_remember(b"k", time.time() + 60, time.time())


# --- the key and the window ---------------------------------------------------------------------


def test_replay_key_is_per_ticket_or_per_client_hello() -> None:
    assert len(replay_key(b"t")) == 32
    assert replay_key(b"t") == replay_key(b"t") != replay_key(b"u")
    assert replay_key(b"t", b"binder1") != replay_key(b"t", b"binder2") != replay_key(b"t")
    assert replay_key(b"t", b"") != replay_key(b"t")  # an empty binder is still a binder
    assert replay_key(b"ab", b"c") != replay_key(b"a", b"bc")  # lengths keep fields apart


def test_replay_expiry_outlives_the_ticket_by_the_window() -> None:
    assert replay_expiry(1000.0, 3600) == 1000.0 + 3600 + 10.0
    assert replay_expiry(1000.0, 3600, window=2.5) == 4602.5


def fresh_at(arrival: float, created: float, client_age_ms: int, age_add: int = 0x9ABCDEF0) -> bool:
    return ticket_age_is_fresh((client_age_ms + age_add) & 0xFFFFFFFF, age_add, created, arrival)


@pytest.mark.parametrize(
    ("arrival_delay", "fresh"),
    [(0.0, True), (0.2, True), (10.0, True), (-10.0, True), (10.001, False), (-10.001, False), (3600, False)],
)
def test_freshness_compares_expected_and_actual_arrival(arrival_delay: float, fresh: bool) -> None:
    created, age_ms = 1000.0, 5000
    assert fresh_at(created + 5.0 + arrival_delay, created, age_ms) is fresh


def test_freshness_unwraps_the_obfuscated_age_modulo_2_to_the_32() -> None:
    age_add = 0xFFFFFFF0  # obfuscated age wraps past zero
    obfuscated = (2000 + age_add) & 0xFFFFFFFF
    assert obfuscated < age_add
    assert ticket_age_skew(obfuscated, age_add, 100.0, 102.5) == pytest.approx(0.5)
    assert ticket_age_is_fresh(obfuscated, age_add, 100.0, 102.5, window=1.0)
    assert not ticket_age_is_fresh(obfuscated, age_add, 100.0, 102.5, window=0.25)


def test_a_client_session_is_fresh_and_its_replay_later_is_not() -> None:
    created = 1000.0
    rtt = 0.08
    s = Session(
        server_name="example.com",
        suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        psk=b"p" * 32,
        ticket=b"t" * 40,
        ticket_age_add=0x51E55ED,
        lifetime=3600,
        received_at=created + rtt / 2,  # the client's clock agrees here; only differences matter
    )
    sent = created + 600.0
    obfuscated = s.obfuscated_age(sent)
    assert ticket_age_is_fresh(obfuscated, s.ticket_age_add, created, sent + rtt / 2)
    assert not ticket_age_is_fresh(obfuscated, s.ticket_age_add, created, sent + 11.0)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_byte_for_byte_replay_within_the_window_is_caught_by_the_store(
    backend: str, tmp_path: Path
) -> None:
    store: ReplayStore = MemoryReplayStore() if backend == "memory" else SqliteReplayStore(tmp_path / "r.db")
    identity, binder, created, age_add = b"ticket", b"b" * 32, 1000.0, 77
    obfuscated = (30_000 + age_add) & 0xFFFFFFFF
    for arrival, expected in ((1030.05, True), (1031.0, False)):  # original, then the replay 1 s later
        fresh = ticket_age_is_fresh(obfuscated, age_add, created, arrival)
        first = store.check_and_remember(replay_key(identity, binder), replay_expiry(created, 3600), arrival)
        assert (fresh and first) is expected
