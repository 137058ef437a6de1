"""The TLS 1.2 key schedule, ECDHE, ServerKeyExchange signatures and record protection against a real
``openssl s_server -tls1_2``: a scripted client (``tls12_script``) runs the whole handshake.

What OpenSSL checks for us: our ClientKeyExchange point, our client Finished (a wrong one is refused
with decrypt_error: see the negative test), and our sealed records (it prints what it decrypts).
What we check against OpenSSL: its ServerKeyExchange signature, its Finished, its records, the master
secret in its key log (CLIENT_RANDOM line) and the RFC 5705 exporter value it prints (-keymatexport).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crypto.tls12_script import handshake, receive
from tests.interop.ossl import PkiFiles
from tests.wire.openssl12 import Tls12Peer, pki_files
from tlslens import keylog
from tlslens.errors import BadRecordMac, LocalProtocolError
from tlslens.record.deframer import Record
from tlslens.wire.enums import AlertDescription, CipherSuite, ContentType, NamedGroup

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(60),
]

CS = CipherSuite
SUITES = [
    ("ecdsa-p256", CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ("ecdsa-p256", CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    ("ecdsa-p256", CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ("rsa2048", CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    ("rsa2048", CS.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    ("rsa2048", CS.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
]
LABEL = "EXPERIMENTAL-tlslens-test"


@pytest.fixture(scope="module")
def pkis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PkiFiles]:
    return {k: pki_files(k, tmp_path_factory.mktemp(k)) for k in ("ecdsa-p256", "rsa2048", "ecdsa-p384")}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    peers: list[Tls12Peer] = []

    def run(pki: PkiFiles, *args: str) -> Tls12Peer:
        peer = Tls12Peer.start(pki, tmp_path, "-keymatexport", LABEL, "-keymatexportlen", "32", *args)
        peers.append(peer)
        return peer

    yield run
    for peer in peers:
        peer.close()


def _keylog_master(peer: Tls12Peer, client_random: bytes) -> str:
    peer.proc.wait_for(r"Keying material: [0-9A-F]+", timeout=10)
    lines = [line for line in peer.keylog.read_text().splitlines() if line.startswith("CLIENT_RANDOM ")]
    matching = [line for line in lines if line.split()[1] == client_random.hex()]
    assert len(matching) == 1, lines
    return matching[0]


@pytest.mark.parametrize(("key_type", "suite"), SUITES, ids=[s.name for _, s in SUITES])
def test_full_handshake_and_data_both_ways(
    start: object, pkis: dict[str, PkiFiles], key_type: str, suite: CipherSuite
) -> None:
    peer = start(pkis[key_type])  # type: ignore[operator]
    session = handshake(peer, suite, NamedGroup.X25519)
    master = session.master
    assert master.extended

    # OpenSSL's key log holds the very master secret we derived, in the line we would write.
    assert _keylog_master(peer, master.client_random) == keylog.client_random_line(
        master.client_random, master.secret
    )
    # RFC 5705 exporter, no context: what s_server printed for -keymatexport.
    printed = re.search(r"Keying material: ([0-9A-F]+)", peer.proc.output)
    assert printed is not None
    assert master.export(LABEL.encode(), None, 32).hex().upper() == printed.group(1)
    assert master.export(LABEL.encode(), b"", 32) != master.export(LABEL.encode(), None, 32)

    # Our records, decrypted by OpenSSL (s_server prints what it reads) ...
    several = b"tlslens says hello\n" * 3
    peer.conn.sock.sendall(session.sealer.seal(ContentType.APPLICATION_DATA, several, max_fragment=19))
    peer.proc.wait_for_bytes(several, timeout=10)
    # ... and OpenSSL's records (s_server sends each stdin line), opened by us.
    peer.proc.write("pong from openssl\n")
    assert receive(peer, session) == (ContentType.APPLICATION_DATA, b"pong from openssl\n")
    assert session.opener.seq == 2 and session.sealer.seq == 4  # Finished + records, both ways


@pytest.mark.parametrize(
    "group", [NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1, NamedGroup.X448]
)
def test_every_tls12_curve_agrees_with_openssl(
    start: object, pkis: dict[str, PkiFiles], group: NamedGroup
) -> None:
    name = {NamedGroup.SECP256R1: "P-256", NamedGroup.SECP384R1: "P-384", NamedGroup.SECP521R1: "P-521"}
    peer = start(pkis["ecdsa-p256"], "-groups", name.get(group, group.iana_name.upper()))  # type: ignore[operator]
    session = handshake(peer, CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, group)
    assert _keylog_master(peer, session.master.client_random).endswith(session.master.secret.hex())


def test_ecdsa_p384_certificate_signs_with_sha256_in_tls12(start: object, pkis: dict[str, PkiFiles]) -> None:
    """TLS 1.2 ECDSA schemes name the hash only: a P-384 key signing ecdsa_secp256r1_sha256 is fine."""
    peer = start(pkis["ecdsa-p384"], "-sigalgs", "ECDSA+SHA256")  # type: ignore[operator]
    session = handshake(peer, CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, NamedGroup.X25519)
    assert session.master.extended


def test_without_extended_master_secret_the_legacy_derivation_matches_and_exporters_are_off(
    start: object, pkis: dict[str, PkiFiles]
) -> None:
    peer = start(pkis["rsa2048"])  # type: ignore[operator]
    session = handshake(peer, CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, NamedGroup.X25519, ems=False)
    assert not session.master.extended
    assert _keylog_master(peer, session.master.client_random).endswith(session.master.secret.hex())
    with pytest.raises(LocalProtocolError, match="RFC 7627"):
        session.master.export(LABEL.encode(), None, 32)


def test_openssl_refuses_a_wrong_client_finished(start: object, pkis: dict[str, PkiFiles]) -> None:
    peer = start(pkis["ecdsa-p256"])  # type: ignore[operator]
    handshake(peer, CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, NamedGroup.X25519, corrupt_finished=True)
    ctype, _, payload = peer.conn.recv_record()
    while ctype == ContentType.HANDSHAKE:  # a NewSessionTicket may not come: the check comes first
        ctype, _, payload = peer.conn.recv_record()
    assert ctype == ContentType.ALERT and payload == bytes([2, AlertDescription.DECRYPT_ERROR])


def test_a_flipped_bit_in_an_openssl_record_is_bad_record_mac(
    start: object, pkis: dict[str, PkiFiles]
) -> None:
    peer = start(pkis["ecdsa-p256"])  # type: ignore[operator]
    session = handshake(peer, CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, NamedGroup.X25519)
    peer.proc.write("to be tampered with\n")
    ctype, header, payload = peer.conn.recv_record()
    tampered = bytearray(payload)
    tampered[-1] ^= 0x40
    with pytest.raises(BadRecordMac):
        session.opener.open(Record(ctype, int.from_bytes(header[1:3], "big"), bytes(tampered)))
