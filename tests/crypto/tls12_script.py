"""A TLS 1.2 client written out step by step from the building blocks (codec, ECDHE, signatures, key
schedule, record protection), to run a whole handshake and some application data against a real
``openssl s_server -tls1_2``. It is a test script, not the engine: every step is spelled out so that
each building block meets OpenSSL's own bytes, and a wrong value anywhere makes OpenSSL (or we) refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from tests.wire.openssl12 import Tls12Peer, client_hello12, read_handshake_messages
from tlslens.crypto.ecdhe12 import client_key_exchange, verify_server_key_exchange
from tlslens.crypto.key_schedule12 import MasterSecret12
from tlslens.crypto.provider import DefaultProvider
from tlslens.crypto.signatures import is_rsa_pss_certificate
from tlslens.crypto.suites12 import TLS12_SUITES, Tls12Suite
from tlslens.crypto.transcript import Transcript
from tlslens.record.deframer import Record
from tlslens.record.protection12 import Tls12RecordOpener, Tls12RecordSealer
from tlslens.wire.enums import CipherSuite, ContentType, NamedGroup, ProtocolVersion
from tlslens.wire.extensions import ExtendedMasterSecret
from tlslens.wire.messages import Finished, ServerHello, decode_handshake, encode_handshake
from tlslens.wire.messages12 import (
    Certificate12,
    ChangeCipherSpec,
    ClientKeyExchangeECDHE,
    NewSessionTicket12,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlslens.wire.suite_info import KeyExchange

TLS12 = ProtocolVersion.TLS1_2


@dataclass
class ClientSession:
    """What the scripted client knows once the server's Finished verified."""

    suite: Tls12Suite
    master: MasterSecret12
    sealer: Tls12RecordSealer = field(repr=False)
    opener: Tls12RecordOpener = field(repr=False)
    server_hello: ServerHello
    ticket: NewSessionTicket12 | None


def _decode(raw: bytes) -> object:
    return decode_handshake(raw, version=TLS12, key_exchange=KeyExchange.ECDHE)


def handshake(
    peer: Tls12Peer,
    suite_code: CipherSuite,
    group: NamedGroup,
    *,
    ems: bool = True,
    corrupt_finished: bool = False,
) -> ClientSession:
    """Run a full handshake; with ``corrupt_finished`` our Finished is wrong and this returns once it is
    sent (the caller reads OpenSSL's answer)."""
    suite = TLS12_SUITES[suite_code]
    transcript = Transcript(suite.hash)
    # The NIST curves too: an OpenSSL 1.2 server wants its ECDSA certificate's curve among the client's
    # groups (the key exchange itself uses ``group``: the server prefers it, or is limited to it).
    groups = list(dict.fromkeys([group, NamedGroup.SECP256R1, NamedGroup.SECP384R1]))
    hello = client_hello12([suite_code], groups=groups, ems=ems)
    transcript.update(peer.send_hello(hello))

    flight = read_handshake_messages(peer.conn, last_type=14)
    for raw in flight:
        transcript.update(raw)
    sh, cert, ske, done = (_decode(raw) for raw in flight)
    assert isinstance(sh, ServerHello) and sh.cipher_suite == suite_code
    assert isinstance(cert, Certificate12) and isinstance(done, ServerHelloDone)
    assert isinstance(ske, ServerKeyExchange) and isinstance(ske.params, ServerECDHParams)
    assert ske.params.named_curve == group and ske.signed is not None and ske.signed.algorithm is not None
    assert (sh.extension(ExtendedMasterSecret) is not None) == ems

    # The server's ECDHE parameters are signed by its certificate key (raises if not).
    leaf = x509.load_der_x509_certificate(cert.certificate_list[0])
    verify_server_key_exchange(
        leaf.public_key(),  # type: ignore[arg-type]
        ske.signed.algorithm,
        ske.signed.signature,
        hello.random,
        sh.random,
        ske.params_bytes,
        rsa_pss_key=is_rsa_pss_certificate(leaf),
    )

    client_public, pre_master = client_key_exchange(group, ske.params.public, DefaultProvider())
    cke = encode_handshake(ClientKeyExchangeECDHE(client_public))
    transcript.update(cke)
    if ems:
        master = MasterSecret12.derive_extended(
            suite, pre_master, transcript.digest(), hello.random, sh.random
        )
    else:
        master = MasterSecret12.derive(suite, pre_master, hello.random, sh.random)
    keys = master.key_block()
    sealer = Tls12RecordSealer(suite, *keys.write(client=True))
    opener = Tls12RecordOpener(suite, *keys.read(client=True))

    verify_data = master.client_finished(transcript.digest())
    if corrupt_finished:
        verify_data = bytes([verify_data[0] ^ 1]) + verify_data[1:]
    finished = encode_handshake(Finished(verify_data))
    transcript.update(finished)
    peer.conn.sock.sendall(
        cke_record(cke)
        + bytes([ContentType.CHANGE_CIPHER_SPEC, 3, 3, 0, 1])
        + ChangeCipherSpec().encode()
        + sealer.seal(ContentType.HANDSHAKE, finished)
    )
    if corrupt_finished:
        return ClientSession(suite, master, sealer, opener, sh, None)

    ticket = None
    ctype, _, payload = peer.conn.recv_record()
    if ctype == ContentType.HANDSHAKE:  # NewSessionTicket, before the server's ChangeCipherSpec
        transcript.update(payload)
        nst = _decode(payload)
        assert isinstance(nst, NewSessionTicket12)
        ticket = nst
        ctype, _, payload = peer.conn.recv_record()
    assert ctype == ContentType.CHANGE_CIPHER_SPEC, (
        f"expected ChangeCipherSpec, got type {ctype}: {payload.hex()}"
    )
    ChangeCipherSpec.decode(payload)
    ctype, header, payload = peer.conn.recv_record()
    inner_type, server_finished = opener.open(Record(ctype, int.from_bytes(header[1:3], "big"), payload))
    assert inner_type == ContentType.HANDSHAKE
    fin = _decode(server_finished)
    assert isinstance(fin, Finished)
    assert fin.verify_data == master.server_finished(transcript.digest())
    return ClientSession(suite, master, sealer, opener, sh, ticket)


def cke_record(cke: bytes) -> bytes:
    return bytes([ContentType.HANDSHAKE, 3, 3]) + len(cke).to_bytes(2, "big") + cke


def receive(peer: Tls12Peer, session: ClientSession) -> tuple[int, bytes]:
    """Open the next record from the server."""
    ctype, header, payload = peer.conn.recv_record()
    return session.opener.open(Record(ctype, int.from_bytes(header[1:3], "big"), payload))
