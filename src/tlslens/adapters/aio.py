"""The asyncio face: real ``asyncio.StreamReader`` / ``StreamWriter`` pairs over tlslens.

    reader, writer = await tlslens.aio.open_connection("example.com", 443, config=tlslens.ClientConfig())
    server = await tlslens.aio.start_server(handle, "127.0.0.1", 8443, config=server_config)

Here are ``open_connection``, ``start_server`` and ``update_keys`` (a KeyUpdate on a stream). Under
the streams, ``TLSProtocol`` (in ``aio_protocol``) owns the raw transport and the engine, and hands
the stream a ``TLSTransport`` (in ``aio_transport``) once the handshake is complete; both are
importable from here too.

``writer.get_extra_info`` names: "tlslens" (the ``HandshakeCompleted`` event), "version"
(``TLSv1.3``), "cipher" (IANA suite name), "alpn_protocol", "peercert_chain" (the peer's
certificates, leaf first), "server_name", "session" (the last ticket, client side),
"tlslens_connection" (the engine), and those of the raw transport ("peername", "sockname", ...).
"""

from __future__ import annotations

import asyncio
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

STREAM_LIMIT = 2**16
"""The ``StreamReader`` buffer limit, as in ``asyncio.open_connection``."""

ClientConnectedCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]

__all__ = [
    "TLSProtocol",
    "TLSTransport",
    "UnexpectedEOF",
    "open_connection",
    "start_server",
    "update_keys",
]


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
    ssl_handshake_timeout: float | None = None,
    limit: int = STREAM_LIMIT,
    trace: bool = False,
    on_event: EventHook | None = None,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, complete the TLS handshake, and return a ``(StreamReader, StreamWriter)`` pair.

    ``server_name`` (default: ``host``) is verified against the certificate and sent as SNI. Other
    keyword arguments go to ``loop.create_connection`` (``sock``, ``local_addr``, ``family``, ...).
    Raises the engine's error (after its alert was written), ``UnexpectedEOF``, or ``TimeoutError``
    after ``ssl_handshake_timeout`` seconds (default 60).
    """
    _refuse_ssl(kwargs)
    loop = asyncio.get_running_loop()
    reader, app_protocol = _stream_pair(loop, limit)
    name = host if server_name is None else server_name
    tls = TLSProtocol(
        ClientConnection(config, name, trace=trace),
        app_protocol,
        handshake_timeout=ssl_handshake_timeout,
        on_event=on_event,
        loop=loop,
    )
    await loop.create_connection(lambda: tls, host, port, **kwargs)  # type: ignore[arg-type]  # sock=
    try:
        await tls.handshake_done
    except BaseException:
        if not tls.closing:  # cancelled, or timed out: a failed handshake is already closing politely
            tls.abort()
        raise
    writer = asyncio.StreamWriter(tls.transport, app_protocol, reader, loop)
    return reader, writer


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


def update_keys(writer: asyncio.StreamWriter, request_peer: bool = False) -> None:
    """Send KeyUpdate on a tlslens stream (with ``request_peer``, the peer updates its keys too)."""
    transport = writer.transport
    if not isinstance(transport, TLSTransport):
        raise TypeError("not a tlslens stream")
    transport.update_keys(request_peer)
