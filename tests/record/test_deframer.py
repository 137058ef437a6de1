"""Deframer and plaintext framing: any chunking, size limits before buffering, only RemoteProtocolError."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import RFC8448_SECTIONS
from tlslens.errors import LocalProtocolError, RecordOverflow, RemoteProtocolError, UnexpectedMessage
from tlslens.record import MAX_CIPHERTEXT, MAX_PLAINTEXT, Deframer, Record, encode_plaintext

# Every record of every RFC 8448 trace, in trace order: a realistic mixed stream.
RFC8448_STREAM = b"".join(
    bytes.fromhex(r["complete_record"]) for s in RFC8448_SECTIONS.values() for r in s["records"]
)


def _header(content_type: int, length: int, version: int = 0x0303) -> bytes:
    return bytes((content_type,)) + version.to_bytes(2, "big") + length.to_bytes(2, "big")


def _feed_chunks(data: bytes, cuts: list[int]) -> tuple[list[Record], Deframer]:
    deframer = Deframer()
    records: list[Record] = []
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    for a, b in itertools.pairwise(bounds):
        records += deframer.feed(data[a:b])
    return records, deframer


records_strategy = st.lists(
    st.builds(
        Record,
        st.sampled_from([20, 21, 22, 23]),
        st.sampled_from([0x0301, 0x0303, 0x0300, 0xFFFF]),
        st.binary(max_size=300),
    ),
    max_size=12,
)


def _frame(records: list[Record]) -> bytes:
    return b"".join(_header(r.content_type, len(r.fragment), r.legacy_version) + r.fragment for r in records)


def test_records_in_one_chunk_are_returned_in_order() -> None:
    stream = _header(22, 3) + b"abc" + _header(23, 0) + _header(21, 2) + b"\x01\x00"
    assert Deframer().feed(stream) == [
        Record(22, 0x0303, b"abc"),
        Record(23, 0x0303, b""),
        Record(21, 0x0303, b"\x01\x00"),
    ]


def test_partial_record_waits_and_is_reported_as_buffered() -> None:
    deframer = Deframer()
    assert deframer.feed(_header(23, 10) + b"12345") == []
    assert deframer.buffered == 10
    assert deframer.feed(b"6789") == []
    assert deframer.buffered == 14
    assert deframer.feed(b"0" + _header(22, 1)[:2]) == [Record(23, 0x0303, b"1234567890")]
    assert deframer.buffered == 2
    assert deframer.feed(_header(22, 1)[2:] + b"x") == [Record(22, 0x0303, b"x")]
    assert deframer.buffered == 0


def test_short_first_chunk_is_buffered() -> None:
    deframer = Deframer()
    assert deframer.feed(b"\x16\x03") == []
    assert deframer.buffered == 2
    assert deframer.feed(b"") == []
    assert deframer.feed(b"\x03\x00\x01!") == [Record(22, 0x0303, b"!")]


def test_empty_application_data_record_is_returned() -> None:
    assert Deframer().feed(_header(23, 0)) == [Record(23, 0x0303, b"")]


def test_oversized_ciphertext_record_overflows_before_its_body_arrives() -> None:
    deframer = Deframer()
    assert Deframer().feed(_header(23, MAX_CIPHERTEXT) + bytes(MAX_CIPHERTEXT))[0].fragment == bytes(
        MAX_CIPHERTEXT
    )
    with pytest.raises(RecordOverflow):
        deframer.feed(_header(23, MAX_CIPHERTEXT + 1))


@pytest.mark.parametrize("content_type", [20, 21, 22], ids=["change_cipher_spec", "alert", "handshake"])
def test_oversized_plaintext_record_overflows(content_type: int) -> None:
    assert len(Deframer().feed(_header(content_type, MAX_PLAINTEXT) + bytes(MAX_PLAINTEXT))[0].fragment) == (
        MAX_PLAINTEXT
    )
    with pytest.raises(RecordOverflow):
        Deframer().feed(_header(content_type, MAX_PLAINTEXT + 1))


def test_oversized_record_is_refused_when_its_header_completes_across_chunks() -> None:
    deframer = Deframer()
    deframer.feed(b"\x17\x03\x03\x7f")
    with pytest.raises(RecordOverflow):
        deframer.feed(b"\xff")


def test_limits_can_be_lowered() -> None:
    deframer = Deframer(max_fragment=100, max_plaintext_fragment=50)
    assert deframer.feed(_header(23, 100) + bytes(100))
    with pytest.raises(RecordOverflow):
        deframer.feed(_header(22, 51))
    deframer = Deframer(100)
    deframer.max_fragment = 20
    with pytest.raises(RecordOverflow):
        deframer.feed(_header(23, 21))


def test_limits_must_fit_the_length_field() -> None:
    with pytest.raises(LocalProtocolError):
        Deframer(0x10000)
    with pytest.raises(LocalProtocolError):
        Deframer(max_plaintext_fragment=-1)


@pytest.mark.parametrize("content_type", [0, 19, 24, 0x47, 0x80, 0xFF])
def test_unknown_content_type_is_an_unexpected_message(content_type: int) -> None:
    with pytest.raises(UnexpectedMessage):
        Deframer().feed(_header(content_type, 1) + b"x")


def test_http_request_on_a_tls_port_is_refused() -> None:
    with pytest.raises(UnexpectedMessage):
        Deframer().feed(b"GET / HTTP/1.1\r\n\r\n")


def test_legacy_version_is_reported_not_checked() -> None:
    assert Deframer().feed(_header(22, 1, 0x0301) + b"x") == [Record(22, 0x0301, b"x")]
    assert Deframer().feed(_header(22, 1, 0x1234) + b"x") == [Record(22, 0x1234, b"x")]


def test_deframer_accepts_bytearray_and_memoryview() -> None:
    data = _header(22, 2) + b"hi"
    assert (
        Deframer().feed(bytearray(data)) == Deframer().feed(memoryview(data)) == [Record(22, 0x0303, b"hi")]
    )


def test_rfc8448_stream_deframes_the_same_byte_at_a_time() -> None:
    whole = Deframer().feed(RFC8448_STREAM)
    assert len(whole) == sum(len(s["records"]) for s in RFC8448_SECTIONS.values())
    deframer = Deframer()
    got: list[Record] = []
    for i in range(len(RFC8448_STREAM)):
        got += deframer.feed(RFC8448_STREAM[i : i + 1])
    assert got == whole


@given(st.lists(st.integers(min_value=0, max_value=len(RFC8448_STREAM)), max_size=40))
def test_any_chunking_of_the_rfc8448_stream_gives_the_same_records(cuts: list[int]) -> None:
    records, deframer = _feed_chunks(RFC8448_STREAM, cuts)
    assert records == Deframer().feed(RFC8448_STREAM)
    assert deframer.buffered == 0


@given(records_strategy, st.lists(st.integers(min_value=0), max_size=30))
@example([Record(23, 0x0303, b"")], [0, 1, 2, 3, 4, 5])
def test_any_chunking_of_framed_records_gives_them_back(records: list[Record], cuts: list[int]) -> None:
    got, deframer = _feed_chunks(_frame(records), cuts)
    assert got == records
    assert deframer.buffered == 0


@given(records_strategy, st.integers(min_value=1, max_value=300))
def test_truncated_stream_leaves_bytes_buffered(records: list[Record], cut: int) -> None:
    data = _frame(records) + _header(22, 300) + bytes(300)
    deframer = Deframer()
    assert deframer.feed(data[:-cut]) == records
    assert deframer.buffered == 305 - cut


@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=10))
@example(b"\x17\x03\x03\xff\xff", [])
@example(b"\x80\x2e\x01\x03\x01", [])  # an SSLv2-style ClientHello
def test_arbitrary_bytes_raise_only_remote_protocol_errors(data: bytes, cuts: list[int]) -> None:
    with contextlib.suppress(RemoteProtocolError):
        _feed_chunks(data, cuts)


# --- encode_plaintext ----------------------------------------------------------------------------------


def test_plaintext_is_split_into_records_of_at_most_max_fragment() -> None:
    data = bytes(range(256)) * 3
    wire = encode_plaintext(22, data, 300)
    assert Deframer().feed(wire) == [
        Record(22, 0x0303, data[:300]),
        Record(22, 0x0303, data[300:600]),
        Record(22, 0x0303, data[600:]),
    ]


def test_plaintext_default_limit_is_2_14() -> None:
    records = Deframer().feed(encode_plaintext(22, bytes(MAX_PLAINTEXT + 1)))
    assert [len(r.fragment) for r in records] == [MAX_PLAINTEXT, 1]


def test_initial_client_hello_may_use_record_version_0x0301() -> None:
    assert encode_plaintext(22, b"\x01\x00\x00\x00", legacy_version=0x0301)[:3] == b"\x16\x03\x01"
    assert encode_plaintext(22, b"\x01\x00\x00\x00")[:3] == b"\x16\x03\x03"


def test_empty_plaintext_is_one_empty_application_data_record() -> None:
    assert encode_plaintext(23, b"") == _header(23, 0)


@pytest.mark.parametrize("content_type", [20, 21, 22])
def test_empty_plaintext_of_other_types_is_refused(content_type: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode_plaintext(content_type, b"")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"content_type": 256},
        {"content_type": -1},
        {"max_fragment": 0},
        {"max_fragment": MAX_PLAINTEXT + 1},
        {"legacy_version": 0x10000},
    ],
)
def test_plaintext_framing_refuses_bad_arguments(kwargs: dict[str, int]) -> None:
    args = {"content_type": 22, "data": b"x", **kwargs}
    with pytest.raises(LocalProtocolError):
        encode_plaintext(**args)  # type: ignore[arg-type]


@given(
    st.sampled_from([20, 21, 22, 23]),
    st.binary(min_size=1, max_size=2000),
    st.integers(min_value=1, max_value=MAX_PLAINTEXT),
)
def test_plaintext_framing_round_trips_through_the_deframer(
    content_type: int, data: bytes, limit: int
) -> None:
    records = Deframer().feed(encode_plaintext(content_type, memoryview(data), limit))
    assert b"".join(r.fragment for r in records) == data
    assert all(r.content_type == content_type and 0 < len(r.fragment) <= limit for r in records)
    assert len(records) == -(-len(data) // limit)


def test_repr_shows_the_buffered_byte_count() -> None:
    deframer = Deframer()
    deframer.feed(b"\x16\x03")
    assert repr(deframer) == "Deframer(buffered=2)"


def test_plain_text_from_a_peer_that_does_not_speak_tls_is_named() -> None:
    from tlslens.record.deframer import Deframer

    for chunks in ([b"HTTP/1.1 400 Bad Request\r\n"], [b"SSH", b"-2.0-OpenSSH\r\n"]):
        deframer = Deframer()
        with pytest.raises(UnexpectedMessage, match="does not speak TLS: it sent plain text starting"):
            for chunk in chunks:
                deframer.feed(chunk)
