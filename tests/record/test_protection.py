"""RecordSealer / RecordOpener: round trips for every suite, tampering, padding, size and usage limits."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tlslens.crypto.suites import (
    TLS13_SUITES,
    TLS_AES_128_GCM_SHA256,
    TLS_CHACHA20_POLY1305_SHA256,
    Tls13Suite,
)
from tlslens.errors import (
    BadRecordMac,
    LocalProtocolError,
    RecordOverflow,
    RemoteProtocolError,
    UnexpectedMessage,
)
from tlslens.record import (
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    MAX_PLAINTEXT,
    Deframer,
    Record,
    RecordOpener,
    RecordSealer,
)

SUITES = [pytest.param(s, id=s.name) for s in TLS13_SUITES.values()]
suites = st.sampled_from(list(TLS13_SUITES.values()))
content_types = st.sampled_from([21, 22, 23])


def _key_iv(suite: Tls13Suite) -> tuple[bytes, bytes]:
    return bytes(range(1, suite.key_len + 1)), bytes(range(100, 100 + suite.iv_len))


def _pair(suite: Tls13Suite = TLS_AES_128_GCM_SHA256, **kw: int) -> tuple[RecordSealer, RecordOpener]:
    key, iv = _key_iv(suite)
    return RecordSealer(suite, key, iv, **kw), RecordOpener(suite, key, iv, **kw)


def _raw_record(suite: Tls13Suite, inner: bytes, seq: int = 0, header: bytes | None = None) -> Record:
    """A record built with the bare AEAD, to reach inputs a well-behaved sealer never produces."""
    key, iv = _key_iv(suite)
    n = len(inner) + suite.tag_len
    aad = header or b"\x17\x03\x03" + n.to_bytes(2, "big")
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
    return Record(aad[0], int.from_bytes(aad[1:3], "big"), suite.aead(key).encrypt(nonce, inner, aad))


def _open_all(opener: RecordOpener, wire: bytes) -> list[tuple[int, bytes]]:
    deframer = Deframer()
    out = [opener.open(r) for r in deframer.feed(wire)]
    assert deframer.buffered == 0
    return out


# --- round trips ---------------------------------------------------------------------------------------


@given(
    suites,
    content_types,
    st.binary(min_size=1, max_size=3000),
    st.integers(min_value=0, max_value=300),
    st.sampled_from([MAX_PLAINTEXT, 1, 7, 512, 1000]),
)
@example(TLS_AES_128_GCM_SHA256, 23, b"x" * (MAX_PLAINTEXT + 1), 0, MAX_PLAINTEXT)
def test_seal_then_open_round_trips_for_every_suite(
    suite: Tls13Suite, content_type: int, data: bytes, padding: int, max_fragment: int
) -> None:
    sealer, opener = _pair(suite)
    wire = sealer.seal(content_type, data, padding=padding, max_fragment=max_fragment)
    opened = _open_all(opener, wire)
    assert b"".join(c for _, c in opened) == data
    assert {t for t, _ in opened} == {content_type}
    assert all(0 < len(c) <= max_fragment for _, c in opened)
    assert len(opened) == sealer.seq == opener.seq == -(-len(data) // min(max_fragment, MAX_PLAINTEXT))
    assert wire[:3] == b"\x17\x03\x03"
    assert len(wire) == len(data) + len(opened) * (5 + 1 + padding + suite.tag_len)


@pytest.mark.parametrize("suite", SUITES)
def test_records_carry_the_sequence_number_in_the_nonce(suite: Tls13Suite) -> None:
    sealer, opener = _pair(suite)
    first, second = sealer.seal(23, b"same"), sealer.seal(23, b"same")
    assert first != second
    with pytest.raises(BadRecordMac):
        opener.open(Deframer().feed(second)[0])  # opener expects seq 0


@pytest.mark.parametrize("suite", SUITES)
def test_seal_into_appends_what_seal_returns(suite: Tls13Suite) -> None:
    a, _ = _pair(suite)
    b, _ = _pair(suite)
    out = bytearray(b"already queued")
    for data, padding, limit in [
        (b"x" * 40000, 0, MAX_PLAINTEXT),
        (b"hello", 3, MAX_PLAINTEXT),
        (b"y" * 50, 0, 16),
    ]:
        expected = a.seal(23, data, padding=padding, max_fragment=limit)
        start = len(out)
        assert b.seal_into(out, 23, memoryview(data), padding=padding, max_fragment=limit) == len(expected)
        assert out[start:] == expected
    assert out.startswith(b"already queued")
    assert a.seq == b.seq


def test_sealer_accepts_bytearray_and_memoryview() -> None:
    sealer, opener = _pair()
    wire = sealer.seal(23, bytearray(b"abc")) + sealer.seal(23, memoryview(b"def"))
    assert _open_all(opener, wire) == [(23, b"abc"), (23, b"def")]


def test_empty_application_data_is_one_record_and_counts_as_empty() -> None:
    sealer, opener = _pair()
    wire = sealer.seal(23, b"") + sealer.seal(23, b"", padding=10) + sealer.seal(23, b"data")
    deframer = Deframer()
    records = deframer.feed(wire)
    assert opener.open(records[0]) == (23, b"")
    assert opener.consecutive_empty == 1
    assert opener.open(records[1]) == (23, b"")
    assert opener.consecutive_empty == 2
    assert opener.open(records[2]) == (23, b"data")
    assert opener.consecutive_empty == 0


@pytest.mark.parametrize("content_type", [21, 22])
def test_empty_fragments_of_other_types_are_refused(content_type: int) -> None:
    sealer, _ = _pair()
    with pytest.raises(LocalProtocolError):
        sealer.seal(content_type, b"")
    assert sealer.seq == 0


@pytest.mark.parametrize("content_type", [0, -1, 20, 24, 256])
def test_only_alert_handshake_and_application_data_can_be_protected(content_type: int) -> None:
    sealer, _ = _pair()
    with pytest.raises(LocalProtocolError):
        sealer.seal(content_type, b"x")
    with pytest.raises(LocalProtocolError):
        sealer.seal(content_type, b"x", padding=1)


def test_padding_is_zeros_after_the_inner_content_type() -> None:
    suite = TLS_AES_128_GCM_SHA256
    sealer, _ = _pair(suite)
    key, iv = _key_iv(suite)
    record = Deframer().feed(sealer.seal(22, b"msg", padding=5))[0]
    header = b"\x17\x03\x03" + len(record.fragment).to_bytes(2, "big")
    inner = suite.aead(key).decrypt(iv, record.fragment, header)  # seq 0: nonce == iv
    assert inner == b"msg\x16" + bytes(5)


# --- tampering -----------------------------------------------------------------------------------------


def _check_flip(suite: Tls13Suite, wire: bytes, bit: int) -> None:
    """Flip one bit: the stream must fail with a RemoteProtocolError or stay incomplete (truncated at EOF)."""
    flipped = bytearray(wire)
    flipped[bit // 8] ^= 1 << (bit % 8)
    _, opener = _pair(suite)
    deframer = Deframer()
    try:
        for record in deframer.feed(flipped):
            opener.open(record)
    except RemoteProtocolError as exc:
        if bit // 8 not in (0, 3, 4):  # version bytes (AAD) or body: only authentication can catch it
            assert isinstance(exc, BadRecordMac)
        return
    # Nothing raised: only possible when the length grew, so the record never completed.
    assert bit // 8 in (3, 4)
    assert deframer.buffered


@pytest.mark.parametrize("suite", SUITES)
def test_flipping_any_bit_of_a_small_record_is_detected(suite: Tls13Suite) -> None:
    sealer, _ = _pair(suite)
    wire = sealer.seal(21, b"\x01\x00")
    for bit in range(len(wire) * 8):
        _check_flip(suite, wire, bit)


@given(suites, st.binary(max_size=2000), st.integers(min_value=0, max_value=40), st.data())
def test_flipping_any_single_bit_is_detected(
    suite: Tls13Suite, data: bytes, padding: int, draw: st.DataObject
) -> None:
    sealer, _ = _pair(suite)
    wire = sealer.seal(23, data, padding=padding)
    _check_flip(suite, wire, draw.draw(st.integers(min_value=0, max_value=len(wire) * 8 - 1)))


@given(suites, st.binary(max_size=400), st.integers(min_value=0, max_value=3))
def test_arbitrary_fragments_raise_only_remote_protocol_errors(
    suite: Tls13Suite, fragment: bytes, seq: int
) -> None:
    _, opener = _pair(suite, seq=seq)
    with pytest.raises(RemoteProtocolError):
        opener.open(Record(23, 0x0303, fragment))


def test_wrong_key_fails_authentication() -> None:
    sealer, _ = _pair()
    other = RecordOpener(TLS_AES_128_GCM_SHA256, bytes(16), bytes(12))
    with pytest.raises(BadRecordMac):
        other.open(Deframer().feed(sealer.seal(23, b"secret"))[0])


# --- content type and padding rules (RFC 8446 §5.2, §5.4) ----------------------------------------------


@pytest.mark.parametrize("outer", [20, 21, 22])
def test_protected_record_must_have_outer_type_application_data(outer: int) -> None:
    sealer, opener = _pair()
    record = Deframer().feed(sealer.seal(22, b"msg"))[0]
    with pytest.raises(UnexpectedMessage):
        opener.open(record._replace(content_type=outer))


@pytest.mark.parametrize("zeros", [0, 1, 100])
def test_padding_only_plaintext_is_an_unexpected_message(zeros: int) -> None:
    _, opener = _pair()
    with pytest.raises(UnexpectedMessage):
        opener.open(_raw_record(TLS_AES_128_GCM_SHA256, bytes(zeros)))


@pytest.mark.parametrize(
    "inner_type", [20, 24, 0x63, 0xFF], ids=["change_cipher_spec", "heartbeat", "0x63", "0xff"]
)
def test_inner_content_type_must_be_alert_handshake_or_application_data(inner_type: int) -> None:
    _, opener = _pair()
    with pytest.raises(UnexpectedMessage):
        opener.open(_raw_record(TLS_AES_128_GCM_SHA256, b"\x01" + bytes((inner_type,)) + bytes(3)))


def test_content_may_end_in_zero_bytes_before_the_type() -> None:
    _, opener = _pair()
    assert opener.open(_raw_record(TLS_AES_128_GCM_SHA256, b"ab\x00\x00\x17\x00\x00")) == (23, b"ab\x00\x00")


def test_version_in_the_header_is_authenticated() -> None:
    _, opener = _pair()
    record = _raw_record(TLS_AES_128_GCM_SHA256, b"x\x17", header=b"\x17\x03\x01\x00\x12")
    assert opener.open(record) == (23, b"x")
    _, opener = _pair()
    with pytest.raises(BadRecordMac):
        opener.open(record._replace(legacy_version=0x0303))


# --- size limits ---------------------------------------------------------------------------------------


def test_ciphertext_over_2_14_plus_256_overflows() -> None:
    _, opener = _pair()
    with pytest.raises(RecordOverflow):
        opener.open(Record(23, 0x0303, bytes(MAX_CIPHERTEXT + 1)))


@pytest.mark.parametrize("suite", SUITES)
def test_inner_plaintext_over_2_14_plus_1_overflows(suite: Tls13Suite) -> None:
    _, opener = _pair(suite)
    assert opener.open(_raw_record(suite, bytes(MAX_PLAINTEXT) + b"\x17")) == (23, bytes(MAX_PLAINTEXT))
    _, opener = _pair(suite)
    with pytest.raises(RecordOverflow):
        opener.open(_raw_record(suite, bytes(MAX_PLAINTEXT) + b"\x17\x00"))


def test_opener_enforces_the_record_size_limit_we_advertised() -> None:
    """RFC 8449: in TLS 1.3 the limit counts the whole TLSInnerPlaintext, content type included."""
    suite = TLS_AES_128_GCM_SHA256
    _, opener = _pair(suite, max_plaintext=64)
    assert opener.max_plaintext == 64
    assert opener.open(_raw_record(suite, bytes(63) + b"\x17")) == (23, bytes(63))
    with pytest.raises(RecordOverflow):
        opener.open(_raw_record(suite, bytes(64) + b"\x17", seq=1))


def test_sealer_honours_the_peers_record_size_limit() -> None:
    sealer, opener = _pair(max_plaintext=64)
    wire = sealer.seal(23, bytes(200))
    lengths = [len(r.fragment) - 16 for r in Deframer().feed(wire)]
    assert lengths == [64, 64, 64, 200 - 3 * 63 + 1]
    assert b"".join(c for _, c in _open_all(opener, wire)) == bytes(200)
    sealer, _ = _pair(max_plaintext=64)
    padded = sealer.seal(23, bytes(100), padding=10)
    assert [len(r.fragment) - 16 for r in Deframer().feed(padded)] == [64, 100 - 53 + 11]


def test_record_size_limit_above_the_protocol_maximum_is_clamped() -> None:
    sealer, opener = _pair(max_plaintext=2**16 - 1)
    assert sealer.max_plaintext == opener.max_plaintext == MAX_INNER_PLAINTEXT
    assert [len(r.fragment) for r in Deframer().feed(sealer.seal(23, bytes(MAX_PLAINTEXT + 1)))] == [
        MAX_PLAINTEXT + 17,
        1 + 17,
    ]


def test_record_size_limit_can_change_after_keys_are_installed() -> None:
    sealer, opener = _pair()
    sealer.max_plaintext = opener.max_plaintext = 100
    assert [len(r.fragment) - 16 for r in Deframer().feed(sealer.seal(23, bytes(150)))] == [100, 52]
    with pytest.raises(RecordOverflow):
        opener.open(_raw_record(TLS_AES_128_GCM_SHA256, bytes(101)))


@pytest.mark.parametrize("limit", [1, 0, -5])
def test_record_size_limit_must_leave_room_for_content(limit: int) -> None:
    with pytest.raises(LocalProtocolError):
        _pair(max_plaintext=limit)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_fragment": 0}, {"max_fragment": MAX_PLAINTEXT + 1}, {"padding": -1}, {"padding": MAX_PLAINTEXT}],
)
def test_sealer_refuses_bad_fragment_and_padding_arguments(kwargs: dict[str, int]) -> None:
    sealer, _ = _pair()
    with pytest.raises(LocalProtocolError):
        sealer.seal(23, b"x", **kwargs)
    assert sealer.seq == 0


def test_max_fragment_splits_content() -> None:
    sealer, opener = _pair()
    assert _open_all(opener, sealer.seal(23, bytes(range(100)), max_fragment=30)) == [
        (23, bytes(range(30))),
        (23, bytes(range(30, 60))),
        (23, bytes(range(60, 90))),
        (23, bytes(range(90, 100))),
    ]


# --- sequence numbers and usage limits (RFC 8446 §5.3, §5.5) ------------------------------------------


def test_gcm_limit_needs_a_key_update_at_seven_eighths_and_refuses_past_it() -> None:
    suite = TLS_AES_128_GCM_SHA256
    limit = suite.confidentiality_limit
    update_at = limit - limit // 8
    sealer, _ = _pair(suite, seq=update_at - 1)
    assert sealer.record_limit == limit
    assert not sealer.needs_key_update
    sealer.seal(23, b"x")
    assert sealer.needs_key_update
    sealer, opener = _pair(suite, seq=limit - 1)
    wire = sealer.seal(23, b"last")
    assert opener.open(Deframer().feed(wire)[0]) == (23, b"last")
    assert opener.needs_key_update
    with pytest.raises(LocalProtocolError):
        sealer.seal(23, b"one too many")
    assert sealer.seq == limit


def test_a_write_that_would_cross_the_limit_writes_nothing() -> None:
    suite = TLS_AES_128_GCM_SHA256
    sealer, _ = _pair(suite, seq=suite.confidentiality_limit - 2)
    out = bytearray(b"queued")
    with pytest.raises(LocalProtocolError):
        sealer.seal_into(out, 23, bytes(3 * MAX_PLAINTEXT))
    assert out == b"queued"
    assert sealer.seq == suite.confidentiality_limit - 2
    sealer.seal_into(out, 23, bytes(2 * MAX_PLAINTEXT))
    assert sealer.seq == suite.confidentiality_limit


def test_sequence_number_never_wraps() -> None:
    """A suite without a smaller limit still stops after seq 2^64 - 1 (RFC 8446 §5.3)."""
    unlimited = dataclasses.replace(TLS_CHACHA20_POLY1305_SHA256, confidentiality_limit=2**70)
    sealer, opener = _pair(unlimited, seq=2**64 - 1)
    assert sealer.record_limit == 2**64
    assert opener.open(Deframer().feed(sealer.seal(23, b"final"))[0]) == (23, b"final")
    with pytest.raises(LocalProtocolError):
        sealer.seal(23, b"wrapped")
    with pytest.raises(UnexpectedMessage):
        opener.open(Record(23, 0x0303, bytes(40)))


def test_chacha_limit_is_the_sequence_space() -> None:
    sealer, _ = _pair(TLS_CHACHA20_POLY1305_SHA256, seq=2**64 - 2)
    sealer.seal(23, b"x")
    with pytest.raises(LocalProtocolError):
        sealer.seal(23, b"x")


@pytest.mark.parametrize("seq", [-1, 2**64 + 1])
def test_sequence_number_must_fit_uint64(seq: int) -> None:
    with pytest.raises(LocalProtocolError):
        _pair(seq=seq)


# --- construction ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_wrong_key_or_iv_length_is_refused(suite: Tls13Suite) -> None:
    key, iv = _key_iv(suite)
    with pytest.raises(LocalProtocolError):
        RecordSealer(suite, key + b"\x00", iv)
    with pytest.raises(LocalProtocolError):
        RecordOpener(suite, key, iv[:-1])


def test_repr_shows_suite_and_seq_but_no_secrets() -> None:
    key, iv = bytes.fromhex("9f02283b6c9c07efc26bb9f2ac92e356"), bytes.fromhex("cf782b88dd83549aadf1e984")
    for obj in (
        RecordSealer(TLS_AES_128_GCM_SHA256, key, iv, seq=7),
        RecordOpener(TLS_AES_128_GCM_SHA256, key, iv),
    ):
        text = repr(obj)
        assert "TLS_AES_128_GCM_SHA256" in text and "seq=" in text
        for secret in (key, iv):
            assert secret.hex() not in text and repr(secret) not in text
