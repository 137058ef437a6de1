"""``TLSSocket``: the blocking face's TLS connection over a connected socket, with the socket methods
people expect (``recv``, ``sendall``, ``makefile``, ``shutdown``, ``close``, ...).

It only moves bytes between the socket and a ``ClientConnection`` / ``ServerConnection``; the engine
decides everything. Engine errors propagate unchanged (``RemoteProtocolError`` subclasses such as
``CertificateError``, and ``FatalAlert``), raised after the alert, if any, was written. Socket
timeouts propagate as ``TimeoutError``. Closing (``close()``, or a failure) shuts down our write side
and reads, for a moment, what the peer still sends (``shutdown_and_drain``): closing a socket with
unread input makes the kernel send a TCP reset and throw away what it has not transmitted yet (the end
of our data, the alert or close_notify), and some peers drop what they received but had not read when
the reset arrives. ``makefile()`` files (``_TLSSocketIO`` under the usual buffered and text layers)
keep the socket open until the last one is closed (``blocking_files``).

The event hook gets every event the engine reports, in the engine's order: those of ``receive_data``,
those it queued outside it (with ``trace=True``, the trace of what we sent), and, when ``receive_data``
fails, the events of that call before the failure (``TLSError.events``), before the error is raised.
Calls to the hook never overlap; it runs in whichever thread drove the engine.

Sockets are used in blocking mode or with a timeout (non-blocking mode is not supported). One thread
may receive while another sends; two threads receiving at once is not supported. Build one with the
functions of ``tlslens.adapters.blocking``.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from types import TracebackType
from typing import Any, BinaryIO, TextIO, cast

from cryptography import x509

from tlslens.adapters._common import (
    DRAIN_LIMIT,
    DRAIN_TIMEOUT,
    RECEIVE_SIZE,
    EventHook,
    UnexpectedEOF,
    cipher_name,
    handshake_eof,
    send_chunks,
    version_name,
)
from tlslens.adapters.blocking_files import TLSSocketIO
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import LocalProtocolError, TLSError
from tlslens.events import (
    ConnectionClosed,
    DataReceived,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    SessionTicketReceived,
)

__all__ = ["TLSSocket", "shutdown_and_drain"]


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
        self._engine_lock = threading.Lock()  # guards the engine, _outgoing and _hook_queue
        self._send_lock = threading.Lock()  # one writer at a time, so records leave in sequence order
        self._hook_lock = threading.Lock()  # one thread calls the hook at a time, in engine order
        self._outgoing = bytearray()
        self._hook_queue: list[Event] = []
        self._incoming = bytearray()
        self._handshake: HandshakeCompleted | None = None
        self._session: object | None = None
        self._peer_closed: ConnectionClosed | None = None
        self._failed: BaseException | None = None
        self._closed = False  # close() was called
        self._socket_closed = False  # ... and the socket really is closed (no makefile() left open)
        self._io_refs = 0

    # --- the handshake ------------------------------------------------------------------------------

    def do_handshake(self, *, timeout: float | None = None) -> None:
        """Run the handshake to completion. Raises the engine's exception (after writing its alert),
        ``UnexpectedEOF`` if the peer closes first, or ``TimeoutError``.

        ``timeout`` bounds the whole handshake, however the peer spaces its bytes (a peer that sends
        one byte now and then cannot hold it longer); without it, the socket's own timeout applies to
        each read and write. The socket's timeout is restored afterwards."""
        self._check_usable()
        previous = self._sock.gettimeout()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self._queue_output()
            self._before_io(deadline)
            self._send_out(wait=True)
            while not self._conn.handshake_complete:
                self._before_io(deadline)
                data = self._sock.recv(RECEIVE_SIZE)
                self._feed(data)
                if self._peer_closed is not None and not self._conn.handshake_complete:
                    raise handshake_eof(self._peer_closed.clean)
            self._before_io(deadline)
            self._send_out(wait=True)
        except BrokenPipeError as exc:  # the peer closed before it even read our flight
            self._failed = handshake_eof(clean=False)
            self._close_socket(send_close_notify=False, drain=False)
            raise self._failed from exc
        except UnexpectedEOF as exc:
            self._failed = exc
            self._close_socket(send_close_notify=False)
            raise
        finally:
            if deadline is not None and not self._socket_closed:
                self._sock.settimeout(previous)

    def _before_io(self, deadline: float | None) -> None:
        """Give the next socket operation what is left of the handshake's time."""
        if deadline is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the TLS handshake did not complete in time")
        self._sock.settimeout(left)

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
        for chunk in send_chunks(data):
            with self._engine_lock:
                self._conn.send_data(chunk)
                self._take_output()
            self._send_out(wait=True)

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
            self._take_output()
        self._send_out(wait=True)

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
        raw = TLSSocketIO(self, reading, writing)
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

    def _acquire_io(self) -> None:
        self._io_refs += 1

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
                self._hook_queue += events
                self._take_output()
        except TLSError as exc:
            with self._engine_lock:
                self._hook_queue += exc.events  # what happened before the failure, then the error
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
        self._run_hook()

    def _fail(self, exc: TLSError) -> None:
        """The engine failed: write its alert (already queued, if any), then close the socket."""
        self._failed = exc
        self._queue_output()
        with contextlib.suppress(OSError):
            self._flush(wait=True)
        self._run_hook()
        self._close_socket(send_close_notify=False)

    def _take_output(self) -> None:
        """Take what the engine queued: bytes to write, and events (the trace of what we sent) for the
        hook. The caller holds the engine lock."""
        self._outgoing += self._conn.data_to_send()
        self._hook_queue += self._conn.pending_events()

    def _queue_output(self) -> None:
        with self._engine_lock:
            self._take_output()

    def _send_out(self, *, wait: bool) -> None:
        self._flush(wait=wait)
        self._run_hook()

    def _run_hook(self) -> None:
        """Hand queued events to the hook, in order. A thread that finds another one calling it leaves
        its events to that thread (as ``_flush`` does with bytes), so a hook never runs twice at once
        and a hook that sends does not wait for itself."""
        while True:
            with self._engine_lock:
                if not self._hook_queue:
                    return
                if self._on_event is None:
                    self._hook_queue.clear()
                    return
            if not self._hook_lock.acquire(blocking=False):
                return
            try:
                while True:
                    with self._engine_lock:
                        events, self._hook_queue = self._hook_queue, []
                    if not events:
                        break
                    for event in events:
                        self._on_event(event)
            finally:
                self._hook_lock.release()

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
            self._take_output()
        self._send_out(wait=True)
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
