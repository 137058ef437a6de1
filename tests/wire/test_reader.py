from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlslens.errors import DecodeError, RemoteProtocolError
from tlslens.wire.enums import CipherSuite, NamedGroup, is_grease
from tlslens.wire.reader import Reader, Writer


def test_reader_reads_vectors_and_integers() -> None:
    r = Reader(bytes.fromhex("0102 0003 aabbcc ff"))
    assert r.uint(1) == 1
    assert r.uint(1) == 2
    assert r.opaque(2) == b"\xaa\xbb\xcc"
    assert r.u8() == 0xFF
    r.expect_end("test")


def test_sub_reader_is_bounded_and_parent_skips_it() -> None:
    r = Reader(bytes.fromhex("0002 0102 03"))
    child = r.sub(2)
    assert child.remaining() == 2
    assert r.u8() == 3
    assert child.u16() == 0x0102
    with pytest.raises(DecodeError):
        child.u8()


@pytest.mark.parametrize(
    "data, action",
    [
        (b"", lambda r: r.u8()),
        (b"\x00", lambda r: r.u16()),
        (b"\x00\x05ab", lambda r: r.opaque(2)),
        (b"\x00\x05ab", lambda r: r.sub(2)),
        (b"\x00\x03abc", lambda r: r.uint_list(2, 2)),
        (b"\x00", lambda r: r.opaque(1, min_len=1)),
        (b"ab", lambda r: r.expect_end("x")),
    ],
    ids=["short-u8", "short-u16", "overrun-opaque", "overrun-sub", "odd-list", "too-short", "trailing"],
)
def test_malformed_input_raises_decode_error(data: bytes, action: object) -> None:
    with pytest.raises(DecodeError) as info:
        action(Reader(data))  # type: ignore[operator]
    assert isinstance(info.value, RemoteProtocolError)
    assert str(info.value).startswith("tls: ")


def test_writer_back_patches_lengths() -> None:
    w = Writer()
    with w.length_prefixed(2):
        w.u8(7)
        with w.length_prefixed(1):
            w.bytes(b"xyz")
    assert w.getvalue() == bytes.fromhex("0005 07 03 78797a")


def test_writer_refuses_oversized_vectors() -> None:
    w = Writer()
    with pytest.raises(OverflowError), w.length_prefixed(1):
        w.bytes(bytes(256))
    with pytest.raises(OverflowError):
        Writer().opaque(1, bytes(256))


@given(st.lists(st.binary(max_size=300), max_size=8), st.sampled_from([1, 2, 3]))
def test_opaque_round_trip(items: list[bytes], width: int) -> None:
    items = [i[: (1 << (8 * width)) - 1] for i in items]
    w = Writer()
    for i in items:
        w.opaque(width, i)
    r = Reader(w.getvalue())
    assert [r.opaque(width) for _ in items] == items
    r.expect_end("items")


def test_open_enums_keep_unknown_values() -> None:
    grease = CipherSuite(0x0A0A)
    assert grease == 0x0A0A
    assert not grease.known
    assert grease.name == "UNKNOWN_0x0a0a"
    assert CipherSuite(0x1301).known
    assert NamedGroup(0x11EC).iana_name == "X25519MLKEM768"
    assert NamedGroup(29).iana_name == "x25519"
    assert is_grease(0xDADA) and not is_grease(0x1301)


def test_reader_position_and_writer_length_track_progress() -> None:
    r = Reader(b"\x00\x01\x02", start=1)
    assert r.position == 1
    r.u8()
    assert r.position == 2
    w = Writer()
    w.u16(7)
    with w.length_prefixed(3):
        w.bytes(b"ab")
    assert len(w) == 7 and w.getvalue() == b"\x00\x07\x00\x00\x02ab"


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_uint_list_reads_items_of_any_width(width: int) -> None:
    values = [1, 0x7F, 0xFF]
    data = bytes([len(values) * width]) + b"".join(v.to_bytes(width, "big") for v in values) + b"\xee"
    r = Reader(data)
    assert r.uint_list(1, width) == values
    assert r.u8() == 0xEE
