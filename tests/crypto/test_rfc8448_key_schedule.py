"""RFC 8448 §3-§7: every secret, transcript hash, traffic key and IV, Finished and binder, rebuilt from
the trace's inputs through tlslens.crypto (see rfc8448_replay.py), and every HKDF step the RFC prints."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import RFC8448_SECTIONS
from tests.crypto.rfc8448_replay import (
    GROUP_NAMES,
    SECTION_IDS,
    SUITE,
    H,
    last_index,
    replay,
    section,
    transcript_messages,
)
from tlslens.crypto.groups import key_share_from_private_bytes
from tlslens.crypto.key_schedule import (
    binder,
    constant_time_equal,
    derive_secret,
    finished_key,
    hkdf_expand_label,
    hkdf_extract,
    hkdf_label,
    resumption_psk,
    traffic_key_iv,
)
from tlslens.crypto.transcript import Transcript, message_hash

SECTIONS = sorted(RFC8448_SECTIONS)


def _cases(kind: str) -> list[Any]:
    return [
        pytest.param(n, name, id=f"{SECTION_IDS[n]}-{name}")
        for n in SECTIONS
        for name in RFC8448_SECTIONS[n][kind]
    ]


def test_all_five_rfc8448_traces_are_covered() -> None:
    assert SECTIONS == ["3", "4", "5", "6", "7"]


@pytest.mark.parametrize(("n", "name"), _cases("secrets"))
def test_secret_is_reproduced_from_the_trace_inputs(n: str, name: str) -> None:
    assert replay(n).values[name].hex() == section(n)["secrets"][name]


@pytest.mark.parametrize(("n", "name"), _cases("transcript_hashes"))
def test_transcript_hash_matches_the_rfc(n: str, name: str) -> None:
    assert replay(n).transcript_hashes[name].hex() == section(n)["transcript_hashes"][name]


@pytest.mark.parametrize(("n", "name"), _cases("traffic_keys"))
def test_traffic_secret_key_and_iv_match_the_rfc(n: str, name: str) -> None:
    want = section(n)["traffic_keys"][name]
    secret, key, iv = replay(n).traffic_keys[name]
    assert (secret.hex(), key.hex(), iv.hex()) == (want["traffic_secret"], want["key"], want["iv"])


@pytest.mark.parametrize("n", SECTIONS, ids=[SECTION_IDS[n] for n in SECTIONS])
def test_ecdhe_key_pairs_and_shared_secret_come_from_the_given_private_keys(n: str) -> None:
    r = replay(n)
    inputs = section(n)["inputs"]
    prefix = "p256" if n == "5" else "x25519"
    assert r.public_keys["client"].hex() == inputs[f"client_{prefix}_ephemeral"]["public_key"]
    assert r.public_keys["server"].hex() == inputs[f"server_{prefix}_ephemeral"]["public_key"]
    assert r.client_view_of_shared_secret == r.values["ecdhe_shared_secret"]


@pytest.mark.parametrize("n", SECTIONS, ids=[SECTION_IDS[n] for n in SECTIONS])
@pytest.mark.parametrize("side", ["server", "client"])
def test_finished_message_carries_the_computed_verify_data(n: str, side: str) -> None:
    msgs = transcript_messages(section(n))
    finished = H(msgs[last_index(msgs, side, "Finished")]["hex"])
    verify_data = replay(n).values[f"{side}_finished_verify_data"]
    assert finished[:4] == bytes.fromhex("14000020")
    assert constant_time_equal(finished[4:], verify_data)
    assert not constant_time_equal(finished[4:], bytes(32))


def test_resumed_psk_is_derived_from_section_3_resumption_master_secret_and_ticket_nonce() -> None:
    s3, s4 = section("3"), section("4")
    nonce = H(s3["inputs"]["new_session_ticket"]["ticket_nonce"])
    psk = resumption_psk(SUITE, H(s3["secrets"]["resumption_master_secret"]), nonce)
    assert psk.hex() == s3["secrets"]["resumption_psk"] == s4["secrets"]["psk"]


def test_psk_binder_is_the_last_32_octets_of_the_resumed_client_hello() -> None:
    client_hello = H(transcript_messages(section("4"))[0]["hex"])
    assert constant_time_equal(client_hello[-32:], replay("4").values["psk_binder"])
    assert section("4")["inputs"]["pre_shared_key_extension"]["binder"] == client_hello[-32:].hex()


def test_hello_retry_request_transcript_starts_with_message_hash_of_client_hello1() -> None:
    msgs = transcript_messages(section("5"))
    client_hello1, hrr, client_hello2, server_hello = (H(m["hex"]) for m in msgs[:4])
    t = Transcript(SUITE.hash)
    t.update(message_hash(Transcript(SUITE.hash).digest_with(client_hello1)))
    for m in (hrr, client_hello2, server_hello):
        t.update(m)
    assert t.digest().hex() == section("5")["transcript_hashes"]["server_hello"]


# --- every HKDF step printed in the RFC ----------------------------------------------------------


def _step_values(step: dict[str, Any]) -> dict[str, bytes]:
    return {v["name"]: H(v["hex"]) for v in step["values"]}


_CRYPTO_VALUES = {"IKM", "info", "key info", "binder hash", "private key"}
STEP_CASES = [
    pytest.param(
        n, step, id=f"s{n}-{step['index']:02d}-" + re.sub(r"\W+", "-", step["label"]).strip("-").lower()
    )
    for n in SECTIONS
    for step in RFC8448_SECTIONS[n]["steps"]
    if _CRYPTO_VALUES & {v["name"] for v in step["values"]}
]


def test_step_table_covers_every_printed_hkdf_step() -> None:
    printed = sum(
        1
        for n in SECTIONS
        for st in RFC8448_SECTIONS[n]["steps"]
        if st["values"] and not st["step"].startswith(("construct", "send"))
    )
    assert len(STEP_CASES) == printed


@pytest.mark.parametrize(("n", "step"), STEP_CASES)
def test_rfc8448_step_is_reproduced(n: str, step: dict[str, Any]) -> None:
    v = _step_values(step)
    h = SUITE.hash
    if "private key" in v:  # {client}/{server} create an ephemeral key pair
        group = GROUP_NAMES["P-256" if "P-256" in step["step"] else "x25519"]
        assert key_share_from_private_bytes(group, v["private key"]).public_bytes == v["public key"]
    if "IKM" in v:  # extract secret "early" / "handshake" / "master"
        assert hkdf_extract(h, v["salt"], v["IKM"]) == v["secret"]
    if "info" in v:
        m = re.search(r'"tls13 ([^"]+)"', step["step"])
        label = m.group(1).encode() if m else b"finished"  # the PSK binder uses the Finished construction
        n_out = len(v["expanded"])
        assert hkdf_label(label, v["hash"], n_out) == v["info"]
        assert hkdf_expand_label(h, v["PRK"], label, v["hash"], n_out) == v["expanded"]
        if label == b"finished":
            assert finished_key(SUITE, v["PRK"]) == v["expanded"]
        elif label == b"resumption":
            assert resumption_psk(SUITE, v["PRK"], v["hash"]) == v["expanded"]
        else:
            assert derive_secret(h, v["PRK"], label, v["hash"]) == v["expanded"]
    if "key info" in v:  # derive traffic keys
        assert hkdf_label(b"key", b"", SUITE.key_len) == v["key info"]
        assert hkdf_label(b"iv", b"", SUITE.iv_len) == v["iv info"]
        assert traffic_key_iv(SUITE, v["PRK"]) == (v["key expanded"], v["iv expanded"])
    if "binder hash" in v:  # calculate PSK binder
        assert Transcript(h).digest_with(v["ClientHello prefix"]) == v["binder hash"]
        assert binder(SUITE, v["PRK"], v["binder hash"]) == v["finished"]
