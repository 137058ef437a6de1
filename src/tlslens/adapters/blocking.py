"""The blocking face: a TLS connection over a real socket, with the socket methods people expect.

    with tlslens.connect("example.com", 443, tlslens.ClientConfig()) as tls:
        tls.sendall(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\nConnection: close\\r\\n\\r\\n")
        page = tls.makefile("rb").read()

``TLSSocket`` only moves bytes between the socket and a ``ClientConnection`` / ``ServerConnection``;
the engine decides everything. Engine errors propagate unchanged (``RemoteProtocolError`` subclasses
such as ``CertificateError``, and ``FatalAlert``), raised after the alert, if any, was written.
Socket timeouts propagate as ``TimeoutError``. Closing (``close()``, or a failure) shuts down our write
side and reads, for a moment, what the peer still sends: closing a socket with unread input makes the
kernel send a TCP reset and throw away what it has not transmitted yet (the end of our data, the alert
or close_notify), and some peers drop what they received but had not read when the reset arrives.

Sockets are used in blocking mode or with a timeout (non-blocking mode is not supported). One thread
may receive while another sends; two threads receiving at once is not supported.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, BinaryIO, TextIO, cast

from cryptography import x509

from tlslens.adapters._common import (
    DRAIN_LIMIT,
    DRAIN_TIMEOUT,
    RECEIVE_SIZE,
    SEND_CHUNK,
    UnexpectedEOF,
    cipher_name,
    handshake_eof,
    version_name,
)
from tlslens.config import ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import FatalAlert, LocalProtocolError, RemoteProtocolError, TLSError
from tlslens.events import (
    ConnectionClosed,
    DataReceived,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    SessionTicketReceived,
)

EventHook = Callable[[Event], None]
"""Called with every event the engine reports (trace events too, with ``trace=True``)."""

__all__ = [
    "EventHook",
    "TLSServerSocket",
    "TLSSocket",
    "UnexpectedEOF",
    "connect",
    "serve_connection",
    "wrap_server_socket",
    "wrap_socket",
]


def shutdown_and_drain(
    sock: socket.socket, *, timeout: float = DRAIN_TIMEOUT, limit: int = DRAIN_LIMIT
) -> None:
    """Close ``sock`` so that what we wrote last (an alert, close_notify) reaches the peer: shut down
    our write side, read and discard until the peer's EOF (at most ``timeout`` seconds and ``limit``
    bytes), then close."""
    try:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return  # not connected any more (reset, or never connected): nothing to protect
        deadline = time.monotonic() + timeout
        drained = 0
        while drained < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            chunk = sock.recv(RECEIVE_SIZE)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:
        pass
    finally:
        sock.close()


class TLSSocket:
    """A TLS connection over a connected socket. Build one with ``connect``, ``wrap_socket``,
    ``serve_connection`` or ``TLSServerSocket.accept``."""

    def __init__(
        self,
        sock: socket.socket,
        connection: ClientConnection | ServerConnection,
        *,
        on_event: EventHook | None = None,
    ) -> None:
        self._sock = sock
        self._conn = connection
        self._on_event = on_event
        self._engine_lock = threading.Lock()  # guards the engine and _outgoing
        self._send_lock = threading.Lock()  # one writer at a time, so records leave in sequence order
        self._outgoing = bytearray()
        self._incoming = bytearray()
        self._handshake: HandshakeCompleted | None = None
        self._session: object | None = None
        self._peer_closed: ConnectionClosed | None = None
        self._failed: BaseException | None = None
        self._closed = False  # close() was called
        self._socket_closed = False  # ... and the socket really is closed (no makefile() left open)
        self._io_refs = 0

    # --- the handshake ------------------------------------------------------------------------------

    def do_handshake(self) -> None:
        """Run the handshake to completion. Raises the engine's exception (after writing its alert),
        ``UnexpectedEOF`` if the peer closes first, or ``TimeoutError``."""
        self._check_usable()
        try:
            self._queue_output()
            self._flush(wait=True)
            while not self._conn.handshake_complete:
                data = self._sock.recv(RECEIVE_SIZE)
                self._feed(data)
                if self._peer_closed is not None and not self._conn.handshake_complete:
                    raise handshake_eof(self._peer_closed.clean)
            self._flush(wait=True)
        except BrokenPipeError as exc:  # the peer closed before it even read our flight
            self._failed = handshake_eof(clean=False)
            self._close_socket(send_close_notify=False, drain=False)
            raise self._failed from exc
        except UnexpectedEOF as exc:
            self._failed = exc
            self._close_socket(send_close_notify=False)
            raise

    @property
    def handshake(self) -> HandshakeCompleted | None:
        """The ``HandshakeCompleted`` event (None until the handshake is done)."""
        return self._handshake

    @property
    def version(self) -> str | None:
        """``TLSv1.3`` once the handshake is done."""
        return None if self._handshake is None else version_name(self._handshake)

    @property
    def cipher(self) -> str | None:
        """The negotiated suite's IANA name, e.g. ``TLS_AES_128_GCM_SHA256``."""
        return None if self._handshake is None else cipher_name(self._handshake)

    @property
    def alpn_protocol(self) -> str | None:
        return None if self._handshake is None else self._handshake.alpn_protocol

    @property
    def peer_certificates(self) -> tuple[x509.Certificate, ...]:
        """The chain the peer presented (leaf first); empty before the handshake or without one."""
        return () if self._handshake is None else self._handshake.peer_certificates

    @property
    def server_name(self) -> str | None:
        return None if self._handshake is None else self._handshake.server_name

    @property
    def session(self) -> object | None:
        """The last session ticket the server sent (client side), for resuming a later connection."""
        return self._session

    @property
    def closed_cleanly(self) -> bool | None:
        """After the peer closed: True if it sent close_notify, False on a bare EOF; None before."""
        return None if self._peer_closed is None else self._peer_closed.clean

    @property
    def connection(self) -> ClientConnection | ServerConnection:
        """The engine under this socket (for inspection; do not drive it directly)."""
        return self._conn

    # --- data ---------------------------------------------------------------------------------------

    def recv(self, bufsize: int = RECEIVE_SIZE) -> bytes:
        """Up to ``bufsize`` bytes of application data; b"" once the peer has closed (close_notify or
        EOF; ``closed_cleanly`` says which)."""
        if bufsize < 0:
            raise ValueError("negative buffer size in recv()")
        self._check_usable()
        while not self._incoming and self._peer_closed is None:
            self._feed(self._sock.recv(RECEIVE_SIZE))
        if bufsize == 0 or not self._incoming:
            return b""
        out = bytes(self._incoming[:bufsize])
        del self._incoming[:bufsize]
        return out

    def recv_into(self, buffer: bytearray | memoryview, nbytes: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or len(view))
        view[: len(data)] = data
        return len(data)

    def pending(self) -> int:
        """Bytes already decrypted and waiting to be read."""
        return len(self._incoming)

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt and write all of ``data``."""
        self._check_usable()
        view = memoryview(data).cast("B")
        for start in range(0, len(view), SEND_CHUNK):
            with self._engine_lock:
                self._conn.send_data(view[start : start + SEND_CHUNK])
                self._outgoing += self._conn.data_to_send()
            self._flush(wait=True)

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Send all of ``data``, like ``sendall`` (TLS records are not written in part); return its length."""
        n = memoryview(data).nbytes
        self.sendall(data)
        return n

    def update_keys(self, request_peer: bool = False) -> None:
        """Send KeyUpdate (RFC 8446 §4.6.3); with ``request_peer`` the peer updates its keys too."""
        self._check_usable()
        with self._engine_lock:
            self._conn.update_keys(request_peer=request_peer)
            self._outgoing += self._conn.data_to_send()
        self._flush(wait=True)

    # --- closing ------------------------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        """``SHUT_WR`` (or ``SHUT_RDWR``) sends close_notify first, then shuts the socket down: a TLS
        half-close, after which the peer may still send until it closes too."""
        self._check_usable()
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            self._send_close_notify()
        self._sock.shutdown(how)

    def close(self) -> None:
        """Send close_notify (after a completed handshake), shut down our side, drain, close. With
        files from ``makefile()`` still open, that happens when the last one is closed."""
        if self._closed:
            return
        self._closed = True
        if self._io_refs <= 0:
            self._close_socket(send_close_notify=True)

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        role = "server" if isinstance(self._conn, ServerConnection) else "client"
        state = "closed" if self._socket_closed else (self.version or "handshaking")
        return f"<TLSSocket {role} {state} fd={self._sock.fileno()}>"

    # --- the socket underneath ----------------------------------------------------------------------

    @property
    def socket(self) -> socket.socket:
        return self._sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def getpeername(self) -> Any:
        return self._sock.getpeername()

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        """A file object over the decrypted stream ("rb" for ``http.client``-style reading, "wb",
        "rwb", or text modes). The socket stays open until every such file is closed too."""
        if not set(mode) <= {"r", "w", "b"} or not mode:
            raise ValueError(f"invalid mode {mode!r} (only r, w and b)")
        reading, writing, binary = "r" in mode, "w" in mode, "b" in mode
        if not (reading or writing):
            raise ValueError("mode needs r or w")
        raw = _TLSSocketIO(self, ("r" if reading else "") + ("w" if writing else ""))
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if not binary:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: io.BufferedIOBase
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if binary:
            return buffer
        text: TextIO = io.TextIOWrapper(cast(BinaryIO, buffer), encoding, errors, newline)
        text.mode = mode  # type: ignore[misc]
        return text

    def _release_io(self) -> None:
        self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._close_socket(send_close_notify=True)

    # --- moving bytes -------------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._failed is not None:
            raise LocalProtocolError("the connection has already failed") from self._failed
        if self._socket_closed:
            raise OSError(9, "the TLS socket is closed")  # EBADF, like a closed socket

    def _feed(self, data: bytes) -> None:
        """Hand bytes from the socket (b"" = EOF) to the engine and act on what it says."""
        try:
            with self._engine_lock:
                events = self._conn.receive_data(data)
                self._outgoing += self._conn.data_to_send()
        except RemoteProtocolError as exc:
            self._fail(exc)
            raise
        except FatalAlert as exc:
            self._fail(exc)
            raise
        self._flush(wait=False)
        for event in events:
            if isinstance(event, DataReceived | EarlyDataReceived):
                self._incoming += event.data
            elif isinstance(event, HandshakeCompleted):
                self._handshake = event
            elif isinstance(event, ConnectionClosed):
                self._peer_closed = event
            elif isinstance(event, SessionTicketReceived):
                self._session = event.session
            if self._on_event is not None:
                self._on_event(event)

    def _fail(self, exc: TLSError) -> None:
        """The engine failed: write its alert (already queued, if any), then close the socket."""
        self._failed = exc
        with self._engine_lock:
            self._outgoing += self._conn.data_to_send()
        with contextlib.suppress(OSError):
            self._flush(wait=True)
        self._close_socket(send_close_notify=False)

    def _queue_output(self) -> None:
        with self._engine_lock:
            self._outgoing += self._conn.data_to_send()

    def _flush(self, *, wait: bool) -> None:
        """Write what the engine queued. Without ``wait``, leave it to a thread already writing (a
        reader must not block behind a writer that waits for the peer to read)."""
        while True:
            if not self._send_lock.acquire(blocking=wait):
                return
            try:
                while True:
                    with self._engine_lock:
                        out = bytes(self._outgoing)
                        self._outgoing.clear()
                    if not out:
                        break
                    self._sock.sendall(out)
            finally:
                self._send_lock.release()
            with self._engine_lock:
                if not self._outgoing:  # bytes queued by a thread that found us busy are ours to send
                    return
            wait = False

    def _send_close_notify(self) -> bool:
        """Send close_notify (once the handshake is complete); False if there was nothing to send."""
        with self._engine_lock:
            if not self._conn.handshake_complete:
                return False
            self._conn.close()
            self._outgoing += self._conn.data_to_send()
        self._flush(wait=True)
        return True

    def _close_socket(self, *, send_close_notify: bool, drain: bool = True) -> None:
        if self._socket_closed:
            return
        self._socket_closed = True
        self._closed = True
        if send_close_notify and self._failed is None:
            try:
                drain = self._send_close_notify() and drain
            except (OSError, LocalProtocolError):
                drain = False
        if drain:
            shutdown_and_drain(self._sock)
        else:
            self._sock.close()


class _TLSSocketIO(io.RawIOBase):
    """The raw file under ``TLSSocket.makefile()``."""

    def __init__(self, tls: TLSSocket, mode: str) -> None:
        super().__init__()
        self._tls = tls
        self._reading = "r" in mode
        self._writing = "w" in mode
        self.mode = mode + "b"

    def readable(self) -> bool:
        return self._reading

    def writable(self) -> bool:
        return self._writing

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._tls.fileno()

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if not self._reading:
            raise io.UnsupportedOperation("not readable")
        return self._tls.recv_into(buffer)

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if not self._writing:
            raise io.UnsupportedOperation("not writable")
        return self._tls.send(data)

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        self._tls._release_io()


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
            # nothing worth draining for.
            tls._close_socket(send_close_notify=False, drain=False)
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


class TLSServerSocket:
    """A listening socket whose ``accept()`` returns ``(TLSSocket, address)`` after the handshake.

    A failed handshake raises from ``accept()`` (the alert written, that connection closed); the
    listener stays usable. ``handshake_timeout`` bounds each handshake, then the accepted socket is
    back in blocking mode.
    """

    def __init__(
        self,
        listener: socket.socket,
        config: ServerConfig,
        *,
        handshake_timeout: float | None = None,
        trace: bool = False,
        on_event: EventHook | None = None,
    ) -> None:
        self._listener = listener
        self.config = config
        self.handshake_timeout = handshake_timeout
        self._trace = trace
        self._on_event = on_event

    def accept(self) -> tuple[TLSSocket, Any]:
        sock, address = self._listener.accept()
        try:
            previous = sock.gettimeout()
            if self.handshake_timeout is not None:
                sock.settimeout(self.handshake_timeout)
            tls = serve_connection(sock, self.config, trace=self._trace, on_event=self._on_event)
            sock.settimeout(previous)
        except BaseException:
            sock.close()
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
    handshake_timeout: float | None = None,
    trace: bool = False,
    on_event: EventHook | None = None,
) -> TLSServerSocket:
    """Wrap a bound, listening socket so that ``accept()`` does the TLS handshake."""
    return TLSServerSocket(
        listener, config, handshake_timeout=handshake_timeout, trace=trace, on_event=on_event
    )
