"""The connection facade itself: its public surface, its lifecycle, misuse, the failure rule, and that
tracing observes the one inbound path without changing what it does."""

from __future__ import annotations

import dataclasses
import gc
import re
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.handshake.helpers import (
    NOW,
    ConnectionPair,
    client_chain,
    client_config,
    client_leaf,
    data_received,
    server_config,
    verifier,
    without_trace,
)
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ConnectionState, ServerConnection
from tlslens.crypto.provider import DeterministicProvider
from tlslens.errors import FatalAlert, IllegalParameter, LocalProtocolError, RemoteProtocolError
from tlslens.events import (
    AlertReceived,
    ConnectionClosed,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    MessageReceived,
    SessionTicketReceived,
)
from tlslens.session.cache import Session
from tlslens.session.replay import MemoryReplayStore
from tlslens.session.tickets import TicketKeyRing
from tlslens.wire.enums import AlertDescription, AlertLevel, NamedGroup
from tlslens.wire.messages import EncryptedExtensions

S = ConnectionState

COMMON_API = {
    "receive_data",
    "send_data",
    "update_keys",
    "export_keying_material",
    "close",
    "data_to_send",
    "pending_events",
    "handshake_complete",
    "closed",
    "our_state",
    "their_state",
    "config",
}


def public_names(conn: object) -> set[str]:
    return {n for n in dir(conn) if not n.startswith("_")}


def test_public_surface_is_the_documented_api() -> None:
    pair = ConnectionPair()
    assert public_names(pair.client) == COMMON_API | {"server_name"}
    assert public_names(pair.server) == COMMON_API | {"request_client_certificate"}


# --- lifecycle -------------------------------------------------------------------------------------


def states(conn: ClientConnection | ServerConnection) -> tuple[ConnectionState, ConnectionState]:
    return conn.our_state, conn.their_state


def test_lifecycle_from_handshake_to_both_directions_closed() -> None:
    pair = ConnectionPair()
    assert states(pair.client) == states(pair.server) == (S.HANDSHAKING, S.HANDSHAKING)
    pair.handshake()
    assert states(pair.client) == states(pair.server) == (S.OPEN, S.OPEN)
    pair.client.close()
    pair.pump()
    assert states(pair.client) == (S.CLOSED, S.OPEN)  # TLS 1.3 half-close: the server may still send
    assert states(pair.server) == (S.OPEN, S.CLOSED)
    assert not pair.client.closed and not pair.server.closed
    pair.server.send_data(b"last words")
    pair.server.close()
    pair.pump()
    assert data_received(pair.client_events) == b"last words"
    assert states(pair.client) == states(pair.server) == (S.CLOSED, S.CLOSED)
    assert pair.client.closed and pair.server.closed


def test_eof_without_close_notify_closes_their_direction_uncleanly() -> None:
    pair = ConnectionPair().handshake()
    events = pair.server.receive_data(b"")
    assert events == [ConnectionClosed(clean=False)]
    assert states(pair.server) == (S.OPEN, S.CLOSED)
    assert pair.server.receive_data(b"") == []  # a second EOF reports nothing new


def test_a_direction_closed_during_the_handshake_stays_closed() -> None:
    pair = ConnectionPair()
    pair.client_to_server()  # ClientHello: the server's flight is queued
    pair.server.close()  # and close_notify right after it
    pair.pump()
    assert pair.client.handshake_complete and pair.server.handshake_complete
    assert states(pair.server) == (S.CLOSED, S.OPEN)
    assert states(pair.client) == (S.OPEN, S.CLOSED)


def test_a_failure_fails_both_directions_and_every_later_call() -> None:
    pair = ConnectionPair()
    pair.client_to_server()
    with pytest.raises(RemoteProtocolError):
        pair.client.receive_data(b"\x16\x03\x03\x00\x04\x02\x00\x00\x00")  # a ServerHello of no bytes
    assert states(pair.client) == (S.FAILED, S.FAILED)
    assert pair.client.closed
    with pytest.raises(LocalProtocolError, match="already failed"):
        pair.client.receive_data(b"anything")
    with pytest.raises(LocalProtocolError, match="failed"):
        pair.client.update_keys()


# --- misuse is a LocalProtocolError that names it --------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.send_data(b"x"), "application data can only be sent after the handshake"),
        (lambda c: c.update_keys(), "KeyUpdate can only be sent after the handshake"),
        (lambda c: c.export_keying_material("label"), "only be exported after the handshake"),
    ],
    ids=["send_data", "update_keys", "export_keying_material"],
)
def test_calls_before_the_handshake_are_named_misuse(
    call: Callable[[ClientConnection], object], message: str
) -> None:
    client = ClientConnection(client_config(), "localhost")
    with pytest.raises(LocalProtocolError, match=message):
        call(client)


def test_sending_after_our_close_notify_is_named_misuse() -> None:
    pair = ConnectionPair().handshake()
    pair.client.close()
    with pytest.raises(LocalProtocolError, match="we closed the connection"):
        pair.client.send_data(b"x")
    with pytest.raises(LocalProtocolError, match="we closed the connection"):
        pair.client.update_keys()
    pair.client.close()  # closing twice is harmless


def test_early_data_is_not_a_public_method() -> None:
    """0-RTT data is given to the constructor (with a session); there is no way to send it later."""
    client = ClientConnection(client_config(), "localhost")
    assert not hasattr(client, "send_early_data")


# --- h11's rule: whatever escapes receive_data fails the connection ---------------------------------


def test_a_bug_inside_receive_data_fails_the_connection_with_internal_error() -> None:
    def broken_hook(ee: EncryptedExtensions) -> EncryptedExtensions:
        raise RuntimeError("a bug in a hook")

    pair = ConnectionPair(server_cfg=server_config(encrypted_extensions_hook=broken_hook))
    with pytest.raises(RuntimeError, match="a bug in a hook"):
        pair.pump()
    assert states(pair.server) == (S.FAILED, S.FAILED)
    with pytest.raises(FatalAlert) as alert:
        pair.client.receive_data(pair.server.data_to_send())
    assert alert.value.description == AlertDescription.INTERNAL_ERROR
    with pytest.raises(LocalProtocolError, match="already failed"):
        pair.server.receive_data(b"\x16")


def test_events_before_a_failure_travel_on_the_error() -> None:
    """The client's events of the failing call (the fatal alert it received) are on the exception."""

    def bad_ee(ee: EncryptedExtensions) -> EncryptedExtensions:
        raise IllegalParameter("refused by the test")

    pair = ConnectionPair(server_cfg=server_config(encrypted_extensions_hook=bad_ee))
    with pytest.raises(IllegalParameter) as server_error:
        pair.pump()
    assert server_error.value.events == []  # nothing happened on the server before the hook
    with pytest.raises(FatalAlert) as client_error:
        pair.client.receive_data(pair.server.data_to_send())
    assert client_error.value.events == [AlertReceived(AlertLevel.FATAL, AlertDescription.ILLEGAL_PARAMETER)]


# --- tracing observes the one path: same bytes, same events -------------------------------------------

G = NamedGroup


def _client_cfg(**overrides: object) -> ClientConfig:
    config = client_config(
        "ed25519",  # deterministic signatures, so two runs can be compared byte for byte
        groups=(G.X25519, G.SECP384R1),
        key_share_groups=(G.X25519,),  # the server prefers secp384r1: HelloRetryRequest
        certificate_chain=client_chain("ed25519"),
        private_key=client_leaf("ed25519").private_key,
        **overrides,
    )
    return dataclasses.replace(config, provider=DeterministicProvider(seed=b"client", clock=NOW))


def _server_cfg(**overrides: object) -> ServerConfig:
    provider = DeterministicProvider(seed=b"server", clock=NOW)
    overrides.setdefault("groups", (G.SECP384R1, G.X25519))
    config = server_config(
        "ed25519",
        client_verifier=verifier(),
        cookie_secret=b"c" * 32,
        ticket_keys=TicketKeyRing(provider=DeterministicProvider(seed=b"ring", clock=NOW)),
        replay_store=MemoryReplayStore(),
        **overrides,
    )
    return dataclasses.replace(config, provider=provider)


@dataclasses.dataclass
class Conversation:
    wire: list[bytes]
    client_events: list[Event]
    server_events: list[Event]


def _run(
    client: ClientConnection, server: ServerConnection, chunk: int | None, steps: list[Callable[[], None]]
) -> Conversation:
    """Pump the pair (cutting every flight into ``chunk``-byte pieces when given), running ``steps``
    between rounds; every byte and every event is kept."""
    conv = Conversation([], [], [])

    def move(src: ClientConnection | ServerConnection, dst: ClientConnection | ServerConnection) -> bool:
        data = src.data_to_send()
        if not data:
            return False
        conv.wire.append(data)
        pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
        events = conv.client_events if dst is client else conv.server_events
        for piece in pieces:
            events += dst.receive_data(piece)
        return True

    for step in [lambda: None, *steps]:
        step()
        for _ in range(20):
            moved = move(client, server)
            if not (move(server, client) or moved):
                break
        conv.client_events += client.pending_events()
        conv.server_events += server.pending_events()
    return conv


def _full_conversation(trace: bool, chunk: int | None) -> tuple[Conversation, Session]:
    client = ClientConnection(_client_cfg(), "localhost", trace=trace)
    server = ServerConnection(_server_cfg(max_early_data_size=1024), trace=trace)
    conv = _run(
        client,
        server,
        chunk,
        [
            lambda: client.send_data(b"ping" * 100),
            lambda: server.send_data(b"pong"),
            lambda: client.update_keys(request_peer=True),
            lambda: client.send_data(b""),
            lambda: server.update_keys(),
            lambda: client.close(),
            lambda: (server.send_data(b"bye"), server.close()),
        ],
    )
    session = next(e.session for e in conv.client_events if isinstance(e, SessionTicketReceived))
    return conv, session  # type: ignore[return-value]


def _resumed_conversation(
    trace: bool, chunk: int | None, session: Session, accept_0rtt: bool
) -> Conversation:
    client = ClientConnection(
        _client_cfg(), "localhost", session=session, early_data=b"GET / (0-RTT)", trace=trace
    )
    server = ServerConnection(
        _server_cfg(max_early_data_size=1024 if accept_0rtt else 0, groups=(G.X25519,)), trace=trace
    )
    return _run(client, server, chunk, [lambda: client.send_data(b"after"), lambda: client.close()])


def _non_trace(conv: Conversation) -> tuple[list[Event], list[Event]]:
    return without_trace(conv.client_events), without_trace(conv.server_events)


@pytest.mark.parametrize("chunk", [None, 7], ids=["whole flights", "7-byte chunks"])
def test_tracing_changes_neither_bytes_nor_events(chunk: int | None) -> None:
    plain, plain_session = _full_conversation(False, chunk)
    traced, traced_session = _full_conversation(True, chunk)
    assert traced.wire == plain.wire
    assert _non_trace(traced) == _non_trace(plain)
    assert any(isinstance(e, MessageReceived) for e in traced.client_events)  # the trace is there
    assert not any(isinstance(e, MessageReceived) for e in plain.client_events)
    completed = [e for e in plain.client_events if isinstance(e, HandshakeCompleted)]
    assert len(completed) == 1 and data_received(plain.client_events) == b"pongbye"
    for accept in (True, False):  # 0-RTT accepted (early data gate) and refused (records skipped)
        plain_r = _resumed_conversation(False, chunk, plain_session, accept)
        traced_r = _resumed_conversation(True, chunk, traced_session, accept)
        assert traced_r.wire == plain_r.wire
        assert _non_trace(traced_r) == _non_trace(plain_r)
        assert data_received(plain_r.server_events) == b"after"
        early = [e.data for e in plain_r.server_events if isinstance(e, EarlyDataReceived)]
        assert early == ([b"GET / (0-RTT)"] if accept else [])


# --- the README's sans-I/O example runs as written -----------------------------------------------------


def test_readme_sans_io_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(# sans_io\.py.*?)```", readme, flags=re.S)
    assert match, "README.md lost its sans_io.py example"
    exec(compile(match.group(1), "README.md:sans_io.py", "exec"), {"__name__": "__readme__"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["ClientConnection HandshakeCompleted", "ServerConnection HandshakeCompleted"]
    assert lines[-3:] == [
        "ServerConnection DataReceived",
        "ServerConnection ConnectionClosed",
        "CLOSED CLOSED",
    ]


def test_a_failed_connection_is_freed_without_the_cyclic_collector() -> None:
    """The failure is kept as words, not as the exception whose traceback holds the connection."""
    gc.disable()
    try:
        server = ServerConnection(server_config())
        with pytest.raises(RemoteProtocolError):
            server.receive_data(b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00")  # a ServerHello to a server
        ref = weakref.ref(server)
        del server
        assert ref() is None
    finally:
        gc.enable()
