"""Client sessions: age obfuscation, the session file format, and the ticket cache."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlslens.crypto.key_schedule import resumption_psk
from tlslens.crypto.suites import TLS_AES_256_GCM_SHA384
from tlslens.errors import LocalProtocolError
from tlslens.session.cache import Session, SessionCache, SessionFileError
from tlslens.wire.enums import CipherSuite
from tlslens.wire.extensions import EarlyDataNewSessionTicket
from tlslens.wire.messages import NewSessionTicket

T0 = 1_700_000_000.0


def session(**changes: object) -> Session:
    base = Session(
        server_name="example.com",
        suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        psk=b"\x11" * 32,
        ticket=b"opaque-ticket-" + bytes(40),
        ticket_age_add=0x12345678,
        lifetime=7200,
        received_at=T0,
        alpn=b"h2",
        offered_alpn=(b"h2", b"http/1.1"),
        max_early_data_size=16384,
        peer_certificates=(b"\x30\x82leaf", b"\x30\x82ca"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- age and lifetime ---------------------------------------------------------------------------


def test_obfuscated_age_adds_ticket_age_add_modulo_2_to_the_32() -> None:
    s = session(ticket_age_add=0xFFFFFF00)
    assert s.obfuscated_age(T0) == 0xFFFFFF00
    assert s.obfuscated_age(T0 + 1.5) == (1500 + 0xFFFFFF00) % (1 << 32) == 1244
    assert s.age_ms(T0 - 3) == 0  # a clock that went backwards


def test_expiry_follows_the_lifetime_capped_at_seven_days() -> None:
    s = session(lifetime=100)
    assert not s.is_expired(T0 + 99.999) and s.is_expired(T0 + 100)
    week = session(lifetime=0xFFFFFFFF)
    assert week.expires_at == T0 + 604800
    assert session(lifetime=0).is_expired(T0)


def test_early_data_is_allowed_only_with_a_limit() -> None:
    assert session().early_data_allowed
    assert not session(max_early_data_size=0).early_data_allowed


def test_from_new_session_ticket_derives_the_resumption_psk() -> None:
    rms = bytes(range(48))
    nst = NewSessionTicket(
        ticket_lifetime=300,
        ticket_age_add=7,
        ticket_nonce=b"\x00\x01",
        ticket=b"T" * 50,
        extensions=(EarlyDataNewSessionTicket(4096),),
    )
    s = Session.from_new_session_ticket(
        nst,
        suite=TLS_AES_256_GCM_SHA384,
        resumption_master_secret=rms,
        received_at=T0,
        server_name="example.com",
        alpn=b"h2",
        offered_alpn=["h2", b"http/1.1"],
    )
    assert s.psk == resumption_psk(TLS_AES_256_GCM_SHA384, rms, b"\x00\x01")
    assert (s.suite, s.ticket, s.ticket_age_add, s.lifetime) == (
        CipherSuite.TLS_AES_256_GCM_SHA384,
        nst.ticket,
        7,
        300,
    )
    assert s.max_early_data_size == 4096 and s.offered_alpn == (b"h2", b"http/1.1")
    no_early = dataclasses.replace(nst, extensions=())
    assert (
        Session.from_new_session_ticket(
            no_early,
            suite=TLS_AES_256_GCM_SHA384,
            resumption_master_secret=rms,
            received_at=T0,
            server_name=None,
        ).max_early_data_size
        == 0
    )


def test_the_repr_hides_psk_and_ticket() -> None:
    text = repr(session(psk=b"\xab" * 32))
    assert "abab" not in text and "opaque-ticket" not in text


@pytest.mark.parametrize(
    "changes",
    [
        {"psk": b""},
        {"ticket": b""},
        {"ticket": b"t" * 65536},
        {"lifetime": -1},
        {"received_at": float("inf")},
        {"server_name": "x" * 256},
        {"alpn": b""},
        {"offered_alpn": (b"",)},
    ],
)
def test_a_session_refuses_values_it_cannot_store(changes: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        session(**changes)


# --- serialization ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{}, {"server_name": None, "alpn": None, "offered_alpn": (), "peer_certificates": ()}],
    ids=["full", "minimal"],
)
def test_session_round_trips_through_bytes_and_pem(changes: dict[str, object]) -> None:
    s = session(**changes)
    assert Session.from_bytes(s.to_bytes()) == s
    pem = s.to_pem()
    assert pem.startswith("-----BEGIN TLSLENS SESSION-----\n")
    assert pem.endswith("-----END TLSLENS SESSION-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    assert Session.from_pem(pem) == s
    assert Session.from_pem(pem.encode()) == s
    assert Session.from_pem("comment before\n" + pem.replace("\n", "\r\n") + "after") == s


def test_save_writes_a_private_file_that_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "sess.pem"
    s = session()
    s.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Session.load(path) == s
    s2 = session(lifetime=1)
    s2.save(path)  # replaces
    assert Session.load(path) == s2


def _pem_of(data: bytes) -> str:
    return (
        "-----BEGIN TLSLENS SESSION-----\n"
        + base64.b64encode(data).decode()
        + "\n-----END TLSLENS SESSION-----\n"
    )


GOOD = session().to_bytes()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a tlslens session file"),
        ("hello\n", "not a tlslens session file"),
        ("-----BEGIN SSL SESSION PARAMETERS-----\nMIIB\n-----END SSL SESSION PARAMETERS-----\n", "OpenSSL"),
        ("-----END TLSLENS SESSION-----\n-----BEGIN TLSLENS SESSION-----\n", "not a tlslens session file"),
        ("-----BEGIN TLSLENS SESSION-----\n!!!!\n-----END TLSLENS SESSION-----\n", "base64"),
        (_pem_of(b"something else entirely"), "missing the TLSLENS-SESSION magic"),
        (_pem_of(GOOD[:15] + b"\x02" + GOOD[16:]), "format version 2 is not supported"),
        (_pem_of(GOOD[:-3]), "damaged session"),
        (_pem_of(GOOD + b"\x00"), "damaged session: 1 trailing bytes"),
        (_pem_of(GOOD[:16]), "damaged session"),
    ],
    ids=[
        "empty",
        "text",
        "openssl",
        "markers-reversed",
        "bad-base64",
        "no-magic",
        "v2",
        "truncated",
        "trailing",
        "header-only",
    ],
)
def test_bad_session_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SessionFileError, match=message):
        Session.from_pem(text)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sess.pem"
    with pytest.raises(SessionFileError, match="cannot read session file"):
        Session.load(path)
    path.write_text("junk")
    with pytest.raises(SessionFileError, match=f"{path}: not a tlslens session file"):
        Session.load(path)


@given(st.binary(max_size=200))
def test_from_bytes_raises_only_session_file_error(data: bytes) -> None:
    for blob in (data, b"TLSLENS-SESSION\x01" + data, GOOD[: len(data) % len(GOOD)] + data):
        with contextlib.suppress(SessionFileError):
            Session.from_bytes(blob)


# --- the cache ----------------------------------------------------------------------------------


def test_take_returns_the_newest_session_once() -> None:
    cache = SessionCache()
    older, newer = session(ticket=b"older"), session(ticket=b"newer")
    cache.store(older)
    cache.store(newer)
    assert len(cache) == 2
    assert cache.take("example.com", ["h2", "http/1.1"], T0) == newer
    assert cache.take("example.com", [b"h2", b"http/1.1"], T0) == older
    assert cache.take("example.com", ["h2", "http/1.1"], T0) is None
    assert len(cache) == 0


def test_sessions_are_keyed_by_server_name_and_alpn_offer() -> None:
    cache = SessionCache()
    cache.store(session())
    assert cache.take("other.example", ["h2", "http/1.1"], T0) is None
    assert cache.take("example.com", ["h2"], T0) is None
    assert cache.take("example.com", ["http/1.1", "h2"], T0) is None  # order is part of the offer
    assert cache.take("example.com", ["h2", "http/1.1"], T0) is not None


def test_expired_sessions_are_skipped_and_dropped() -> None:
    cache = SessionCache()
    cache.store(session(ticket=b"long", lifetime=1000))
    cache.store(session(ticket=b"short", lifetime=10))  # newest, but expires first
    assert cache.take("example.com", ["h2", "http/1.1"], T0 + 10) == session(ticket=b"long", lifetime=1000)
    cache.store(session(ticket=b"short", lifetime=10))
    assert cache.take("example.com", ["h2", "http/1.1"], T0 + 5000) is None
    assert len(cache) == 0


def test_a_zero_lifetime_ticket_is_not_cached() -> None:
    cache = SessionCache()
    cache.store(session(lifetime=0))
    assert len(cache) == 0


def test_without_single_use_a_session_can_be_taken_again_until_discarded() -> None:
    cache = SessionCache(single_use=False)
    s = session()
    cache.store(s)
    assert cache.take("example.com", ["h2", "http/1.1"], T0) == s
    assert cache.take("example.com", ["h2", "http/1.1"], T0) == s
    cache.discard(s)
    cache.discard(s)  # twice is harmless
    assert cache.take("example.com", ["h2", "http/1.1"], T0) is None


def test_the_least_recently_used_server_is_evicted() -> None:
    cache = SessionCache(max_servers=2)
    a, b, c = (session(server_name=n) for n in ("a.example", "b.example", "c.example"))
    cache.store(a)
    cache.store(b)
    cache.store(dataclasses.replace(a, ticket=b"a2"))  # a is now the most recently used
    cache.store(c)  # evicts b
    alpn = ["h2", "http/1.1"]
    assert cache.take("b.example", alpn, T0) is None
    assert cache.take("a.example", alpn, T0) is not None
    assert cache.take("c.example", alpn, T0) == c


def test_each_server_keeps_a_bounded_number_of_tickets() -> None:
    cache = SessionCache(tickets_per_server=3)
    for i in range(5):
        cache.store(session(ticket=b"t%d" % i))
    assert len(cache) == 3
    taken = [cache.take("example.com", ["h2", "http/1.1"], T0) for _ in range(4)]
    assert [s.ticket if s else None for s in taken] == [b"t4", b"t3", b"t2", None]


def test_bounds_must_be_positive() -> None:
    with pytest.raises(LocalProtocolError):
        SessionCache(0)
    with pytest.raises(LocalProtocolError):
        SessionCache(tickets_per_server=0)


def test_concurrent_takers_get_each_ticket_once() -> None:
    cache = SessionCache(tickets_per_server=500)
    for i in range(400):
        cache.store(session(ticket=b"ticket-%d" % i))
    got: list[bytes] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        while (s := cache.take("example.com", ["h2", "http/1.1"], T0)) is not None:
            with lock:
                got.append(s.ticket)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(b"ticket-%d" % i for i in range(400))
    cache.clear()
    assert len(cache) == 0 and "SessionCache" in repr(cache)
