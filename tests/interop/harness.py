"""One object per test that starts OpenSSL processes and tlslens endpoints and tears all of them down.

Every process is killed and every socket closed in ``Harness.close()`` (called by the ``harness``
fixture), whatever the test did, so a failing case cannot leave a child or a port behind.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlslens import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from tlslens.certgen import make_pki
from tlslens.events import RecordReceived

from .ossl import OpenSSLProcess, PkiFiles
from .pump import Pump

TIMEOUT = 5.0
"""Every wait (socket, process output, process exit) gives up after this many seconds."""

NAMES = ("localhost", "127.0.0.1")

KEYLOG_LABELS = frozenset(
    {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    }
)
"""What OpenSSL 3.0 writes for one TLS 1.3 connection without early data. (It also writes
``*_TRAFFIC_SECRET_N`` after each KeyUpdate; tlslens does not log those.)"""

KeyLogEntry = tuple[str, str, str]


def keylog_entries(lines: Iterable[str], labels: Collection[str] = KEYLOG_LABELS) -> set[KeyLogEntry]:
    """(label, client_random, secret) for every line whose label is in ``labels`` (by default the
    handshake/traffic/exporter ones), in lowercase hex."""
    out: set[KeyLogEntry] = set()
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] in labels:
            out.add((parts[0], parts[1].lower(), parts[2].lower()))
    return out


def read_keylog_file(path: Path, labels: Collection[str] = KEYLOG_LABELS) -> set[KeyLogEntry]:
    return keylog_entries(path.read_text().splitlines(), labels) if path.exists() else set()


@dataclass
class SServer:
    proc: OpenSSLProcess
    port: int
    keylog: Path

    def key_update(self, *, request_peer: bool) -> None:
        """s_server's stdin command: ``k`` sends KeyUpdate, ``K`` one with update_requested."""
        self.proc.command("K" if request_peer else "k", r"^SSL_do_handshake -> 1$", TIMEOUT)


@dataclass
class SClient:
    proc: OpenSSLProcess
    keylog: Path

    def key_update(self, *, request_peer: bool) -> None:
        """s_client's stdin command: ``k`` sends KeyUpdate, ``K`` one with update_requested (it prints
        KEYUPDATE, and the message goes out before anything written after)."""
        self.proc.command("K" if request_peer else "k", r"^KEYUPDATE$", TIMEOUT)


class Harness:
    def __init__(self, tmp_path: Path, pki_factory: Callable[[str], PkiFiles]) -> None:
        self.tmp_path = tmp_path
        self._pki_factory = pki_factory
        self._procs: list[OpenSSLProcess] = []
        self._socks: list[socket.socket] = []
        self.keylog_lines: list[str] = []
        """Lines the tlslens side wrote through its keylog callback (see ``keylog``)."""

    def keylog(self, line: str) -> None:
        self.keylog_lines.append(line)

    @property
    def tlslens_keylog(self) -> set[KeyLogEntry]:
        return keylog_entries(self.keylog_lines)

    def pki(self, key_type: str = "ecdsa-p256") -> PkiFiles:
        return self._pki_factory(key_type)

    def close(self) -> None:
        for s in self._socks:
            s.close()
        for p in self._procs:
            p.kill()

    # --- openssl --------------------------------------------------------------------------------

    def openssl(self, *args: str) -> OpenSSLProcess:
        proc = OpenSSLProcess(list(args))
        self._procs.append(proc)
        return proc

    def s_server(self, *args: str, pki: PkiFiles | None = None, version: str = "-tls1_3") -> SServer:
        """``openssl s_server`` for one connection on an ephemeral port (read back from its ACCEPT line:
        OpenSSL binds port 0 itself, so there is no window in which another process can take it)."""
        pki = pki or self.pki()
        keylog = self.tmp_path / "s_server.keylog"
        proc = self.openssl(
            "s_server", version, "-accept", "127.0.0.1:0", "-naccept", "1",
            *pki.server_args, "-keylogfile", str(keylog), *args,
        )  # fmt: skip
        m = proc.wait_for(r"^ACCEPT \S+:(\d+)\s*$", TIMEOUT)
        return SServer(proc, int(m.group(1)), keylog)

    def s_client(
        self,
        port: int,
        *args: str,
        pki: PkiFiles | None = None,
        cafile: Path | None = None,
        version: str = "-tls1_3",
        servername: str | None = "localhost",
    ) -> SClient:
        """``openssl s_client`` verifying our certificate against the throwaway root and "localhost".
        No ``-ign_eof``: stdin stays an open pipe, and s_client reads its k/K/Q commands from it."""
        cafile = cafile or (pki or self.pki()).root
        keylog = self.tmp_path / "s_client.keylog"
        proc = self.openssl(
            "s_client", version, "-connect", f"127.0.0.1:{port}",
            *(["-servername", servername] if servername else ["-noservername"]),
            "-CAfile", str(cafile), "-verify_hostname", "localhost", "-verify_return_error",
            "-keylogfile", str(keylog), *args,
        )  # fmt: skip
        return SClient(proc, keylog)

    # --- tlslens over a plain socket ----------------------------------------------------------------

    def _track(self, sock: socket.socket) -> socket.socket:
        self._socks.append(sock)
        sock.settimeout(TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def tlslens_client(
        self,
        port: int,
        config: ClientConfig,
        server_name: str | None = "localhost",
        feed_size: int | None = None,
    ) -> Pump:
        sock = self._track(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
        conn = ClientConnection(config, server_name, trace=True)
        return Pump(sock, conn, timeout=TIMEOUT, feed_size=feed_size)

    def listen(self) -> tuple[socket.socket, int]:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socks.append(listener)
        listener.settimeout(TIMEOUT)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        return listener, listener.getsockname()[1]

    def accept(self, listener: socket.socket, config: ServerConfig, feed_size: int | None = None) -> Pump:
        # Poll, so that an openssl that exited at once (bad option, refused) fails the test at once.
        deadline = time.monotonic() + TIMEOUT
        listener.settimeout(0.05)
        # (Only a process that exits while we wait counts: an earlier one, e.g. the s_client of the
        # first connection of a resumption, may have finished on its own.)
        done_before = {id(p) for p in self._procs if p.proc.poll() is not None}
        while True:
            try:
                sock, _ = listener.accept()
                break
            except TimeoutError:
                exited = [p for p in self._procs if id(p) not in done_before and p.proc.poll() is not None]
                if exited or time.monotonic() > deadline:
                    outputs = "\n".join(f"--- {' '.join(p.args)}\n{p.output}" for p in self._procs)
                    why = "openssl exited" if exited else f"no connection within {TIMEOUT}s"
                    raise AssertionError(f"{why}\n{outputs}") from None
        self._track(sock)
        return Pump(sock, ServerConnection(config, trace=True), timeout=TIMEOUT, feed_size=feed_size)

    # --- configs ----------------------------------------------------------------------------------------

    def client_config(self, pki: PkiFiles | None = None, **kwargs: object) -> ClientConfig:
        pki = pki or self.pki()
        kwargs.setdefault("keylog", self.keylog)
        return ClientConfig(trust_anchors=[pki.pki.root.certificate], **kwargs)  # type: ignore[arg-type]

    def server_config(self, pki: PkiFiles | None = None, **kwargs: object) -> ServerConfig:
        pki = pki or self.pki()
        kwargs.setdefault("keylog", self.keylog)
        return ServerConfig(
            certificate_chain=pki.pki.chain, private_key=pki.pki.leaf.private_key, **kwargs  # type: ignore[arg-type]
        )


def make_pki_files(key_type: str, directory: Path, names: tuple[str, ...] = NAMES) -> PkiFiles:
    return PkiFiles(make_pki(names, key_type=key_type), directory)


def openssl_error_alert(output: str) -> str | None:
    """The alert OpenSSL reports having received, e.g. "protocol version" from
    "...:tlsv1 alert protocol version:...", or None."""
    m = re.search(r"(?:tlsv1|sslv3|tlsv13) alert ([a-z ]+?):", output)
    return m.group(1) if m else None


def s_server_exchange(pump: Pump, server: SServer, tag: str = "") -> None:
    """Application data both ways: s_server prints what it reads and sends what it reads on stdin."""
    pump.send(f"ping{tag} from tlslens\n".encode())
    server.proc.wait_for(rf"^ping{tag} from tlslens$", TIMEOUT)
    server.proc.write(f"pong{tag} from openssl\n")
    pump.read_until(f"pong{tag} from openssl\n".encode())


def s_client_exchange(pump: Pump, client: SClient, tag: str = "") -> None:
    """Application data both ways: s_client prints what it reads and sends what it reads on stdin."""
    pump.send(f"ping{tag} from tlslens\n".encode())
    client.proc.wait_for(rf"^ping{tag} from tlslens$", TIMEOUT)
    client.proc.write(f"pong{tag} from openssl\n")
    pump.read_until(f"pong{tag} from openssl\n".encode())


def s_client_session(
    harness: Harness, config: ServerConfig, *args: str, feed_size: int | None = None, **kwargs: Any
) -> tuple[SClient, Pump]:
    """s_client (with ``args`` and Harness.s_client's keywords) against a tlslens server pump."""
    listener, port = harness.listen()
    client = harness.s_client(port, *args, **kwargs)
    return client, harness.accept(listener, config, feed_size=feed_size)


def protected_records(pump: Pump) -> list[RecordReceived]:
    records = [e for e in pump.events if isinstance(e, RecordReceived) and e.protected]
    assert records
    return records
