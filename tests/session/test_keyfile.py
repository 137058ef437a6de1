"""Sharing ticket keys: export/import between rings, and a key file several rings rotate through."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from tests.session.conftest import Clock
from tests.session.test_tickets import contents
from tlslens.crypto.provider import DeterministicProvider
from tlslens.errors import ConfigurationError
from tlslens.session.keyfile import (
    KEY_FILE_FORMAT,
    TicketKey,
    dump_ticket_keys,
    load_ticket_keys,
)
from tlslens.session.tickets import TicketKeyRing, TicketRejection


def provider(clock: Clock, seed: bytes) -> DeterministicProvider:
    return DeterministicProvider(seed=seed, clock=clock)


def test_two_rings_share_keys_through_export(clock: Clock) -> None:
    a = TicketKeyRing(3600, provider=provider(clock, b"a"))
    b = TicketKeyRing.from_export(a.export(), 3600, provider=provider(clock, b"b"))
    assert a.keys() == b.keys()
    from_a = a.seal(contents(created_at=clock.now))
    from_b = b.seal(contents(created_at=clock.now))
    assert b.open(from_a) is not None and a.open(from_b) is not None


def test_export_carries_current_and_previous_keys(clock: Clock) -> None:
    a = TicketKeyRing(100, provider=provider(clock, b"a"))
    old_ticket = a.seal(contents(created_at=clock.now))
    clock.advance(150)
    a.keys()  # rotates
    b = TicketKeyRing.from_export(a.export().encode(), 100, provider=provider(clock, b"b"))
    assert b.open(old_ticket) is not None
    doc = json.loads(a.export())
    assert doc["format"] == KEY_FILE_FORMAT and doc["version"] == 1 and doc["aead"] == "AES-256-GCM"
    assert [k["created_at"] for k in doc["keys"]] == [clock.now, clock.now - 150]


def test_imported_stale_keys_rotate_on_first_use(clock: Clock) -> None:
    old = TicketKey(b"\x01" * 16, b"\x02" * 32, clock.now - 150)
    ring = TicketKeyRing(100, keys=[old], provider=provider(clock, b"r"))
    current, previous = ring.keys()
    assert previous == old and current.created_at == clock.now


def test_a_ring_keeps_only_the_two_newest_keys(clock: Clock) -> None:
    keys = [TicketKey(bytes([i]) * 16, bytes([i]) * 32, clock.now - 10 * i) for i in range(4)]
    ring = TicketKeyRing(3600, keys=keys, provider=provider(clock, b"r"))
    assert ring.keys() == (keys[0], keys[1])


def test_save_writes_a_private_file_that_loads_back(clock: Clock, tmp_path: Path) -> None:
    ring = TicketKeyRing(3600, provider=provider(clock, b"r"))
    path = tmp_path / "ticket-keys.json"
    ring.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_ticket_keys(path.read_text()) == ring.keys()


def test_the_key_repr_hides_the_secret() -> None:
    key = TicketKey(b"\x01" * 16, b"\xee" * 32, 0.0)
    assert "eeee" not in repr(key) and "secret" not in repr(key)


def test_two_file_backed_rings_share_keys_and_rotations(clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    a = TicketKeyRing.from_file(path, 100, provider=provider(clock, b"a"))
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    b = TicketKeyRing.from_file(path, 100, provider=provider(clock, b"b"))
    assert a.keys() == b.keys()
    first = a.seal(contents(created_at=clock.now))

    clock.advance(100)
    second = a.seal(contents(created_at=clock.now))  # a rotates, through the file
    assert b.keys() == a.keys()  # b rereads the file instead of making its own key
    assert b.open(first) is not None and b.open(second) is not None

    clock.advance(100)
    assert b.open_with_reason(first) == (None, TicketRejection.RETIRED_KEY)
    assert a.open(b.seal(contents(created_at=clock.now))) is not None


def test_concurrent_rotations_through_one_file_agree_on_one_key(clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    rings = [TicketKeyRing.from_file(path, 100, provider=provider(clock, bytes([i]))) for i in range(8)]
    clock.advance(100)
    results: list[bytes] = []
    barrier = threading.Barrier(len(rings))

    def rotate(ring: TicketKeyRing) -> None:
        barrier.wait()
        results.append(ring.keys()[0].key_id)

    threads = [threading.Thread(target=rotate, args=(r,)) for r in rings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert load_ticket_keys(path.read_text())[0].key_id == results[0]


def test_a_file_backed_ring_picks_up_keys_pushed_to_the_file(clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = TicketKeyRing.from_file(path, 3600, provider=provider(clock, b"r"))
    pushed = TicketKey(b"\x07" * 16, b"\x08" * 32, clock.now + 1)
    path.write_text(dump_ticket_keys([pushed, *ring.keys()]))
    clock.advance(2)  # past the file check interval
    assert ring.keys()[0] == pushed


def test_a_missing_key_file_is_an_error_without_create(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read ticket key file"):
        TicketKeyRing.from_file(tmp_path / "absent.json", create=False)


def test_a_damaged_shared_file_does_not_break_opening(clock: Clock, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = TicketKeyRing.from_file(path, 100, provider=provider(clock, b"r"))
    ticket = ring.seal(contents(created_at=clock.now))
    path.write_text("{ not json")
    clock.advance(5)
    assert ring.open(ticket) is not None  # keeps the keys it has
    with pytest.raises(ConfigurationError, match="not JSON"):
        ring.seal(contents(created_at=clock.now))  # sealing says what is wrong
    with pytest.raises(ConfigurationError, match="not JSON"):
        ring.seal(contents(created_at=clock.now))  # until the file is fixed
    fixed = TicketKey(b"\x05" * 16, b"\x06" * 32, clock.now)
    path.write_text(dump_ticket_keys([fixed]))
    clock.advance(5)
    assert ring.seal(contents(created_at=clock.now))[:16] == fixed.key_id


def key_doc(**changes: object) -> str:
    entry = {"id": "01" * 16, "key": "02" * 32, "created_at": 1.0}
    doc: dict[str, object] = {"format": KEY_FILE_FORMAT, "version": 1, "aead": "AES-256-GCM", "keys": [entry]}
    for name, value in changes.items():
        if name.startswith("key_"):
            entry[name[4:]] = value
        else:
            doc[name] = value
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "not JSON"),
        ("[]", "not a tlslens ticket key file"),
        (key_doc(format="something-else"), "not a tlslens ticket key file"),
        (key_doc(version=2), "format version 2; this tlslens reads version 1"),
        (key_doc(aead="ChaCha20-Poly1305"), "only AES-256-GCM"),
        (key_doc(keys=[]), "at least one key"),
        (key_doc(key_id="zz"), "key #0: needs"),
        (key_doc(key_key="02" * 16), "key #0: a ticket key is 32 octets"),
        (key_doc(key_id="01" * 8), "key #0: a ticket key id is 16 octets"),
        (key_doc(key_created_at="yesterday"), "key #0: needs"),
        (key_doc(key_created_at=True), "key #0: needs"),
        (key_doc(key_created_at=float("inf")), "finite"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "wrong-format",
        "future-version",
        "other-aead",
        "no-keys",
        "bad-hex",
        "short-key",
        "short-id",
        "bad-time",
        "bool-time",
        "infinite-time",
    ],
)
def test_bad_key_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_ticket_keys(text)


def test_a_key_file_listing_one_id_twice_is_refused() -> None:
    key = TicketKey(b"\x01" * 16, b"\x02" * 32, 1.0)
    text = dump_ticket_keys([key, TicketKey(b"\x01" * 16, b"\x03" * 32, 2.0)])
    with pytest.raises(ConfigurationError, match="twice"):
        load_ticket_keys(text)


def test_a_key_that_could_not_be_rotated_away_still_stops_opening_after_two_intervals(
    clock: Clock, tmp_path: Path
) -> None:
    path = tmp_path / "keys.json"
    ring = TicketKeyRing.from_file(path, 100, provider=provider(clock, b"r"))
    ticket = ring.seal(contents(created_at=clock.now, lifetime=1000))
    path.write_text("{ damaged")  # rotation through the file now fails
    clock.advance(150)
    assert ring.open(ticket) is not None
    clock.advance(50)
    assert ring.open_with_reason(ticket) == (None, TicketRejection.RETIRED_KEY)
