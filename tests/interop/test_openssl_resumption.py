"""Resumption and 0-RTT between tlslens and OpenSSL (RFC 8446 §2.2, §2.3, §4.2.10, §4.2.11, §4.6.1, §8).

tlslens server: ``openssl s_client -sess_out`` takes a ticket from one tlslens connection, then
``-sess_in`` (with ``-early_data FILE``) resumes on a fresh one. s_client and each tlslens accept handle
one connection each; server configs that must accept each other's tickets share a ``TicketKeyRing``.
s_client reads the NewSessionTickets (sent right after the handshake) before our application data, so
every connection moves data both ways before s_client is told to quit.

tlslens client: ``openssl s_server -naccept N`` keeps its ticket keys across the N connections, so a
ticket from the first resumes the next ones.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
from pathlib import Path

import pytest

from tlslens import ClientConfig, ClientConnection, ServerConfig
from tlslens.errors import LocalProtocolError
from tlslens.events import (
    DecisionMade,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    SessionTicketReceived,
)
from tlslens.session.cache import Session, SessionCache
from tlslens.session.tickets import TicketKeyRing
from tlslens.wire.enums import CipherSuite

from .harness import (
    KEYLOG_LABELS,
    TIMEOUT,
    Harness,
    KeyLogEntry,
    SClient,
    SServer,
    keylog_entries,
    read_keylog_file,
    s_client_exchange,
    s_client_session,
    s_server_exchange,
)
from .pump import Pump

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

EARLY_KEYLOG_LABELS = KEYLOG_LABELS | {"CLIENT_EARLY_TRAFFIC_SECRET"}
"""What both sides must agree on for a 0-RTT connection. (OpenSSL also writes EARLY_EXPORTER_SECRET,
which tlslens does not log.)"""

REQUEST = b"GET /resumed HTTP/1.1\r\nHost: localhost\r\n\r\n"


# --- helpers --------------------------------------------------------------------------------------


def resumable_config(harness: Harness, **kwargs: object) -> ServerConfig:
    """A tlslens server config with a ticket key ring of its own, which variants can share."""
    kwargs.setdefault("ticket_keys", TicketKeyRing())
    return harness.server_config(**kwargs)


def early_data(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, EarlyDataReceived))


def decisions(events: list[Event]) -> str:
    return "\n".join(e.text for e in events if isinstance(e, DecisionMade))


def tlslens_keylog(harness: Harness) -> set[KeyLogEntry]:
    return keylog_entries(harness.keylog_lines, EARLY_KEYLOG_LABELS)


def s_client_round(
    harness: Harness, config: ServerConfig, *args: str, tag: str = ""
) -> tuple[SClient, Pump, HandshakeCompleted]:
    """One s_client connection to a fresh tlslens accept: handshake, data both ways, then ``Q``."""
    client, pump = s_client_session(harness, config, *args)
    done = pump.handshake()
    s_client_exchange(pump, client, tag)  # s_client has read our tickets before it prints our data
    client.proc.write("Q\n")
    assert pump.wait_closed().clean
    pump.close()
    pump.sock.close()  # s_client waits up to 0.5 s for this before it exits
    assert client.proc.wait_exit(TIMEOUT) == 0, client.proc.output
    return client, pump, done


def take_ticket(harness: Harness, config: ServerConfig, session_file: Path, *args: str) -> SClient:
    """A full handshake whose ticket s_client writes to ``session_file``."""
    client, _, done = s_client_round(harness, config, "-sess_out", str(session_file), *args, tag="0")
    assert not done.resumed
    client.proc.wait_for(r"^New, TLSv1\.3, ", TIMEOUT)
    assert session_file.exists(), client.proc.output
    return client


def resuming_client(
    harness: Harness,
    port: int,
    config: ClientConfig,
    session: Session | None,
    early: bytes | None = None,
) -> Pump:
    """tlslens.ClientConnection offering ``session`` (and ``early`` as 0-RTT), over a socket the
    harness closes."""
    sock = harness._track(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
    conn = ClientConnection(config, "localhost", session=session, early_data=early, trace=True)
    return Pump(sock, conn, timeout=TIMEOUT)


def sessions_from(pump: Pump) -> list[Session]:
    out = [e.session for e in pump.events if isinstance(e, SessionTicketReceived)]
    assert all(isinstance(s, Session) for s in out)
    return out  # type: ignore[return-value]


def finish_with_s_server(pump: Pump, server: SServer, nth: int) -> None:
    """Close our side; s_server answers with close_notify and reports the ``nth`` closed connection."""
    pump.close()
    assert pump.wait_closed().clean
    pump.sock.close()
    server.proc.wait_for("(?s)" + r"^CONNECTION CLOSED$.*?" * nth, TIMEOUT)


def first_s_server_session(harness: Harness, server: SServer, config: ClientConfig) -> Session:
    pump = harness.tlslens_client(server.port, config)
    assert not pump.handshake().resumed
    s_server_exchange(pump, server, "0")  # s_server's tickets come before its data
    sessions = sessions_from(pump)
    assert sessions
    finish_with_s_server(pump, server, 1)
    return sessions[0]


# --- openssl s_client -> tlslens server -----------------------------------------------------------------

SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]


@pytest.mark.parametrize("suite", SUITES)
def test_s_client_resumes_with_a_tlslens_ticket(harness: Harness, suite: str) -> None:
    config = resumable_config(harness)
    session_file = harness.tmp_path / "session.pem"
    take_ticket(harness, config, session_file, "-ciphersuites", suite)  # the ticket is for this suite
    client, pump, done = s_client_round(
        harness, config, "-sess_in", str(session_file), "-ciphersuites", suite, tag="1"
    )
    client.proc.wait_for(rf"^Reused, TLSv1\.3, Cipher is {suite}$", TIMEOUT)
    assert done.resumed and not done.early_data_accepted
    assert done.signature_scheme is None and not done.peer_certificates
    assert done.cipher_suite == CipherSuite[suite]
    assert f"resuming with {suite}" in decisions(pump.events)


def test_s_client_ticket_from_other_ticket_keys_falls_back_to_a_full_handshake(harness: Harness) -> None:
    session_file = harness.tmp_path / "session.pem"
    take_ticket(harness, resumable_config(harness), session_file)
    stranger = resumable_config(harness)  # its own keys: the ticket does not open
    client, pump, done = s_client_round(harness, stranger, "-sess_in", str(session_file), tag="1")
    client.proc.wait_for(r"^New, TLSv1\.3, ", TIMEOUT)
    assert not done.resumed and done.signature_scheme is not None
    assert "full handshake: the client's ticket was refused" in decisions(pump.events)


@pytest.mark.parametrize(
    "payload",
    [REQUEST, bytes(range(256)) * 16],  # 16 x 256 = 4096: exactly the limit, in s_client's 512-byte writes
    ids=["request", "at-limit"],
)
def test_s_client_early_data_accepted_by_tlslens_server(harness: Harness, payload: bytes) -> None:
    config = resumable_config(harness, max_early_data_size=4096)
    session_file, early_file = harness.tmp_path / "session.pem", harness.tmp_path / "early.bin"
    early_file.write_bytes(payload)
    first = take_ticket(harness, config, session_file)
    first.proc.wait_for(r"^\s*Max Early Data: 4096$", TIMEOUT)  # what our NewSessionTicket announced
    client, pump, done = s_client_round(
        harness, config, "-sess_in", str(session_file), "-early_data", str(early_file), tag="1"
    )
    client.proc.wait_for(r"^Reused, TLSv1\.3, ", TIMEOUT)
    client.proc.wait_for(r"^Early data was accepted$", TIMEOUT)
    assert done.resumed and done.early_data_accepted
    assert early_data(pump.events) == payload
    last_early = max(i for i, e in enumerate(pump.events) if isinstance(e, EarlyDataReceived))
    assert last_early < pump.events.index(done)  # 0-RTT arrives before the client's Finished
    assert "0-RTT accepted" in decisions(pump.events)


def test_s_client_early_data_rejected_by_a_server_with_0rtt_disabled(harness: Harness) -> None:
    keys = TicketKeyRing()
    issuing = resumable_config(harness, ticket_keys=keys, max_early_data_size=4096)
    refusing = resumable_config(harness, ticket_keys=keys, max_early_data_size=0)
    session_file, early_file = harness.tmp_path / "session.pem", harness.tmp_path / "early.bin"
    early_file.write_bytes(REQUEST)
    take_ticket(harness, issuing, session_file)
    client, pump, done = s_client_round(
        harness, refusing, "-sess_in", str(session_file), "-early_data", str(early_file), tag="1"
    )
    client.proc.wait_for(r"^Reused, TLSv1\.3, ", TIMEOUT)
    client.proc.wait_for(r"^Early data was rejected$", TIMEOUT)
    assert done.resumed and not done.early_data_accepted
    assert early_data(pump.events) == b""  # skipped; the data after the handshake still got through
    assert "0-RTT refused: early data is disabled on this server" in decisions(pump.events)


def test_s_client_replaying_a_0rtt_ticket_gets_early_data_accepted_once(harness: Harness) -> None:
    config = resumable_config(harness, max_early_data_size=4096)
    session_file, early_file = harness.tmp_path / "session.pem", harness.tmp_path / "early.bin"
    early_file.write_bytes(REQUEST)
    take_ticket(harness, config, session_file)
    outcomes = []
    for attempt in ("1", "2"):
        client, pump, done = s_client_round(
            harness, config, "-sess_in", str(session_file), "-early_data", str(early_file), tag=attempt
        )
        verdict = client.proc.wait_for(r"^Early data was (accepted|rejected)$", TIMEOUT).group(1)
        outcomes.append((verdict, done.resumed, done.early_data_accepted, early_data(pump.events)))
        if attempt == "2":
            assert "this ticket was already used for 0-RTT" in decisions(pump.events)
    assert outcomes == [("accepted", True, True, REQUEST), ("rejected", True, False, b"")]


def s_client_0rtt_keylogs(harness: Harness) -> tuple[set[KeyLogEntry], set[KeyLogEntry]]:
    """tlslens server's and s_client's key log entries for a full handshake and a 0-RTT resumption."""
    config = resumable_config(harness, max_early_data_size=4096)
    session_file, early_file = harness.tmp_path / "session.pem", harness.tmp_path / "early.bin"
    early_file.write_bytes(REQUEST)
    take_ticket(harness, config, session_file)
    client, _, done = s_client_round(
        harness, config, "-sess_in", str(session_file), "-early_data", str(early_file), tag="1"
    )
    assert done.early_data_accepted
    return tlslens_keylog(harness), read_keylog_file(client.keylog, EARLY_KEYLOG_LABELS)  # both s_clients


def test_tlslens_server_keylog_agrees_with_s_client_on_a_0rtt_resumption(harness: Harness) -> None:
    ours, theirs = s_client_0rtt_keylogs(harness)
    assert len(theirs) == 5 + 6
    assert any(label == "CLIENT_EARLY_TRAFFIC_SECRET" for label, _, _ in ours)
    assert ours <= theirs  # every secret tlslens logged is the one OpenSSL derived


def test_tlslens_server_keylog_equals_s_client_on_a_0rtt_resumption(harness: Harness) -> None:
    ours, theirs = s_client_0rtt_keylogs(harness)
    assert ours == theirs


# --- tlslens client -> openssl s_server -----------------------------------------------------------------


def test_tlslens_client_resumes_against_s_server_through_its_session_cache(harness: Harness) -> None:
    server = harness.s_server("-naccept", "2")  # tickets: OpenSSL's default of two
    config = harness.client_config(session_cache=SessionCache())
    pump = harness.tlslens_client(server.port, config)
    assert not pump.handshake().resumed
    s_server_exchange(pump, server, "0")
    sessions = sessions_from(pump)
    assert len(sessions) == 2 and not any(s.early_data_allowed for s in sessions)
    finish_with_s_server(pump, server, 1)
    with pytest.raises(LocalProtocolError, match="early data"):  # the ticket allows none
        ClientConnection(config, "localhost", session=sessions[0], early_data=b"x")

    pump = harness.tlslens_client(server.port, config)  # the cache offers a ticket by itself
    done = pump.handshake()
    assert done.resumed and not done.early_data_accepted and done.signature_scheme is None
    s_server_exchange(pump, server, "1")
    server.proc.wait_for(r"^Reused session-id$", TIMEOUT)
    finish_with_s_server(pump, server, 2)
    assert server.proc.wait_exit(TIMEOUT) == 0


def test_tlslens_client_0rtt_accepted_by_s_server_and_keylog_matches(harness: Harness) -> None:
    server = harness.s_server("-naccept", "2", "-early_data")
    config = harness.client_config()
    session = first_s_server_session(harness, server, config)
    assert session.max_early_data_size > len(REQUEST)

    pump = resuming_client(harness, server.port, config, session, REQUEST)
    done = pump.handshake()
    assert done.resumed and done.early_data_accepted
    server.proc.wait_for(r"^Early data received:$", TIMEOUT)
    server.proc.wait_for_bytes(REQUEST, TIMEOUT)
    server.proc.wait_for(r"^End of early data$", TIMEOUT)
    s_server_exchange(pump, server, "1")
    server.proc.wait_for(r"^Reused session-id$", TIMEOUT)
    finish_with_s_server(pump, server, 2)
    assert server.proc.wait_exit(TIMEOUT) == 0

    ours = tlslens_keylog(harness)
    theirs = read_keylog_file(server.keylog, EARLY_KEYLOG_LABELS)  # both connections
    assert any(label == "CLIENT_EARLY_TRAFFIC_SECRET" for label, _, _ in ours)
    assert len(ours) == 5 + 6 and ours == theirs


def test_tlslens_client_resends_0rtt_data_s_server_refused_on_a_reused_ticket(harness: Harness) -> None:
    """With 0-RTT on, OpenSSL's tickets are single use: the second offer of one gets a full handshake."""
    server = harness.s_server("-naccept", "3", "-early_data")
    config = harness.client_config()
    session = first_s_server_session(harness, server, config)
    outcomes = []
    for nth in (2, 3):
        pump = resuming_client(harness, server.port, config, session, REQUEST)
        done = pump.handshake()
        outcomes.append((done.resumed, done.early_data_accepted))
        if not done.early_data_accepted:  # the application resends it as ordinary data
            server.proc.wait_for(r"^Early data was rejected$", TIMEOUT)
            pump.send(REQUEST)
        s_server_exchange(pump, server, str(nth))
        finish_with_s_server(pump, server, nth)
    assert outcomes == [(True, True), (False, False)]
    assert server.proc.output.count("GET /resumed HTTP/1.1") == 2  # once as 0-RTT, once resent
    assert "a full handshake (our ticket was not accepted)" in decisions(pump.events)
    assert server.proc.wait_exit(TIMEOUT) == 0


def test_tlslens_client_trace_line_for_refused_0rtt_reads_as_a_sentence(harness: Harness) -> None:
    server = harness.s_server("-naccept", "2")  # tickets without 0-RTT, so offer with a forged limit
    config = harness.client_config()
    session = first_s_server_session(harness, server, config)
    forged = dataclasses.replace(session, max_early_data_size=4096)
    pump = resuming_client(harness, server.port, config, forged, REQUEST)
    done = pump.handshake()
    assert done.resumed and not done.early_data_accepted
    lines = [e.text for e in pump.events if isinstance(e, DecisionMade) and e.topic == "early_data"]
    (verdict,) = [line for line in lines if line.startswith("server ")]
    assert "rejected" in verdict and "wanted our 0-RTT" not in verdict, verdict
