"""Record the fuzz corpus: real conversations, replayable byte for byte (see transcripts.py).

    python fuzz/record.py            # rewrites fuzz/corpus/*.json (the openssl ones need `openssl`)

Each conversation runs one deterministic tlslens endpoint (built from its ``Endpoint`` description:
Ed25519 certificates, whose signatures are deterministic; x25519 and the P-curves, whose keys come from
the seeded provider) against a peer: another tlslens endpoint, ``openssl s_client`` or ``openssl
s_server``. What the peer sent is kept as it arrived, with the peer's write secrets from its key log.
The conversations cover a HelloRetryRequest, client certificates, resumption with accepted 0-RTT,
application data both ways, a KeyUpdate that asks for an answer, and close_notify.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `fuzz` and `tlslens` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization

from fuzz.transcripts import CORPUS, Endpoint, Transcript, act
from tlslens.certgen import Issued, make_ca, make_leaf
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.crypto.provider import DeterministicProvider
from tlslens.events import Event, HandshakeCompleted, SessionTicketReceived
from tlslens.session.tickets import TicketKeyRing
from tlslens.verifier import WebPkiVerifier

Connection = ClientConnection | ServerConnection
NOW = float(int(time.time()))


def _pem(issued: Issued) -> tuple[str, str]:
    cert = issued.certificate.public_bytes(serialization.Encoding.PEM).decode()
    key = issued.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert, key


class Pki:
    """Throwaway PKIs with Ed25519 leaves (ECDSA CAs, as the Web PKI wants): one for servers, one for
    client certificates."""

    def __init__(self) -> None:
        self.root = make_ca("fuzz root")
        self.intermediate = make_ca("fuzz intermediate", issuer=self.root)
        self.server = make_leaf(self.intermediate, ("localhost", "127.0.0.1"), key_type="ed25519")
        self.client_ca = make_ca("fuzz client CA")
        self.client = make_leaf(self.client_ca, ("client.example",), key_type="ed25519", client=True)

    def pem(self, issued: Issued) -> str:
        return _pem(issued)[0]

    def server_chain(self) -> tuple[tuple[str, ...], str]:
        cert, key = _pem(self.server)
        return (cert, self.pem(self.intermediate)), key

    def client_chain(self) -> tuple[tuple[str, ...], str]:
        cert, key = _pem(self.client)
        return (cert,), key

    def write(self, directory: Path) -> dict[str, Path]:
        files = {}
        for name, issued in (("server", self.server), ("client", self.client)):
            cert, key = _pem(issued)
            files[f"{name}.pem"] = directory / f"{name}.pem"
            files[f"{name}.pem"].write_text(cert)
            files[f"{name}-key.pem"] = directory / f"{name}-key.pem"
            files[f"{name}-key.pem"].write_text(key)
        for name, issued in (
            ("root", self.root),
            ("intermediate", self.intermediate),
            ("client-ca", self.client_ca),
        ):
            files[f"{name}.pem"] = directory / f"{name}.pem"
            files[f"{name}.pem"].write_text(self.pem(issued))
        return files


def _secrets(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            out[parts[0]] = parts[2].lower()
    return out


def _suite(events: list[Event]) -> str:
    done = [e for e in events if isinstance(e, HandshakeCompleted)]
    assert done, "the recorded conversation did not complete its handshake"
    return done[0].cipher_suite.name


# --- tlslens against tlslens ----------------------------------------------------------------------------


class Ours:
    """The recorded endpoint's own actions, done and written down (at the peer chunk they precede)."""

    def __init__(self, conn: Connection, chunks: list[str]) -> None:
        self.conn = conn
        self.chunks = chunks
        self.actions: list[dict[str, object]] = []

    def _do(self, action: dict[str, object]) -> None:
        action["at"] = len(self.chunks)
        act(self.conn, action)  # type: ignore[arg-type]
        self.actions.append(action)

    def send(self, data: bytes) -> None:
        self._do({"do": "send", "data": data.hex()})

    def key_update(self, request_peer: bool) -> None:
        self._do({"do": "key_update", "request_peer": request_peer})

    def close(self) -> None:
        self._do({"do": "close"})


Script = Callable[[Ours, Connection], None]


def record_pair(
    name: str, endpoint: Endpoint, peer: Connection, peer_keylog: list[str], after: list[Script], notes: str
) -> Transcript:
    """Run ``endpoint`` (rebuilt from its description) against ``peer`` in memory; after the handshake,
    each step of ``after`` acts on (ours, peer) and the pair is pumped again."""
    ours = endpoint.build()
    digest = hashlib.sha256()
    chunks: list[str] = []
    events: list[Event] = []
    me = Ours(ours, chunks)

    def pump() -> None:
        for _ in range(50):
            mine = ours.data_to_send()
            digest.update(mine)
            if mine:
                peer.receive_data(mine)
            theirs = peer.data_to_send()
            if theirs:
                chunks.append(theirs.hex())
                events.extend(ours.receive_data(theirs))
            if not mine and not theirs:
                return
        raise AssertionError("the pair kept talking")

    pump()
    for step in after:
        step(me, peer)
        pump()
    return Transcript(
        name,
        endpoint,
        _suite(events),
        _secrets(peer_keylog),
        tuple(chunks),
        digest.hexdigest(),
        notes,
        tuple(me.actions),
    )


def _talk(ours: Ours, peer: Connection) -> None:
    ours.send(b"hello from the recorded endpoint")
    peer.send_data(b"hello from its peer")


def _peer_asks_for_key_update(ours: Ours, peer: Connection) -> None:
    peer.update_keys(request_peer=True)
    peer.send_data(b"after the key update")


def _close(ours: Ours, peer: Connection) -> None:
    peer.close()
    ours.close()


STEPS: list[Script] = [_talk, _peer_asks_for_key_update, _close]


def tlslens_pairs(pki: Pki) -> list[Transcript]:
    chain, key = pki.server_chain()
    client_chain, client_key = pki.client_chain()
    root, client_ca = pki.pem(pki.root), pki.pem(pki.client_ca)
    out = []
    # A full handshake with a HelloRetryRequest (the client's x25519 share does not fit) and a client
    # certificate: both sides' views.
    server_end = Endpoint(
        role="server",
        seed="01",
        clock=NOW,
        certificate_chain=chain,
        private_key=key,
        trust_root=client_ca,
        groups=("secp384r1",),
    )
    keylog: list[str] = []
    peer = ClientConnection(
        ClientConfig(
            verifier=WebPkiVerifier([pki.root.certificate]),
            groups=("x25519", "secp384r1"),
            key_share_groups=("x25519",),
            certificate_chain=[pki.client.certificate],
            private_key=pki.client.private_key,
            keylog=keylog.append,
        ),
        "localhost",
    )
    out.append(
        record_pair(
            "tlslens-server-hrr-client-auth",
            server_end,
            peer,
            keylog,
            STEPS,
            "server: HelloRetryRequest, client certificate, data, KeyUpdate, close",
        )
    )
    client_end = Endpoint(
        role="client",
        seed="02",
        clock=NOW,
        certificate_chain=client_chain,
        private_key=client_key,
        trust_root=root,
        groups=("x25519", "secp384r1"),
        key_share_groups=("x25519",),
    )
    keylog = []
    peer_server = ServerConnection(
        ServerConfig(
            certificate_chain=[pki.server.certificate, pki.intermediate.certificate],
            private_key=pki.server.private_key,
            groups=("secp384r1",),
            client_verifier=WebPkiVerifier([pki.client_ca.certificate]),
            keylog=keylog.append,
        )
    )
    out.append(
        record_pair(
            "tlslens-client-hrr-client-auth",
            client_end,
            peer_server,
            keylog,
            STEPS,
            "client: HelloRetryRequest, client certificate, tickets, data, KeyUpdate, close",
        )
    )
    out += _resumption(pki, chain, key, root)
    return out


def _resumption(pki: Pki, chain: tuple[str, ...], key: str, root: str) -> list[Transcript]:
    """Resumption with accepted 0-RTT: a first handshake for a ticket, then both sides' views of the
    resumed one."""
    ring_text = TicketKeyRing(provider=DeterministicProvider(seed=b"ring", clock=NOW)).export()
    server_end = Endpoint(
        role="server",
        seed="03",
        clock=NOW,
        certificate_chain=chain,
        private_key=key,
        ticket_keys=ring_text,
        max_early_data_size=4096,
    )
    client_config = ClientConfig(
        verifier=WebPkiVerifier([pki.root.certificate]),
        groups=("x25519",),
        provider=DeterministicProvider(seed=b"first", clock=NOW),
    )
    first_client = ClientConnection(client_config, "localhost")
    first_server = server_end.build()
    tickets: list[Event] = []
    for _ in range(10):
        if data := first_client.data_to_send():
            first_server.receive_data(data)
        if data := first_server.data_to_send():
            tickets += first_client.receive_data(data)
    session = next(e.session for e in tickets if isinstance(e, SessionTicketReceived))
    early = b"GET /early HTTP/1.1\r\nHost: localhost\r\n\r\n"
    keylog: list[str] = []
    peer = ClientConnection(
        ClientConfig(
            verifier=WebPkiVerifier([pki.root.certificate]),
            groups=("x25519",),
            keylog=keylog.append,
            provider=DeterministicProvider(seed=b"peer", clock=NOW),
        ),
        "localhost",
        session=session,
        early_data=early,
    )
    server_view = record_pair(
        "tlslens-server-resumption-0rtt",
        server_end,
        peer,
        keylog,
        STEPS,
        "server: resumption, 0-RTT accepted, EndOfEarlyData, data, KeyUpdate, close",
    )
    client_end = Endpoint(
        role="client",
        seed="04",
        clock=NOW,
        trust_root=root,
        groups=("x25519",),
        session=session.to_bytes().hex(),
        early_data=early.hex(),
    )
    keylog = []
    peer_server = ServerConnection(
        ServerConfig(
            certificate_chain=[pki.server.certificate, pki.intermediate.certificate],
            private_key=pki.server.private_key,
            ticket_keys=TicketKeyRing.from_export(ring_text),
            max_early_data_size=4096,
            keylog=keylog.append,
            provider=DeterministicProvider(seed=b"s", clock=NOW),
        )
    )
    client_view = record_pair(
        "tlslens-client-resumption-0rtt",
        client_end,
        peer_server,
        keylog,
        STEPS,
        "client: resumption, 0-RTT accepted, tickets, data, KeyUpdate, close",
    )
    return [server_view, client_view]


# --- tlslens against openssl ---------------------------------------------------------------------------


def _pump_socket(
    ours: Connection,
    sock: socket.socket,
    until: Callable[[list[Event]], bool],
    chunks: list[str],
    digest: hashlib._Hash,
    events: list[Event],
    timeout: float = 10.0,
) -> None:
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while not until(events):
        if data := ours.data_to_send():
            digest.update(data)
            sock.sendall(data)
        if time.monotonic() > deadline:
            raise AssertionError("openssl did not answer in time")
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            events.extend(ours.receive_data(b""))
            return
        chunks.append(chunk.hex())
        events.extend(ours.receive_data(chunk))
    if data := ours.data_to_send():
        digest.update(data)
        sock.sendall(data)


def _openssl(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["openssl", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def openssl_conversations(pki: Pki, directory: Path) -> list[Transcript]:
    files = pki.write(directory)
    chain, key = pki.server_chain()
    client_chain, client_key = pki.client_chain()
    out = []
    # tlslens server, openssl s_client with a client certificate; data, a KeyUpdate request, close.
    endpoint = Endpoint(
        role="server",
        seed="05",
        clock=NOW,
        certificate_chain=chain,
        private_key=key,
        trust_root=pki.pem(pki.client_ca),
        groups=("x25519", "secp256r1"),
    )
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    keylog = directory / "s_client.keylog"
    client = _openssl(
        "s_client",
        "-tls1_3",
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        "localhost",
        "-CAfile",
        str(files["root.pem"]),
        "-cert",
        str(files["client.pem"]),
        "-key",
        str(files["client-key.pem"]),
        "-groups",
        "x25519",
        "-keylogfile",
        str(keylog),
    )
    try:
        listener.settimeout(10)
        sock, _ = listener.accept()
        ours = endpoint.build()
        digest, chunks, events = hashlib.sha256(), [], []
        me = Ours(ours, chunks)
        _pump_socket(
            ours, sock, lambda ev: any(isinstance(e, HandshakeCompleted) for e in ev), chunks, digest, events
        )
        me.send(b"hello from tlslens\n")
        assert client.stdin is not None
        client.stdin.write(b"hello from s_client\n")
        client.stdin.flush()
        _pump_socket(
            ours,
            sock,
            lambda ev: sum(type(e).__name__ == "DataReceived" for e in ev) >= 1,
            chunks,
            digest,
            events,
        )
        client.stdin.write(b"K\n")
        client.stdin.flush()
        _pump_socket(
            ours, sock, lambda ev: any(type(e).__name__ == "KeyUpdated" for e in ev), chunks, digest, events
        )
        client.stdin.close()  # s_client sends close_notify
        _pump_socket(
            ours,
            sock,
            lambda ev: any(type(e).__name__ == "ConnectionClosed" for e in ev),
            chunks,
            digest,
            events,
        )
        me.close()
        if data := ours.data_to_send():
            digest.update(data)
        sock.close()
    finally:
        client.kill()
        client.wait()
        listener.close()
    lines = keylog.read_text().splitlines()
    out.append(
        Transcript(
            "openssl-s_client-to-tlslens-server",
            endpoint,
            _suite(events),
            _secrets(lines),
            tuple(chunks),
            digest.hexdigest(),
            "server: openssl s_client with a client certificate, data, KeyUpdate request, close",
            tuple(me.actions),
        )
    )
    # tlslens client, openssl s_server that wants secp384r1 (HelloRetryRequest) and a client certificate.
    endpoint = Endpoint(
        role="client",
        seed="06",
        clock=NOW,
        certificate_chain=client_chain,
        private_key=client_key,
        trust_root=pki.pem(pki.root),
        groups=("x25519", "secp384r1"),
        key_share_groups=("x25519",),
    )
    keylog = directory / "s_server.keylog"
    server = _openssl(
        "s_server",
        "-tls1_3",
        "-accept",
        "127.0.0.1:0",
        "-naccept",
        "1",
        "-cert",
        str(files["server.pem"]),
        "-key",
        str(files["server-key.pem"]),
        "-cert_chain",
        str(files["intermediate.pem"]),
        "-groups",
        "secp384r1",
        "-Verify",
        "1",
        "-CAfile",
        str(files["client-ca.pem"]),
        "-keylogfile",
        str(keylog),
        "-num_tickets",
        "2",
    )
    try:
        assert server.stdout is not None
        line = b""
        while not line.startswith(b"ACCEPT"):
            line = server.stdout.readline()
            if not line:
                raise AssertionError("s_server did not start")
        port = int(line.split(b":")[-1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        ours = endpoint.build()
        digest, chunks, events = hashlib.sha256(), [], []
        me = Ours(ours, chunks)
        _pump_socket(
            ours, sock, lambda ev: any(isinstance(e, HandshakeCompleted) for e in ev), chunks, digest, events
        )
        me.send(b"hello from tlslens\n")
        assert server.stdin is not None
        server.stdin.write(b"hello from s_server\n")
        server.stdin.flush()
        _pump_socket(
            ours, sock, lambda ev: any(type(e).__name__ == "DataReceived" for e in ev), chunks, digest, events
        )
        me.key_update(request_peer=True)
        _pump_socket(ours, sock, lambda ev: True, chunks, digest, events)
        # OpenSSL answers the request with its next write, once it has read it: write until it has.
        for i in range(10):
            if any(type(e).__name__ == "KeyUpdated" for e in events):
                break
            server.stdin.write(f"line {i} after the key update\n".encode())
            server.stdin.flush()
            seen = sum(type(e).__name__ == "DataReceived" for e in events)
            _pump_socket(
                ours,
                sock,
                lambda ev, n=seen: sum(type(e).__name__ == "DataReceived" for e in ev) > n,
                chunks,
                digest,
                events,
            )
        else:
            raise AssertionError("s_server never answered the KeyUpdate request")
        me.close()
        _pump_socket(
            ours,
            sock,
            lambda ev: any(type(e).__name__ == "ConnectionClosed" for e in ev),
            chunks,
            digest,
            events,
        )
        sock.close()
    finally:
        server.kill()
        server.wait()
    lines = keylog.read_text().splitlines()
    out.append(
        Transcript(
            "tlslens-client-to-openssl-s_server",
            endpoint,
            _suite(events),
            _secrets(lines),
            tuple(chunks),
            digest.hexdigest(),
            "client: openssl s_server with a HelloRetryRequest and a client certificate, tickets,"
            " data, KeyUpdate request, close",
            tuple(me.actions),
        )
    )
    return out


def main() -> int:
    pki = Pki()
    transcripts = tlslens_pairs(pki)
    if shutil.which("openssl"):
        with tempfile.TemporaryDirectory(prefix="tlslens-fuzz-") as tmp:
            transcripts += openssl_conversations(pki, Path(tmp))
    else:
        print("openssl not found: recording tlslens-only conversations", file=sys.stderr)
    CORPUS.mkdir(exist_ok=True)
    for t in transcripts:
        t.replay()  # the recording must replay exactly before it is kept
        (CORPUS / f"{t.name}.json").write_text(t.to_json())
        print(f"{t.name}: {len(t.peer_chunks)} chunks from the peer, {t.suite}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
