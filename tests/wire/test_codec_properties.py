"""Hypothesis properties of the codec: round trips for every message and extension, and peer bytes
raising nothing but RemoteProtocolError subclasses."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import RFC8448_SECTIONS
from tests.strategies import EXTENSION_STRATEGIES, MESSAGE_STRATEGIES, alerts, extension_lists
from tlslens.errors import RemoteProtocolError
from tlslens.wire.alert import Alert
from tlslens.wire.enums import HandshakeType
from tlslens.wire.extensions import EXTENSION_FORMS, decode_extensions, encode_extensions
from tlslens.wire.messages import decode_handshake, encode_handshake
from tlslens.wire.reader import Reader, Writer

CONTEXTS = list(EXTENSION_FORMS)
RFC_MESSAGES = [bytes.fromhex(m["hex"]) for s in RFC8448_SECTIONS.values() for m in s["handshake_messages"]]
DECODED_TYPES = [
    HandshakeType.CLIENT_HELLO,
    HandshakeType.SERVER_HELLO,
    HandshakeType.NEW_SESSION_TICKET,
    HandshakeType.END_OF_EARLY_DATA,
    HandshakeType.ENCRYPTED_EXTENSIONS,
    HandshakeType.CERTIFICATE,
    HandshakeType.CERTIFICATE_REQUEST,
    HandshakeType.CERTIFICATE_VERIFY,
    HandshakeType.FINISHED,
    HandshakeType.KEY_UPDATE,
    HandshakeType.MESSAGE_HASH,
]


def _contexts_of(cls: type[Any]) -> list[HandshakeType]:
    return [ctx for ctx, forms in EXTENSION_FORMS.items() if cls in forms.values()]


def _round_trip_extensions(exts: tuple[Any, ...], context: HandshakeType) -> tuple[Any, ...]:
    w = Writer()
    encode_extensions(w, exts)
    r = Reader(w.getvalue())
    decoded = decode_extensions(r, context)
    r.expect_end("extensions")
    return decoded


def test_every_extension_form_has_a_strategy() -> None:
    modelled = {cls for forms in EXTENSION_FORMS.values() for cls in forms.values()}
    assert modelled == set(EXTENSION_STRATEGIES)


@pytest.mark.parametrize("cls", list(EXTENSION_STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_extension_round_trips_in_every_context_that_models_it(cls: type[Any], data: st.DataObject) -> None:
    ext = data.draw(EXTENSION_STRATEGIES[cls])
    for context in _contexts_of(cls):
        assert _round_trip_extensions((ext,), context) == (ext,)


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda c: c.name)
@given(data=st.data())
def test_extension_lists_round_trip_with_unknown_extensions_kept(
    context: HandshakeType, data: st.DataObject
) -> None:
    exts = data.draw(extension_lists(context))
    assert _round_trip_extensions(exts, context) == exts


@pytest.mark.parametrize("cls", list(MESSAGE_STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_message_round_trips_through_encode_and_decode_handshake(cls: type[Any], data: st.DataObject) -> None:
    msg = data.draw(MESSAGE_STRATEGIES[cls])
    raw = encode_handshake(msg)
    assert decode_handshake(raw) == msg
    assert encode_handshake(decode_handshake(raw)) == raw


@given(alerts)
def test_alert_round_trips(alert: Alert) -> None:
    assert Alert.decode(alert.encode()) == alert


def _decode_or_remote_error(raw: bytes, *, strict: bool = True) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_handshake(raw, strict=strict)


@given(st.binary(max_size=300), st.booleans())
@example(b"\x01\x00\x00\x00", True)
def test_arbitrary_bytes_raise_only_remote_protocol_errors(raw: bytes, strict: bool) -> None:
    _decode_or_remote_error(raw, strict=strict)


@given(st.sampled_from(DECODED_TYPES), st.binary(max_size=400), st.booleans())
def test_valid_header_with_random_body_raises_only_remote_protocol_errors(
    msg_type: int, body: bytes, strict: bool
) -> None:
    _decode_or_remote_error(bytes([msg_type]) + len(body).to_bytes(3, "big") + body, strict=strict)


@st.composite
def mutated_rfc_messages(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(RFC_MESSAGES)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(raw) - 1))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if kind == "flip":
            raw[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            raw[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete" and len(raw) > 1:
            del raw[pos]
        else:
            del raw[pos:]
        if not raw:
            break
    if draw(st.booleans()) and len(raw) >= 4:
        # Keep the outer length consistent so the mutation reaches the body decoder.
        raw[1:4] = (len(raw) - 4).to_bytes(3, "big")
    return bytes(raw)


@given(mutated_rfc_messages(), st.booleans())
def test_mutated_rfc8448_messages_raise_only_remote_protocol_errors(raw: bytes, strict: bool) -> None:
    _decode_or_remote_error(raw, strict=strict)


@pytest.mark.parametrize("context", [*CONTEXTS, HandshakeType.FINISHED], ids=lambda c: c.name)
@given(data=st.binary(max_size=200))
def test_random_extension_blocks_raise_only_remote_protocol_errors(
    context: HandshakeType, data: bytes
) -> None:
    for strict in (True, False):
        with contextlib.suppress(RemoteProtocolError):
            decode_extensions(Reader(data), context, strict=strict)


@st.composite
def framed_random_extension_blocks(draw: st.DrawFn, context: HandshakeType) -> bytes:
    """Correctly framed extension blocks whose bodies are random, so every body decoder sees junk."""
    modelled = [int(t) for t in EXTENSION_FORMS[context]]
    items = draw(
        st.lists(
            st.tuples(st.one_of(st.sampled_from(modelled), st.integers(0, 0xFFFF)), st.binary(max_size=40)),
            max_size=5,
        )
    )
    body = b"".join(t.to_bytes(2, "big") + len(b).to_bytes(2, "big") + b for t, b in items)
    return len(body).to_bytes(2, "big") + body


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda c: c.name)
@given(data=st.data())
def test_random_bodies_of_modelled_extensions_raise_only_remote_protocol_errors(
    context: HandshakeType, data: st.DataObject
) -> None:
    block = data.draw(framed_random_extension_blocks(context))
    for strict in (True, False):
        with contextlib.suppress(RemoteProtocolError):
            decode_extensions(Reader(block), context, strict=strict)
