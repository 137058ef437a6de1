"""TLS 1.2 resumption between a tlslens client and server in memory: sessions by ticket (kept by the
SessionCache or passed with ``session=``), what is never resumed (no extended master secret, tickets from
other keys, a server without tickets), and TLS 1.2 and TLS 1.3 sessions never standing in for each
other, in either direction. The server's refusals of a client's Finished on resumption are fault
records: faults/test_server12.py, faults/test_client12.py."""

from __future__ import annotations

import dataclasses

import pytest

from tests.handshake.helpers import (
    ConnectionPair,
    client_chain,
    client_config,
    client_leaf,
    of_type,
    server_config,
    verifier,
)
from tests.handshake.pairs12 import (
    CS,
    ONLY_12,
    TLS12,
    assert_resumed,
    c12,
    completed,
    decisions,
    exchange,
    first_session,
    received_messages,
    resume,
    sent_messages,
    traced_pair,
)
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import LocalProtocolError
from tlslens.events import SessionTicketReceived
from tlslens.session.cache import Session, SessionCache
from tlslens.wire.enums import ProtocolVersion
from tlslens.wire.extensions import (
    ExtendedMasterSecret,
    PreSharedKeyClientHello,
    SessionTicket,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages12 import NewSessionTicket12

# --- resumption by ticket ---------------------------------------------------------------------------------


def test_resumption_by_ticket_from_the_session_cache() -> None:
    cache = SessionCache()
    client, server = c12(session_cache=cache), server_config()
    pair, session = first_session(client, server)
    assert session.version == TLS12 and session.extended_master_secret
    assert session.ticket and len(session.session_id) == 32 and len(session.psk) == 48
    assert len(cache) == 1
    resumed = traced_pair(client, server).handshake()
    assert_resumed(resumed, completed(pair.client_events).cipher_suite)
    assert sent_messages(resumed.server_events, NewSessionTicket12)  # a fresh ticket, kept for later
    (how,) = decisions(resumed.server_events, "resumption")
    assert "resuming a TLSv1.2 session by ticket" in how
    assert len(cache) == 1
    exchange(resumed)
    again = ConnectionPair(client, server).handshake()  # the ticket issued on resumption resumes too
    assert completed(again.client_events).resumed is True


def test_resumption_by_ticket_passed_as_session() -> None:
    client, server = c12(cipher_suites=(CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,)), server_config()
    _, session = first_session(client, server)
    resumed = resume(client, server, session)
    resumed.handshake()
    assert_resumed(resumed, CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
    exchange(resumed)


def test_resumption_keeps_the_client_certificate() -> None:
    client = c12(certificate_chain=client_chain(), private_key=client_leaf().private_key)
    server = server_config(client_verifier=verifier())
    first, session = first_session(client, server)
    resumed = resume(client, server, session)
    resumed.handshake()
    assert_resumed(resumed, completed(first.client_events).cipher_suite, tuple(client_chain()))


def test_session_survives_serialization() -> None:
    client, server = c12(), server_config()
    _, session = first_session(client, server)
    restored = Session.from_pem(session.to_pem())
    assert restored == session
    resumed = resume(client, server, restored)
    assert completed(resumed.handshake().client_events).resumed is True


def test_ticket_from_other_keys_gives_a_full_handshake() -> None:
    client = c12()
    _, session = first_session(client, server_config())
    pair = ConnectionPair(
        client=ClientConnection(client, "localhost", session=session),
        server=ServerConnection(server_config()),  # another ticket key ring
    )
    pair.handshake()
    assert completed(pair.client_events).resumed is completed(pair.server_events).resumed is False
    assert completed(pair.client_events).group is not None
    exchange(pair)


def test_server_without_tickets_gives_no_session() -> None:
    cache = SessionCache()
    pair = traced_pair(c12(session_cache=cache), server_config(tickets=0)).handshake()
    (hello,) = received_messages(pair.client_events, ServerHello)
    assert hello.extension(SessionTicket) is None and hello.legacy_session_id_echo == b""
    assert of_type(pair.client_events, SessionTicketReceived) == [] and len(cache) == 0


def test_no_session_without_the_extended_master_secret() -> None:
    def strip_ems(ch: ClientHello) -> ClientHello:
        return dataclasses.replace(
            ch, extensions=tuple(e for e in ch.extensions or () if not isinstance(e, ExtendedMasterSecret))
        )

    cache = SessionCache()
    pair = traced_pair(c12(session_cache=cache, client_hello_hook=strip_ems), server_config()).handshake()
    for done in (completed(pair.client_events), completed(pair.server_events)):
        assert done.extended_master_secret is False
    # RFC 7627 §5.4: such a session is never resumed, so no ticket is issued nor kept.
    (hello,) = sent_messages(pair.server_events, ServerHello)
    assert hello.extension(SessionTicket) is None and hello.legacy_session_id_echo == b""
    assert sent_messages(pair.server_events, NewSessionTicket12) == []
    assert of_type(pair.client_events, SessionTicketReceived) == [] and len(cache) == 0
    assert decisions(pair.client_events, "extended_master_secret")
    assert decisions(pair.server_events, "extended_master_secret")
    exchange(pair)
    for conn in (pair.client, pair.server):  # RFC 7627 §5.4: no exporter either
        with pytest.raises(LocalProtocolError, match="extended master secret"):
            conn.export_keying_material("EXPERIMENTAL tlslens", b"", 32)


def test_session_without_the_extended_master_secret_is_never_offered() -> None:
    client = c12()
    _, session = first_session(client, server_config())
    legacy = dataclasses.replace(session, extended_master_secret=False)
    c = ClientConnection(client, "localhost", session=legacy, trace=True)
    (hello,) = sent_messages(c.pending_events(), ClientHello)
    assert hello.extension(SessionTicket) == SessionTicket(b"")
    assert hello.legacy_session_id == b""


# --- TLS 1.2 and TLS 1.3 sessions never stand in for each other -----------------------------------------


def test_tls12_session_is_never_offered_in_a_tls13_handshake() -> None:
    cache = SessionCache()
    server12 = server_config(versions=ONLY_12)
    first_session(client_config(session_cache=cache), server12)  # a default client; the server is 1.2
    kept = cache.take("localhost", (), server12.provider.now())
    assert kept is not None and kept.version == TLS12
    cache.store(kept)
    # The same ticket keys behind a TLS 1.3 server: the 1.2 ticket could be opened there, but is not sent.
    server13 = dataclasses.replace(server_config(), ticket_keys=server12.effective_ticket_keys)
    pair = traced_pair(client_config(session_cache=cache), server13).handshake()
    (hello,) = sent_messages(pair.client_events, ClientHello)
    assert hello.extension(PreSharedKeyClientHello) is None
    assert hello.extension(SessionTicket) == SessionTicket(kept.ticket)  # (for a 1.2 server only)
    done = completed(pair.client_events)
    assert done.version == ProtocolVersion.TLS1_3 and done.resumed is False


def test_tls13_session_is_never_used_by_tls12() -> None:
    server13 = server_config()
    pair13 = ConnectionPair(client_config(), server13).handshake()
    session13 = of_type(pair13.client_events, SessionTicketReceived)[0].session
    assert session13.version == ProtocolVersion.TLS1_3
    server12 = dataclasses.replace(
        server_config(versions=ONLY_12), ticket_keys=server13.effective_ticket_keys
    )
    pair = traced_pair(client_config(), server12, session=session13).handshake()
    (hello,) = sent_messages(pair.client_events, ClientHello)
    assert hello.extension(SessionTicket) == SessionTicket(b"")  # offered as a 1.3 PSK only
    assert completed(pair.client_events).version == TLS12
    assert completed(pair.client_events).resumed is completed(pair.server_events).resumed is False
    # A TLS 1.2-only client does not offer it at all.
    c = ClientConnection(c12(), "localhost", session=session13, trace=True)
    (hello12,) = sent_messages(c.pending_events(), ClientHello)
    assert hello12.extension(SessionTicket) == SessionTicket(b"")
    assert hello12.extension(PreSharedKeyClientHello) is None


def test_cache_hands_each_version_its_own_session() -> None:
    cache = SessionCache(single_use=False)
    first_session(client_config(versions=ONLY_12, session_cache=cache), server_config())
    first13 = ConnectionPair(client_config(session_cache=cache), server_config()).handshake()
    assert of_type(first13.client_events, SessionTicketReceived)
    now = server_config().provider.now()
    assert cache.take("localhost", (), now, (ProtocolVersion.TLS1_2,)).version == TLS12  # type: ignore[union-attr]
    assert cache.take("localhost", (), now, (ProtocolVersion.TLS1_3,)).version == ProtocolVersion.TLS1_3  # type: ignore[union-attr]


def test_tls12_ticket_offered_as_a_tls13_psk_gives_a_full_handshake() -> None:
    server = server_config()
    _, session12 = first_session(c12(), server)
    # The 1.2 ticket, dressed as a TLS 1.3 session (its master secret as the PSK): the server opens
    # the ticket, sees a TLS 1.2 session, and answers with a full handshake, not a failure.
    forged = dataclasses.replace(
        session12, version=ProtocolVersion.TLS1_3, suite=CS.TLS_AES_128_GCM_SHA256, session_id=b""
    )
    pair = traced_pair(client_config(), server, session=forged).handshake()
    (hello,) = sent_messages(pair.client_events, ClientHello)
    (offer,) = hello.extension(PreSharedKeyClientHello).identities
    assert offer.identity == session12.ticket
    for done in (completed(pair.client_events), completed(pair.server_events)):
        assert done.version == ProtocolVersion.TLS1_3 and done.resumed is False
    assert any("full handshake" in d for d in decisions(pair.server_events, "resumption"))
    exchange(pair)


def test_tls13_ticket_in_session_ticket_gives_a_full_handshake() -> None:
    server = server_config()
    pair13 = ConnectionPair(client_config(), server).handshake()
    session13 = of_type(pair13.client_events, SessionTicketReceived)[0].session
    forged = Session.from_tls12(
        suite=CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        master_secret=bytes(48),
        ticket=session13.ticket,
        lifetime=3600,
        session_id=b"",
        received_at=session13.received_at,
        server_name="localhost",
    )
    pair = traced_pair(c12(), server, session=forged).handshake()
    (hello,) = sent_messages(pair.client_events, ClientHello)
    assert hello.extension(SessionTicket) == SessionTicket(session13.ticket)
    for done in (completed(pair.client_events), completed(pair.server_events)):
        assert done.version == TLS12 and done.resumed is False
    (why,) = decisions(pair.server_events, "resumption")
    assert "it is a TLS 1.3 ticket" in why
    exchange(pair)
