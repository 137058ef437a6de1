"""Replays an RFC 8448 trace through tlslens.crypto: from the inputs (private keys, PSK, handshake
messages) to every secret, key, IV, Finished and binder. The tests compare the result with the RFC.

Only public tlslens.crypto APIs are used: DeterministicProvider for the ephemeral keys, groups for the
(EC)DHE, Transcript for the transcript hashes (with the HelloRetryRequest rule), the key schedule
stages for the secrets.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import RFC8448, RFC8448_SECTIONS
from tlslens.crypto.groups import server_key_exchange
from tlslens.crypto.key_schedule import (
    EarlySecret,
    binder,
    derive_secret,
    finished_key,
    finished_verify_data,
    resumption_psk,
    traffic_key_iv,
)
from tlslens.crypto.provider import DeterministicProvider
from tlslens.crypto.suites import TLS_AES_128_GCM_SHA256
from tlslens.crypto.transcript import Transcript
from tlslens.wire.enums import NamedGroup

SUITE = TLS_AES_128_GCM_SHA256  # every RFC 8448 trace uses it
H = bytes.fromhex
SECTION_IDS = {
    n: f"s{n}-" + re.sub(r"\W+", "-", s["title"].lower()).strip("-") for n, s in RFC8448_SECTIONS.items()
}
GROUP_NAMES = {"x25519": NamedGroup.X25519, "P-256": NamedGroup.SECP256R1}


def section(n: str) -> dict[str, Any]:
    return RFC8448_SECTIONS[n]


def transcript_messages(sec: dict[str, Any]) -> list[dict[str, Any]]:
    """Handshake messages in transcript order (NewSessionTicket is post-handshake)."""
    return [m for m in sec["handshake_messages"] if not m.get("post_handshake")]


def last_index(msgs: list[dict[str, Any]], sender: str, name: str) -> int:
    return max(i for i, m in enumerate(msgs) if m["sender"] == sender and m["name"] == name)


def rsa_private_key_numbers() -> dict[str, int]:
    r = RFC8448["server_rsa_private_key"]
    keys = ("modulus", "public_exponent", "private_exponent", "prime1", "prime2", "exponent1", "exponent2")
    return {k: int(r[k], 16) for k in (*keys, "coefficient")}


@dataclass
class Replay:
    values: dict[str, bytes] = field(default_factory=dict)  # named as in the vector's "secrets"
    transcript_hashes: dict[str, bytes] = field(default_factory=dict)
    traffic_keys: dict[str, tuple[bytes, bytes, bytes]] = field(default_factory=dict)  # secret, key, iv
    certificate_hashes: dict[str, bytes] = field(
        default_factory=dict
    )  # sender -> hash through its Certificate
    public_keys: dict[str, bytes] = field(default_factory=dict)  # "client"/"server" key_exchange
    client_view_of_shared_secret: bytes = b""


def _ecdhe(sec: dict[str, Any], r: Replay) -> bytes:
    inputs = sec["inputs"]
    prefix = "p256" if "server_p256_ephemeral" in inputs else "x25519"  # section 5: P-256 after the HRR
    client, server = inputs[f"client_{prefix}_ephemeral"], inputs[f"server_{prefix}_ephemeral"]
    group = GROUP_NAMES[client["group"]]
    client_share = DeterministicProvider(private_keys={group: [H(client["private_key"])]}).generate_key_share(
        group
    )
    server_provider = DeterministicProvider(private_keys={group: [H(server["private_key"])]})
    server_share, shared_secret = server_key_exchange(group, client_share.public_bytes, server_provider)
    r.public_keys = {"client": client_share.public_bytes, "server": server_share}
    r.client_view_of_shared_secret = client_share.exchange(server_share)
    return shared_secret


@functools.cache
def replay(n: str) -> Replay:
    sec = section(n)
    r = Replay()
    v = r.values
    h = SUITE.hash
    psk = None
    if n == "4":  # section 4 resumes section 3 with the PSK of its NewSessionTicket
        ticket_nonce = H(section("3")["inputs"]["new_session_ticket"]["ticket_nonce"])
        psk = resumption_psk(SUITE, replay("3").values["resumption_master_secret"], ticket_nonce)
        v["psk"] = psk
    early = EarlySecret.from_psk(SUITE, psk)
    v["early_ikm"] = psk if psk is not None else SUITE.zeros
    v["early_secret"] = early.secret
    v["derived_secret_for_handshake"] = derive_secret(h, early.secret, b"derived", SUITE.empty_hash)
    shared_secret = _ecdhe(sec, r)
    v["ecdhe_shared_secret"] = shared_secret

    # A client learns the hash from ServerHello (or HRR); with a PSK it knows it from the start.
    transcript = Transcript(h) if psk is not None else Transcript()
    msgs = transcript_messages(sec)
    i_server_hello = last_index(msgs, "server", "ServerHello")
    i_server_finished = last_index(msgs, "server", "Finished")
    i_client_finished = last_index(msgs, "client", "Finished")
    handshake = master = None
    for i, m in enumerate(msgs):
        raw = H(m["hex"])
        if i == 0 and psk is not None:
            # RFC 8446 §4.2.11.2: binder over the ClientHello up to the binders list (00 21 20 || binder).
            binder_hash = transcript.digest_with(raw[:-35])
            v["binder_transcript_hash"] = binder_hash
            v["binder_key"] = early.binder_key(resumption=True)
            v["binder_finished_key"] = finished_key(SUITE, v["binder_key"])
            v["psk_binder"] = binder(SUITE, v["binder_key"], binder_hash)
        if m["name"] == "Finished":
            assert handshake is not None
            side = m["sender"]
            base = v[f"{side}_handshake_traffic_secret"]
            v[f"{side}_finished_key"] = finished_key(SUITE, base)
            v[f"{side}_finished_verify_data"] = finished_verify_data(SUITE, base, transcript.digest())
        if m.get("role") == "HelloRetryRequest":  # RFC 8446 §4.4.1
            transcript.select(h)
            transcript.replace_with_message_hash()
        elif i == i_server_hello:
            transcript.select(h)
        transcript.update(raw)

        if i == 0 and psk is not None:
            r.transcript_hashes["client_hello"] = transcript.digest()
            v["client_early_traffic_secret"] = early.client_early_traffic(transcript.digest())
            v["early_exporter_master_secret"] = early.early_exporter(transcript.digest())
        if m["name"] == "Certificate":
            r.certificate_hashes[m["sender"]] = transcript.digest()
        if i == i_server_hello:
            th = r.transcript_hashes["server_hello"] = transcript.digest()
            handshake = early.next_stage(shared_secret)
            v["handshake_secret"] = handshake.secret
            v["client_handshake_traffic_secret"] = handshake.client_traffic(th)
            v["server_handshake_traffic_secret"] = handshake.server_traffic(th)
            v["derived_secret_for_master"] = derive_secret(h, handshake.secret, b"derived", SUITE.empty_hash)
        if i == i_server_finished:
            assert handshake is not None
            th = r.transcript_hashes["server_finished"] = transcript.digest()
            master = handshake.next_stage()
            v["master_secret"] = master.secret
            v["client_application_traffic_secret_0"] = master.client_application_traffic(th)
            v["server_application_traffic_secret_0"] = master.server_application_traffic(th)
            v["exporter_master_secret"] = master.exporter(th)
        if i == i_client_finished:
            assert master is not None
            th = r.transcript_hashes["client_finished"] = transcript.digest()
            v["resumption_master_secret"] = master.resumption(th)

    if n == "3":
        ticket_nonce = H(sec["inputs"]["new_session_ticket"]["ticket_nonce"])
        v["resumption_psk"] = resumption_psk(SUITE, v["resumption_master_secret"], ticket_nonce)

    bases = {
        "client_early": v.get("client_early_traffic_secret"),
        "client_handshake": v["client_handshake_traffic_secret"],
        "server_handshake": v["server_handshake_traffic_secret"],
        "client_application": v["client_application_traffic_secret_0"],
        "server_application": v["server_application_traffic_secret_0"],
    }
    for name, secret in bases.items():
        if secret is not None:
            r.traffic_keys[name] = (secret, *traffic_key_iv(SUITE, secret))
    return r
