"""Shared machinery for the handshake tests: throwaway PKIs, configs, a ConnectionPair that pumps bytes
between a client and a server, peers that tamper with what they send, and record (re)framing.

    pair = ConnectionPair(client_config(), server_config()).handshake()
    pair.client.send_data(b"ping"); pair.pump()
    assert data_received(pair.server_events) == b"ping"

``TamperingClient`` / ``TamperingServer`` are the real connections with one seam opened: every handshake
message goes through ``tamper(message)`` before it is encoded, and the encoding of what was actually
sent goes into the sender's own transcript, so a tampered peer stays self-consistent and the victim
sees exactly one fault. They also record what they sent (``sent``: raw message and the index of the
write key in force) and every write key (``write_keys``), so a test can re-frame a flight however it
likes (``frame``) or seal records of its own (``sealer``).

In TLS 1.2 a tamper may also answer with ``ChangeCipherSpec()`` among its messages (a change_cipher_spec
record where the state machine would send none) or ``OffTranscript(message)`` (a message sent but left
out of the sender's own transcript); the TLS 1.2 write protection of each ChangeCipherSpec is recorded
too (``write_protection12``), so ``open_own`` reads back what a failing TLS 1.2 connection sent.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pytest

from tlslens.certgen import Issued, ThrowawayPki, make_leaf, make_pki
from tlslens.config import CertifiedKey, ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.crypto.key_schedule import traffic_key_iv
from tlslens.crypto.provider import DeterministicProvider
from tlslens.crypto.suites import Tls13Suite
from tlslens.errors import BadRecordMac, FatalAlert
from tlslens.events import (
    DataReceived,
    DecisionMade,
    Event,
    MessageReceived,
    MessageSent,
    RecordReceived,
    RecordSent,
    SecretDerived,
)
from tlslens.output import Output
from tlslens.record.deframer import Deframer, Record, encode_plaintext
from tlslens.record.protection import RecordOpener, RecordSealer
from tlslens.record.protection12 import Sealer, Tls12RecordOpener, Tls12RecordSealer
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import AlertDescription, ContentType
from tlslens.wire.messages import HandshakeMessage, encode_handshake
from tlslens.wire.messages12 import ChangeCipherSpec

NOW = time.time()
"""One fixed 'now' for deterministic providers (the throwaway certificates are valid around it)."""

ALERT = ContentType.ALERT.value
HANDSHAKE = ContentType.HANDSHAKE.value
APPLICATION_DATA = ContentType.APPLICATION_DATA.value
CHANGE_CIPHER_SPEC = ContentType.CHANGE_CIPHER_SPEC.value
CCS_RECORD = b"\x14\x03\x03\x00\x01\x01"

TRACE_EVENTS = (RecordReceived, RecordSent, MessageReceived, MessageSent, SecretDerived, DecisionMade)


# --- PKI and configs (key generation is slow-ish: everything is cached per process) -----------------


def pki(key_type: str = "ecdsa-p256", names: Sequence[str] = ("localhost", "127.0.0.1")) -> ThrowawayPki:
    """Root → intermediate → leaf (of ``key_type``) for ``names``; cached."""
    return _pki(key_type, tuple(names))


@functools.cache
def _pki(key_type: str, names: tuple[str, ...]) -> ThrowawayPki:
    return make_pki(names, key_type=key_type)


def client_leaf(key_type: str = "ecdsa-p256") -> Issued:
    """A client-auth leaf issued by ``pki()``'s intermediate; cached."""
    return _client_leaf(key_type)


@functools.cache
def _client_leaf(key_type: str) -> Issued:
    return make_leaf(pki().intermediate, ("client.example",), key_type=key_type, client=True)


def client_chain(key_type: str = "ecdsa-p256") -> list:
    return [client_leaf(key_type).certificate, pki().intermediate.certificate]


def verifier(key_type: str = "ecdsa-p256") -> WebPkiVerifier:
    """A WebPkiVerifier trusting ``pki(key_type)``'s root (shared: building one is not free)."""
    return _verifier(key_type)


@functools.cache
def _verifier(key_type: str) -> WebPkiVerifier:
    return WebPkiVerifier([pki(key_type).root.certificate])


def server_config(key_type: str = "ecdsa-p256", **kwargs: object) -> ServerConfig:
    # Plain Certificate messages both ways unless a test asks for compression (RFC 8879): the fault
    # records tamper with them (test_certificate_compression.py covers the compressed ones).
    kwargs.setdefault("certificate_compression", ())
    p = pki(key_type)
    return ServerConfig(certificate_chain=p.chain, private_key=p.leaf.private_key, **kwargs)  # type: ignore[arg-type]


def client_config(key_type: str = "ecdsa-p256", **kwargs: object) -> ClientConfig:
    kwargs.setdefault("verifier", verifier(key_type))
    return ClientConfig(**kwargs)  # type: ignore[arg-type]


def certified_key(
    key_type: str = "ecdsa-p256", names: tuple[str, ...] = ("localhost", "127.0.0.1")
) -> CertifiedKey:
    p = pki(key_type, names)
    return CertifiedKey.from_key(p.chain, p.leaf.private_key)


def deterministic(config: ClientConfig | ServerConfig, seed: bytes) -> ClientConfig | ServerConfig:
    """The same config with a fresh DeterministicProvider (each connection needs its own stream)."""
    return dataclasses.replace(config, provider=DeterministicProvider(seed=seed, clock=NOW))


# --- events -----------------------------------------------------------------------------------------


def without_trace(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, TRACE_EVENTS)]


def of_type(events: Iterable[Event], cls: type) -> list:
    return [e for e in events if isinstance(e, cls)]


def data_received(events: Iterable[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, DataReceived))


# --- the pair ---------------------------------------------------------------------------------------


class ConnectionPair:
    """A client and a server linked by an in-memory network (h11's ConnectionPair).

    ``pump()`` moves bytes both ways until neither side has anything to send; events are collected per
    side in ``client_events`` / ``server_events``; every chunk that crossed is kept in ``client_wire`` /
    ``server_wire``. ``to_server`` / ``to_client`` transform bytes in flight. Exceptions propagate.
    """

    def __init__(
        self,
        client_cfg: ClientConfig | None = None,
        server_cfg: ServerConfig | None = None,
        server_name: str | None = "localhost",
        *,
        client: ClientConnection | None = None,
        server: ServerConnection | None = None,
        to_server: Callable[[bytes], bytes] | None = None,
        to_client: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.client = (
            client if client is not None else ClientConnection(client_cfg or client_config(), server_name)
        )
        self.server = server if server is not None else ServerConnection(server_cfg or server_config())
        self.client_events: list[Event] = []
        self.server_events: list[Event] = []
        self.client_wire: list[bytes] = []
        self.server_wire: list[bytes] = []
        self.to_server = to_server
        self.to_client = to_client

    def client_to_server(self) -> bool:
        data = self.client.data_to_send()
        if not data:
            return False
        if self.to_server is not None:
            data = self.to_server(data)
        self.client_wire.append(data)
        self.server_events += self.server.receive_data(data)
        return True

    def server_to_client(self) -> bool:
        data = self.server.data_to_send()
        if not data:
            return False
        if self.to_client is not None:
            data = self.to_client(data)
        self.server_wire.append(data)
        self.client_events += self.client.receive_data(data)
        return True

    def pump(self, max_rounds: int = 100) -> ConnectionPair:
        for _ in range(max_rounds):
            moved = self.client_to_server()
            moved = self.server_to_client() or moved
            if not moved:
                return self
        raise AssertionError("the pair kept talking for too many rounds")

    def handshake(self) -> ConnectionPair:
        self.pump()
        assert self.client.handshake_complete and self.server.handshake_complete
        return self


# --- tampering peers ----------------------------------------------------------------------------------

Tamper = Callable[
    [HandshakeMessage],
    "HandshakeMessage | bytes | Sequence[HandshakeMessage | ChangeCipherSpec | OffTranscript] | None",
]


@dataclass(frozen=True)
class OffTranscript:
    """In a tamper's answer: a message the tampering peer sends, but leaves out of its own transcript
    (a HelloRequest that RFC 5246 §7.4.1.1 keeps out of the handshake hash, an extra message whose
    victim fails on it anyway)."""

    message: HandshakeMessage


class _TamperingOutput(Output):
    """The Output of a tampering connection: applies ``tamper`` and records what was sent and keyed."""

    def __init__(self, owner: _Tampering, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.owner = owner

    def send(self, message: HandshakeMessage, raw: bytes | None = None) -> bytes:
        owner = self.owner
        result = owner.tamper(message) if owner.tamper is not None else message
        if result is None:  # dropped: neither sent nor in our transcript
            return b""
        if result is message and raw is not None:  # untouched, and encoded by the engine already
            self.send_raw(message, raw)
            owner.sent.append((raw, len(owner.write_keys) - 1))
            return raw
        if isinstance(result, bytes | bytearray):  # raw bytes standing for the message
            raw = bytes(result)
            self.send_raw(message, raw)
            owner.sent.append((raw, len(owner.write_keys) - 1))
            return raw
        messages = [result] if not isinstance(result, list | tuple) else list(result)
        out = b""
        for m in messages:
            if isinstance(m, ChangeCipherSpec):  # TLS 1.2: a change_cipher_spec record, keys unchanged
                super().send_change_cipher_spec()
                continue
            logged = not isinstance(m, OffTranscript)
            raw = super().send(m if logged else m.message)
            owner.sent.append((raw, len(owner.write_keys) - 1))
            if logged:
                out += raw
        return out

    def set_write_key(self, suite: Tls13Suite, secret: bytes, label: str | None) -> None:
        super().set_write_key(suite, secret, label)
        self.owner.write_keys.append((suite, secret))

    def set_write_protection(self, sealer: Sealer) -> None:
        # (TLS 1.2: a fresh sealer, at sequence number 0; a copy keeps its key for open_own.)
        assert isinstance(sealer, Tls12RecordSealer) and sealer.seq == 0
        self.owner.write_protection12.append(copy.copy(sealer))
        super().set_write_protection(sealer)


class _Tampering:
    """Mixin over ClientConnection / ServerConnection; see the module docstring."""

    tamper: Tamper | None
    sent: list[tuple[bytes, int]]
    write_keys: list[tuple[Tls13Suite, bytes]]
    write_protection12: list[Tls12RecordSealer]  # TLS 1.2: each write protection, as it was at seq 0
    wire: bytearray

    def _init_tampering(self, tamper: Tamper | None) -> None:
        self.tamper = tamper
        self.sent = []
        self.write_keys = []
        self.write_protection12 = []
        self.wire = bytearray()

    @property
    def _output_type(self) -> Callable[..., Output]:
        return functools.partial(_TamperingOutput, self)

    def data_to_send(self) -> bytes:
        data = super().data_to_send()  # type: ignore[misc]
        self.wire += data
        return data  # type: ignore[no-any-return]

    def next_seq(self, key_index: int = -1) -> int:
        """Records sealed so far under one of our write keys (found by opening what we sent)."""
        suite, secret = self.write_keys[key_index]
        key, iv = traffic_key_iv(suite, secret)
        seq = 0
        for record in records(bytes(self.wire)):
            if record.content_type != APPLICATION_DATA:
                continue
            try:
                RecordOpener(suite, key, iv, seq=seq).open(record)
            except BadRecordMac:
                continue
            seq += 1
        return seq

    def sealer(self, key_index: int = -1, seq: int | None = None) -> RecordSealer:
        """A sealer for one of our write keys, at sequence number ``seq`` (default: the next one, after
        every record this connection has handed to ``data_to_send()`` under that key)."""
        suite, secret = self.write_keys[key_index]
        key, iv = traffic_key_iv(suite, secret)
        return RecordSealer(suite, key, iv, seq=self.next_seq(key_index) if seq is None else seq)

    def seal_inner(self, inner: bytes, key_index: int = -1, seq: int | None = None) -> bytes:
        """Seal a raw TLSInnerPlaintext (content || type || zeros) as one application_data record, with
        no checks (so a test can send what RecordSealer refuses: empty handshake, inner type 20...)."""
        suite, secret = self.write_keys[key_index]
        key, iv = traffic_key_iv(suite, secret)
        if seq is None:
            seq = self.next_seq(key_index)
        header = bytes((APPLICATION_DATA, 3, 3)) + (len(inner) + suite.tag_len).to_bytes(2, "big")
        nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(len(iv), "big")
        return header + suite.aead(key).encrypt(nonce, inner, header)


class TamperingClient(_Tampering, ClientConnection):
    def __init__(
        self,
        config: ClientConfig,
        server_name: str | None = "localhost",
        *,
        tamper: Tamper | None = None,
        trace: bool = False,
        **kwargs: object,
    ) -> None:
        """``kwargs`` go to ClientConnection (``session=``, ``early_data=``)."""
        self._init_tampering(tamper)
        super().__init__(config, server_name, trace=trace, **kwargs)  # type: ignore[arg-type]


class TamperingServer(_Tampering, ServerConnection):
    def __init__(self, config: ServerConfig, *, tamper: Tamper | None = None, trace: bool = False) -> None:
        self._init_tampering(tamper)
        super().__init__(config, trace=trace)


def replacing(cls: type, fn: Callable[[HandshakeMessage], object], *, nth: int = 1) -> Tamper:
    """A tamper that applies ``fn`` to the ``nth`` message of class ``cls`` only."""
    seen = 0

    def tamper(message: HandshakeMessage) -> object:
        nonlocal seen
        if isinstance(message, cls):
            seen += 1
            if seen == nth:
                return fn(message)
        return message

    return tamper  # type: ignore[return-value]


def dropping(cls: type, *, nth: int = 1) -> Tamper:
    """A tamper that leaves out the ``nth`` message of class ``cls``."""
    return replacing(cls, lambda m: None, nth=nth)


# --- framing ------------------------------------------------------------------------------------------


def records(data: bytes) -> list[Record]:
    return Deframer().feed(data)


def plaintext_alert(description: AlertDescription) -> bytes:
    return bytes((ALERT, 3, 3, 0, 2, 2, description))


@dataclass
class Framed:
    """A flight re-framed into records; ``keys[i]`` is (key index, sequence number) of record i."""

    records: list[bytes] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)

    def joined(self, start: int = 0, stop: int | None = None) -> bytes:
        return b"".join(self.records[start:stop])


def frame(
    peer: _Tampering,
    layout: Sequence[Sequence[int]] | None = None,
    *,
    start_seq: dict[int, int] | None = None,
) -> Framed:
    """Re-frame what ``peer`` sent: ``layout`` lists the message indices (into ``peer.sent``) of each
    record; by default one message per record. Messages sent before any key go out as plaintext
    records; the others are sealed under the key that was in force, sequence numbers counting from 0
    per key (or from ``start_seq[key]``). A record's key is that of its first message."""
    sent = peer.sent
    if layout is None:
        layout = [[i] for i in range(len(sent))]
    seqs: dict[int, int] = dict(start_seq or {})
    sealers: dict[int, RecordSealer] = {}
    out = Framed()
    for indices in layout:
        body = b"".join(sent[i][0] for i in indices)
        key_index = sent[indices[0]][1]
        if key_index < 0:
            out.records.append(encode_plaintext(HANDSHAKE, body))
            out.keys.append((-1, 0))
            continue
        if key_index not in sealers:
            sealers[key_index] = peer.sealer(key_index, seq=seqs.get(key_index, 0))
        sealer = sealers[key_index]
        out.keys.append((key_index, sealer.seq))
        out.records.append(sealer.seal(HANDSHAKE, body))
    return out


# --- alerts -------------------------------------------------------------------------------------------


def assert_alert_sent(
    failed: ClientConnection | ServerConnection,
    peer: ClientConnection | ServerConnection | None,
    description: AlertDescription,
    *,
    alone: bool = False,
    after_ccs: bool = False,
) -> None:
    """``failed`` queued a fatal alert ``description``, and nothing after it. With ``alone``, nothing
    else at all, except a change_cipher_spec first when ``after_ccs`` (and then there must be one).

    Unprotected: the exact record ``15 03 03 00 02 02 <desc>``. Protected (TLS 1.3, or TLS 1.2 after our
    ChangeCipherSpec): opened with ``failed``'s own write key when it is a Tampering connection (which
    records its keys), else by ``peer``, which must raise FatalAlert(description)."""
    data = failed.data_to_send()
    recs = [r for r in records(data) if r.content_type != CHANGE_CIPHER_SPEC]
    assert recs, "no alert was queued"
    if alone:
        types = [r.content_type for r in records(data)]
        assert types[:-1] == ([CHANGE_CIPHER_SPEC] if after_ccs else []), f"queued: {data.hex()}"
    last = recs[-1]
    if last.content_type == ALERT and len(last.fragment) == 2:
        assert data.endswith(plaintext_alert(description)), data.hex()
        return
    # Protected: TLS 1.3 hides the type in application_data; TLS 1.2 keeps the alert type.
    assert last.content_type in (APPLICATION_DATA, ALERT), last
    if isinstance(failed, _Tampering) and (failed.write_keys or failed.write_protection12):
        assert open_own(failed, last) == (ALERT, bytes((2, description)))
        return
    assert peer is not None, "a protected alert needs the peer to open it"
    with pytest.raises(FatalAlert) as info:
        peer.receive_data(data)
    assert info.value.description == description


def open_own(conn: _Tampering, record: Record, key_index: int = -1, max_seq: int = 64) -> tuple[int, bytes]:
    """Open a record ``conn`` sealed under one of its own write keys (trying sequence numbers); for a
    TLS 1.2 connection, under one of its write protections (``key_index`` into ``write_protection12``)."""
    if conn.write_protection12 and not conn.write_keys:
        return _open_own12(conn.write_protection12[key_index], record, max_seq)
    suite, secret = conn.write_keys[key_index]
    key, iv = traffic_key_iv(suite, secret)
    for seq in range(max_seq):
        try:
            return RecordOpener(suite, key, iv, seq=seq).open(record)
        except BadRecordMac:
            continue
    raise AssertionError("the record does not open under the sender's key")


def _open_own12(sealer: Tls12RecordSealer, record: Record, max_seq: int) -> tuple[int, bytes]:
    """A TLS 1.2 record sealed by ``sealer``'s key: the opener is a copy of the sealer's state (same AEAD
    key, IV and nonce rules; ``_Protection12`` holds them in slots both classes share)."""
    for seq in range(max_seq):
        opener = Tls12RecordOpener.__new__(Tls12RecordOpener)
        for name in type(sealer).__mro__[1].__slots__:
            setattr(opener, name, getattr(sealer, name))
        opener._seq = seq
        opener.consecutive_empty = 0
        try:
            return opener.open(record)
        except BadRecordMac:
            continue
    raise AssertionError("the record does not open under the sender's TLS 1.2 key")


def send_handshake(conn: ClientConnection | ServerConnection, *messages: HandshakeMessage) -> bytes:
    """Queue ``messages`` through ``conn``'s own Output (sealed as its next records, whatever the version
    and key in force) and return everything ``conn`` has to send: a peer saying what its state machine
    would not (a HelloRequest, a renegotiating ClientHello, a message after the handshake)."""
    for message in messages:
        conn._out.send(message)
    return conn.data_to_send()


def encode(*messages: HandshakeMessage) -> bytes:
    return b"".join(encode_handshake(m) for m in messages)
