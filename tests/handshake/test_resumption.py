"""Resumption and 0-RTT between tlslens peers in memory (RFC 8446 §2.2, §2.3, §4.2.10, §4.2.11, §8)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest

import tlslens
from tlslens.certgen import ThrowawayPki, make_pki
from tlslens.crypto.provider import DefaultProvider
from tlslens.errors import DecryptError, LocalProtocolError
from tlslens.events import (
    DataReceived,
    DecisionMade,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    SessionTicketReceived,
)
from tlslens.session.cache import Session, SessionCache
from tlslens.session.tickets import TicketKeyRing


class Clock(DefaultProvider):
    """Real randomness and keys, a clock the test moves."""

    def __init__(self) -> None:
        self.t = self.start = time.time()

    def now(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def pki() -> ThrowawayPki:
    return make_pki(("localhost",))


def server_config(pki: ThrowawayPki, **kw: Any) -> tlslens.ServerConfig:
    return tlslens.ServerConfig(certificate_chain=pki.chain, private_key=pki.leaf.private_key, **kw)


def client_config(pki: ThrowawayPki, **kw: Any) -> tlslens.ClientConfig:
    return tlslens.ClientConfig(trust_anchors=[pki.root.certificate], **kw)


def run(
    client: tlslens.ClientConnection, server: tlslens.ServerConnection
) -> tuple[list[Event], list[Event]]:
    """Pump both ways until neither side has anything to say."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    for _ in range(10):
        to_server, to_client = client.data_to_send(), b""
        if to_server:
            server_events += server.receive_data(to_server)
        to_client = server.data_to_send()
        if to_client:
            client_events += client.receive_data(to_client)
        if not to_server and not to_client:
            break
    return client_events, server_events


def completed(events: list[Event]) -> HandshakeCompleted:
    (done,) = [e for e in events if isinstance(e, HandshakeCompleted)]
    return done


def tickets(events: list[Event]) -> list[Session]:
    return [e.session for e in events if isinstance(e, SessionTicketReceived)]  # type: ignore[misc]


def decisions(events: list[Event]) -> str:
    return "\n".join(e.text for e in events if isinstance(e, DecisionMade))


def first_session(pki: ThrowawayPki, scfg: tlslens.ServerConfig, ccfg: tlslens.ClientConfig) -> Session:
    c, s = tlslens.ClientConnection(ccfg, "localhost"), tlslens.ServerConnection(scfg)
    client_events, _ = run(c, s)
    assert not completed(client_events).resumed
    sessions = tickets(client_events)
    assert len(sessions) == scfg.tickets
    return sessions[0]


def test_server_sends_tickets_and_client_resumes_with_one(pki: ThrowawayPki) -> None:
    scfg, ccfg = server_config(pki), client_config(pki)
    session = first_session(pki, scfg, ccfg)
    c = tlslens.ClientConnection(ccfg, "localhost", session=session, trace=True)
    s = tlslens.ServerConnection(scfg, trace=True)
    client_events, server_events = run(c, s)
    for events in (client_events, server_events):
        done = completed(events)
        assert done.resumed and not done.early_data_accepted and done.signature_scheme is None
    assert "resuming with TLS_AES_128_GCM_SHA256" in decisions(server_events)
    assert len(tickets(client_events)) == 2  # new tickets after a resumption too (RFC 8446 §4.6.1)
    c.send_data(b"ping")
    assert DataReceived(b"ping") in s.receive_data(c.data_to_send())


def test_session_cache_offers_tickets_by_name_and_uses_each_once(pki: ThrowawayPki) -> None:
    cache = SessionCache()
    scfg, ccfg = server_config(pki, tickets=1), client_config(pki, session_cache=cache)
    c, s = tlslens.ClientConnection(ccfg, "localhost"), tlslens.ServerConnection(scfg)
    (first,) = tickets(run(c, s)[0])
    assert len(cache) == 1
    c, s = tlslens.ClientConnection(ccfg, "localhost"), tlslens.ServerConnection(scfg)
    events = run(c, s)[0]
    assert completed(events).resumed
    (second,) = tickets(events)  # the resumed connection's own ticket replaces the one it used up
    assert second.ticket != first.ticket and len(cache) == 1
    assert cache.take("localhost", (), time.time()) == second
    c, s = tlslens.ClientConnection(ccfg, "localhost"), tlslens.ServerConnection(scfg)
    assert not completed(run(c, s)[0]).resumed  # nothing left to offer


def test_session_survives_serialization(pki: ThrowawayPki) -> None:
    scfg, ccfg = server_config(pki), client_config(pki)
    session = Session.from_bytes(first_session(pki, scfg, ccfg).to_bytes())
    c, s = tlslens.ClientConnection(ccfg, "localhost", session=session), tlslens.ServerConnection(scfg)
    assert completed(run(c, s)[1]).resumed


def test_zero_rtt_is_accepted_once_and_a_replay_is_refused(pki: ThrowawayPki) -> None:
    scfg, ccfg = server_config(pki, max_early_data_size=1024), client_config(pki)
    session = first_session(pki, scfg, ccfg)
    assert session.max_early_data_size == 1024
    c = tlslens.ClientConnection(ccfg, "localhost", session=session, early_data=b"GET /")
    s = tlslens.ServerConnection(scfg)
    first_flight = c.data_to_send()
    server_events = s.receive_data(first_flight)
    assert EarlyDataReceived(b"GET /") in server_events
    client_events = c.receive_data(s.data_to_send())
    server_events += s.receive_data(c.data_to_send())
    assert completed(client_events).early_data_accepted and completed(server_events).early_data_accepted
    # The same bytes again (a captured flight replayed): a full PSK handshake, no early data.
    replayed = tlslens.ServerConnection(scfg, trace=True)
    events = replayed.receive_data(first_flight)
    assert not any(isinstance(e, EarlyDataReceived) for e in events)
    assert "already used for 0-RTT" in decisions(events)


def test_refused_zero_rtt_is_skipped_and_can_be_resent(pki: ThrowawayPki) -> None:
    issuing = server_config(pki, max_early_data_size=1024, ticket_keys=TicketKeyRing())
    session = first_session(pki, issuing, client_config(pki))
    no_early = dataclasses.replace(issuing, max_early_data_size=0)  # same ticket keys, 0-RTT now off
    c = tlslens.ClientConnection(client_config(pki), "localhost", session=session, early_data=b"x" * 1000)
    s = tlslens.ServerConnection(no_early, trace=True)
    client_events, server_events = run(c, s)
    done = completed(client_events)
    assert done.resumed and not done.early_data_accepted
    assert "0-RTT refused: early data is disabled" in decisions(server_events)
    c.send_data(b"x" * 1000)  # the application resends after the handshake
    assert DataReceived(b"x" * 1000) in s.receive_data(c.data_to_send())


def test_early_data_larger_than_the_ticket_allows_is_a_local_error(pki: ThrowawayPki) -> None:
    scfg = server_config(pki, max_early_data_size=16)
    session = first_session(pki, scfg, client_config(pki))
    with pytest.raises(LocalProtocolError, match="allows 16"):
        tlslens.ClientConnection(client_config(pki), "localhost", session=session, early_data=b"x" * 17)


def _flip_last_bit(s: Session) -> Session:
    return dataclasses.replace(s, ticket=s.ticket[:-1] + bytes([s.ticket[-1] ^ 1]))


def _zeroed(s: Session) -> Session:
    return dataclasses.replace(s, ticket=bytes(len(s.ticket)))


@pytest.mark.parametrize(
    "spoil, reason",
    [
        pytest.param(_flip_last_bit, "tampered", id="tampered"),
        pytest.param(_zeroed, "unknown ticket key", id="foreign-key"),
    ],
)
def test_unusable_ticket_falls_back_to_a_full_handshake(
    pki: ThrowawayPki, spoil: Callable[[Session], Session], reason: str
) -> None:
    scfg, ccfg = server_config(pki), client_config(pki)
    session = spoil(first_session(pki, scfg, ccfg))
    c = tlslens.ClientConnection(ccfg, "localhost", session=session)
    s = tlslens.ServerConnection(scfg, trace=True)
    client_events, server_events = run(c, s)
    assert not completed(client_events).resumed
    assert f"full handshake: the client's ticket was refused ({reason})" in decisions(server_events)


def test_expired_ticket_falls_back_to_a_full_handshake(pki: ThrowawayPki) -> None:
    clock = Clock()
    scfg = server_config(pki, provider=clock, ticket_lifetime=60)
    session = first_session(pki, scfg, client_config(pki, provider=clock))
    clock.t += 61
    # The client would not offer it itself; hand-deliver it to a client with another clock.
    c = tlslens.ClientConnection(
        client_config(pki), "localhost", session=dataclasses.replace(session, received_at=clock.t)
    )
    s = tlslens.ServerConnection(scfg, trace=True)
    client_events, server_events = run(c, s)
    assert not completed(client_events).resumed
    assert "(expired)" in decisions(server_events)


def test_ticket_for_another_server_name_is_not_used(pki: ThrowawayPki) -> None:
    other = make_pki(("other.example",))
    keys = TicketKeyRing()
    scfg = tlslens.ServerConfig(
        certificates=[
            tlslens.CertifiedKey.from_key(pki.chain, pki.leaf.private_key),
            tlslens.CertifiedKey.from_key(other.chain, other.leaf.private_key),
        ],
        ticket_keys=keys,
    )
    ccfg = tlslens.ClientConfig(trust_anchors=[pki.root.certificate, other.root.certificate])
    session = first_session(pki, scfg, ccfg)
    assert session.server_name == "localhost"
    # A client that offers it for another name (the client itself never would): full handshake.
    c = tlslens.ClientConnection(
        ccfg, "other.example", session=dataclasses.replace(session, server_name="other.example")
    )
    s = tlslens.ServerConnection(scfg, trace=True)
    client_events, server_events = run(c, s)
    assert not completed(client_events).resumed
    assert "issued for localhost, not other.example" in decisions(server_events)


def test_ticket_sealed_before_a_key_rotation_still_resumes(pki: ThrowawayPki) -> None:
    clock = Clock()
    ring = TicketKeyRing(rotation_interval=100, provider=clock)
    (first_key,) = ring.keys()
    scfg = server_config(pki, provider=clock, ticket_keys=ring, ticket_lifetime=600)
    ccfg = client_config(pki, provider=clock)
    clock.t = clock.start + 90  # sealed under the first key, shortly before it rotates
    session = first_session(pki, scfg, ccfg)
    assert session.lifetime == 100  # never longer than the ring guarantees
    for elapsed, resumes in ((150, True), (195, False)):
        clock.t = clock.start + elapsed
        c = tlslens.ClientConnection(ccfg, "localhost", session=session)
        s = tlslens.ServerConnection(scfg)
        assert completed(run(c, s)[0]).resumed is resumes, elapsed
        assert ring.keys()[0] != first_key  # rotated: the first key is only the previous one now


def test_fleet_servers_sharing_ticket_keys_resume_each_others_sessions(pki: ThrowawayPki) -> None:
    ring = TicketKeyRing()
    a = server_config(pki, ticket_keys=ring)
    b = server_config(pki, ticket_keys=TicketKeyRing.from_export(ring.export()))
    session = first_session(pki, a, client_config(pki))
    c, s = (
        tlslens.ClientConnection(client_config(pki), "localhost", session=session),
        tlslens.ServerConnection(b),
    )
    assert completed(run(c, s)[1]).resumed


def test_resumption_after_hello_retry_request(pki: ThrowawayPki) -> None:
    scfg = server_config(pki, groups=["secp384r1"])
    ccfg = client_config(pki, groups=["x25519", "secp384r1"], key_share_groups=["x25519"])
    session = first_session(pki, scfg, ccfg)
    c = tlslens.ClientConnection(ccfg, "localhost", session=session, trace=True)
    s = tlslens.ServerConnection(scfg)
    client_events, server_events = run(c, s)
    assert completed(server_events).resumed
    assert "HelloRetryRequest" in decisions(client_events)


def test_zero_rtt_is_refused_after_a_hello_retry_request(pki: ThrowawayPki) -> None:
    scfg = server_config(pki, groups=["secp384r1"], max_early_data_size=1024)
    ccfg = client_config(pki, groups=["x25519", "secp384r1"], key_share_groups=["x25519"])
    session = first_session(pki, scfg, ccfg)
    c = tlslens.ClientConnection(ccfg, "localhost", session=session, early_data=b"hello early")
    s = tlslens.ServerConnection(scfg)
    client_events, server_events = run(c, s)
    assert completed(client_events).resumed and not completed(client_events).early_data_accepted
    assert not any(isinstance(e, EarlyDataReceived) for e in server_events)


def test_psk_ke_only_client_is_resumed_only_when_the_server_allows_it(pki: ThrowawayPki) -> None:
    from tlslens.wire.enums import PskKeyExchangeMode
    from tlslens.wire.extensions import PskKeyExchangeModes
    from tlslens.wire.hello import ClientHello

    def psk_ke_only(hello: ClientHello) -> ClientHello:
        exts = tuple(
            PskKeyExchangeModes((PskKeyExchangeMode.PSK_KE,)) if isinstance(e, PskKeyExchangeModes) else e
            for e in hello.extensions or ()
        )
        return dataclasses.replace(hello, extensions=exts)

    scfg = server_config(pki)
    session = first_session(pki, scfg, client_config(pki))
    ccfg = client_config(pki, client_hello_hook=psk_ke_only)
    c, s = (
        tlslens.ClientConnection(ccfg, "localhost", session=session),
        tlslens.ServerConnection(scfg, trace=True),
    )
    client_events, server_events = run(c, s)
    assert not completed(client_events).resumed
    assert "psk_ke only" in decisions(server_events)


def test_bad_binder_is_decrypt_error(pki: ThrowawayPki) -> None:
    scfg, ccfg = server_config(pki), client_config(pki)
    session = first_session(pki, scfg, ccfg)
    wrong_psk = dataclasses.replace(session, psk=bytes(len(session.psk)))
    c, s = tlslens.ClientConnection(ccfg, "localhost", session=wrong_psk), tlslens.ServerConnection(scfg)
    with pytest.raises(DecryptError, match="binder"):
        s.receive_data(c.data_to_send())
    assert s.data_to_send()[-2:] == b"\x02\x33"  # fatal decrypt_error, in the clear (no keys yet)

