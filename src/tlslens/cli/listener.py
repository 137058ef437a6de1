"""``tlslens server``'s listening sockets: accept clients, at most ``--max-connections`` at once.

Accepting is ours, not ``asyncio.start_server``'s, so that it can stop: at the cap the server accepts
nothing more, the listening socket's backlog holds the clients that come meanwhile, and accepting goes
on when a connection ends. The default cap stays below the process's open-file limit
(``default_max_connections``), so accept does not run out of descriptors; if it does all the same (a
cap set above the limit, descriptors used elsewhere), that is logged once, the cap comes down to the
connections open, and the server goes on. A client that leaves before it is accepted is not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import resource
import signal
import socket
import time

import click

from tlslens.cli.common import format_address
from tlslens.cli.server_session import ServerSettings, handle_socket
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.dangerous import NoVerification
from tlslens.errors import TLSError

BACKLOG = socket.SOMAXCONN
"""Clients the kernel completes and holds for us while we do not accept (the cap, or a busy loop)."""

RESERVED_FILES = 32
"""Descriptors kept out of the default cap: the listening sockets, the event loop, standard streams,
key log writes, and what a library may open."""

_OUT_OF_FILES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_CLIENT_LEFT = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EAGAIN}
_CAP_NOTICE_INTERVAL = 60.0


def open_file_limit() -> int:
    """The soft RLIMIT_NOFILE (a large number when unlimited)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else int(soft)


def default_max_connections(limit: int | None = None) -> int:
    """Connections served at once by default: what the open-file limit leaves after a reserve (each
    connection is one descriptor), at least 1."""
    limit = open_file_limit() if limit is None else limit
    return max(1, limit - max(RESERVED_FILES, limit // 10))


class Listener:
    """The listening sockets, their accept loops, and the tasks of the connections accepted."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.max_connections = settings.max_connections or default_max_connections()
        self.tasks: set[asyncio.Task[None]] = set()
        self.sockets: list[socket.socket] = []
        self._accepting: list[asyncio.Task[None]] = []
        self._slot_freed = asyncio.Event()
        self._cap_noticed = -_CAP_NOTICE_INTERVAL
        self._accept_error_logged = False

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; returns the address really bound (port 0 picks a free one). Usage errors for a port in
        use or a host that is not local."""
        try:
            self.sockets = await _listen(host, port)
        except OSError as exc:
            raise _listen_error(exc, host, port) from None
        self._accepting = [asyncio.ensure_future(self._accept_loop(sock)) for sock in self.sockets]
        return host, int(self.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for accepting in self._accepting:
            accepting.cancel()
        await asyncio.gather(*self._accepting, return_exceptions=True)
        for sock in self.sockets:
            sock.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while len(self.tasks) >= self.max_connections:
                self._notice_cap()
                self._slot_freed.clear()
                await self._slot_freed.wait()
            try:
                client, _address = await loop.sock_accept(sock)
            except OSError as exc:
                if exc.errno in _CLIENT_LEFT:
                    continue
                await self._accept_failed(exc)
                continue
            task = asyncio.ensure_future(self._serve(client))
            self.tasks.add(task)  # now, so that the cap counts it before the next accept
            task.add_done_callback(self._ended)

    async def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(asyncio.CancelledError):  # stop() cancelled it; it was logged
            await handle_socket(client, self.settings)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self._slot_freed.set()

    def _notice_cap(self) -> None:
        now = time.monotonic()
        if now - self._cap_noticed >= _CAP_NOTICE_INTERVAL:
            self._cap_noticed = now
            self.settings.log(
                f"{len(self.tasks)} connections open (--max-connections {self.max_connections}):"
                " accepting more when one ends"
            )

    async def _accept_failed(self, exc: OSError) -> None:
        """Out of descriptors (or another accept error): say so once, serve at most the connections
        open from now on, and wait for one to end (a second, when none is open)."""
        open_now = len(self.tasks)
        if not self._accept_error_logged:
            self._accept_error_logged = True
            why = (exc.strerror or str(exc)).lower()
            if exc.errno in _OUT_OF_FILES and open_now:
                then = f"serving at most {open_now} connections at once from now on"
            else:
                then = "trying again when a connection ends"
            self.settings.log(f"cannot accept: {why} ({open_now} connections open); {then}")
        if exc.errno in _OUT_OF_FILES and open_now:
            self.max_connections = min(self.max_connections, open_now)
        self._slot_freed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._slot_freed.wait(), 1.0)


async def _listen(host: str, port: int) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for every address of ``host`` (as asyncio's servers)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _listen_error(exc: OSError, host: str, port: int) -> click.ClickException:
    if exc.errno == errno.EADDRINUSE:
        return click.BadParameter(f"port {port} on {host} is in use; choose another", param_hint="--port")
    if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return click.BadParameter(f"cannot listen on {host}: {exc.strerror or exc}", param_hint="--host")
    if exc.errno == errno.EACCES:
        return click.BadParameter(f"not allowed to listen on port {port}", param_hint="--port")
    return click.UsageError(f"cannot listen on {format_address(host, port)}: {exc.strerror or exc}")


def warm_up(config: ServerConfig) -> None:
    """One handshake in memory, before any client: every module a handshake needs is imported now (a
    lazy import needs a descriptor, which a server at its open-file limit may not have), and the first
    client does not wait for the imports. Nothing is logged: the key log is off for it."""
    quiet = dataclasses.replace(config, keylog=None)
    for version in quiet.enabled_versions:
        client_config = ClientConfig(verifier=NoVerification(), versions=[version])
        client = ClientConnection(client_config, "localhost")
        server = ServerConnection(quiet)
        with contextlib.suppress(TLSError):  # (a server that requires a client certificate refuses it)
            server.receive_data(client.data_to_send())
            client.receive_data(server.data_to_send())
            server.receive_data(client.data_to_send())


async def serve(settings: ServerSettings, host: str, port: int) -> None:
    """Run until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    warm_up(settings.config)
    listener = Listener(settings)
    bound_host, bound_port = await listener.start(host, port)
    settings.log(f"listening on {format_address(bound_host, bound_port)}")
    try:
        await stop.wait()
    finally:
        await listener.stop()
        settings.log("stopped")
