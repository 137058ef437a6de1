"""Stateless tickets: sealing, every way a ticket is refused, and key rotation on an injected clock."""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.session.conftest import Clock
from tlslens.crypto.provider import DeterministicProvider
from tlslens.errors import ConfigurationError, LocalProtocolError
from tlslens.session.keyfile import KEY_ID_LEN
from tlslens.session.tickets import (
    MAX_TICKET_LIFETIME,
    NONCE_LEN,
    TicketContents,
    TicketKeyRing,
    TicketRejection,
)
from tlslens.wire.enums import CipherSuite

T0 = 1_700_000_000.0


def contents(**changes: object) -> TicketContents:
    base = TicketContents(
        suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        psk=bytes(range(32)),
        created_at=T0,
        ticket_age_add=0xDEADBEEF,
        lifetime=3600,
        server_name="example.com",
        alpn=b"h2",
        max_early_data_size=16384,
        client_certificates=(b"\x30\x82leaf", b"\x30\x82intermediate"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def ring_at(clock: Clock, interval: float = 3600.0, seed: bytes = b"ring") -> TicketKeyRing:
    return TicketKeyRing(interval, provider=DeterministicProvider(seed=seed, clock=clock))


# --- contents ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"server_name": None, "alpn": None, "client_certificates": None},
        {"client_certificates": ()},
        {"suite": CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "psk": b"\x01" * 48, "created_at": 0.125},
        {"max_early_data_size": 0xFFFFFFFF, "ticket_age_add": 0, "lifetime": MAX_TICKET_LIFETIME},
        {"server_name": "bücher.example"},
    ],
    ids=["full", "no-sni-alpn-or-client-auth", "empty-client-chain", "sha384-psk", "limits", "utf8-name"],
)
def test_ticket_contents_round_trip(changes: dict[str, object]) -> None:
    c = contents(**changes)
    assert TicketContents.decode(c.encode()) == c
    assert c.encode()[0] == TicketContents.FORMAT_VERSION


def test_ticket_contents_repr_hides_the_psk() -> None:
    c = contents(psk=b"\xab" * 32)
    assert "abab" not in repr(c) and "psk" not in repr(c)


@pytest.mark.parametrize(
    "changes",
    [
        {"psk": b""},
        {"lifetime": MAX_TICKET_LIFETIME + 1},
        {"ticket_age_add": 1 << 32},
        {"max_early_data_size": -1},
        {"created_at": float("nan")},
        {"server_name": ""},
        {"alpn": b""},
        {"client_certificates": (b"",)},
    ],
)
def test_ticket_contents_refuses_values_it_cannot_encode(changes: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        contents(**changes)


# --- sealing and opening ------------------------------------------------------------------------


def test_seal_then_open_returns_the_contents(clock: Clock) -> None:
    ring = ring_at(clock)
    c = contents(created_at=clock.now)
    ticket = ring.seal(c)
    assert ring.open(ticket) == c
    assert ring.open_with_reason(ticket) == (c, None)
    assert ticket[:KEY_ID_LEN] == ring.keys()[0].key_id
    assert c.psk not in ticket and b"example.com" not in ticket


def test_two_seals_of_the_same_contents_differ(clock: Clock) -> None:
    ring = ring_at(clock)
    c = contents(created_at=clock.now)
    assert ring.seal(c) != ring.seal(c)


def test_open_accepts_bytearray_and_memoryview(clock: Clock) -> None:
    ring = ring_at(clock)
    ticket = ring.seal(contents(created_at=clock.now))
    assert ring.open(bytearray(ticket)) is not None
    assert ring.open(memoryview(ticket)) is not None


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (0, TicketRejection.UNKNOWN_KEY),  # key id
        (KEY_ID_LEN, TicketRejection.TAMPERED),  # nonce
        (KEY_ID_LEN + NONCE_LEN, TicketRejection.TAMPERED),  # ciphertext
        (-1, TicketRejection.TAMPERED),  # tag
    ],
    ids=["key-id", "nonce", "ciphertext", "tag"],
)
def test_a_flipped_bit_is_refused_with_its_reason(clock: Clock, where: int, reason: TicketRejection) -> None:
    ring = ring_at(clock)
    ticket = bytearray(ring.seal(contents(created_at=clock.now)))
    ticket[where] ^= 0x01
    assert ring.open_with_reason(bytes(ticket)) == (None, reason)


def test_a_ticket_from_another_ring_has_an_unknown_key(clock: Clock) -> None:
    ours, theirs = ring_at(clock, seed=b"ours"), ring_at(clock, seed=b"theirs")
    ticket = theirs.seal(contents(created_at=clock.now))
    assert ours.open_with_reason(ticket) == (None, TicketRejection.UNKNOWN_KEY)


def test_a_ticket_past_its_lifetime_is_expired(clock: Clock) -> None:
    ring = ring_at(clock)
    ticket = ring.seal(contents(created_at=clock.now, lifetime=600))
    clock.advance(599.9)
    assert ring.open(ticket) is not None
    clock.advance(0.1)
    assert ring.open_with_reason(ticket) == (None, TicketRejection.EXPIRED)


def test_an_explicit_now_overrides_the_provider_clock(clock: Clock) -> None:
    ring = ring_at(clock)
    ticket = ring.seal(contents(created_at=clock.now, lifetime=600), now=clock.now)
    assert ring.open_with_reason(ticket, now=clock.now + 600) == (None, TicketRejection.EXPIRED)
    assert ring.open(ticket, now=clock.now + 1) is not None


@pytest.mark.parametrize("garbage", [b"", b"\x00", bytes(KEY_ID_LEN + NONCE_LEN + 16)], ids=len)
def test_short_tickets_are_malformed(clock: Clock, garbage: bytes) -> None:
    assert ring_at(clock).open_with_reason(garbage) == (None, TicketRejection.MALFORMED)


def test_an_authentic_ticket_with_unreadable_contents_is_malformed(clock: Clock) -> None:
    ring = ring_at(clock)
    key = ring.keys()[0]
    nonce = bytes(NONCE_LEN)
    for body in (b"\x02rest-of-a-future-format", b"\x01\x13", contents().encode() + b"trailing"):
        ticket = key.key_id + nonce + key.encrypt(nonce, body, key.key_id)
        assert ring.open_with_reason(ticket) == (None, TicketRejection.MALFORMED)


def test_a_ticket_too_large_for_new_session_ticket_is_refused_when_sealed(clock: Clock) -> None:
    ring = ring_at(clock)
    huge = contents(created_at=clock.now, client_certificates=(b"\x30" * 70000,))
    with pytest.raises(LocalProtocolError, match="65535"):
        ring.seal(huge)


@given(st.binary(max_size=300))
def test_open_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    ring = _HYPOTHESIS_RING
    contents_or_none, reason = ring.open_with_reason(data, now=T0)
    assert contents_or_none is None and isinstance(reason, TicketRejection)


@given(st.binary(max_size=200))
def test_open_never_raises_on_arbitrary_bytes_under_a_known_key_id(rest: bytes) -> None:
    key_id = _HYPOTHESIS_RING.keys(now=T0)[0].key_id
    contents_or_none, reason = _HYPOTHESIS_RING.open_with_reason(key_id + rest, now=T0)
    assert contents_or_none is None
    assert reason in (TicketRejection.MALFORMED, TicketRejection.TAMPERED)


@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_every_single_bit_flip_is_refused(position: int, bit: int) -> None:
    ticket = bytearray(_HYPOTHESIS_TICKET)
    ticket[position % len(ticket)] ^= 1 << bit
    assert _HYPOTHESIS_RING.open(bytes(ticket), now=T0) is None


_HYPOTHESIS_RING = TicketKeyRing(3600, provider=DeterministicProvider(seed=b"hypothesis", clock=T0))
_HYPOTHESIS_TICKET = _HYPOTHESIS_RING.seal(contents(), now=T0)


# --- rotation -----------------------------------------------------------------------------------


def test_rotation_keeps_the_previous_key_for_one_interval_and_no_longer(clock: Clock) -> None:
    ring = ring_at(clock, interval=100)
    first_key = ring.keys()[0]
    old_ticket = ring.seal(contents(created_at=clock.now))

    clock.advance(99.9)  # still the current key
    assert ring.keys() == (first_key,)
    assert ring.open(old_ticket) is not None

    clock.advance(0.1)  # one interval: a new current key; the old one only opens
    new_ticket = ring.seal(contents(created_at=clock.now))
    current, previous = ring.keys()
    assert previous == first_key and current != first_key
    assert new_ticket[:KEY_ID_LEN] == current.key_id
    assert ring.open(old_ticket) is not None

    clock.advance(99.9)  # the end of the previous key's extra interval
    assert ring.open(old_ticket) is not None

    clock.advance(0.1)  # two intervals after the first key was made: gone
    assert ring.open_with_reason(old_ticket) == (None, TicketRejection.RETIRED_KEY)
    assert first_key not in tuple(ring.keys())
    assert ring.open(new_ticket) is not None  # sealed under the key that is now previous


def test_a_long_idle_ring_forgets_both_old_keys(clock: Clock) -> None:
    ring = ring_at(clock, interval=100)
    ticket = ring.seal(contents(created_at=clock.now))
    clock.advance(250)
    assert ring.open_with_reason(ticket) == (None, TicketRejection.RETIRED_KEY)
    assert len(ring.keys()) == 1


def test_every_ticket_stays_openable_for_the_guaranteed_lifetime(clock: Clock) -> None:
    ring = ring_at(clock, interval=100)
    assert ring.guaranteed_lifetime == 100
    sealed = []
    for _ in range(30):  # seal every 7 s across several rotations
        sealed.append((clock.now, ring.seal(contents(created_at=clock.now))))
        clock.advance(7)
        for at, ticket in sealed:
            if clock.now - at < ring.guaranteed_lifetime:
                assert ring.open(ticket) is not None


def test_rotate_forces_a_new_key(clock: Clock) -> None:
    ring = ring_at(clock)
    before = ring.keys()[0]
    after = ring.rotate()
    assert ring.keys() == (after, before)


@pytest.mark.parametrize("interval", [0, -1, float("inf"), float("nan")])
def test_rotation_interval_must_be_positive_and_finite(interval: float) -> None:
    with pytest.raises(ConfigurationError):
        TicketKeyRing(interval)


def test_the_default_provider_is_the_real_clock_and_random_source() -> None:
    ring = TicketKeyRing()
    c = contents(created_at=time.time())
    assert ring.open(ring.seal(c)) == c
    assert "TicketKeyRing" in repr(ring)
