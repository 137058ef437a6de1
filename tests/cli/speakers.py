"""Peers for the STARTTLS and proxy tests, run on an asyncio loop in a thread of the test process.

Each STARTTLS speaker follows its protocol's RFC up to "start TLS now", then hands the connection to
Python's ``ssl`` (OpenSSL) as the server and echoes one line. ``ConnectProxy`` is an HTTP CONNECT
proxy (RFC 9110 §9.3.6) that tunnels to the target it is asked for and remembers what it was asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from typing import Any

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class LoopThread:
    """An asyncio loop in a daemon thread, for servers the tests talk to from subprocesses."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[Any]) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return future.result(10)

    def serve(self, handler: Handler) -> tuple[asyncio.Server, int]:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(handler, "127.0.0.1", 0)

        server: asyncio.Server = self.run(start())
        return server, server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextlib.contextmanager
def loop_thread() -> Iterator[LoopThread]:
    runner = LoopThread()
    try:
        yield runner
    finally:
        runner.stop()


async def _line(reader: asyncio.StreamReader) -> bytes:
    return (await reader.readuntil(b"\n")).rstrip(b"\r\n")


async def smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 5321 greeting and EHLO, RFC 3207 STARTTLS."""
    writer.write(b"220 speaker.test ESMTP ready\r\n")
    assert (await _line(reader)).startswith(b"EHLO ")
    writer.write(
        b"250-speaker.test\r\n250-PIPELINING\r\n" + (b"250 STARTTLS\r\n" if offer else b"250 SIZE 1000\r\n")
    )
    if not offer:
        return False
    assert await _line(reader) == b"STARTTLS"
    writer.write(b"220 2.0.0 Ready to start TLS\r\n")
    return True


async def imap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 9051: greeting, CAPABILITY, STARTTLS (§6.2.1)."""
    writer.write(b"* OK IMAP4rev2 speaker ready\r\n")
    tag = (await _line(reader)).split()[0]
    caps = b"IMAP4rev2 STARTTLS LOGINDISABLED" if offer else b"IMAP4rev2 AUTH=PLAIN"
    writer.write(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK CAPABILITY completed\r\n")
    if not offer:
        return False
    tag, command = (await _line(reader)).split()
    assert command == b"STARTTLS"
    writer.write(tag + b" OK Begin TLS negotiation now\r\n")
    return True


async def pop3(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 1939 greeting, RFC 2595 STLS."""
    writer.write(b"+OK POP3 speaker ready\r\n")
    assert await _line(reader) == b"STLS"
    writer.write(b"+OK Begin TLS negotiation\r\n" if offer else b"-ERR STLS not available\r\n")
    return offer


async def ftp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 959 multi-line greeting, RFC 4217 AUTH TLS."""
    writer.write(b"220-speaker FTP\r\n220 ready\r\n")
    assert await _line(reader) == b"AUTH TLS"
    writer.write(b"234 AUTH TLS successful\r\n" if offer else b"502 not implemented\r\n")
    return offer


async def nntp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 3977 greeting, RFC 4642 STARTTLS."""
    writer.write(b"200 speaker news ready\r\n")
    assert await _line(reader) == b"STARTTLS"
    writer.write(b"382 Continue with TLS negotiation\r\n" if offer else b"580 can not initiate TLS\r\n")
    return offer


async def sieve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 5804: the greeting is the capability list, ended by OK."""
    writer.write(b'"IMPLEMENTATION" "speaker"\r\n"SIEVE" "fileinto"\r\n')
    writer.write(b'"STARTTLS"\r\nOK "ready"\r\n' if offer else b'OK "ready"\r\n')
    if not offer:
        return False
    assert await _line(reader) == b"STARTTLS"
    writer.write(b'OK "Begin TLS negotiation now"\r\n')
    return True


async def postgres(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """The PostgreSQL protocol's SSLRequest (length 8, code 80877103), answered S or N."""
    request = await reader.readexactly(8)
    assert request == (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    writer.write(b"S" if offer else b"N")
    return offer


async def ldap(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 4511 §4.14: an ExtendedRequest for 1.3.6.1.4.1.1466.20037, answered with resultCode 0
    (success) or 53 (unwillingToPerform)."""
    head = await reader.readexactly(2)
    body = await reader.readexactly(head[1])
    assert head[0] == 0x30 and b"1.3.6.1.4.1.1466.20037" in body
    code = b"\x00" if offer else b"\x35"
    writer.write(b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01" + code + b"\x04\x00\x04\x00")
    return offer


async def xmpp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, offer: bool) -> bool:
    """RFC 6120 §5: stream header, features with <starttls/>, <proceed/>."""
    header = await reader.readuntil(b"version='1.0'>")
    assert b"<stream:stream" in header and b'to="localhost"' in header
    tls = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" if offer else b""
    writer.write(
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:client'"
        b" xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='localhost' version='1.0'>"
        b"<stream:features>" + tls + b"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
    )
    if not offer:
        return False
    await reader.readuntil(b"/>")
    writer.write(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    return True


SPEAKERS = {
    "smtp": smtp,
    "imap": imap,
    "pop3": pop3,
    "ftp": ftp,
    "xmpp": xmpp,
    "postgres": postgres,
    "ldap": ldap,
    "nntp": nntp,
    "sieve": sieve,
}


def starttls_speaker(protocol: str, context: ssl.SSLContext, *, offer: bool = True) -> Handler:
    """A handler: the protocol's dialogue, then TLS with ``context`` and an echo of one line."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if await SPEAKERS[protocol](reader, writer, offer):
                await writer.drain()
                await writer.start_tls(context)
                writer.write(await reader.readline())
                await writer.drain()
            else:
                await reader.read()  # the client gives up and closes
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    return handle


class ConnectProxy:
    """An HTTP CONNECT proxy: tunnels to the target named in the request (``targets`` records them),
    or answers ``refuse`` (e.g. b"403 Forbidden") instead."""

    def __init__(self, refuse: bytes | None = None) -> None:
        self.targets: list[str] = []
        self.refuse = refuse

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _version = head.split(b"\r\n")[0].decode().split()
            self.targets.append(target)
            if method != "CONNECT" or self.refuse is not None:
                writer.write(b"HTTP/1.1 " + (self.refuse or b"405 Method Not Allowed") + b"\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()
