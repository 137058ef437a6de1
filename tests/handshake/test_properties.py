"""Hypothesis properties of the engine (h11's fuzz invariant, made a CI property).

1. Whatever bytes arrive, in whatever state, ``receive_data`` raises only ``RemoteProtocolError``
   subclasses (with a fatal alert queued) or ``FatalAlert``; never ``IndexError``, ``KeyError``,
   ``AssertionError``, ``ValueError``, ``struct.error``... Each client and server state is reached by
   replaying a recorded deterministic handshake (HelloRetryRequest and client authentication
   included, so every state exists) one message per record; then the property feeds arbitrary bytes,
   well-framed records with random bodies, random handshake messages (plaintext and sealed under the
   peer's real key at the right sequence number), random inner plaintexts, and the next legitimate
   record with a byte changed.
2. A whole handshake (and the data, KeyUpdate and close that follow) gives the same events, the same
   output bytes and the same final state however each flight is cut into chunks, byte-at-a-time
   included.

Determinism: both sides use a seeded ``DeterministicProvider`` with a fixed clock, x25519/secp384r1
and Ed25519 certificates (Ed25519 signatures are deterministic; ECDSA's and ML-KEM's are not).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.handshake.helpers import (
    ConnectionPair,
    Framed,
    TamperingClient,
    TamperingServer,
    client_chain,
    client_config,
    client_leaf,
    deterministic,
    frame,
    records,
    server_config,
    verifier,
    without_trace,
)
from tests.strategies import extension_lists, handshake_messages
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import FatalAlert, LocalProtocolError, RemoteProtocolError
from tlslens.events import ConnectionClosed, Event, HandshakeCompleted, SessionTicketReceived
from tlslens.record.deframer import encode_plaintext
from tlslens.session.cache import Session
from tlslens.session.replay import MemoryReplayStore
from tlslens.session.tickets import TicketKeyRing
from tlslens.wire.enums import ContentType, ExtensionType, HandshakeType, NamedGroup
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import Certificate, decode_handshake, encode_handshake

HANDSHAKE = ContentType.HANDSHAKE.value
APPLICATION_DATA = ContentType.APPLICATION_DATA.value
ALERT = ContentType.ALERT.value

G = NamedGroup
CLIENT_SEED = b"client seed"
SERVER_SEED = b"server seed"
COOKIE_SECRET = b"c" * 32


def client_cfg(**overrides: object):  # type: ignore[no-untyped-def]
    config = client_config(
        "ed25519",
        groups=(G.X25519, G.SECP384R1),
        key_share_groups=(G.X25519,),  # the server takes secp384r1 only: HelloRetryRequest
        certificate_chain=client_chain("ed25519"),
        private_key=client_leaf("ed25519").private_key,
        **overrides,
    )
    return deterministic(config, CLIENT_SEED)


def server_cfg(**overrides: object):  # type: ignore[no-untyped-def]
    config = server_config(
        "ed25519",
        groups=(G.SECP384R1,),
        client_verifier=verifier(),  # trusts the root that issued client_leaf()
        cookie_secret=COOKIE_SECRET,
        **overrides,
    )
    return deterministic(config, SERVER_SEED)


@dataclass(frozen=True)
class Script:
    """A recorded handshake, each side's messages one per record, with the keys to seal more."""

    client: TamperingClient
    server: TamperingServer
    client_records: Framed  # ClientHello1, ClientHello2, {Certificate}, {CertificateVerify}, {Finished}
    server_records: Framed  # HRR, ServerHello, {EE}, {CertificateRequest}, {Certificate}, {CV}, {Finished}


@functools.cache
def script() -> Script:
    c = TamperingClient(client_cfg(), "localhost")
    s = TamperingServer(server_cfg())
    ConnectionPair(client=c, server=s).handshake()
    return Script(c, s, frame(c), frame(s))


CLIENT_STATES = [
    "ExpectServerHello",
    "ExpectServerHello-after_retry",
    "ExpectEncryptedExtensions",
    "ExpectCertificateOrRequest",
    "ExpectCertificate",
    "ExpectCertificateVerify",
    "ExpectFinished",
    "ClientTraffic",
]
SERVER_STATES = [
    "ExpectClientHello",
    "ExpectClientHello-after_retry",
    "ExpectClientCertificate",
    "ExpectClientCertificateVerify",
    "ExpectClientFinished",
    "ServerTraffic",
]


def client_at(k: int) -> ClientConnection:
    """A fresh client fed the first ``k`` server records of the script."""
    c = ClientConnection(client_cfg(), "localhost")
    c.data_to_send()
    for record in script().server_records.records[:k]:
        c.receive_data(record)
    c.data_to_send()
    return c


def server_at(k: int) -> ServerConnection:
    s = ServerConnection(server_cfg())
    for record in script().client_records.records[:k]:
        s.receive_data(record)
    s.data_to_send()
    return s


def state_name(conn: ClientConnection | ServerConnection) -> str:
    """The state machine's current state (an internal detail, read only by tests)."""
    state = conn._state
    after_retry = getattr(state, "after_retry", False) or (
        getattr(getattr(state, "sent", None), "retry_suite", None) is not None
    )
    name = type(state).__name__
    return f"{name}-after_retry" if after_retry and name.startswith("Expect") and "Hello" in name else name


def test_script_reaches_every_state() -> None:
    for k, name in enumerate(CLIENT_STATES):
        assert state_name(client_at(k)) == name
    for k, name in enumerate(SERVER_STATES):
        assert state_name(server_at(k)) == name


# --- 1. only protocol errors ----------------------------------------------------------------------------


def _next_key(peer: TamperingClient | TamperingServer, framed: Framed, k: int) -> tuple[int, int] | None:
    """(key index, sequence number) the peer would use for its next record in state ``k``."""
    if k < len(framed.records):
        key_index, seq = framed.keys[k]
        return None if key_index < 0 else (key_index, seq)
    return (len(peer.write_keys) - 1, 0)  # application traffic key, nothing sent under it yet


def _record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return bytes((ctype,)) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


encoded_messages = handshake_messages.map(encode_handshake)
content_types = st.one_of(st.sampled_from([20, 21, 22, 23]), st.integers(0, 255))


@st.composite
def hostile_input(
    draw: st.DrawFn, peer: TamperingClient | TamperingServer, framed: Framed, k: int
) -> list[bytes]:
    """Chunks of peer bytes for a connection in state ``k``."""
    key = _next_key(peer, framed, k)
    legit = framed.records[k] if k < len(framed.records) else None
    kinds = ["raw", "records", "plaintext_message", "alert"]
    if key is not None:
        kinds += ["sealed_message", "sealed_inner", "sealed_inner"]
    if legit is not None:
        kinds += ["mutated_next", "next_then_junk", "mutated_message", "mutated_message", "extended_message"]
    kind = draw(st.sampled_from(kinds))
    if kind == "raw":
        data = draw(st.binary(max_size=300))
    elif kind == "records":
        parts = draw(st.lists(st.tuples(content_types, st.binary(max_size=80)), min_size=1, max_size=4))
        data = b"".join(_record(t, b) for t, b in parts)
    elif kind == "plaintext_message":
        messages = draw(st.lists(encoded_messages, min_size=1, max_size=3))
        data = encode_plaintext(HANDSHAKE, b"".join(messages))
    elif kind == "alert":
        data = _record(ALERT, draw(st.binary(min_size=0, max_size=3)))
    elif kind == "sealed_message":
        assert key is not None
        messages = draw(st.lists(encoded_messages, min_size=1, max_size=3))
        data = peer.sealer(*key).seal(HANDSHAKE, b"".join(messages))
    elif kind == "sealed_inner":
        assert key is not None
        content = draw(st.one_of(st.binary(max_size=60), encoded_messages))
        inner_type = draw(content_types)
        padding = draw(st.integers(0, 4))
        data = peer.seal_inner(content + bytes((inner_type,)) + bytes(padding), *key)
    elif kind == "mutated_next":
        assert legit is not None
        pos = draw(st.integers(0, len(legit) - 1))
        flip = draw(st.integers(1, 255))
        data = legit[:pos] + bytes((legit[pos] ^ flip,)) + legit[pos + 1 :]
    elif kind == "next_then_junk":
        assert legit is not None
        data = legit + draw(st.binary(min_size=1, max_size=60))
    else:
        # The next legitimate message itself, changed, then framed (and sealed) properly: past the
        # record MAC and into the decoder and the state machine.
        raw = peer.sent[k][0]
        raw = draw(_mutations(raw) if kind == "mutated_message" else _with_extra_extensions(raw))
        data = encode_plaintext(HANDSHAKE, raw) if key is None else peer.sealer(*key).seal(HANDSHAKE, raw)
    cut = draw(st.integers(0, len(data)))
    chunks = [c for c in (data[:cut], data[cut:]) if c]
    if draw(st.booleans()):
        chunks.append(b"")  # then EOF
    return chunks


@st.composite
def _mutations(draw: st.DrawFn, raw: bytes) -> bytes:
    """A few bytes changed, or the body cut or extended with its length field kept consistent."""
    how = draw(st.sampled_from(["flip", "cut", "extend"]))
    if how == "flip":
        out = bytearray(raw)
        for _ in range(draw(st.integers(1, 3))):
            pos = draw(st.integers(0, len(out) - 1))
            out[pos] ^= draw(st.integers(1, 255))
        return bytes(out)
    body = raw[4:]
    if how == "cut":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    else:
        body += draw(st.binary(min_size=1, max_size=40))
    return raw[:1] + len(body).to_bytes(3, "big") + body


@st.composite
def _with_extra_extensions(draw: st.DrawFn, raw: bytes) -> bytes:
    """The message decoded, random extensions (valid for its context) added or swapped in, re-encoded."""
    message = decode_handshake(raw)
    if not hasattr(message, "extensions") or isinstance(message, Certificate):
        return draw(_mutations(raw))
    context = message.msg_type
    if isinstance(message, ServerHello) and message.is_hello_retry_request:
        context = HandshakeType.HELLO_RETRY_REQUEST
    extra = draw(extension_lists(context, min_size=1))
    kept = [e for e in message.extensions or () if e.ext_type not in {x.ext_type for x in extra}]
    if draw(st.booleans()):
        kept = draw(st.permutations(kept))
    exts = [*kept, *extra]
    if isinstance(message, ClientHello):  # keep a strict decoder happy: pre_shared_key last
        exts.sort(key=lambda e: e.ext_type == ExtensionType.PRE_SHARED_KEY)
    return encode_handshake(dataclasses.replace(message, extensions=tuple(exts)))  # type: ignore[arg-type]


def _feed_expecting_only_protocol_errors(
    conn: ClientConnection | ServerConnection, chunks: list[bytes]
) -> None:
    try:
        for chunk in chunks:
            conn.receive_data(chunk)
    except RemoteProtocolError:
        out = conn.data_to_send()
        recs = records(out)
        assert recs, "a RemoteProtocolError must queue a fatal alert"
        assert recs[-1].content_type in (ALERT, APPLICATION_DATA)
        if recs[-1].content_type == ALERT:
            assert recs[-1].fragment[0] == 2  # fatal
        with pytest.raises(LocalProtocolError):
            conn.receive_data(b"\x16")
        return
    except FatalAlert:
        assert conn.closed
        return
    # Accepted: the connection must still be usable without surprises.
    conn.data_to_send()
    if conn.handshake_complete and not conn.closed:
        with contextlib.suppress(LocalProtocolError):  # our side may be closed for sending
            conn.send_data(b"still fine")
        conn.data_to_send()


# TLSLENS_FUZZ_EXAMPLES=2000 for a deep run; the default keeps the suite fast.
FUZZ = settings(
    max_examples=int(os.environ.get("TLSLENS_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


RESUMED_FUZZ = settings(
    max_examples=max(10, int(os.environ.get("TLSLENS_FUZZ_EXAMPLES", "40")) // 2),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("k", range(len(CLIENT_STATES)), ids=CLIENT_STATES)
@FUZZ
@given(data=st.data())
def test_client_raises_only_protocol_errors(k: int, data: st.DataObject) -> None:
    s = script()
    chunks = data.draw(hostile_input(s.server, s.server_records, k))
    _feed_expecting_only_protocol_errors(client_at(k), chunks)


@pytest.mark.parametrize("k", range(len(SERVER_STATES)), ids=SERVER_STATES)
@FUZZ
@given(data=st.data())
def test_server_raises_only_protocol_errors(k: int, data: st.DataObject) -> None:
    s = script()
    chunks = data.draw(hostile_input(s.client, s.client_records, k))
    _feed_expecting_only_protocol_errors(server_at(k), chunks)


# Resumption with accepted 0-RTT: states a full handshake never visits. These are live pairs stopped
# after k of the peer's records (no replay, so no determinism needed); each example gets a fresh
# replay store, so the one ticket is accepted for 0-RTT every time.

RESUMED_CLIENT_STATES = ["ExpectServerHello", "ExpectEncryptedExtensions", "ExpectFinished", "ClientTraffic"]
RESUMED_SERVER_STATES = ["ExpectEndOfEarlyData", "ExpectClientFinished", "ServerTraffic"]


@functools.cache
def _resumption_setup() -> tuple[ServerConfig, ClientConfig, Session]:
    scfg = server_config(max_early_data_size=4096, ticket_keys=TicketKeyRing())
    ccfg = client_config()
    pair = ConnectionPair(ccfg, scfg).handshake()
    ticket = next(e for e in pair.client_events if isinstance(e, SessionTicketReceived))
    return scfg, ccfg, ticket.session  # type: ignore[return-value]


def _resumed_pair() -> tuple[TamperingClient, TamperingServer]:
    scfg, ccfg, session = _resumption_setup()
    scfg = dataclasses.replace(scfg, replay_store=MemoryReplayStore())
    c = TamperingClient(ccfg, "localhost", session=session, early_data=b"GET / (0-RTT)")
    return c, TamperingServer(scfg)


def resumed_client_at(k: int) -> tuple[ClientConnection, TamperingServer, Framed]:
    """A resuming client after k of the server's records (ServerHello, {EE}, {Finished})."""
    c, s = _resumed_pair()
    s.receive_data(c.data_to_send())
    flight = frame(s)
    for record in flight.records[:k]:
        c.receive_data(record)
    c.data_to_send()
    return c, s, flight


def resumed_server_at(k: int) -> tuple[ServerConnection, TamperingClient, Framed]:
    """The server after the ClientHello (with 0-RTT accepted) and k - 1 more client records
    ({EndOfEarlyData} under the early key, {Finished})."""
    c, s = _resumed_pair()
    first = c.data_to_send()
    s.receive_data(first)
    c.receive_data(s.data_to_send())
    c.data_to_send()
    early_records = sum(r.content_type == APPLICATION_DATA for r in records(first))
    flight = frame(c, start_seq={0: early_records})  # EndOfEarlyData follows the 0-RTT records
    for record in flight.records[1 : k + 1]:
        s.receive_data(record)
    s.data_to_send()
    return s, c, flight


def test_resumed_states_are_reached() -> None:
    for k, name in enumerate(RESUMED_CLIENT_STATES):
        assert state_name(resumed_client_at(k)[0]) == name
    for k, name in enumerate(RESUMED_SERVER_STATES):
        assert state_name(resumed_server_at(k)[0]) == name


@pytest.mark.parametrize("k", range(len(RESUMED_CLIENT_STATES)), ids=RESUMED_CLIENT_STATES)
@RESUMED_FUZZ
@given(data=st.data())
def test_resuming_client_raises_only_protocol_errors(k: int, data: st.DataObject) -> None:
    c, s, flight = resumed_client_at(k)
    _feed_expecting_only_protocol_errors(c, data.draw(hostile_input(s, flight, k)))


@pytest.mark.parametrize("k", range(len(RESUMED_SERVER_STATES)), ids=RESUMED_SERVER_STATES)
@RESUMED_FUZZ
@given(data=st.data())
def test_resumed_server_raises_only_protocol_errors(k: int, data: st.DataObject) -> None:
    s, c, flight = resumed_server_at(k)
    _feed_expecting_only_protocol_errors(s, data.draw(hostile_input(c, flight, k + 1)))


# --- 2. chunking invariance ---------------------------------------------------------------------------------


@dataclass
class Transcript:
    """What one run of a conversation looked like from outside (trace events excluded)."""

    client_events: list[Event]
    server_events: list[Event]
    client_out: list[bytes]
    server_out: list[bytes]
    client_state: str
    server_state: str
    client_closed: bool
    server_closed: bool


def _chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in sizes:
        if pos >= len(data):
            break
        out.append(data[pos : pos + size])
        pos += size
    if pos < len(data):
        out.append(data[pos:])
    return out


def converse(cut: Callable[[int], list[int]]) -> Transcript:
    """Handshake (with HRR and client auth), data both ways, KeyUpdate with request, close both ways;
    each flight fed in the chunks ``cut(flight_number)`` gives."""
    c = ClientConnection(client_cfg(), "localhost")
    s = ServerConnection(server_cfg())
    t = Transcript([], [], [], [], "", "", False, False)
    flight = 0

    def deliver(
        sender: ClientConnection | ServerConnection,
        receiver: ClientConnection | ServerConnection,
        events: list[Event],
        out: list[bytes],
    ) -> bool:
        nonlocal flight
        data = sender.data_to_send()
        if not data:
            return False
        out.append(data)
        for chunk in _chunks(data, cut(flight)):
            events += without_trace(receiver.receive_data(chunk))
        flight += 1
        return True

    def pump() -> None:
        while deliver(c, s, t.server_events, t.client_out) | deliver(s, c, t.client_events, t.server_out):
            pass

    pump()
    c.send_data(b"ping" * 5000)  # several records
    s.send_data(b"pong")
    pump()
    c.update_keys(request_peer=True)
    pump()
    s.close()
    pump()
    c.send_data(b"after the server closed")
    c.close()
    pump()
    t.client_state, t.server_state = state_name(c), state_name(s)
    t.client_closed, t.server_closed = c.closed, s.closed
    return t


@functools.cache
def baseline() -> Transcript:
    return converse(lambda flight: [])


def test_baseline_conversation() -> None:
    t = baseline()
    assert any(isinstance(e, HandshakeCompleted) for e in t.client_events)
    assert any(isinstance(e, HandshakeCompleted) for e in t.server_events)
    assert t.client_events[-1] == ConnectionClosed(clean=True)
    assert t.server_events[-1] == ConnectionClosed(clean=True)
    assert (t.client_state, t.server_state) == ("ClientTraffic", "ServerTraffic")
    assert t.client_closed and t.server_closed
    assert converse(lambda flight: []) == t  # the providers make it replayable


def test_byte_at_a_time() -> None:
    assert converse(lambda flight: [1] * 100_000) == baseline()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.lists(st.integers(1, 64), max_size=12), min_size=1, max_size=12))
@example(cuts=[[5]])  # record headers cut in the middle
@example(cuts=[[1, 4, 1, 3], [2]])
def test_handshake_is_chunking_invariant(cuts: list[list[int]]) -> None:
    assert converse(lambda flight: cuts[flight % len(cuts)]) == baseline()


def test_other_configurations_are_chunking_invariant() -> None:
    """Middlebox compatibility off, a record_size_limit and ALPN change the flights; still invariant."""
    overrides = {"middlebox_compatibility": False, "record_size_limit": 256, "alpn_protocols": ("h2",)}

    def run(sizes: list[int]) -> tuple[list[Event], list[Event], list[bytes]]:
        c = ClientConnection(client_cfg(**overrides), "localhost")
        s = ServerConnection(
            server_cfg(record_size_limit=512, alpn_protocols=("h2",)),
        )
        ce: list[Event] = []
        se: list[Event] = []
        wire: list[bytes] = []
        for _ in range(10):
            moved = False
            for sender, receiver, events in ((c, s, se), (s, c, ce)):
                data = sender.data_to_send()
                if data:
                    moved = True
                    wire.append(data)
                    for chunk in _chunks(data, sizes):
                        events += receiver.receive_data(chunk)
            if not moved:
                break
        assert c.handshake_complete and s.handshake_complete
        return ce, se, wire

    assert run([]) == run([1] * 50_000) == run([3, 7, 1, 64] * 500)
