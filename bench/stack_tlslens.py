"""The tlslens side: sans-I/O connection pairs in memory over the shared PKI, and tlslens' asyncio face.

Each measurement prepares its connections, checks once that they did what the row claims (the suite, a
HelloRetryRequest, a resumption) and returns the step the harness times. A measurement that cannot do its
work raises: the harness then fails a ``--smoke`` run, or reports the row's tlslens figure as n/a.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from common import HANDSHAKE_SUITE, HRR_RANDOM, SERVER_NAME, TLS12_SUITE, Env, Faces, Step

import tlslens
from tlslens.events import DataReceived, HandshakeCompleted, SessionTicketReceived
from tlslens.parsed_certificates import ParsedCertificates
from tlslens.session import SessionCache
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import CipherSuite, NamedGroup


def _groups(names: tuple[str, ...]) -> list[NamedGroup]:
    return [NamedGroup[name.upper()] for name in names]


def _versions(suite: str) -> tuple[str, ...]:
    """The one version a row's suite belongs to (so each row measures exactly one protocol)."""
    return ("TLSv1.2",) if suite.startswith("TLS_ECDHE_") else ("TLSv1.3",)


class Tlslens:
    """tlslens connection pairs over the same PKI."""

    name = "tlslens"

    def __init__(self, env: Env) -> None:
        self.env = env
        self.tickets_after_resumption: int | None = None  # seen by resumed(); the OpenSSL side matches it

    def server_config(
        self, suite: str = HANDSHAKE_SUITE, groups: tuple[str, ...] = ("x25519",)
    ) -> tlslens.ServerConfig:
        pki = self.env.pki
        return tlslens.ServerConfig(
            certificate_chain=pki.chain,
            private_key=pki.leaf.private_key,
            groups=_groups(groups),
            cipher_suites=[CipherSuite[suite]],
            versions=_versions(suite),
        )

    def client_config(
        self,
        suite: str = HANDSHAKE_SUITE,
        groups: tuple[str, ...] = ("x25519",),
        key_share_groups: tuple[str, ...] | None = None,
        *,
        cold: bool = False,
    ) -> tlslens.ClientConfig:
        """``cold``: no cache of any kind (verified chains, parsed certificates), so each handshake parses
        and validates the server's chain from scratch."""
        anchors = [self.env.pki.root.certificate]
        return tlslens.ClientConfig(
            trust_anchors=anchors,
            verifier=WebPkiVerifier(anchors, cache_size=0) if cold else None,
            parsed_certificates=None if cold else ParsedCertificates(),
            groups=_groups(groups),
            key_share_groups=None if key_share_groups is None else _groups(key_share_groups),
            cipher_suites=[CipherSuite[suite]],
            versions=_versions(suite),
        )

    @staticmethod
    def handshake(
        ccfg: tlslens.ClientConfig, scfg: tlslens.ServerConfig, session: Any = None
    ) -> tuple[tlslens.ClientConnection, tlslens.ServerConnection]:
        """One complete handshake; NewSessionTickets, if the server sends any, reach the client."""
        if session is None:
            c = tlslens.ClientConnection(ccfg, SERVER_NAME)
        else:
            c = tlslens.ClientConnection(ccfg, SERVER_NAME, session=session)
        s = tlslens.ServerConnection(scfg)
        s.receive_data(c.data_to_send())
        c.receive_data(s.data_to_send())
        s.receive_data(c.data_to_send())
        tickets = s.data_to_send()
        if tickets:
            c.receive_data(tickets)
        return c, s

    def tickets_per_handshake(self) -> int:
        """NewSessionTickets a default server sends after a full handshake (ssl is set to match)."""
        ccfg, scfg = self.client_config(), self.server_config()
        c = tlslens.ClientConnection(ccfg, SERVER_NAME)
        s = tlslens.ServerConnection(scfg)
        s.receive_data(c.data_to_send())
        c.receive_data(s.data_to_send())
        s.receive_data(c.data_to_send())
        events = c.receive_data(s.data_to_send()) if not c.closed else []
        return sum(isinstance(e, SessionTicketReceived) for e in events)

    # --- measurements: each returns the step to time ----------------------------------------------

    def full(self, suite: str = HANDSHAKE_SUITE, *, cold: bool = False) -> Step:
        """Full handshakes; ``cold``: the client keeps no cache from one to the next."""
        groups = ("x25519", "secp256r1") if suite == TLS12_SUITE else ("x25519",)
        ccfg, scfg = self.client_config(suite, groups, cold=cold), self.server_config(suite, groups)
        c, s = self.handshake(ccfg, scfg)
        if not (c.handshake_complete and s.handshake_complete):
            raise RuntimeError("the handshake did not complete")
        return lambda: self.handshake(ccfg, scfg)

    def hrr(self) -> Step:
        ccfg = self.client_config(groups=("secp256r1", "x25519"), key_share_groups=("secp256r1",))
        scfg = self.server_config(groups=("x25519",))
        c = tlslens.ClientConnection(ccfg, SERVER_NAME)
        s = tlslens.ServerConnection(scfg)
        s.receive_data(c.data_to_send())
        if s.data_to_send()[11:43] != HRR_RANDOM:
            raise RuntimeError("expected a HelloRetryRequest")
        return lambda: self.handshake(ccfg, scfg)

    def resumed(self, suite: str = HANDSHAKE_SUITE) -> Step:
        """Resumed handshakes (TLS 1.3: psk_dhe_ke) offering one ticket again and again, as the ssl side
        does.

        Records in ``tickets_after_resumption`` the NewSessionTickets the server sends after a resumed
        handshake (the ssl server is set to send as many)."""
        cache = SessionCache()
        groups = ("x25519", "secp256r1") if suite == TLS12_SUITE else ("x25519",)
        ccfg, scfg = self.client_config(suite, groups), self.server_config(suite, groups)
        self.handshake(dataclasses.replace(ccfg, session_cache=cache), scfg)  # a full one: tickets
        session = cache.take(SERVER_NAME, (), time.time())
        if session is None:
            raise RuntimeError("the server sent no ticket")
        c = tlslens.ClientConnection(ccfg, SERVER_NAME, session=session)
        s = tlslens.ServerConnection(scfg)
        s.receive_data(c.data_to_send())
        events = c.receive_data(s.data_to_send())
        s.receive_data(c.data_to_send())
        events += c.receive_data(s.data_to_send())
        if not any(isinstance(e, HandshakeCompleted) and e.resumed for e in events):
            raise RuntimeError("tlslens did not resume")
        if suite == HANDSHAKE_SUITE:
            self.tickets_after_resumption = sum(isinstance(e, SessionTicketReceived) for e in events)
        return lambda: self.handshake(ccfg, scfg, session)

    def bulk(self, suite: str, size: int) -> Step:
        """``size`` bytes sealed by the client and opened by the server, per step."""
        groups = ("x25519", "secp256r1") if suite == TLS12_SUITE else ("x25519",)
        c, s = self.handshake(self.client_config(suite, groups), self.server_config(suite, groups))
        data = os.urandom(size)
        send, pull, receive = c.send_data, c.data_to_send, s.receive_data
        send(data)
        (event,) = receive(pull())
        if not (isinstance(event, DataReceived) and event.data == data):
            raise RuntimeError(f"the server did not receive the data: {event!r}")

        def step() -> None:
            send(data)
            receive(pull())

        return step

    def idle_pairs(self) -> Step:
        """Makes one established client+server pair per call (the memory rows keep them)."""
        ccfg, scfg = self.client_config(), self.server_config()
        return lambda: self.handshake(ccfg, scfg)

    def aio_faces(self) -> Faces:
        """(start_server, open_connection) of tlslens' asyncio face, as ``asyncio``'s own are called."""
        aio = tlslens.aio
        scfg, ccfg = self.server_config(), self.client_config()

        def start_server(handle: Any, host: str, port: int) -> Any:
            return aio.start_server(handle, host, port, config=scfg)

        def open_connection(host: str, port: int) -> Any:
            return aio.open_connection(host, port, config=ccfg, server_name=SERVER_NAME)

        return start_server, open_connection
