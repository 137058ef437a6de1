"""Tls12RecordSealer / Tls12RecordOpener: round trips for the six suites, the RFC 5246/5288/7905 record
layout rebuilt with the bare AEAD, tampering, size and usage limits. (Records exchanged with a real
OpenSSL in both directions: tests/crypto/test_tls12_openssl_session.py.)"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlslens.crypto.suites12 import TLS12_SUITES, Tls12Suite
from tlslens.errors import BadRecordMac, LocalProtocolError, RecordOverflow, UnexpectedMessage
from tlslens.record.deframer import MAX_PLAINTEXT, Deframer, Record
from tlslens.record.protection12 import SEQ_LIMIT, Tls12RecordOpener, Tls12RecordSealer
from tlslens.wire.enums import CipherSuite

SUITES = [pytest.param(s, id=s.name) for s in TLS12_SUITES.values()]
suites = st.sampled_from(list(TLS12_SUITES.values()))
GCM = TLS12_SUITES[CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
CHACHA = TLS12_SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]


def _key_iv(suite: Tls12Suite) -> tuple[bytes, bytes]:
    return bytes(range(1, suite.key_len + 1)), bytes(range(100, 100 + suite.fixed_iv_len))


def _pair(suite: Tls12Suite = GCM, **kw: int) -> tuple[Tls12RecordSealer, Tls12RecordOpener]:
    key, iv = _key_iv(suite)
    return Tls12RecordSealer(suite, key, iv, **kw), Tls12RecordOpener(suite, key, iv, **kw)


def _records(wire: bytes) -> list[Record]:
    deframer = Deframer(max_plaintext_fragment=MAX_PLAINTEXT + 2048)  # 1.2 protects handshake and alerts
    records = deframer.feed(wire)
    assert deframer.buffered == 0
    return records


# --- round trips and layout ----------------------------------------------------------------------------


@given(
    suites,
    st.sampled_from([21, 22, 23]),
    st.binary(min_size=1, max_size=3000),
    st.sampled_from([MAX_PLAINTEXT, 1, 7, 1000]),
)
def test_seal_then_open_round_trips(
    suite: Tls12Suite, content_type: int, data: bytes, max_fragment: int
) -> None:
    sealer, opener = _pair(suite)
    wire = sealer.seal(content_type, data, max_fragment=max_fragment)
    records = _records(wire)
    opened = [opener.open(r) for r in records]
    assert b"".join(c for _, c in opened) == data
    assert {t for t, _ in opened} == {content_type} == {r.content_type for r in records}  # real type kept
    assert {r.legacy_version for r in records} == {0x0303}
    assert len(records) == sealer.seq == opener.seq == -(-len(data) // max_fragment)
    assert len(wire) == len(data) + len(records) * (5 + suite.record_iv_len + suite.tag_len)


@pytest.mark.parametrize("suite", SUITES)
def test_record_layout_is_the_rfc_one(suite: Tls12Suite) -> None:
    """Rebuild record 5 by hand: AAD = seq || type || version || plaintext length; AES-GCM nonce = salt ||
    explicit nonce (the sequence number, sent); ChaCha20-Poly1305 nonce = IV XOR seq, nothing sent."""
    key, iv = _key_iv(suite)
    sealer = Tls12RecordSealer(suite, key, iv, seq=5)
    data = b"application bytes"
    aad = struct.pack(">QBHH", 5, 23, 0x0303, len(data))
    if suite.record_iv_len:
        explicit = (5).to_bytes(8, "big")
        fragment = explicit + suite.aead(key).encrypt(iv + explicit, data, aad)
    else:
        nonce = (int.from_bytes(iv, "big") ^ 5).to_bytes(12, "big")
        fragment = suite.aead(key).encrypt(nonce, data, aad)
    assert sealer.seal(23, data) == struct.pack(">BHH", 23, 0x0303, len(fragment)) + fragment


def test_gcm_opener_uses_the_explicit_nonce_the_peer_sent() -> None:
    key, iv = _key_iv(GCM)
    explicit = b"\xfe" * 8  # not the sequence number: allowed, the nonce is the peer's choice
    aad = struct.pack(">QBHH", 0, 23, 0x0303, 3)
    fragment = explicit + GCM.aead(key).encrypt(iv + explicit, b"abc", aad)
    _, opener = _pair(GCM)
    assert opener.open(Record(23, 0x0303, fragment)) == (23, b"abc")


@pytest.mark.parametrize("suite", SUITES)
def test_seal_into_appends_what_seal_returns(suite: Tls12Suite) -> None:
    a, _ = _pair(suite)
    b, _ = _pair(suite)
    out = bytearray(b"queued")
    for data, limit in [(b"x" * 40000, MAX_PLAINTEXT), (b"y" * 50, 16)]:
        expected = a.seal(23, data, max_fragment=limit)
        start = len(out)
        assert b.seal_into(out, 23, memoryview(data), max_fragment=limit) == len(expected)
        assert out[start:] == expected
    assert out.startswith(b"queued") and a.seq == b.seq


def test_empty_application_data_is_allowed_and_counted() -> None:
    sealer, opener = _pair()
    records = _records(sealer.seal(23, b"") + sealer.seal(23, b"") + sealer.seal(23, b"data"))
    assert [opener.open(r) for r in records] == [(23, b""), (23, b""), (23, b"data")]
    assert opener.consecutive_empty == 0
    sealer2, opener2 = _pair()
    opener2.open(_records(sealer2.seal(23, b""))[0])
    assert opener2.consecutive_empty == 1


# --- the peer's faults ------------------------------------------------------------------------------


@given(suites, st.binary(min_size=1, max_size=200), st.data())
def test_any_flipped_bit_is_bad_record_mac(suite: Tls12Suite, data: bytes, draw: st.DataObject) -> None:
    sealer, opener = _pair(suite)
    record = _records(sealer.seal(23, data))[0]
    bit = draw.draw(st.integers(0, len(record.fragment) * 8 - 1))
    tampered = bytearray(record.fragment)
    tampered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadRecordMac):
        opener.open(record._replace(fragment=bytes(tampered)))


@pytest.mark.parametrize("suite", SUITES)
def test_header_fields_are_authenticated(suite: Tls12Suite) -> None:
    sealer, _ = _pair(suite)
    record = _records(sealer.seal(23, b"payload"))[0]
    for changed in (record._replace(content_type=22), record._replace(legacy_version=0x0301)):
        _, opener = _pair(suite)
        with pytest.raises(BadRecordMac):
            opener.open(changed)


def test_records_out_of_order_fail() -> None:
    sealer, opener = _pair(CHACHA)
    _, second = _records(sealer.seal(23, b"one") + sealer.seal(23, b"two"))
    with pytest.raises(BadRecordMac):
        opener.open(second)


def test_too_short_unknown_type_and_empty_handshake_records() -> None:
    _, opener = _pair(GCM)
    with pytest.raises(BadRecordMac, match="too short"):
        opener.open(Record(23, 0x0303, bytes(8 + 15)))
    for ctype in (20, 24, 99):
        with pytest.raises(UnexpectedMessage):
            opener.open(Record(ctype, 0x0303, bytes(40)))
    key, iv = _key_iv(GCM)
    explicit = bytes(8)
    empty = explicit + GCM.aead(key).encrypt(iv + explicit, b"", struct.pack(">QBHH", 0, 22, 0x0303, 0))
    with pytest.raises(UnexpectedMessage, match="zero-length"):
        opener.open(Record(22, 0x0303, empty))


# --- limits --------------------------------------------------------------------------------------------


def test_record_size_limit_counts_plaintext_in_tls12() -> None:
    sealer, _ = _pair(max_plaintext=100)
    records = _records(sealer.seal(23, b"z" * 250))
    assert [len(r.fragment) - 24 for r in records] == [100, 100, 50]  # 100, not 99 as in TLS 1.3
    big, _ = _pair(max_plaintext=2**14 + 1)  # a TLS 1.3 value from the peer: clamped to 2^14
    assert big.max_plaintext == MAX_PLAINTEXT
    sender, _ = _pair()
    _, receiver = _pair(max_plaintext=100)
    ok, too_big = _records(sender.seal(23, b"a" * 100) + sender.seal(23, b"b" * 101))
    assert receiver.open(ok) == (23, b"a" * 100)
    with pytest.raises(RecordOverflow):
        receiver.open(too_big)
    with pytest.raises(LocalProtocolError):
        _pair(max_plaintext=0)


def test_sealer_refuses_what_tls12_cannot_protect() -> None:
    sealer, _ = _pair()
    for call in (
        lambda: sealer.seal(23, b"x", padding=1),
        lambda: sealer.seal(20, b"\x01"),
        lambda: sealer.seal(22, b""),
        lambda: sealer.seal(23, b"x", max_fragment=0),
    ):
        with pytest.raises(LocalProtocolError):
            call()
    assert sealer.seq == 0
    key, iv = _key_iv(GCM)
    with pytest.raises(LocalProtocolError):
        Tls12RecordSealer(GCM, key, iv + b"\x00")
    with pytest.raises(LocalProtocolError):
        Tls12RecordSealer(GCM, key[:-1], iv)
    with pytest.raises(LocalProtocolError):
        Tls12RecordSealer(GCM, key, iv, seq=SEQ_LIMIT + 1)


@pytest.mark.parametrize("suite", SUITES)
def test_usage_limit_and_the_time_to_close(suite: Tls12Suite) -> None:
    limit = min(suite.confidentiality_limit, SEQ_LIMIT)
    key, iv = _key_iv(suite)
    sealer = Tls12RecordSealer(suite, key, iv, seq=limit - 2)
    assert sealer.needs_key_update and sealer.record_limit == limit
    assert not Tls12RecordSealer(suite, key, iv).needs_key_update
    with pytest.raises(LocalProtocolError, match="close the connection"):
        sealer.seal(23, b"x" * 3, max_fragment=1)  # three records, two left
    sealer.seal(23, b"xy", max_fragment=1)
    with pytest.raises(LocalProtocolError):
        sealer.seal(23, b"x")


def test_peer_sequence_numbers_must_not_wrap() -> None:
    key, iv = _key_iv(CHACHA)
    opener = Tls12RecordOpener(CHACHA, key, iv, seq=SEQ_LIMIT)
    with pytest.raises(UnexpectedMessage, match="wrap"):
        opener.open(Record(23, 0x0303, bytes(20)))


def test_repr_shows_no_key() -> None:
    sealer, opener = _pair()
    key, _ = _key_iv(GCM)
    assert key.hex() not in repr(sealer) and "seq=0" in repr(opener)
