"""Anti-replay for 0-RTT (RFC 8446 §8): one small interface, three backends, and the freshness check.

0-RTT data can be replayed by anyone who captured it, so a server accepts early data only when both
hold (and otherwise falls back to a 1-RTT handshake, which is always safe):

1. **Freshness** (§8.3): the ClientHello arrives when the client's ticket age says it should, within
   ``window`` seconds (``ticket_age_is_fresh``). A captured ClientHello replayed later is stale.
2. **First use** (§8.1, §8.2): the anti-replay store has not seen this use of the ticket before
   (``ReplayStore.check_and_remember``). A capture replayed within the window is a second use.

**The key remembered** is ``replay_key(psk_identity)``: SHA-256 over a label and the ticket, so each
ticket allows 0-RTT at most once (single-use tickets, §8.1), however many ClientHellos carry it. With
``replay_key(psk_identity, binder)`` the key is per ClientHello instead (ClientHello recording, §8.2):
a client may then use one ticket for 0-RTT several times, and only byte-for-byte replays are caught.
Ask the store only **after** the binder has been verified, so nobody without the PSK can burn a
ticket. Remember the key until the ticket expires (``replay_expiry``), not just for the window: then a
fleet whose clocks disagree by more than the window still accepts each ticket use at most once.

**Failing closed.** A store that cannot answer raises ``ReplayStoreError``; a full memory store
answers False. Either way the server must refuse the early data (and may still resume the session).

Backends, all answering the same question atomically:

- ``MemoryReplayStore``: one process (the default).
- ``SqliteReplayStore(path)``: several processes on one host (WAL mode; not on a network file system).
- ``RedisReplayStore(client_or_url)``: a fleet; ``SET key 1 NX PX ttl`` is atomic on the server and
  the expiry is relative, so host clocks need not agree.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import inspect
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from tlslens.errors import LocalProtocolError, TLSError

if TYPE_CHECKING:
    import redis

__all__ = [
    "MemoryReplayStore",
    "RedisReplayStore",
    "ReplayStore",
    "ReplayStoreError",
    "SqliteReplayStore",
    "replay_expiry",
    "replay_key",
    "ticket_age_is_fresh",
    "ticket_age_skew",
]

DEFAULT_FRESHNESS_WINDOW = 10.0
T = TypeVar("T")
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
_KEY_LABEL = b"tlslens anti-replay v1"


class ReplayStoreError(TLSError):
    """The anti-replay store could not answer (backend down, locked too long...): refuse 0-RTT."""


@runtime_checkable
class ReplayStore(Protocol):
    def check_and_remember(self, key: bytes, expires_at: float, now: float) -> bool:
        """True if ``key`` is new (remember it until ``expires_at``): accept the 0-RTT data.

        False if it was seen before and has not expired: a replay, refuse it. Also False when
        ``expires_at <= now`` (the ticket it protects has expired). Atomic: of any number of
        concurrent calls with one key, across threads and (for the shared backends) processes,
        at most one returns True. Raises ``ReplayStoreError`` when it cannot tell.
        """
        ...


def replay_key(psk_identity: bytes, binder: bytes | None = None) -> bytes:
    """The 32-octet key to remember for one 0-RTT attempt (see the module docstring for the choice).

    ``SHA-256("tlslens anti-replay v1" || uint16 len || psk_identity [|| uint8 len || binder])``.
    """
    h = hashlib.sha256(_KEY_LABEL)
    h.update(len(psk_identity).to_bytes(2, "big") + psk_identity)
    if binder is not None:
        h.update(len(binder).to_bytes(1, "big") + binder)
    return h.digest()


def replay_expiry(
    ticket_created_at: float, ticket_lifetime: int, window: float = DEFAULT_FRESHNESS_WINDOW
) -> float:
    """Until when a key must be remembered: the ticket's expiry, plus the window for late arrivals."""
    return ticket_created_at + ticket_lifetime + window


def ticket_age_skew(obfuscated_age: int, ticket_age_add: int, created_at: float, now: float) -> float:
    """Actual minus expected ClientHello arrival time, in seconds (RFC 8446 §8.3).

    The client's view of the ticket age is ``(obfuscated_age - ticket_age_add) mod 2^32`` ms; the
    expected arrival is the ticket's creation time plus that age. Normally about one round trip.
    """
    client_age = ((obfuscated_age - ticket_age_add) & 0xFFFFFFFF) / 1000.0
    return now - (created_at + client_age)


def ticket_age_is_fresh(
    obfuscated_age: int,
    ticket_age_add: int,
    created_at: float,
    now: float,
    window: float = DEFAULT_FRESHNESS_WINDOW,
) -> bool:
    """Whether the ClientHello arrived within ``window`` seconds of when its ticket age says (§8.3)."""
    return abs(ticket_age_skew(obfuscated_age, ticket_age_add, created_at, now)) <= window


# --- in memory ----------------------------------------------------------------------------------


class MemoryReplayStore:
    """One process. Bounded: when ``max_entries`` unexpired keys are held, new ones are refused
    (False) rather than evicting a live key, which would let its replay through."""

    def __init__(self, max_entries: int = 1_000_000) -> None:
        if max_entries < 1:
            raise LocalProtocolError("max_entries must be at least 1")
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[bytes, float] = {}
        self._expiry: list[tuple[float, bytes]] = []  # heap, may hold stale pairs

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def check_and_remember(self, key: bytes, expires_at: float, now: float) -> bool:
        key = bytes(key)
        with self._lock:
            heap, entries = self._expiry, self._entries
            while heap and heap[0][0] <= now:
                when, old = heapq.heappop(heap)
                if entries.get(old) == when:
                    del entries[old]
            seen = entries.get(key)
            if (seen is not None and seen > now) or expires_at <= now or len(entries) >= self._max:
                return False
            entries[key] = expires_at
            heapq.heappush(heap, (expires_at, key))
            return True


# --- SQLite: several processes on one host ------------------------------------------------------

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tlslens_replay"
    " (key BLOB PRIMARY KEY, expires_at REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS tlslens_replay_expiry ON tlslens_replay (expires_at)",
)


class SqliteReplayStore:
    """Several server processes on one host share one SQLite file.

    One table ``tlslens_replay(key BLOB PRIMARY KEY, expires_at REAL)``. Each check is one
    ``BEGIN IMMEDIATE`` transaction: drop this key's row if it has expired, ``INSERT OR IGNORE`` it,
    and the row count says whether it was new; every ``purge_interval`` seconds the transaction also
    deletes all expired rows. WAL mode lets readers and the single writer overlap. ``synchronous``
    is ``NORMAL`` by default: safe if a process crashes, but the last checks can be lost if the
    machine loses power; pass ``"FULL"`` to fsync every check. Connections are per thread and per
    process (a forked child opens its own).

    While another process holds the write lock, a check retries every 0.2 to 5 ms for up to
    ``timeout`` seconds (SQLite's own busy handler backs off to 100 ms sleeps, which lets one busy
    process starve the others), then raises ``ReplayStoreError``.
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        purge_interval: float = 60.0,
        timeout: float = 5.0,
        synchronous: str = "NORMAL",
    ) -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise LocalProtocolError(f"unknown SQLite synchronous mode {synchronous!r}")
        self._path = os.fspath(path)
        if self._path == ":memory:" or self._path.startswith("file::memory:"):
            # Connections are per thread, so each thread would get its own empty database.
            raise LocalProtocolError("an in-memory SQLite database cannot be shared; use MemoryReplayStore")
        self._purge_interval = purge_interval
        self._timeout = timeout
        self._synchronous = synchronous.upper()
        self._local = threading.local()
        self._next_purge = -math.inf
        try:  # create the file and table now, so that misconfiguration shows early
            self._retrying(self._connection)
        except sqlite3.Error as exc:
            raise ReplayStoreError(f"cannot open anti-replay database {self._path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"<SqliteReplayStore {self._path!r}>"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _retrying(self, operation: Callable[[], T]) -> T:
        """Run ``operation``, again while the database is locked by another connection."""
        deadline = time.monotonic() + self._timeout
        delay = 0.0002
        while True:
            try:
                return operation()
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES or "locked" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.005)

    def _check(self, key: bytes, expires_at: float, now: float) -> bool:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM tlslens_replay WHERE key = ? AND expires_at <= ?", (key, now))
            cur = conn.execute(
                "INSERT OR IGNORE INTO tlslens_replay (key, expires_at) VALUES (?, ?)", (key, expires_at)
            )
            first = cur.rowcount == 1
            if now >= self._next_purge:
                conn.execute("DELETE FROM tlslens_replay WHERE expires_at <= ?", (now,))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        if now >= self._next_purge:
            self._next_purge = now + self._purge_interval
        return first

    def check_and_remember(self, key: bytes, expires_at: float, now: float) -> bool:
        if expires_at <= now:
            return False
        key = bytes(key)
        try:
            return self._retrying(lambda: self._check(key, expires_at, now))
        except sqlite3.Error as exc:
            raise ReplayStoreError(f"anti-replay database {self._path}: {exc}") from exc

    def __len__(self) -> int:
        """Rows held, expired ones included until the next purge."""
        (n,) = self._connection().execute("SELECT count(*) FROM tlslens_replay").fetchone()
        return int(n)

    def close(self) -> None:
        """Close this thread's connection (others close when their threads' objects are collected)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# --- Redis: a fleet ---------------------------------------------------------------------------


class RedisReplayStore:
    """A fleet of servers shares one Redis (redis-py client, or a ``redis://`` URL).

    Each check is ``SET <prefix><hex key> 1 NX PX <ms until expires_at>``: Redis sets the key only if
    it is absent, atomically, and expires it itself. A URL gets a client with 1-second socket
    timeouts, so a Redis outage costs 0-RTT, not hung handshakes.
    """

    def __init__(
        self, client: redis.Redis | str, *, prefix: str = "tlslens:replay:", timeout: float = 1.0
    ) -> None:
        try:
            import redis as redis_module  # imported here: it takes ~0.1 s, and only Redis users pay it
        except ImportError:
            raise ImportError(
                "RedisReplayStore needs the redis package: pip install 'tlslens[redis]'"
            ) from None

        if isinstance(client, str):
            client = redis_module.Redis.from_url(
                client, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self._client = client
        self._prefix = prefix
        self._errors = redis_module.RedisError

    def __repr__(self) -> str:
        return f"<RedisReplayStore {self._client!r} prefix={self._prefix!r}>"

    def check_and_remember(self, key: bytes, expires_at: float, now: float) -> bool:
        ttl_ms = math.ceil((expires_at - now) * 1000)
        if ttl_ms <= 0:
            return False
        try:
            result: Any = self._client.set(self._prefix + bytes(key).hex(), b"1", nx=True, px=ttl_ms)
        except self._errors as exc:
            raise ReplayStoreError(f"redis anti-replay store: {exc}") from exc
        if inspect.isawaitable(result):  # an asyncio client would make every answer truthy
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise LocalProtocolError("RedisReplayStore needs a synchronous redis.Redis client")
        return result is True

    def close(self) -> None:
        self._client.close()
