"""The OpenSSL side: Python's ``ssl`` through ``SSLObject`` + ``MemoryBIO`` (both ends in this process),
and ``asyncio``'s own TLS for the server rows.

The contexts are pinned to what the tlslens side does (TLS 1.3 only, the row's suite and groups through
libssl.py, as many NewSessionTickets as the tlslens server sends); each measurement checks once that the
handshake it prepared is the one the row claims, and returns the step the harness times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from typing import Any

from common import HANDSHAKE_SUITE, HRR_RANDOM, SERVER_NAME, Env, Faces, Step
from libssl import LibSsl


class Ssl:
    """ssl.SSLObject pairs over MemoryBIOs, both ends in this process."""

    name = "OpenSSL"

    def __init__(self, env: Env, tickets: int) -> None:
        self.env = env
        self.tickets = tickets  # NewSessionTickets per full handshake, as tlslens sends
        self.libssl = LibSsl()

    def server_context(
        self, suite: str = HANDSHAKE_SUITE, groups: str = "X25519", tickets: int = 0
    ) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(self.env.chain_pem, self.env.key_pem)
        ctx.num_tickets = tickets
        self.libssl.configure(ctx, suite, groups)
        return ctx

    def client_context(self, suite: str = HANDSHAKE_SUITE, groups: str = "X25519") -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(self.env.root_pem)
        self.libssl.configure(ctx, suite, groups)
        return ctx

    @staticmethod
    def handshake(
        cctx: ssl.SSLContext, sctx: ssl.SSLContext, *, tickets: bool, session: Any = None
    ) -> tuple[ssl.SSLObject, ssl.SSLObject]:
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = cctx.wrap_bio(c_in, c_out, server_hostname=SERVER_NAME, session=session)
        s = sctx.wrap_bio(s_in, s_out, server_side=True)
        with contextlib.suppress(ssl.SSLWantReadError):
            c.do_handshake()  # ClientHello
        s_in.write(c_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            s.do_handshake()  # ServerHello ... Finished (or HelloRetryRequest)
        c_in.write(s_out.read())
        while True:
            try:
                c.do_handshake()
                break
            except ssl.SSLWantReadError:  # after a HelloRetryRequest
                s_in.write(c_out.read())
                with contextlib.suppress(ssl.SSLWantReadError):
                    s.do_handshake()
                c_in.write(s_out.read())
        s_in.write(c_out.read())
        s.do_handshake()
        if tickets:  # the client takes the NewSessionTickets, as a real client would
            c_in.write(s_out.read())
            with contextlib.suppress(ssl.SSLWantReadError):
                c.read(1)
        return c, s

    # --- measurements: each returns the step to time ----------------------------------------------

    def full(self) -> Step:
        cctx, sctx = self.client_context(), self.server_context(tickets=self.tickets)
        c, _ = self.handshake(cctx, sctx, tickets=self.tickets > 0)
        cipher = c.cipher()
        if cipher is None or cipher[0] != HANDSHAKE_SUITE or c.version() != "TLSv1.3":
            raise RuntimeError(f"OpenSSL negotiated {cipher}")
        return lambda: self.handshake(cctx, sctx, tickets=self.tickets > 0)

    def hrr(self) -> Step:
        cctx = self.client_context(groups="P-256:X25519")
        sctx = self.server_context(groups="X25519", tickets=self.tickets)
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = cctx.wrap_bio(c_in, c_out, server_hostname=SERVER_NAME)
        s = sctx.wrap_bio(s_in, s_out, server_side=True)
        with contextlib.suppress(ssl.SSLWantReadError):
            c.do_handshake()
        s_in.write(c_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            s.do_handshake()
        if s_out.read()[11:43] != HRR_RANDOM:
            raise RuntimeError("expected a HelloRetryRequest")
        return lambda: self.handshake(cctx, sctx, tickets=self.tickets > 0)

    def resumed(self, tickets: int | None) -> Step:
        """Resumed handshakes offering one session again and again; ``tickets`` NewSessionTickets after
        each (None, when the tlslens side could not tell: one)."""
        tickets = 1 if tickets is None else tickets
        cctx, sctx = self.client_context(), self.server_context(tickets=1)
        c, _ = self.handshake(cctx, sctx, tickets=True)
        session = c.session
        if session is None or not session.has_ticket:
            raise RuntimeError("OpenSSL sent no ticket")
        sctx.num_tickets = tickets
        c, _ = self.handshake(cctx, sctx, tickets=tickets > 0, session=session)
        if not c.session_reused:
            raise RuntimeError("OpenSSL did not resume")
        return lambda: self.handshake(cctx, sctx, tickets=tickets > 0, session=session)

    def bulk(self, suite: str, size: int) -> Step:
        """``size`` bytes written by the client and read by the server, per step."""
        cctx, sctx = self.client_context(suite), self.server_context(suite)
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = cctx.wrap_bio(c_in, c_out, server_hostname=SERVER_NAME)
        s = sctx.wrap_bio(s_in, s_out, server_side=True)
        for _ in range(3):
            for end in (c, s):
                with contextlib.suppress(ssl.SSLWantReadError):
                    end.do_handshake()
                s_in.write(c_out.read())
                c_in.write(s_out.read())
        ours, theirs = c.cipher(), s.cipher()
        if ours is None or theirs is None or not ours[0] == suite == theirs[0]:
            raise RuntimeError(f"OpenSSL negotiated {ours} / {theirs}, not {suite}")
        data = os.urandom(size)
        write, pull, push, read = c.write, c_out.read, s_in.write, s.read
        write(data)
        push(pull())
        if read(size) != data:
            raise RuntimeError("the server did not read the data")

        def step() -> None:
            write(data)
            push(pull())
            read(size)

        return step

    def idle_pairs(self) -> Step:
        """Makes one established client+server pair per call (the memory rows keep them)."""
        cctx, sctx = self.client_context(), self.server_context(tickets=self.tickets)
        return lambda: self.handshake(cctx, sctx, tickets=self.tickets > 0)

    def aio_faces(self) -> Faces:
        """``asyncio.start_server`` / ``asyncio.open_connection`` with the pinned contexts."""
        sctx, cctx = self.server_context(tickets=self.tickets), self.client_context()

        def start_server(handle: Any, host: str, port: int) -> Any:
            return asyncio.start_server(handle, host, port, ssl=sctx)

        def open_connection(host: str, port: int) -> Any:
            return asyncio.open_connection(host, port, ssl=cctx, server_hostname=SERVER_NAME)

        return start_server, open_connection
