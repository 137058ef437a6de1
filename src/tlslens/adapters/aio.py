"""The asyncio face: real ``asyncio.StreamReader`` / ``StreamWriter`` pairs over tlslens.

    reader, writer = await tlslens.aio.open_connection("example.com", 443, config=tlslens.ClientConfig())
    server = await tlslens.aio.start_server(handle, "127.0.0.1", 8443, config=server_config)

Here are ``open_connection``, ``start_server``, ``start_tls`` (TLS over a stream pair that is already
connected, after a plaintext exchange such as STARTTLS or an HTTP CONNECT: what ``loop.start_tls``
does for Python's ``ssl``), ``update_keys`` (a KeyUpdate on a stream) and ``request_client_certificate``
(a server's post-handshake request for a client certificate, awaiting the answer). Under
the streams, ``TLSProtocol`` (in ``aio_protocol``) owns the raw transport and the engine, and hands
the stream a ``TLSTransport`` (in ``aio_transport``) once the handshake is complete; both are
importable from here too.

``writer.get_extra_info`` names: "tlslens" (the ``HandshakeCompleted`` event), "version"
(``TLSv1.3``), "cipher" (IANA suite name), "alpn_protocol", "peercert_chain" (the peer's
certificates, leaf first), "server_name", "session" (the last ticket, client side),
"tlslens_connection" (the engine), "bytes_received" and "bytes_sent" (TLS bytes read from and written to
the raw transport so far), and those of the raw transport ("peername", "sockname", ...).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from tlslens.adapters._common import EventHook as EventHook
from tlslens.adapters._common import UnexpectedEOF
from tlslens.adapters.aio_protocol import HANDSHAKE_TIMEOUT as HANDSHAKE_TIMEOUT
from tlslens.adapters.aio_protocol import TLSProtocol
from tlslens.adapters.aio_transport import TLSTransport
from tlslens.adapters.aio_transport import logger as logger
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.events import ClientCertificateRefused, ClientCertificateVerified
from tlslens.session import Session

STREAM_LIMIT = 2**16
"""The ``StreamReader`` buffer limit, as in ``asyncio.open_connection``."""

ClientConnectedCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]

__all__ = [
    "TLSProtocol",
    "TLSTransport",
    "UnexpectedEOF",
    "open_connection",
    "request_client_certificate",
    "start_server",
    "start_tls",
    "update_keys",
]


def _given(protocol: TLSProtocol) -> TLSProtocol:
    return protocol


def _refuse_ssl(kwargs: dict[str, Any]) -> None:
    if "ssl" in kwargs:
        raise TypeError("tlslens.aio does its own TLS: do not pass ssl=")


def _stream_pair(
    loop: asyncio.AbstractEventLoop, limit: int, callback: ClientConnectedCallback | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamReaderProtocol]:
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    return reader, asyncio.StreamReaderProtocol(reader, callback, loop=loop)


async def open_connection(
    host: str | None = None,
    port: int | None = None,
    *,
    config: ClientConfig,
    server_name: str | None = None,
    session: Session | None = None,
    early_data: bytes | None = None,
    ssl_handshake_timeout: float | None = None,
    limit: int = STREAM_LIMIT,
    trace: bool = False,
    on_event: EventHook | None = None,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, complete the TLS handshake, and return a ``(StreamReader, StreamWriter)`` pair.

    ``server_name`` (default: ``host``) is verified against the certificate and sent as SNI.
    ``session`` resumes an earlier connection (``writer.get_extra_info("session")`` of it), and
    ``early_data`` goes with the ClientHello as 0-RTT data (``HandshakeCompleted.early_data_accepted``
    says whether the server took it; if not, send it again). Other keyword arguments go to
    ``loop.create_connection`` (``sock``, ``local_addr``, ``family``, ...). Raises the engine's error
    (after its alert was written), ``UnexpectedEOF``, or ``TimeoutError`` after
    ``ssl_handshake_timeout`` seconds (default 60).
    """
    _refuse_ssl(kwargs)
    loop = asyncio.get_running_loop()
    reader, app_protocol = _stream_pair(loop, limit)
    name = host if server_name is None else server_name
    connection = ClientConnection(config, name, session=session, early_data=early_data, trace=trace)
    tls = TLSProtocol(
        connection, app_protocol, handshake_timeout=ssl_handshake_timeout, on_event=on_event, loop=loop
    )
    factory = functools.partial(_given, tls)
    try:
        await loop.create_connection(factory, host, port, **kwargs)  # type: ignore[arg-type]  # sock=
        return await _handshake(tls, reader, app_protocol, loop)
    finally:
        del tls, connection, factory  # a failure's traceback holds this frame: not the connection


async def start_tls(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    config: ClientConfig | ServerConfig,
    server_name: str | None = None,
    session: Session | None = None,
    early_data: bytes | None = None,
    ssl_handshake_timeout: float | None = None,
    limit: int = STREAM_LIMIT,
    trace: bool = False,
    on_event: EventHook | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """TLS over a plain stream pair that is already connected; returns a new pair once the handshake
    is complete.

    The role follows ``config`` (a client sends its ClientHello now); ``server_name``, ``session``
    and ``early_data`` are a client's, as in ``open_connection``. What ``writer`` still buffers is
    written first, and bytes ``reader`` already holds (the peer's first TLS bytes, read along with the
    end of a plaintext exchange) go to TLS. Afterwards the old pair belongs to TLS: use only the new
    one (closing it closes the connection). Raises as ``open_connection`` does; a connection whose
    handshake failed is closed.
    """
    loop = asyncio.get_running_loop()
    raw = writer.transport
    if not isinstance(raw, asyncio.Transport) or isinstance(raw, TLSTransport):
        raise TypeError("start_tls needs a plain stream pair (a TCP connection not already under TLS)")
    connection: ClientConnection | ServerConnection
    if isinstance(config, ServerConfig):
        if server_name is not None or session is not None or early_data is not None:
            raise TypeError("server_name, session and early_data are a client's")
        connection = ServerConnection(config, trace=trace)
    else:
        connection = ClientConnection(
            config, server_name, session=session, early_data=early_data, trace=trace
        )
    await writer.drain()
    exc = reader.exception()
    if exc is not None:
        raise exc
    if raw.is_closing() or reader.at_eof():
        raise UnexpectedEOF("the peer closed the connection before the TLS handshake started")
    new_reader, app_protocol = _stream_pair(loop, limit)
    tls = TLSProtocol(
        connection, app_protocol, handshake_timeout=ssl_handshake_timeout, on_event=on_event, loop=loop
    )
    tls.plain = (reader, writer)
    try:
        raw.set_protocol(tls)  # from now on the raw transport's bytes go to TLS
        reader.feed_eof()  # so that reading what it holds cannot wait for more
        held = await reader.read()
        tls.connection_made(raw)
        if held:
            tls.data_received(held)
        raw.resume_reading()  # the old reader may have paused it when its buffer was full
        return await _handshake(tls, new_reader, app_protocol, loop)
    finally:
        del tls, connection  # a failure's traceback holds this frame: it must not hold the connection


async def _handshake(
    tls: TLSProtocol,
    reader: asyncio.StreamReader,
    app_protocol: asyncio.StreamReaderProtocol,
    loop: asyncio.AbstractEventLoop,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        await tls.handshake_done
    except BaseException:
        if not tls.closing:  # cancelled, or timed out: a failed handshake is already closing politely
            tls.abort()
        del tls  # the exception's traceback holds this frame: it must not hold the connection
        raise
    return reader, asyncio.StreamWriter(tls.transport, app_protocol, reader, loop)


async def start_server(
    client_connected_cb: ClientConnectedCallback,
    host: str | None = None,
    port: int | None = None,
    *,
    config: ServerConfig,
    ssl_handshake_timeout: float | None = None,
    limit: int = STREAM_LIMIT,
    trace: bool = False,
    on_event: EventHook | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """Serve TLS on ``host:port``; ``client_connected_cb(reader, writer)`` runs for each client once
    its handshake completed. A failed handshake is logged (logger ``tlslens.aio``), its alert sent,
    and the connection closed without calling back. Other keyword arguments go to
    ``loop.create_server`` (``sock``, ``backlog``, ``reuse_address``, ``start_serving``, ...)."""
    _refuse_ssl(kwargs)
    loop = asyncio.get_running_loop()
    if config.ocsp_fetch:  # OCSP responses fetched and refreshed on threads of their own
        from tlslens.pki.ocsp_fetch import start_refreshers

        start_refreshers(config, logger.info)

    def factory() -> TLSProtocol:
        _reader, app_protocol = _stream_pair(loop, limit, client_connected_cb)
        return TLSProtocol(
            ServerConnection(config, trace=trace),
            app_protocol,
            handshake_timeout=ssl_handshake_timeout,
            on_event=on_event,
            loop=loop,
        )

    return await loop.create_server(factory, host, port, **kwargs)


async def request_client_certificate(
    writer: asyncio.StreamWriter, timeout: float | None = None
) -> ClientCertificateVerified | ClientCertificateRefused:
    """Server, after a TLS 1.3 handshake: ask the client for a certificate (post-handshake
    authentication, RFC 8446 §4.6.2) and wait for its answer: ``ClientCertificateVerified`` or
    ``ClientCertificateRefused``. The client must have offered it (``writer.get_extra_info("tlslens")
    .post_handshake_auth``; else ``LocalProtocolError``), and the server's config needs a
    ``client_verifier``. Keep reading the stream meanwhile (data may come before the answer)."""
    transport = writer.transport
    if not isinstance(transport, TLSTransport):
        raise TypeError("not a tlslens stream")
    return await asyncio.wait_for(transport.request_client_certificate(), timeout)


def update_keys(writer: asyncio.StreamWriter, request_peer: bool = False) -> None:
    """Send KeyUpdate on a tlslens stream (with ``request_peer``, the peer updates its keys too)."""
    transport = writer.transport
    if not isinstance(transport, TLSTransport):
        raise TypeError("not a tlslens stream")
    transport.update_keys(request_peer)
