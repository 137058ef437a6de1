"""Session resumption and 0-RTT storage: what outlives one connection. No sockets, no handshake logic.

- ``tickets``: server-side stateless tickets: ``TicketContents`` sealed with AES-256-GCM by a
  ``TicketKeyRing`` of rotating keys (current + previous); ``open`` never raises on client input.
- ``keyfile``: ``TicketKey`` and the JSON key file a fleet shares (format in its docstring).
- ``cache``: client side: ``Session`` (one ticket and its PSK; ``--sess-out``/``--sess-in`` files)
  and ``SessionCache`` (bounded LRU by server name and ALPN, single-use tickets).
- ``replay``: 0-RTT anti-replay: the ``ReplayStore`` interface with memory, SQLite and Redis
  backends, the key to remember, and the ticket-age freshness window (RFC 8446 §8).
"""

from tlslens.session.cache import Session, SessionCache, SessionFileError
from tlslens.session.keyfile import TicketKey, dump_ticket_keys, load_ticket_keys
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
from tlslens.session.tickets import MAX_TICKET_LIFETIME, TicketContents, TicketKeyRing, TicketRejection

__all__ = [
    "MAX_TICKET_LIFETIME",
    "MemoryReplayStore",
    "RedisReplayStore",
    "ReplayStore",
    "ReplayStoreError",
    "Session",
    "SessionCache",
    "SessionFileError",
    "SqliteReplayStore",
    "TicketContents",
    "TicketKey",
    "TicketKeyRing",
    "TicketRejection",
    "dump_ticket_keys",
    "load_ticket_keys",
    "replay_expiry",
    "replay_key",
    "ticket_age_is_fresh",
    "ticket_age_skew",
]
