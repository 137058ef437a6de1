"""The blocking face: a TLS connection over a real socket, with the socket methods people expect.

    with tlslens.connect("example.com", 443, tlslens.ClientConfig()) as tls:
        tls.sendall(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\nConnection: close\\r\\n\\r\\n")
        page = tls.makefile("rb").read()

Here are the ways to get one: ``connect`` (a client over a new TCP connection), ``wrap_socket`` (either
role, on a connected socket), ``serve_connection`` (the server handshake on an accepted socket), and
``TLSServerSocket`` / ``wrap_server_socket`` (a listener whose ``accept()`` does the handshake).

The connection they return, ``TLSSocket``, lives in ``blocking_socket`` (how it reports errors and
events, closes, and may be shared between threads is said there), with ``shutdown_and_drain`` (closing
a socket without losing our last bytes) and the file objects of ``makefile()``. Those names are
importable from here too.
"""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Any

from tlslens.adapters._common import EventHook, UnexpectedEOF
from tlslens.adapters.blocking_socket import TLSSocket
from tlslens.adapters.blocking_socket import shutdown_and_drain as shutdown_and_drain
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "EventHook",
    "TLSServerSocket",
    "TLSSocket",
    "UnexpectedEOF",
    "connect",
    "serve_connection",
    "wrap_server_socket",
    "wrap_socket",
]


def wrap_socket(
    sock: socket.socket,
    config: ClientConfig | ServerConfig,
    *,
    server_side: bool | None = None,
    server_name: str | None = None,
    do_handshake: bool = True,
    trace: bool = False,
    on_event: EventHook | None = None,
) -> TLSSocket:
    """TLS over an already connected socket. The role follows the config (``server_side`` may say
    it too, and must agree). The handshake runs now unless ``do_handshake`` is False; if it fails,
    the socket is closed (after the alert) and the error raised."""
    is_server = isinstance(config, ServerConfig)
    if server_side is not None and server_side != is_server:
        want = "ServerConfig" if server_side else "ClientConfig"
        raise TypeError(f"server_side={server_side} needs a {want}, not a {type(config).__name__}")
    connection: ClientConnection | ServerConnection
    if isinstance(config, ServerConfig):
        if server_name is not None:
            raise TypeError("server_name is for clients; a server learns it from the ClientHello")
        connection = ServerConnection(config, trace=trace)
    else:
        connection = ClientConnection(config, server_name, trace=trace)
    tls = TLSSocket(sock, connection, on_event=on_event)
    if do_handshake:
        try:
            tls.do_handshake()
        except BaseException:
            # Engine failures already closed it after their alert; a timeout or a reset leaves
            # nothing worth draining for (before the handshake, close() sends nothing and just closes).
            tls.close()
            raise
    return tls


def connect(
    host: str,
    port: int,
    config: ClientConfig,
    server_name: str | None = None,
    timeout: float | None = None,
    *,
    trace: bool = False,
    on_event: EventHook | None = None,
) -> TLSSocket:
    """Connect to ``host:port`` over TCP and complete a TLS handshake. ``server_name`` (default: the
    host) is checked against the certificate and sent as SNI (unless it is an IP address).
    ``timeout`` applies to connecting and to every later socket operation."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        name = host if server_name is None else server_name
        return wrap_socket(sock, config, server_name=name, trace=trace, on_event=on_event)
    except BaseException:
        sock.close()
        raise


def serve_connection(
    sock: socket.socket,
    config: ServerConfig,
    *,
    trace: bool = False,
    on_event: EventHook | None = None,
) -> TLSSocket:
    """Run the server handshake on an accepted socket (the socket's timeout applies)."""
    return wrap_socket(sock, config, server_side=True, trace=trace, on_event=on_event)


HANDSHAKE_TIMEOUT = 10.0
"""Seconds ``TLSServerSocket.accept()`` allows each handshake by default. ``accept()`` serves one client
at a time: a client that connects and says nothing holds every client behind it until then."""


class TLSServerSocket:
    """A listening socket whose ``accept()`` returns ``(TLSSocket, address)`` after the handshake.

    A failed handshake raises from ``accept()`` (the alert written, that connection closed); the
    listener stays usable. ``handshake_timeout`` (default ``HANDSHAKE_TIMEOUT``, 10 s) bounds each
    handshake as a whole: a client that has not completed it by then is closed and ``accept()`` raises
    ``TimeoutError`` (catch it with the other failures and accept the next client). None: no bound
    but the accepted socket's own timeout on each read (one silent client then blocks ``accept()``
    for as long as it stays connected). The accepted socket's timeout is restored afterwards.
    """

    def __init__(
        self,
        listener: socket.socket,
        config: ServerConfig,
        *,
        handshake_timeout: float | None = HANDSHAKE_TIMEOUT,
        trace: bool = False,
        on_event: EventHook | None = None,
    ) -> None:
        self._listener = listener
        self.config = config
        self.handshake_timeout = handshake_timeout
        self._trace = trace
        self._on_event = on_event

    def accept(self) -> tuple[TLSSocket, Any]:
        """The next client, once its handshake is complete (within ``handshake_timeout``)."""
        sock, address = self._listener.accept()
        try:
            tls = wrap_socket(
                sock,
                self.config,
                server_side=True,
                do_handshake=False,
                trace=self._trace,
                on_event=self._on_event,
            )
        except BaseException:
            sock.close()
            raise
        try:
            tls.do_handshake(timeout=self.handshake_timeout)
        except BaseException:
            tls.close()  # (an engine failure closed it already, after its alert)
            raise
        return tls, address

    @property
    def socket(self) -> socket.socket:
        return self._listener

    def fileno(self) -> int:
        return self._listener.fileno()

    def getsockname(self) -> Any:
        return self._listener.getsockname()

    def settimeout(self, timeout: float | None) -> None:
        self._listener.settimeout(timeout)

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> TLSServerSocket:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def wrap_server_socket(
    listener: socket.socket,
    config: ServerConfig,
    *,
    handshake_timeout: float | None = HANDSHAKE_TIMEOUT,
    trace: bool = False,
    on_event: EventHook | None = None,
) -> TLSServerSocket:
    """Wrap a bound, listening socket so that ``accept()`` does the TLS handshake, each one within
    ``handshake_timeout`` seconds (default 10; see ``TLSServerSocket``)."""
    return TLSServerSocket(
        listener, config, handshake_timeout=handshake_timeout, trace=trace, on_event=on_event
    )
