"""Recorded conversations the fuzz target starts from (``fuzz/corpus/*.json``).

A transcript holds one tlslens endpoint, described well enough to rebuild it byte for byte (role,
certificates and keys, a ``DeterministicProvider`` seed and a fixed clock, the ticket keys, the
session it resumes...), and what its peer sent to it, in the chunks it arrived. Rebuilding the
endpoint and feeding it those chunks replays the conversation exactly: its output is the recorded
one (``Transcript.replay`` checks the digest). The peer's write secrets (from its key log) let the
fuzzer open the peer's protected records, change what is inside, and seal them again under the right
key and sequence number, so mutations reach the decoders and the state machines behind the AEAD.

``fuzz/record.py`` makes the corpus: tlslens against tlslens, and tlslens against ``openssl s_client``
and ``openssl s_server``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.crypto.key_schedule import next_traffic_secret, traffic_key_iv
from tlslens.crypto.provider import DeterministicProvider
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.record.deframer import Deframer, Record
from tlslens.session.cache import Session
from tlslens.session.replay import MemoryReplayStore
from tlslens.session.tickets import TicketKeyRing
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import CipherSuite

CORPUS = Path(__file__).resolve().parent / "corpus"
APPLICATION_DATA = 23

Connection = ClientConnection | ServerConnection


@dataclass(frozen=True)
class Endpoint:
    """How to rebuild the tlslens side of a recorded conversation (JSON-friendly)."""

    role: str  # "client" or "server"
    seed: str  # hex
    clock: float
    certificate_chain: tuple[str, ...] = ()  # PEM, leaf first: the server's, or the client's own
    private_key: str = ""  # PEM (PKCS#8)
    trust_root: str = ""  # PEM: the client's trust anchor, or the server's client-certificate CA
    server_name: str | None = "localhost"
    groups: tuple[str, ...] = ("x25519",)
    key_share_groups: tuple[str, ...] | None = None
    alpn: tuple[str, ...] = ()
    cookie_secret: str = "63" * 32
    ticket_keys: str = ""  # TicketKeyRing.export(), server role
    max_early_data_size: int = 0
    session: str = ""  # hex Session.to_bytes(), client role
    early_data: str = ""  # hex, client role

    def build(self) -> Connection:
        """A fresh endpoint, in the state it had before the peer's first byte arrived."""
        provider = DeterministicProvider(seed=bytes.fromhex(self.seed), clock=self.clock)
        chain, key, root = _pki(self.certificate_chain, self.private_key, self.trust_root)
        if self.role == "server":
            ring = (
                TicketKeyRing.from_export(self.ticket_keys, provider=provider) if self.ticket_keys else None
            )
            config = ServerConfig(
                certificate_chain=chain,
                private_key=key,
                groups=self.groups,
                alpn_protocols=self.alpn,
                cookie_secret=bytes.fromhex(self.cookie_secret),
                client_verifier=_verifier(self.trust_root) if root is not None else None,
                ticket_keys=ring,
                replay_store=MemoryReplayStore(),
                max_early_data_size=self.max_early_data_size,
                provider=provider,
                certificate_compression=(),  # (compressed bytes depend on the library's version)
            )
            return ServerConnection(config)
        config = ClientConfig(
            verifier=_verifier(self.trust_root),
            groups=self.groups,
            key_share_groups=self.key_share_groups,
            alpn_protocols=self.alpn,
            certificate_chain=chain or None,
            private_key=key,
            provider=provider,
            certificate_compression=(),  # replayable on any machine, whatever is installed
        )
        session = Session.from_bytes(bytes.fromhex(self.session)) if self.session else None
        early = bytes.fromhex(self.early_data) if self.early_data else None
        return ClientConnection(config, self.server_name, session=session, early_data=early)


@functools.cache
def _pki(chain: tuple[str, ...], key: str, root: str) -> tuple[list[x509.Certificate], Any, Any]:
    certs = [x509.load_pem_x509_certificate(c.encode()) for c in chain]
    private = serialization.load_pem_private_key(key.encode(), None) if key else None
    anchor = x509.load_pem_x509_certificate(root.encode()) if root else None
    return certs, private, anchor


@functools.cache
def _verifier(root: str) -> WebPkiVerifier:
    return WebPkiVerifier([x509.load_pem_x509_certificate(root.encode())])


@dataclass(frozen=True)
class PeerRecord:
    """One record the peer sent: as framed, the chunk it arrived in, and (when it is protected under a
    key we know) the inner plaintext with the key and sequence number that sealed it."""

    raw: bytes
    content_type: int
    chunk: int = 0
    inner: bytes | None = None  # content || type || padding, when protected and opened
    key: tuple[Tls13Suite, bytes] | None = None  # (suite, write secret)
    seq: int = 0

    def reseal(self, inner: bytes) -> bytes:
        """``inner`` as a protected record under this record's key and sequence number, unchecked."""
        assert self.key is not None
        suite, secret = self.key
        key, iv = traffic_key_iv(suite, secret)
        header = bytes((APPLICATION_DATA, 3, 3)) + (len(inner) + suite.tag_len).to_bytes(2, "big")
        nonce = (int.from_bytes(iv, "big") ^ self.seq).to_bytes(len(iv), "big")
        return header + suite.aead(key).encrypt(nonce, inner, header)


@dataclass(frozen=True)
class Transcript:
    name: str
    endpoint: Endpoint
    suite: str  # what the conversation negotiated
    peer_secrets: dict[str, str]  # the peer's write secrets by key log label (hex)
    peer_chunks: tuple[str, ...]  # hex, as they arrived
    output_digest: str  # SHA-256 of everything the endpoint sent over the whole conversation
    notes: str = ""
    actions: tuple[dict[str, Any], ...] = ()  # what the endpoint did on its own, before peer chunk "at"
    records: tuple[PeerRecord, ...] = field(default=(), compare=False, repr=False)

    @property
    def chunks(self) -> list[bytes]:
        return [bytes.fromhex(c) for c in self.peer_chunks]

    # --- replay ---------------------------------------------------------------------------------

    def actions_before(self, chunk_index: int) -> list[dict[str, Any]]:
        return [a for a in self.actions if a["at"] == chunk_index]

    def replay(self) -> Connection:
        """Feed every recorded chunk (and repeat the endpoint's own actions where they happened); the
        endpoint's output must be the recorded one."""
        conn = self.endpoint.build()
        out = hashlib.sha256(conn.data_to_send())
        for i, chunk in enumerate([*self.chunks, None]):
            for action in self.actions_before(i):
                act(conn, action)
                out.update(conn.data_to_send())
            if chunk is not None:
                conn.receive_data(chunk)
                out.update(conn.data_to_send())
        if out.hexdigest() != self.output_digest:
            raise AssertionError(
                f"{self.name}: the replay diverged from the recording (the engine now sends other bytes:"
                " re-record the corpus with `python fuzz/record.py`)"
            )
        return conn

    # --- the peer's records, opened where we know its keys ------------------------------------------

    def with_records(self) -> Transcript:
        return dataclasses.replace(self, records=tuple(_open_peer_records(self)))

    # --- files ------------------------------------------------------------------------------------

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data.pop("records")
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        data = json.loads(text)
        endpoint = data.pop("endpoint")
        for name in ("certificate_chain", "groups", "alpn"):
            endpoint[name] = tuple(endpoint[name])
        if endpoint["key_share_groups"] is not None:
            endpoint["key_share_groups"] = tuple(endpoint["key_share_groups"])
        data["peer_chunks"] = tuple(data["peer_chunks"])
        data["actions"] = tuple(data.get("actions", ()))
        return cls(endpoint=Endpoint(**endpoint), **data)


def act(conn: Connection, action: dict[str, Any]) -> None:
    """Do what the recorded endpoint did on its own: send data, a KeyUpdate, or close_notify."""
    what = action["do"]
    if what == "send":
        conn.send_data(bytes.fromhex(action["data"]))
    elif what == "key_update":
        conn.update_keys(request_peer=bool(action["request_peer"]))
    elif what == "close":
        conn.close()
    else:
        raise ValueError(f"unknown action {what!r}")


def _peer_labels(role: str) -> tuple[str, ...]:
    peer = "CLIENT" if role == "server" else "SERVER"
    early = ("CLIENT_EARLY_TRAFFIC_SECRET",) if peer == "CLIENT" else ()
    return (*early, f"{peer}_HANDSHAKE_TRAFFIC_SECRET", f"{peer}_TRAFFIC_SECRET_0")


def _peer_keys(t: Transcript) -> Iterator[tuple[Tls13Suite, bytes]]:
    """The peer's write keys in the order it used them (application keys after KeyUpdates derived)."""
    suite = TLS13_SUITES[CipherSuite[t.suite]]
    secret = b""
    for label in _peer_labels(t.endpoint.role):
        if label in t.peer_secrets:
            secret = bytes.fromhex(t.peer_secrets[label])
            yield suite, secret
    while secret:
        secret = next_traffic_secret(suite, secret)
        yield suite, secret


def _open_peer_records(t: Transcript) -> Iterator[PeerRecord]:
    keys = _peer_keys(t)
    current: tuple[Tls13Suite, bytes] | None = None
    seq = 0
    deframer = Deframer()
    for i, chunk in enumerate(t.chunks):
        for record in deframer.feed(chunk):
            raw = _frame(record)
            if record.content_type != APPLICATION_DATA:
                yield PeerRecord(raw, record.content_type, i)
                continue
            opened = _try_open(record, current, seq)
            tried = 0
            while opened is None and tried < 4:  # the next key (the peer changed keys), from seq 0
                current = next(keys, None)
                seq = 0
                tried += 1
                if current is None:
                    break
                opened = _try_open(record, current, seq)
            if opened is None:  # a record under a key we do not know (0-RTT we have no secret for...)
                yield PeerRecord(raw, record.content_type, i)
                continue
            yield PeerRecord(raw, record.content_type, i, opened, current, seq)
            seq += 1


def _try_open(record: Record, key: tuple[Tls13Suite, bytes] | None, seq: int) -> bytes | None:
    if key is None:
        return None
    suite, secret = key
    k, iv = traffic_key_iv(suite, secret)
    header = _frame(record)[:5]
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(len(iv), "big")
    try:
        return suite.aead(k).decrypt(nonce, record.fragment, header)
    except Exception:  # InvalidTag: not this key
        return None


def _frame(record: Record) -> bytes:
    return (
        bytes((record.content_type,))
        + record.legacy_version.to_bytes(2, "big")
        + len(record.fragment).to_bytes(2, "big")
        + record.fragment
    )


@functools.cache
def load_corpus(directory: str = str(CORPUS)) -> tuple[Transcript, ...]:
    """Every transcript in ``directory``, with the peer's records opened."""
    paths = sorted(Path(directory).glob("*.json"))
    return tuple(Transcript.from_json(p.read_text()).with_records() for p in paths)


__all__ = ["CORPUS", "Endpoint", "PeerRecord", "Transcript", "act", "load_corpus"]
