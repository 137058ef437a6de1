"""The rows of the report, in order: each a declaration of what it measures on each stack.

A new row is one more entry in ``ROWS``. For a row timed in memory (a handshake, records through a
connected pair), give each side a measurement: a function of the ``Bench`` (``b.tlslens``, ``b.openssl``:
stack_tlslens.py, stack_openssl.py) that prepares the work, checks it is what the row claims, and returns
the step to time. For example::

    handshake("full", "full handshake", lambda b: b.tlslens.full(), lambda b: b.openssl.full(),
              target=at_least(1.2))

Ratios are tlslens / OpenSSL except memory (bytes, lower is better) and the floor (floor / tlslens time
per full handshake).
"""

from __future__ import annotations

from aio_server import Served
from common import SUITE_LABELS, SUITES, TLS12_SUITE
from harness import Bench, Declaration, Measure, Note, Timed
from idle_memory import IdleMemory
from load import Loaded
from primitive_floor import Floor
from report import Target, at_least, at_most
from startup import Startup

BULK_SIZES = (16384, 1024)
BULK_TARGETS = {
    **{f"bulk {suite} 16 KiB": at_least(1.5) for suite in ("AES-128-GCM", "AES-256-GCM")},
    "bulk ChaCha20 16 KiB": at_least(1.0),
    **{f"bulk {label} 1 KiB": at_least(1.0) for label in SUITES.values()},
}


def handshake(
    key: str,
    label: str,
    tlslens: Measure,
    openssl: Measure,
    *,
    share: float = 1.0,
    target: Target | None = None,
    note: Note = "",
) -> Timed:
    """A row of handshakes per second; ``share`` of the budget's seconds per handshake row."""
    return Timed(key, label, "hs/s", tlslens, openssl, target, note, share=share)


def bulk(suite: str, size: int) -> Timed:
    """MB/s (10^6 bytes) of application data one way through a connected pair, ``size``-byte writes."""
    label = f"bulk {SUITE_LABELS[suite]} {size // 1024} KiB"
    return Timed(
        label,
        label,
        "MB/s",
        lambda b: b.tlslens.bulk(suite, size),
        lambda b: b.openssl.bulk(suite, size),
        BULK_TARGETS.get(label),
        work=size / 1e6,
        pace="bulk",
    )


def _tickets(b: Bench) -> str:
    return f"{b.openssl.tickets} NewSessionTicket(s) per handshake on both stacks"


def _resumed(b: Bench) -> str:
    tickets = b.tlslens.tickets_after_resumption
    return f"one ticket offered again and again; {tickets} NewSessionTicket(s) after each, both stacks"


ROWS: list[Declaration] = [
    handshake(
        "full",
        "full handshake, cold",
        lambda b: b.tlslens.full(cold=True),
        lambda b: b.openssl.full(),
        target=at_least(1.2),
        note=lambda b: f"no cache of any kind on either side; {_tickets(b)}",
    ),
    handshake(
        "full warm",
        "full handshake, caches warm",
        lambda b: b.tlslens.full(),
        lambda b: b.openssl.full(),
        target=at_least(1.5),
        note="the same server chain again, as a pooled client sees it: tlslens' default client config "
        "keeps parsed certificates and verified chains (OpenSSL has no such cache)",
    ),
    handshake(
        "hrr",
        "HRR handshake",
        lambda b: b.tlslens.hrr(),
        lambda b: b.openssl.hrr(),
        share=0.5,
        target=at_least(1.2),
        note="caches warm, as in the row above",
    ),
    handshake(
        "resumed",
        "resumed handshake",
        lambda b: b.tlslens.resumed(),
        lambda b: b.openssl.resumed(b.tlslens.tickets_after_resumption),  # after tlslens': as many
        share=0.5,
        target=at_least(1.2),
        note=_resumed,
    ),
    *(bulk(suite, size) for suite in SUITES for size in BULK_SIZES),
    handshake(
        "full 1.2",
        "TLS 1.2 full handshake",
        lambda b: b.tlslens.full(TLS12_SUITE),
        lambda b: b.openssl.full(TLS12_SUITE),
        share=0.5,
        target=at_least(0.87),  # no worse than the TLS 1.3 ratio
        note="ECDHE-ECDSA with AES-128-GCM, x25519, extended master secret, a ticket issued on both stacks",
    ),
    handshake(
        "resumed 1.2",
        "TLS 1.2 resumed handshake",
        lambda b: b.tlslens.resumed(TLS12_SUITE),
        lambda b: b.openssl.resumed12(),
        share=0.5,
        note="abbreviated handshake by ticket, one ticket offered again and again",
    ),
    bulk(TLS12_SUITE, 16384),
    Served(
        "asyncio",
        "asyncio server",
        lambda b: b.tlslens.aio_faces(),
        lambda b: b.openssl.aio_faces(),
        target=at_least(1.0),
    ),
    Loaded(),
    IdleMemory("memory", "memory per idle connection pair", target=at_most(2.0)),
    Floor("floor", "primitive floor", of="full", target=at_least(0.6)),
    Startup(),
]
