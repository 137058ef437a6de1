"""A TLS 1.2 client and server written out step by step from the building blocks (codec, ECDHE,
signatures, key schedule, record protection), to run whole handshakes and application data against a
real ``openssl s_server -tls1_2`` or ``openssl s_client -tls1_2``. It is a test script, not the engine:
every step is spelled out so that each building block meets OpenSSL's own bytes, and a wrong value
anywhere makes OpenSSL (or us) refuse.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

from tests.wire.openssl12 import RecordSocket, Tls12Peer, client_hello12, read_handshake_messages
from tlslens.crypto.ecdhe12 import (
    client_key_exchange,
    server_key_exchange_input,
    server_key_share,
    verify_server_key_exchange,
)
from tlslens.crypto.key_schedule12 import MasterSecret12
from tlslens.crypto.provider import DefaultProvider
from tlslens.crypto.signatures import KeySigner, is_rsa_pss_certificate
from tlslens.crypto.suites12 import TLS12_SUITES, Tls12Suite
from tlslens.crypto.transcript import Transcript
from tlslens.record.deframer import Record
from tlslens.record.protection12 import Tls12RecordOpener, Tls12RecordSealer
from tlslens.wire.enums import (
    CipherSuite,
    CompressionMethod,
    ContentType,
    ECPointFormat,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlslens.wire.extensions import (
    ECPointFormats,
    ExtendedMasterSecret,
    RenegotiationInfo,
    SignatureAlgorithms,
)
from tlslens.wire.messages import ClientHello, Finished, ServerHello, decode_handshake, encode_handshake
from tlslens.wire.messages12 import (
    Certificate12,
    ChangeCipherSpec,
    ClientKeyExchangeECDHE,
    DigitallySigned,
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


# --- the other side: a scripted server for `openssl s_client -tls1_2` ------------------------------------


@dataclass
class ServerSession:
    """What the scripted server knows once the client's Finished verified."""

    master: MasterSecret12
    scheme: SignatureScheme
    sealer: Tls12RecordSealer = field(repr=False)
    opener: Tls12RecordOpener = field(repr=False)
    client_hello: ClientHello


def serve(
    conn: RecordSocket,
    suite_code: CipherSuite,
    chain: Sequence[x509.Certificate],
    private_key: PrivateKeyTypes,
    group: NamedGroup = NamedGroup.X25519,
) -> ServerSession:
    """Answer one ClientHello with a full ECDHE handshake signed by ``private_key``, with the first
    TLS 1.2 scheme of the client's list that the key can sign with."""
    suite = TLS12_SUITES[suite_code]
    transcript = Transcript(suite.hash)
    (raw_hello,) = read_handshake_messages(conn, last_type=1)
    transcript.update(raw_hello)
    hello = _decode(raw_hello)
    assert isinstance(hello, ClientHello) and suite_code in hello.cipher_suites
    assert hello.extension(ExtendedMasterSecret) is not None
    offered = hello.extension(SignatureAlgorithms)
    assert offered is not None
    signer = KeySigner(private_key)  # type: ignore[arg-type]
    scheme = next(s for s in offered.supported_signature_algorithms if s in signer.schemes_for(TLS12))

    server_random = os.urandom(32)
    share = server_key_share(group, DefaultProvider())
    params = ServerECDHParams(group, share.public_bytes)
    ske = ServerKeyExchange(params, None)
    signature = signer.sign(
        scheme, server_key_exchange_input(hello.random, server_random, ske.params_bytes), version=TLS12
    )
    flight = [
        ServerHello(
            TLS12, server_random, b"", suite_code, CompressionMethod.NULL,
            (RenegotiationInfo(b""), ExtendedMasterSecret(), ECPointFormats((ECPointFormat.UNCOMPRESSED,))),
        ),
        Certificate12(tuple(c.public_bytes(Encoding.DER) for c in chain)),
        ServerKeyExchange(params, DigitallySigned(scheme, signature)),
        ServerHelloDone(),
    ]  # fmt: skip
    raw_flight = [encode_handshake(m) for m in flight]
    for raw in raw_flight:
        transcript.update(raw)
    conn.send_record(ContentType.HANDSHAKE, b"".join(raw_flight))

    (raw_cke,) = read_handshake_messages(conn, last_type=16)
    cke = _decode(raw_cke)
    assert isinstance(cke, ClientKeyExchangeECDHE)
    transcript.update(raw_cke)
    pre_master = share.exchange(cke.public)
    master = MasterSecret12.derive_extended(
        suite, pre_master, transcript.digest(), hello.random, server_random
    )
    keys = master.key_block()
    sealer = Tls12RecordSealer(suite, *keys.write(client=False))
    opener = Tls12RecordOpener(suite, *keys.read(client=False))

    ctype, _, payload = conn.recv_record()
    assert ctype == ContentType.CHANGE_CIPHER_SPEC
    ChangeCipherSpec.decode(payload)
    ctype, header, payload = conn.recv_record()
    inner_type, raw_fin = opener.open(Record(ctype, int.from_bytes(header[1:3], "big"), payload))
    fin = _decode(raw_fin)
    assert inner_type == ContentType.HANDSHAKE and isinstance(fin, Finished)
    assert fin.verify_data == master.client_finished(transcript.digest())
    transcript.update(raw_fin)
    finished = encode_handshake(Finished(master.server_finished(transcript.digest())))
    conn.sock.sendall(
        bytes([ContentType.CHANGE_CIPHER_SPEC, 3, 3, 0, 1])
        + ChangeCipherSpec().encode()
        + sealer.seal(ContentType.HANDSHAKE, finished)
    )
    return ServerSession(master, scheme, sealer, opener, hello)
