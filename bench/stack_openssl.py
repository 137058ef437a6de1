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

from common import (
    HANDSHAKE_SUITE,
    HRR_RANDOM,
    SERVER_NAME,
    TLS12_OPENSSL_SUITE,
    TLS12_SUITE,
    Env,
    Faces,
    Step,
)
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
        ctx.load_cert_chain(self.env.chain_pem, self.env.key_pem)
        self._pin(ctx, suite, groups)
        if suite != TLS12_SUITE:
            ctx.num_tickets = tickets
        return ctx

    def _pin(self, ctx: ssl.SSLContext, suite: str, groups: str) -> None:
        """Exactly the row's version and suite, as on the tlslens side."""
        if suite == TLS12_SUITE:
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(TLS12_OPENSSL_SUITE)
            # TLS 1.2 ECDSA: the certificate's curve must be among the client's groups (RFC 8422 §5.1)
            self.libssl.configure(ctx, HANDSHAKE_SUITE, f"{groups}:P-256")
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            self.libssl.configure(ctx, suite, groups)

    def client_context(self, suite: str = HANDSHAKE_SUITE, groups: str = "X25519") -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        ctx.load_verify_locations(self.env.root_pem)
        self._pin(ctx, suite, groups)
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

    def full(self, suite: str = HANDSHAKE_SUITE) -> Step:
        cctx, sctx = self.client_context(suite), self.server_context(suite, tickets=self.tickets)
        tickets = self.tickets > 0 and suite != TLS12_SUITE
        c, _ = self.handshake(cctx, sctx, tickets=tickets)
        cipher = c.cipher()
        want = (TLS12_OPENSSL_SUITE, "TLSv1.2") if suite == TLS12_SUITE else (suite, "TLSv1.3")
        if cipher is None or (cipher[0], c.version()) != want:
            raise RuntimeError(f"OpenSSL negotiated {cipher}")
        return lambda: self.handshake(cctx, sctx, tickets=tickets)

    def resumed12(self) -> Step:
        """TLS 1.2 resumed handshakes (abbreviated, by ticket) offering one session again and again."""
        cctx, sctx = self.client_context(TLS12_SUITE), self.server_context(TLS12_SUITE)
        c, _ = self.handshake(cctx, sctx, tickets=False)
        session = c.session
        if session is None or not session.has_ticket:
            raise RuntimeError("OpenSSL sent no TLS 1.2 ticket")
        c, _ = self.handshake12_resumed(cctx, sctx, session)
        if not c.session_reused:
            raise RuntimeError("OpenSSL did not resume")
        return lambda: self.handshake12_resumed(cctx, sctx, session)

    @staticmethod
    def handshake12_resumed(
        cctx: ssl.SSLContext, sctx: ssl.SSLContext, session: Any
    ) -> tuple[ssl.SSLObject, ssl.SSLObject]:
        """An abbreviated TLS 1.2 handshake: the server speaks second and finishes first."""
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = cctx.wrap_bio(c_in, c_out, server_hostname=SERVER_NAME, session=session)
        s = sctx.wrap_bio(s_in, s_out, server_side=True)
        with contextlib.suppress(ssl.SSLWantReadError):
            c.do_handshake()  # ClientHello with the ticket
        s_in.write(c_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            s.do_handshake()  # ServerHello, NewSessionTicket, CCS, Finished
        c_in.write(s_out.read())
        c.do_handshake()  # CCS, Finished
        s_in.write(c_out.read())
        s.do_handshake()
        return c, s

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
        name = TLS12_OPENSSL_SUITE if suite == TLS12_SUITE else suite
        if ours is None or theirs is None or not ours[0] == name == theirs[0]:
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
