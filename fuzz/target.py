"""The fuzz target: one input is one hostile conversation against a tlslens endpoint, at any state.

``fuzz_one(data)`` reads its choices from ``data``: which recorded conversation (``fuzz/corpus``), how
many of the peer's genuine records to replay first (so every state of the server and of the client is
reached: before the ClientHello, after a HelloRetryRequest, in 0-RTT, waiting for a client certificate,
after the handshake...), and how to make the next input hostile:

- ``raw``: the rest of ``data`` as it is;
- ``flip``: the genuine rest of the conversation with bytes changed;
- ``inner``: the next protected record opened, its plaintext (content || type || padding) changed, and
  sealed again under the peer's key at the right sequence number, so the change gets past the AEAD;
- ``message``: the next record's handshake messages with one of them changed, cut, extended or replaced
  by random bytes of some handshake type, framed (and sealed) properly;
- ``splice``: the genuine records with one dropped, repeated or moved;
- ``records``: well-framed records of any content type with random bodies.

The input then arrives in chunks cut where ``data`` says, perhaps followed by EOF. The invariant
(h11's fuzz rule, ARCHITECTURE.md): ``receive_data`` raises only ``RemoteProtocolError`` subclasses,
with a fatal alert queued and the connection failed for good, or ``FatalAlert``; anything else (an
IndexError, a KeyError, an AssertionError, a hang) is a bug. A connection that accepts the input stays
usable.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fuzz.transcripts import Connection, PeerRecord, Transcript, act, load_corpus
from tlslens.errors import FatalAlert, LocalProtocolError, RemoteProtocolError
from tlslens.record.deframer import Deframer, encode_plaintext

HANDSHAKE, ALERT, APPLICATION_DATA = 22, 21, 23
MODES = ("raw", "flip", "inner", "message", "splice", "records")


class Choices:
    """Reads decisions from the fuzzer's bytes (zeros once they run out), like libFuzzer's
    FuzzedDataProvider."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def byte(self) -> int:
        if self._pos >= len(self._data):
            return 0
        self._pos += 1
        return self._data[self._pos - 1]

    def int(self, below: int) -> int:
        """A number in [0, below)."""
        if below <= 1:
            return 0
        value = self.byte() | (self.byte() << 8) if below > 256 else self.byte()
        return value % below

    def bytes(self, n: int) -> bytes:
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def rest(self) -> bytes:
        out = self._data[self._pos :]
        self._pos = len(self._data)
        return out

    @property
    def left(self) -> int:
        return len(self._data) - self._pos


def _mutate(c: Choices, data: bytes) -> bytes:
    """Change a few bytes, cut, insert or append, as the choices say."""
    out = bytearray(data)
    for _ in range(1 + c.int(4)):
        how = c.int(5)
        pos = c.int(len(out) + 1)
        if how == 0 and out:  # flip bits
            out[min(pos, len(out) - 1)] ^= c.byte() or 1
        elif how == 1 and out:  # set a byte to an edge value
            out[min(pos, len(out) - 1)] = (0x00, 0x01, 0x7F, 0x80, 0xFF)[c.int(5)]
        elif how == 2:  # cut
            del out[pos : pos + 1 + c.int(64)]
        elif how == 3:  # insert
            out[pos:pos] = c.bytes(1 + c.int(16))
        else:  # append
            out += c.bytes(1 + c.int(64))
    return bytes(out)


def _split_messages(content: bytes) -> list[bytes]:
    out, pos = [], 0
    while len(content) - pos >= 4:
        stop = pos + 4 + int.from_bytes(content[pos + 1 : pos + 4], "big")
        out.append(content[pos:stop])
        pos = stop
    if pos < len(content):
        out.append(content[pos:])
    return out


def _frame_like(record: PeerRecord, content_type: int, content: bytes) -> bytes:
    """Content framed as ``record`` was: sealed under its key (at its sequence number), or in clear."""
    if record.inner is not None:
        return record.reseal(content + bytes((content_type,)))
    return encode_plaintext(content_type, content) if content else bytes((content_type, 3, 3, 0, 0))


def hostile_input(c: Choices, t: Transcript, start: int) -> bytes:
    """What the peer sends instead of its genuine records from ``start`` on."""
    rest = t.records[start:]
    genuine = b"".join(r.raw for r in rest)
    mode = MODES[c.int(len(MODES))]
    if mode == "raw" or not rest:
        return c.rest()
    if mode == "flip":
        return _mutate(c, genuine[: 1 + c.int(len(genuine))])
    record, after = rest[0], b"".join(r.raw for r in rest[1:]) if c.int(2) else b""
    if mode == "inner":
        if record.inner is None:
            return _mutate(c, record.raw) + after
        return record.reseal(_mutate(c, record.inner)) + after
    if mode == "message":
        if record.inner is not None:
            content_type, content = record.inner.rstrip(b"\x00")[-1:], record.inner.rstrip(b"\x00")[:-1]
            ctype = content_type[0] if content_type else HANDSHAKE
        else:
            ctype, content = record.content_type, record.raw[5:]
        messages = _split_messages(content) or [b""]
        i = c.int(len(messages))
        how = c.int(4)
        if how == 0:  # the body changed, the length field kept consistent
            body = _mutate(c, messages[i][4:])
            messages[i] = messages[i][:1] + len(body).to_bytes(3, "big") + body
        elif how == 1:  # the whole message changed, header included
            messages[i] = _mutate(c, messages[i])
        elif how == 2:  # another type with this body
            messages[i] = bytes((c.byte(),)) + messages[i][1:]
        else:  # a message of some type with random bytes
            body = c.bytes(c.int(200))
            messages[i] = bytes((c.byte(),)) + len(body).to_bytes(3, "big") + body
        return _frame_like(record, ctype if ctype in (HANDSHAKE, ALERT, APPLICATION_DATA) else HANDSHAKE,
                           b"".join(messages)) + after  # fmt: skip
    if mode == "splice":
        records = [r.raw for r in rest]
        i = c.int(len(records))
        how = c.int(3)
        if how == 0:
            del records[i]
        elif how == 1:
            records.insert(i, records[i])
        else:
            records.insert(c.int(len(records) + 1), records.pop(i))
        return b"".join(records)
    out = b""  # records
    for _ in range(1 + c.int(4)):
        ctype = (20, 21, 22, 23, c.byte())[c.int(5)]
        body = c.bytes(c.int(300))
        out += bytes((ctype, 3, 3)) + len(body).to_bytes(2, "big") + body
    return out


def _chunks(c: Choices, data: bytes) -> list[bytes]:
    cuts = sorted({c.int(len(data) + 1) for _ in range(c.int(4))})
    out, last = [], 0
    for cut in cuts:
        if cut > last:
            out.append(data[last:cut])
            last = cut
    if last < len(data):
        out.append(data[last:])
    return out


def start(t: Transcript, n: int) -> Connection:
    """A fresh endpoint after the first ``n`` genuine peer records (and its own actions until then)."""
    conn = t.endpoint.build()
    conn.data_to_send()
    chunk = 0
    for record in t.records[:n]:
        while chunk <= record.chunk:  # the endpoint's own actions before this chunk, as recorded
            for action in t.actions_before(chunk):
                act(conn, action)
            chunk += 1
        conn.receive_data(record.raw)
        conn.data_to_send()
    return conn


def check(conn: Connection, chunks: list[bytes]) -> str:
    """Feed ``chunks``; enforce the invariant. Returns how it ended (for statistics)."""
    try:
        for chunk in chunks:
            conn.receive_data(chunk)
    except RemoteProtocolError as exc:
        out = conn.data_to_send()
        records = Deframer().feed(out) if out else []
        assert records, f"{type(exc).__name__} without an alert queued: {exc}"
        last = records[-1]
        assert last.content_type in (ALERT, APPLICATION_DATA), last
        if last.content_type == ALERT:
            assert last.fragment[0] == 2, "the alert of a failure must be fatal"
        assert conn.closed
        try:
            conn.receive_data(b"\x16")
        except LocalProtocolError:
            pass
        else:
            raise AssertionError("a failed connection took more data")
        return type(exc).__name__
    except FatalAlert:
        assert conn.closed
        return "FatalAlert"
    conn.data_to_send()
    if conn.handshake_complete and not conn.closed:
        with contextlib.suppress(LocalProtocolError):  # our direction may be closed
            conn.send_data(b"still usable")
        conn.data_to_send()
    return "accepted"


def fuzz_one(data: bytes, corpus: tuple[Transcript, ...] | None = None) -> str:
    """One hostile conversation; raises (an AssertionError, or whatever escaped) on a bug."""
    corpus = corpus if corpus is not None else load_corpus()
    c = Choices(data)
    t = corpus[c.int(len(corpus))]
    n = c.int(len(t.records) + 1)
    conn = start(t, n)
    if conn.closed:
        return "closed"
    payload = hostile_input(c, t, n)
    chunks = _chunks(c, payload)
    if c.int(4) == 0:
        chunks.append(b"")  # then EOF
    return check(conn, chunks)


__all__ = ["MODES", "Choices", "check", "fuzz_one", "hostile_input", "start"]
