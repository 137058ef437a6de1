"""Hypothesis: ticket contents and sessions survive encoding, sealing and PEM, whatever their values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tlslens.crypto.provider import DeterministicProvider
from tlslens.session.cache import Session
from tlslens.session.tickets import MAX_TICKET_LIFETIME, TicketContents, TicketKeyRing
from tlslens.wire.enums import CipherSuite

u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False)
suites = st.sampled_from(list(CipherSuite)) | st.integers(min_value=0, max_value=0xFFFF).map(CipherSuite)
names = st.text(min_size=1, max_size=60).filter(lambda s: len(s.encode()) <= 255)
protocols = st.binary(min_size=1, max_size=255)
chains = st.lists(st.binary(min_size=1, max_size=300), max_size=3).map(tuple)

ticket_contents = st.builds(
    TicketContents,
    suite=suites,
    psk=st.binary(min_size=1, max_size=255),
    created_at=times,
    ticket_age_add=u32,
    lifetime=st.integers(min_value=0, max_value=MAX_TICKET_LIFETIME),
    server_name=st.none() | names,
    alpn=st.none() | protocols,
    max_early_data_size=u32,
    client_certificates=st.none() | chains,
)

sessions = st.builds(
    Session,
    server_name=st.none() | names,
    suite=suites,
    psk=st.binary(min_size=1, max_size=255),
    ticket=st.binary(min_size=1, max_size=1000),
    ticket_age_add=u32,
    lifetime=u32,
    received_at=times,
    alpn=st.none() | protocols,
    offered_alpn=st.lists(protocols, max_size=4).map(tuple),
    max_early_data_size=u32,
    peer_certificates=chains,
)

RING = TicketKeyRing(3600, provider=DeterministicProvider(seed=b"properties", clock=0.0))


@given(ticket_contents)
def test_ticket_contents_encode_round_trips(c: TicketContents) -> None:
    assert TicketContents.decode(c.encode()) == c


@given(ticket_contents)
def test_sealed_tickets_open_to_the_same_contents_before_they_expire(c: TicketContents) -> None:
    now = c.created_at
    ticket = RING.seal(c, now=now)
    if c.lifetime > 0:
        assert RING.open(ticket, now=now) == c
    else:
        assert RING.open(ticket, now=now) is None


@given(sessions)
def test_sessions_round_trip_through_bytes_and_pem(s: Session) -> None:
    assert Session.from_bytes(s.to_bytes()) == s
    assert Session.from_pem(s.to_pem()) == s
