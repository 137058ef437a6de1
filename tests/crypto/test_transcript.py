from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import given
from hypothesis import strategies as st

from tlslens.crypto.transcript import Transcript, message_hash
from tlslens.errors import LocalProtocolError

CH1, HRR, CH2 = b"\x01\x00\x00\x03abc", b"\x02\x00\x00\x02hr", b"\x01\x00\x00\x04abcd"


def test_messages_are_buffered_until_the_hash_is_selected() -> None:
    t = Transcript()
    t.update(CH1)
    t.update(HRR)
    with pytest.raises(LocalProtocolError):
        t.digest()
    t.select(hashes.SHA384())
    assert t.digest() == hashlib.sha384(CH1 + HRR).digest()
    t.update(CH2)
    assert t.digest() == hashlib.sha384(CH1 + HRR + CH2).digest()


def test_digest_does_not_disturb_the_running_hash() -> None:
    t = Transcript(hashes.SHA256())
    t.update(CH1)
    assert t.digest() == t.digest() == hashlib.sha256(CH1).digest()
    assert t.digest_with(CH2) == hashlib.sha256(CH1 + CH2).digest()
    assert t.digest() == hashlib.sha256(CH1).digest()


def test_selecting_again_is_idempotent_but_another_hash_is_refused() -> None:
    t = Transcript(hashes.SHA256())
    t.select(hashes.SHA256())
    with pytest.raises(LocalProtocolError):
        t.select(hashes.SHA384())
    assert t.algorithm is not None and t.algorithm.name == "sha256"
    assert Transcript().algorithm is None


@pytest.mark.parametrize("h", [hashes.SHA256(), hashes.SHA384()], ids=["sha256", "sha384"])
def test_hello_retry_request_replaces_client_hello1_with_message_hash(h: hashes.HashAlgorithm) -> None:
    t = Transcript()
    t.update(CH1)
    t.select(h)
    t.replace_with_message_hash()
    t.update(HRR)
    t.update(CH2)
    ch1_hash = hashlib.new(h.name, CH1).digest()
    synthetic = bytes([0xFE, 0, 0, h.digest_size]) + ch1_hash
    assert message_hash(ch1_hash) == synthetic
    assert t.digest() == hashlib.new(h.name, synthetic + HRR + CH2).digest()

    stateless = Transcript.from_client_hello1_hash(h, ch1_hash)  # e.g. a server keeping it in a cookie
    stateless.update(HRR)
    stateless.update(CH2)
    assert stateless.digest() == t.digest()


def test_message_hash_replaces_exactly_one_client_hello_once() -> None:
    with pytest.raises(LocalProtocolError):
        Transcript(hashes.SHA256()).replace_with_message_hash()
    t = Transcript(hashes.SHA256())
    t.update(CH1)
    t.update(HRR)
    with pytest.raises(LocalProtocolError):
        t.replace_with_message_hash()
    t = Transcript()
    t.update(CH1)
    with pytest.raises(LocalProtocolError):  # the hash must be known (the HRR names the suite)
        t.replace_with_message_hash()
    t.select(hashes.SHA256())
    t.replace_with_message_hash()
    with pytest.raises(LocalProtocolError):
        t.replace_with_message_hash()


@given(st.lists(st.binary(max_size=300), max_size=8), st.integers(0, 8))
def test_selecting_at_any_point_gives_the_hash_of_the_concatenation(messages: list[bytes], cut: int) -> None:
    t = Transcript()
    for i, m in enumerate(messages):
        if i == cut:
            t.select(hashes.SHA256())
        t.update(m)
    t.select(hashes.SHA256())
    assert t.digest() == hashlib.sha256(b"".join(messages)).digest()


def test_repr_shows_the_hash_and_message_count() -> None:
    t = Transcript()
    t.update(CH1)
    assert repr(t) == "<Transcript hash not selected, 1 messages>"
    t.select(hashes.SHA256())
    assert repr(t) == "<Transcript sha256, 1 messages>"
