"""HandshakeReassembler: messages across record boundaries, size limits, key-change alignment."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import RFC8448_SECTIONS
from tlslens.errors import DecodeError, LocalProtocolError, RemoteProtocolError, UnexpectedMessage
from tlslens.record import HandshakeReassembler
from tlslens.record.reassembly import MessageLimits, message_name
from tlslens.wire.enums import HandshakeType


def _msg(msg_type: int, body: bytes) -> bytes:
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


SERVER_FLIGHT = [
    bytes.fromhex(m["hex"])
    for m in RFC8448_SECTIONS["3"]["handshake_messages"]
    if m["sender"] == "server" and not m.get("post_handshake")
]


def test_several_messages_in_one_record_are_all_returned() -> None:
    data = b"".join(SERVER_FLIGHT)
    assert HandshakeReassembler().feed(data) == SERVER_FLIGHT


def test_one_message_across_several_records_is_returned_once_complete() -> None:
    r = HandshakeReassembler()
    message = _msg(11, bytes(range(200)))
    assert r.feed(message[:2]) == []
    assert not r.is_aligned and r.buffered == 2
    assert r.feed(message[2:100]) == []
    assert r.feed(message[100:]) == [message]
    assert r.is_aligned and r.buffered == 0


def test_record_can_end_one_message_and_start_the_next() -> None:
    r = HandshakeReassembler()
    a, b = _msg(8, b"abc"), _msg(20, bytes(32))
    assert r.feed(a[:5]) == []
    assert r.feed(a[5:] + b[:10]) == [a]
    assert r.feed(b[10:]) == [b]


def test_empty_body_message_is_complete() -> None:
    assert HandshakeReassembler().feed(bytes.fromhex("05000000")) == [bytes.fromhex("05000000")]


def test_zero_length_fragment_is_an_unexpected_message() -> None:
    with pytest.raises(UnexpectedMessage):
        HandshakeReassembler().feed(b"")


def test_declared_length_over_the_limit_is_refused_from_the_header_alone() -> None:
    with pytest.raises(DecodeError):
        HandshakeReassembler().feed(_msg(1, b"")[:1] + (2**16 + 1).to_bytes(3, "big"))
    r = HandshakeReassembler()
    assert r.feed(b"\x01\x01") == []
    with pytest.raises(DecodeError):
        r.feed(b"\x00\x01")


def test_limit_is_inclusive() -> None:
    r = HandshakeReassembler(max_message_size=10)
    assert r.feed(_msg(1, bytes(10))) == [_msg(1, bytes(10))]
    with pytest.raises(DecodeError):
        r.feed(_msg(1, bytes(11)))


def test_certificate_may_be_larger_by_default() -> None:
    r = HandshakeReassembler()
    header = bytes((HandshakeType.CERTIFICATE,)) + (2**18).to_bytes(3, "big")
    assert r.feed(header) == []
    big = _msg(HandshakeType.CERTIFICATE, bytes(2**18 + 1))
    with pytest.raises(DecodeError):
        HandshakeReassembler().feed(big[:4])


def test_type_limits_are_configurable() -> None:
    r = HandshakeReassembler(100, type_limits={HandshakeType.CLIENT_HELLO: 1000})
    assert r.feed(_msg(1, bytes(1000))) == [_msg(1, bytes(1000))]
    with pytest.raises(DecodeError):
        r.feed(_msg(HandshakeType.CERTIFICATE, bytes(101))[:4])


@pytest.mark.parametrize(
    "max_size, type_limits", [(2**24, {}), (-1, {}), (100, {256: 10}), (100, {1: 2**24}), (100, {1: -1})]
)
def test_limits_must_fit_the_wire_fields(max_size: int, type_limits: dict[int, int]) -> None:
    with pytest.raises(LocalProtocolError):
        HandshakeReassembler(max_size, type_limits=type_limits)


def test_partial_message_at_a_key_change_is_an_unexpected_message() -> None:
    r = HandshakeReassembler()
    r.check_aligned("before ServerHello")
    r.feed(_msg(2, bytes(10))[:7])
    with pytest.raises(UnexpectedMessage, match="switch to handshake keys"):
        r.check_aligned("switch to handshake keys")


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=255), st.binary(max_size=300)), min_size=1, max_size=10
    ),
    st.lists(st.integers(min_value=0), max_size=30),
)
@example([(1, b"")], [1, 2, 3])
def test_any_split_of_concatenated_messages_returns_them(
    messages: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    raw = [_msg(t, body) for t, body in messages]
    r = HandshakeReassembler()
    got: list[bytes] = []
    for fragment in _split(b"".join(raw), cuts):
        got += r.feed(fragment)
    assert got == raw
    assert r.is_aligned


@given(st.lists(st.integers(min_value=0), max_size=40))
def test_any_split_of_the_rfc8448_server_flight_returns_its_messages(cuts: list[int]) -> None:
    r = HandshakeReassembler()
    got: list[bytes] = []
    for fragment in _split(b"".join(SERVER_FLIGHT), cuts):
        got += r.feed(memoryview(fragment))
    assert got == SERVER_FLIGHT


@given(st.lists(st.binary(min_size=1, max_size=200), max_size=8))
@example([b"\xff\xff\xff\xff"])
def test_arbitrary_fragments_raise_only_remote_protocol_errors(fragments: list[bytes]) -> None:
    r = HandshakeReassembler(max_message_size=1000)
    try:
        for fragment in fragments:
            for message in r.feed(fragment):
                assert len(message) == 4 + int.from_bytes(message[1:4], "big")
    except RemoteProtocolError as exc:
        assert isinstance(exc, DecodeError)


def test_repr_shows_the_buffered_byte_count() -> None:
    r = HandshakeReassembler()
    r.feed(b"\x01\x00")
    assert repr(r) == "HandshakeReassembler(buffered=2)"


# --- per-state limits: each header is judged by the limits in force when it becomes the next message ---


def test_expect_refuses_a_type_at_its_header() -> None:
    r = HandshakeReassembler()
    r.expect(MessageLimits.of({HandshakeType.CLIENT_HELLO: 100}, "from the client"))
    r.add(_msg(HandshakeType.CERTIFICATE, b"")[:1] + (2**20).to_bytes(3, "big"))
    with pytest.raises(UnexpectedMessage, match="expected ClientHello from the client, got Certificate"):
        r.next_message()


def test_expect_bounds_each_type_on_its_own() -> None:
    r = HandshakeReassembler()
    r.expect(MessageLimits.of({HandshakeType.CLIENT_HELLO: 100, HandshakeType.KEY_UPDATE: 1}))
    r.add(_msg(HandshakeType.KEY_UPDATE, b"\x00") + _msg(HandshakeType.CLIENT_HELLO, bytes(100)))
    assert r.next_message() == _msg(HandshakeType.KEY_UPDATE, b"\x00")
    assert r.next_message() == _msg(HandshakeType.CLIENT_HELLO, bytes(100))
    assert r.next_message() is None and r.is_aligned
    r.add(_msg(HandshakeType.KEY_UPDATE, b"\x00\x00")[:4])
    with pytest.raises(DecodeError, match="KeyUpdate declares 2 bytes"):
        r.next_message()


def test_limits_change_between_messages_of_one_record() -> None:
    """The second message of a record is judged by the limits set after the first was taken."""
    first, second = _msg(HandshakeType.SERVER_HELLO, bytes(10)), _msg(HandshakeType.FINISHED, bytes(32))
    r = HandshakeReassembler()
    r.expect(MessageLimits.of({HandshakeType.SERVER_HELLO: 100}))
    r.add(first + second)
    assert r.next_message() == first
    assert not r.is_aligned and r.buffered == len(second)
    with pytest.raises(UnexpectedMessage, match="got Finished"):
        r.next_message()
    r = HandshakeReassembler()
    r.expect(MessageLimits.of({HandshakeType.SERVER_HELLO: 100}))
    r.add(first + second)
    assert r.next_message() == first
    r.expect(MessageLimits.of({HandshakeType.FINISHED: 48}))
    assert r.next_message() == second


def test_unknown_type_is_named_as_unknown() -> None:
    r = HandshakeReassembler()
    r.expect(MessageLimits.of({HandshakeType.CLIENT_HELLO: 100}))
    r.add(b"\x63\x00\x00\x00")
    with pytest.raises(UnexpectedMessage, match="unknown handshake message type UNKNOWN_0x0063"):
        r.next_message()


def test_message_names() -> None:
    assert message_name(HandshakeType.CERTIFICATE_REQUEST) == "CertificateRequest"
    assert message_name(1) == "ClientHello"


@pytest.mark.parametrize("limits", [{256: 1}, {1: -1}, {1: 2**24}])
def test_message_limits_must_fit_the_wire_fields(limits: dict[int, int]) -> None:
    with pytest.raises(LocalProtocolError):
        MessageLimits.of(limits)
