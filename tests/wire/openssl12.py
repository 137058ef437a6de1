"""A real ``openssl s_server -tls1_2`` and a plain socket that speaks records to it, for tests that check
TLS 1.2 building blocks (codec, key schedule, record protection) against the bytes OpenSSL sends.

``Tls12Peer.start(...)`` runs s_server for one connection on an ephemeral port, with a key log file;
``RecordSocket`` sends and receives whole TLS records; ``read_handshake_messages`` reassembles the
plaintext handshake messages of the server's first flight. Everything is stopped by ``close()``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path

from tests.interop.harness import make_pki_files
from tests.interop.ossl import OpenSSLProcess, PkiFiles
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
    Extension,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SupportedGroups,
)
from tlslens.wire.messages import ClientHello, encode_handshake

TIMEOUT = 10.0

SIGNATURE_SCHEMES = (
    SignatureScheme.ECDSA_SECP256R1_SHA256,
    SignatureScheme.ECDSA_SECP384R1_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA256,
    SignatureScheme.RSA_PSS_RSAE_SHA384,
    SignatureScheme.RSA_PKCS1_SHA256,
    SignatureScheme.RSA_PKCS1_SHA384,
)


def client_hello12(
    suites: Sequence[CipherSuite],
    *,
    random: bytes | None = None,
    groups: Sequence[NamedGroup] = (NamedGroup.X25519, NamedGroup.SECP256R1),
    schemes: Sequence[SignatureScheme] = SIGNATURE_SCHEMES,
    ems: bool = True,
    extra: Sequence[Extension] = (),
) -> ClientHello:
    """A TLS 1.2 ClientHello as a modern client sends it (SNI localhost, renegotiation_info, EMS)."""
    exts: list[Extension] = [
        ServerName(("localhost",)),
        RenegotiationInfo(b""),
        SupportedGroups(tuple(groups)),
        ECPointFormats((ECPointFormat.UNCOMPRESSED,)),
        SignatureAlgorithms(tuple(schemes)),
        SessionTicket(b""),
    ]
    if ems:
        exts.append(ExtendedMasterSecret())
    exts.extend(extra)
    return ClientHello(
        ProtocolVersion.TLS1_2,
        random if random is not None else os.urandom(32),
        b"",
        tuple(suites),
        (CompressionMethod.NULL,),
        tuple(exts),
    )


class RecordSocket:
    """Whole TLS records over a TCP socket (no protection: the caller seals and opens)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(TIMEOUT)

    @classmethod
    def connect(cls, port: int) -> RecordSocket:
        return cls(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))

    def send_record(self, content_type: int, payload: bytes, version: int = 0x0303) -> None:
        header = bytes([content_type]) + version.to_bytes(2, "big") + len(payload).to_bytes(2, "big")
        self.sock.sendall(header + payload)

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError(f"peer closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv_record(self) -> tuple[int, bytes, bytes]:
        """(content type, the 5-byte header, the payload)."""
        header = self._exact(5)
        return header[0], header, self._exact(int.from_bytes(header[3:5], "big"))

    def close(self) -> None:
        self.sock.close()


def read_handshake_messages(conn: RecordSocket, last_type: int) -> list[bytes]:
    """Plaintext handshake messages from handshake records, up to and including the first one of type
    ``last_type`` (ServerHelloDone: 14). An alert record is an AssertionError naming it."""
    buf = bytearray()
    messages: list[bytes] = []
    while True:
        ctype, _, payload = conn.recv_record()
        assert ctype != ContentType.ALERT, f"server sent alert {payload.hex()}"
        assert ctype == ContentType.HANDSHAKE, f"unexpected record type {ctype}"
        buf += payload
        while len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[1:4], "big"):
            n = 4 + int.from_bytes(buf[1:4], "big")
            messages.append(bytes(buf[:n]))
            del buf[:n]
            if messages[-1][0] == last_type:
                assert not buf
                return messages


class Tls12Peer:
    """``openssl s_server -tls1_2`` for one connection, and our socket to it."""

    def __init__(self, proc: OpenSSLProcess, port: int, keylog: Path) -> None:
        self.proc = proc
        self.port = port
        self.keylog = keylog
        self.conn = RecordSocket.connect(port)

    @classmethod
    def start(cls, pki: PkiFiles, directory: Path, *args: str, version: str = "-tls1_2") -> Tls12Peer:
        keylog = directory / "s_server.keylog"
        proc = OpenSSLProcess(
            ["s_server", version, "-accept", "127.0.0.1:0", "-naccept", "1", *pki.server_args,
             "-keylogfile", str(keylog), *args]
        )  # fmt: skip
        try:
            m = proc.wait_for(r"^ACCEPT \S+:(\d+)\s*$", TIMEOUT)
            return cls(proc, int(m.group(1)), keylog)
        except BaseException:
            proc.kill()
            raise

    def send_hello(self, hello: ClientHello) -> bytes:
        raw = encode_handshake(hello)
        self.conn.send_record(ContentType.HANDSHAKE, raw, version=0x0301)
        return raw

    def close(self) -> None:
        self.conn.close()
        self.proc.kill()


def pki_files(key_type: str, directory: Path) -> PkiFiles:
    return make_pki_files(key_type, directory)
