"""RFC 8448 traces through the record layer: every record on the wire deframes, opens and re-seals exactly."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RFC8448_SECTIONS
from tlslens.crypto.suites import suite_by_name
from tlslens.record import (
    Deframer,
    HandshakeReassembler,
    Record,
    RecordOpener,
    RecordSealer,
    encode_plaintext,
)

CONTENT_TYPES = {"change_cipher_spec": 20, "alert": 21, "handshake": 22, "application_data": 23}

RECORDS = [
    (section, index, r) for section, s in RFC8448_SECTIONS.items() for index, r in enumerate(s["records"])
]


def _id(section: str, index: int, r: dict[str, Any]) -> str:
    keys = f"-{r['keys']}-seq{r['seq']}" if r["protected"] else "-plaintext"
    return f"s{section}-{index}-{r['sender']}-{r['content_type']}{keys}"


PROTECTED = [pytest.param(s, i, r, id=_id(s, i, r)) for s, i, r in RECORDS if r["protected"]]
UNPROTECTED = [pytest.param(s, i, r, id=_id(s, i, r)) for s, i, r in RECORDS if not r["protected"]]
SENDERS = [
    pytest.param(section, sender, id=f"s{section}-{sender}")
    for section in RFC8448_SECTIONS
    for sender in ("client", "server")
]
KEY_STREAMS = sorted(
    {(s, r["keys"]) for s, _, r in RECORDS if r["protected"]},
)


def _keys(section: str, name: str) -> tuple[bytes, bytes]:
    k = RFC8448_SECTIONS[section]["traffic_keys"][name]
    return bytes.fromhex(k["key"]), bytes.fromhex(k["iv"])


def _suite(section: str) -> Any:
    return suite_by_name(RFC8448_SECTIONS[section]["cipher_suite"])


def _wire(r: dict[str, Any]) -> bytes:
    return bytes.fromhex(r["complete_record"])


def _sender_stream(section: str, sender: str) -> list[dict[str, Any]]:
    return [r for r in RFC8448_SECTIONS[section]["records"] if r["sender"] == sender]


@pytest.mark.parametrize("section, index, r", PROTECTED)
def test_protected_record_opens_to_the_rfc_payload(section: str, index: int, r: dict[str, Any]) -> None:
    key, iv = _keys(section, r["keys"])
    opener = RecordOpener(_suite(section), key, iv, seq=r["seq"])
    [record] = Deframer().feed(_wire(r))
    content_type, content = opener.open(record)
    assert content_type == CONTENT_TYPES[r["content_type"]]
    assert content.hex() == r["payload"]
    assert opener.seq == r["seq"] + 1


@pytest.mark.parametrize("section, index, r", PROTECTED)
def test_sealing_the_rfc_payload_reproduces_the_record(section: str, index: int, r: dict[str, Any]) -> None:
    key, iv = _keys(section, r["keys"])
    payload = bytes.fromhex(r["payload"])
    content_type = CONTENT_TYPES[r["content_type"]]
    sealer = RecordSealer(_suite(section), key, iv, seq=r["seq"])
    assert sealer.seal(content_type, payload) == _wire(r)
    out = bytearray(b"prefix")
    again = RecordSealer(_suite(section), key, iv, seq=r["seq"])
    assert again.seal_into(out, content_type, payload) == len(_wire(r))
    assert bytes(out) == b"prefix" + _wire(r)


@pytest.mark.parametrize("section, keys", [pytest.param(s, k, id=f"s{s}-{k}") for s, k in KEY_STREAMS])
def test_one_opener_per_key_opens_its_records_in_sequence(section: str, keys: str) -> None:
    records = [r for r in RFC8448_SECTIONS[section]["records"] if r.get("keys") == keys]
    first = records[0]["seq"]
    assert [r["seq"] for r in records] == list(range(first, first + len(records)))
    key, iv = _keys(section, keys)
    opener = RecordOpener(_suite(section), key, iv, seq=first)
    sealer = RecordSealer(_suite(section), key, iv, seq=first)
    deframer = Deframer()
    for r in records:
        [record] = deframer.feed(_wire(r))
        content_type, content = opener.open(record)
        assert (content_type, content.hex()) == (CONTENT_TYPES[r["content_type"]], r["payload"])
        assert sealer.seal(content_type, content) == _wire(r)
    assert opener.seq == sealer.seq == first + len(records)


@pytest.mark.parametrize("section, index, r", UNPROTECTED)
def test_unprotected_record_deframes_to_the_rfc_payload(section: str, index: int, r: dict[str, Any]) -> None:
    wire = _wire(r)
    [record] = Deframer().feed(wire)
    assert record.content_type == CONTENT_TYPES[r["content_type"]]
    assert record.fragment.hex() == r["payload"]
    assert record.legacy_version == int.from_bytes(wire[1:3], "big")
    assert (
        encode_plaintext(record.content_type, record.fragment, legacy_version=record.legacy_version) == wire
    )


def test_only_an_initial_client_hello_uses_record_version_0x0301() -> None:
    versions = {
        (s, i): Deframer().feed(_wire(r))[0].legacy_version for s, i, r in RECORDS if not r["protected"]
    }
    initial = {(s, 0) for s in RFC8448_SECTIONS}
    assert {k for k, v in versions.items() if v == 0x0301} == initial
    assert {v for k, v in versions.items() if k not in initial} == {0x0303}


@pytest.mark.parametrize("section, sender", SENDERS)
def test_sender_stream_deframes_the_same_in_one_chunk_and_byte_at_a_time(section: str, sender: str) -> None:
    stream = b"".join(_wire(r) for r in _sender_stream(section, sender))
    expected = [
        Record(w[0], int.from_bytes(w[1:3], "big"), w[5:])
        for w in map(_wire, _sender_stream(section, sender))
    ]
    assert Deframer().feed(stream) == expected
    deframer = Deframer()
    got: list[Record] = []
    for i in range(len(stream)):
        got += deframer.feed(stream[i : i + 1])
    assert got == expected
    assert deframer.buffered == 0


@pytest.mark.parametrize("section, sender", SENDERS)
def test_sender_handshake_records_reassemble_into_the_rfc_messages(section: str, sender: str) -> None:
    """Decrypt the sender's stream with the key each record names and reassemble its handshake messages."""
    suite = _suite(section)
    openers: dict[str, RecordOpener] = {}
    reassembler = HandshakeReassembler()
    messages: list[str] = []
    deframer = Deframer()
    for r in _sender_stream(section, sender):
        [record] = deframer.feed(_wire(r))
        if r["protected"]:
            if r["keys"] not in openers:
                reassembler.check_aligned(f"switch to {r['keys']} keys")
                openers[r["keys"]] = RecordOpener(suite, *_keys(section, r["keys"]))
            content_type, content = openers[r["keys"]].open(record)
        else:
            content_type, content = record.content_type, record.fragment
        if content_type == 22:
            messages += [m.hex() for m in reassembler.feed(content)]
    assert reassembler.is_aligned
    expected = [m["hex"] for m in RFC8448_SECTIONS[section]["handshake_messages"] if m["sender"] == sender]
    assert messages == expected
