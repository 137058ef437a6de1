"""TLS 1.2 sessions on both ends: the client's ``Session`` (master secret, RFC 5077 ticket, session ID,
the extended master secret flag), its file format, the ``SessionCache`` holding both versions without
handing one out for the other, and the server's ``TicketContents.tls12`` through a ``TicketKeyRing``."""

from __future__ import annotations

import dataclasses

import pytest

from tests.session.conftest import Clock
from tlslens.crypto.provider import DeterministicProvider
from tlslens.errors import LocalProtocolError
from tlslens.session.cache import Session, SessionCache, SessionFileError
from tlslens.session.tickets import TicketContents, TicketKeyRing
from tlslens.wire.enums import CipherSuite, ProtocolVersion

T0 = 1_700_000_000.0
TLS12, TLS13 = ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3
SUITE12 = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256


def session12(**changes: object) -> Session:
    base = Session.from_tls12(
        suite=SUITE12,
        master_secret=bytes(range(48)),
        ticket=b"opaque ticket",
        lifetime=7200,
        session_id=b"\x07" * 32,
        received_at=T0,
        server_name="example.com",
        alpn=b"h2",
        offered_alpn=("h2", "http/1.1"),
        peer_certificates=(b"\x30\x82leaf", b"\x30\x82intermediate"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def session13(**changes: object) -> Session:
    base = Session(
        server_name="example.com",
        suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        psk=bytes(32),
        ticket=b"a TLS 1.3 ticket",
        ticket_age_add=1,
        lifetime=7200,
        received_at=T0,
        offered_alpn=(b"h2", b"http/1.1"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- the client's Session --------------------------------------------------------------------------


def test_from_tls12_is_a_tls12_session_with_the_master_secret() -> None:
    s = session12()
    assert s.version == TLS12 and s.extended_master_secret is True
    assert s.psk == bytes(range(48)) and s.ticket_age_add == 0 and s.max_early_data_size == 0
    assert not s.early_data_allowed  # TLS 1.2 has no 0-RTT
    assert s.cache_key == ("example.com", (b"h2", b"http/1.1"))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"ticket": b"", "session_id": b"\x01" * 32},  # by session ID only
        {"session_id": b""},  # by ticket only
        {"extended_master_secret": False},
        {"server_name": None, "alpn": None, "offered_alpn": (), "peer_certificates": ()},
        {"session_id": b"\x02"},  # a short session ID (RFC 5246: 0 to 32 octets)
    ],
    ids=["ticket-and-session_id", "session_id-only", "ticket-only", "no-ems", "bare", "short-session_id"],
)
def test_tls12_session_round_trips_through_bytes_and_pem(changes: dict[str, object]) -> None:
    s = session12(**changes)
    assert Session.from_bytes(s.to_bytes()) == s
    assert Session.from_pem(s.to_pem()) == s


def test_tls13_session_reads_back_as_tls13_with_ems_irrelevant() -> None:
    s = session13()
    restored = Session.from_bytes(s.to_bytes())
    assert restored.version == TLS13 and restored == s


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ticket": b"", "session_id": b""}, "needs a ticket"),
        ({"session_id": b"\x01" * 33}, "needs a ticket"),
        ({"ticket": b"t" * 0x10000}, "needs a ticket"),
        ({"version": ProtocolVersion.TLS1_1}, "not TLSv1.1"),
    ],
    ids=["neither-ticket-nor-session_id", "session_id-too-long", "ticket-too-long", "tls11"],
)
def test_a_tls12_session_refuses_what_it_cannot_be(changes: dict[str, object], message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        session12(**changes)


def test_a_damaged_tls12_session_is_a_session_file_error() -> None:
    data = bytearray(session12().to_bytes())
    flags_at = data.index(b"\x07" * 32) - 2  # flags, then the session ID's length octet
    data[flags_at] |= 0x80  # an unknown flag
    with pytest.raises(SessionFileError, match="unknown flags"):
        Session.from_bytes(bytes(data))


def test_repr_hides_master_secret_ticket_and_session_id() -> None:
    text = repr(session12())
    assert "opaque ticket" not in text and "0x07" not in text and "\\x07" not in text
    assert "psk" not in text and "session_id" not in text


# --- the cache holds both versions, never one for the other ------------------------------------------


def test_cache_hands_out_sessions_of_the_versions_asked_for() -> None:
    cache = SessionCache()
    old12, s13, new12 = session12(), session13(), session12(ticket=b"newer", received_at=T0 + 1)
    for s in (old12, s13, new12):
        cache.store(s)
    now = T0 + 10
    assert cache.take("example.com", ("h2", "http/1.1"), now, (TLS13,)) == s13
    assert cache.take("example.com", ("h2", "http/1.1"), now, (TLS13,)) is None  # single use
    assert cache.take("example.com", ("h2", "http/1.1"), now, (TLS12,)) == new12  # the newest first
    assert cache.take("example.com", ("h2", "http/1.1"), now) == old12  # either version by default
    assert len(cache) == 0


def test_a_tls12_session_is_not_taken_for_tls13_and_stays_cached() -> None:
    cache = SessionCache()
    cache.store(session12())
    assert cache.take("example.com", ("h2", "http/1.1"), T0 + 1, (TLS13,)) is None
    assert len(cache) == 1
    assert cache.take("example.com", ("h2", "http/1.1"), T0 + 1, (TLS12, TLS13)) == session12()


def test_an_expired_tls12_session_is_dropped() -> None:
    cache = SessionCache()
    cache.store(session12(lifetime=60))
    assert cache.take("example.com", ("h2", "http/1.1"), T0 + 60, (TLS12,)) is None
    assert len(cache) == 0


# --- the server's ticket contents ----------------------------------------------------------------------


def contents12(**changes: object) -> TicketContents:
    base = TicketContents(
        suite=SUITE12,
        psk=bytes(range(48)),
        created_at=T0,
        ticket_age_add=0,
        lifetime=3600,
        server_name="example.com",
        alpn=b"h2",
        client_certificates=(b"\x30\x82leaf",),
        tls12=True,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [{}, {"server_name": None, "alpn": None, "client_certificates": None}, {"tls12": False}],
    ids=["tls12", "tls12-bare", "tls13"],
)
def test_ticket_contents_keep_their_version(changes: dict[str, object]) -> None:
    c = contents12(**changes)
    assert TicketContents.decode(c.encode()) == c
    assert TicketContents.decode(c.encode()).tls12 is c.tls12


def test_tls12_tickets_seal_and_open_with_the_same_ring_as_tls13_ones(clock: Clock) -> None:
    ring = TicketKeyRing(provider=DeterministicProvider(seed=b"ring", clock=clock))
    c12, c13 = contents12(created_at=clock.now), contents12(created_at=clock.now, tls12=False)
    t12, t13 = ring.seal(c12), ring.seal(c13)
    assert ring.open(t12) == c12 and ring.open(t12).tls12  # type: ignore[union-attr]
    assert ring.open(t13) == c13 and not ring.open(t13).tls12  # type: ignore[union-attr]
    assert c12.psk not in t12 and b"example.com" not in t12
