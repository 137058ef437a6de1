"""Python's ``ssl`` (OpenSSL underneath) resuming TLS 1.3 sessions with a tlslens server.

The ssl client runs in a worker thread; the tlslens server is a plain socket accept driven by ``Pump``
in the test thread. TLS 1.3 tickets arrive after the handshake, so the client reads an answer from
the server (sent after the tickets) before it takes ``SSLSocket.session``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tlslens import ServerConfig
from tlslens.events import DecisionMade, HandshakeCompleted
from tlslens.session.tickets import TicketKeyRing

from .harness import TIMEOUT, Harness
from .pump import Pump

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]


@dataclass
class Outcome:
    """What the ssl client saw."""

    session: ssl.SSLSession | None
    reused: bool
    answer: bytes


def client_context(harness: Harness) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cafile=str(harness.pki().root))
    return ctx


def ssl_client(ctx: ssl.SSLContext, port: int, session: ssl.SSLSession | None) -> Outcome:
    """Connect, send a line, read the server's answer, take the session, close with close_notify."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:  # closes raw too
        tls.sendall(b"ping from ssl\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = tls.recv(1024)
            if not chunk:
                break
            answer += chunk
        outcome = Outcome(tls.session, tls.session_reused, answer)
        tls.unwrap()  # close_notify both ways
        return outcome


def one_connection(
    harness: Harness, pool: ThreadPoolExecutor, ctx: ssl.SSLContext, config: ServerConfig,
    session: ssl.SSLSession | None = None,
) -> tuple[Outcome, Pump, HandshakeCompleted]:  # fmt: skip
    listener, port = harness.listen()
    future: Future[Outcome] = pool.submit(ssl_client, ctx, port, session)
    try:
        pump = harness.accept(listener, config)
        done = pump.handshake()
        pump.read_until(b"ping from ssl\n")
        pump.send(b"pong from tlslens\n")  # after our NewSessionTickets
        assert pump.wait_closed().clean
        pump.close()
        outcome = future.result(timeout=TIMEOUT)
    finally:
        listener.close()
        if not future.done():  # a failed server side: the client's socket timeout ends the thread
            future.cancel()
    assert outcome.answer == b"pong from tlslens\n"
    return outcome, pump, done


def decisions(pump: Pump) -> str:
    return "\n".join(e.text for e in pump.events if isinstance(e, DecisionMade))


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as executor:  # joins the client thread (bounded by its socket timeout)
        yield executor


def test_ssl_client_reuses_a_tlslens_session(harness: Harness, pool: ThreadPoolExecutor) -> None:
    ctx, config = client_context(harness), harness.server_config()
    first, _, done = one_connection(harness, pool, ctx, config)
    assert not first.reused and not done.resumed
    assert first.session is not None and first.session.has_ticket
    # the configured lifetime, bounded by how long the key rotation keeps the ticket openable
    lifetime = min(config.ticket_lifetime, config.effective_ticket_keys.guaranteed_lifetime)
    assert first.session.ticket_lifetime_hint == lifetime

    second, pump, done = one_connection(harness, pool, ctx, config, first.session)
    assert second.reused
    assert done.resumed and done.signature_scheme is None and not done.early_data_accepted
    assert "resuming with" in decisions(pump)


def test_ssl_client_session_from_other_ticket_keys_gets_a_full_handshake(
    harness: Harness, pool: ThreadPoolExecutor
) -> None:
    ctx = client_context(harness)
    issuing = harness.server_config(ticket_keys=TicketKeyRing())
    first, _, _ = one_connection(harness, pool, ctx, issuing)
    stranger = harness.server_config(ticket_keys=TicketKeyRing())
    second, pump, done = one_connection(harness, pool, ctx, stranger, first.session)
    assert not second.reused and not done.resumed and done.signature_scheme is not None
    assert "full handshake: the client's ticket was refused" in decisions(pump)
    third, _, done = one_connection(harness, pool, ctx, stranger, second.session)  # its own ticket
    assert third.reused and done.resumed


def test_ssl_client_reuses_a_session_across_servers_sharing_ticket_keys(
    harness: Harness, pool: ThreadPoolExecutor
) -> None:
    ctx, keys = client_context(harness), TicketKeyRing()
    first, _, _ = one_connection(harness, pool, ctx, harness.server_config(ticket_keys=keys))
    other = harness.server_config(ticket_keys=keys, tickets=1)
    second, _, done = one_connection(harness, pool, ctx, other, first.session)
    assert second.reused and done.resumed
