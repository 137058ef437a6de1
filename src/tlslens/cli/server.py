"""``tlslens server``: a TLS 1.3 echo server (or, with ``--www``, an HTTP/1.1 page server) on asyncio.

Each connection runs as its own task, so many clients are served at once. Without ``--www`` the server
echoes application data until the client's close_notify, then sends close_notify and closes. With
``--www`` it answers one HTTP GET with the negotiated parameters (``cli/www.py``), then closes.
After each handshake it sends ``--tickets N`` session tickets (default 2); with ``--early-data`` it
accepts 0-RTT data on resumption, answered (echoed, or as an HTTP request) once the handshake is done.
``--psk-identity ID --psk HEX`` authenticates clients that hold that key (without --cert/--key: a
PSK-only server); ``--pha CA.pem`` with ``--www`` asks for a client certificate after the handshake when
a client sends ``GET /auth`` (``cli/www.py``).
One log line per connection goes to stderr (peer, outcome, handshake time). Ctrl-C and SIGTERM stop
it cleanly (exit 0). ``listening on HOST:PORT`` is printed once the socket listens (``--port 0``
picks a free port, and that line names it).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import json
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

import tlslens.aio
from tlslens.adapters import UnexpectedEOF
from tlslens.cli.common import (
    config_error,
    echo_err,
    format_address,
    key_password_option,
    keylog_for,
    load_certificates,
    load_key,
    load_trust_anchors,
    name_list,
    read_password,
    trace_options,
    tracer_factory,
    version_options,
    versions_from,
)
from tlslens.cli.events import Watch
from tlslens.cli.failure import READ_SIZE, SessionFailed, describe_tls_error, face_closes, plain
from tlslens.cli.own_chain import check_leaf_first, own_chain_warnings
from tlslens.cli.psk import external_psk, psk_options
from tlslens.cli.resume import EARLY_DATA_LIMIT
from tlslens.cli.www import WwwResponder, client_certificate_page
from tlslens.config import ServerConfig
from tlslens.credentials import ExternalPsk, psk_table, shown_identity
from tlslens.errors import ConfigurationError, TLSError
from tlslens.events import HandshakeCompleted
from tlslens.pki import TrustStore
from tlslens.trace import Tracer
from tlslens.verifier import WebPkiVerifier

HANDSHAKE_TIMEOUT = 30.0
"""A client that has not finished its handshake by then is dropped."""


@dataclass
class ServerSettings:
    config: ServerConfig
    www: bool = False
    pha: bool = False  # --pha: GET /auth asks for a client certificate after the handshake
    make_tracer: Callable[[str], Tracer | None] = lambda label: None
    log: Callable[[str], None] = echo_err
    handshake_timeout: float = HANDSHAKE_TIMEOUT


@dataclass
class _Outcome:
    completed: HandshakeCompleted | None = None
    handshake_ms: float | None = None
    failure: str | None = None
    status: int = 0
    notes: list[str] = field(default_factory=list)


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return format_address(peer[0], peer[1]) if isinstance(peer, tuple) else str(peer)


@dataclass
class _Connection:
    """One accepted client: its streams once TLS is up, and its event hook."""

    watch: Watch
    outcome: _Outcome
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: ServerSettings, conn: _Connection
) -> None:
    try:
        try:
            conn.reader, conn.writer = await tlslens.aio.start_tls(
                reader,
                writer,
                config=settings.config,
                ssl_handshake_timeout=settings.handshake_timeout,
                trace=conn.watch.tracer is not None,
                on_event=conn.watch,
            )
        except BaseException as exc:
            if not face_closes(exc):
                writer.close()
            raise
    except TimeoutError:
        raise SessionFailed(
            f"timeout: no complete handshake within {settings.handshake_timeout:g} s"
        ) from None
    except UnexpectedEOF:
        raise SessionFailed(
            "the client closed the connection during the handshake, without an alert"
        ) from None
    except TLSError as exc:
        conn.watch.failed(exc)
        raise describe_tls_error(exc, "client") from exc


async def _serve(settings: ServerSettings, conn: _Connection, started: float) -> None:
    """Echo, or answer one HTTP request, until the client closes (or --www has answered)."""
    reader, writer, outcome = conn.reader, conn.writer, conn.outcome
    assert reader is not None and writer is not None
    completed: HandshakeCompleted = writer.get_extra_info("tlslens")
    outcome.completed = completed
    outcome.handshake_ms = (time.perf_counter() - started) * 1000
    early = conn.watch.early_data  # 0-RTT data comes first on the stream, once the handshake is done
    if early:
        outcome.notes.append(f"{early} bytes of 0-RTT data")
    www = WwwResponder(completed, early_data=bool(early), pha=settings.pha) if settings.www else None
    while True:
        try:
            data = await reader.read(READ_SIZE)
        except TLSError as exc:
            conn.watch.failed(exc)
            raise describe_tls_error(exc, "client") from exc
        if not data:
            break
        if www is None:
            writer.write(data)
        else:
            writer.write(www.feed(data))
            if www.wants_client_certificate:  # GET /auth with --pha
                try:
                    writer.write(await client_certificate_page(www, writer, outcome.notes))
                except TLSError as exc:
                    conn.watch.failed(exc)
                    raise describe_tls_error(exc, "client") from exc
            if www.done:
                outcome.status = www.status
                return
        await writer.drain()
    if conn.watch.closed_cleanly is False:
        outcome.notes.append("client closed TCP without close_notify")


async def _close(conn: _Connection) -> None:
    """close_notify, then a bounded wait while the client takes it and closes too."""
    writer = conn.writer
    if writer is None:
        return
    if not writer.transport.is_closing():
        conn.watch.closing()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


def _log_line(peer: str, outcome: _Outcome, elapsed_ms: float, writer: asyncio.StreamWriter | None) -> str:
    c = outcome.completed
    if outcome.failure is not None:
        when = (
            f"handshake {outcome.handshake_ms:.1f} ms" if outcome.handshake_ms is not None else "no handshake"
        )
        return f"{peer} failed: {outcome.failure} ({when}; after {elapsed_ms:.1f} ms)"
    assert c is not None and outcome.handshake_ms is not None and writer is not None
    group = c.group.iana_name if c.group is not None else "psk"
    parts = [f"{peer} ok {c.version.label} {c.cipher_suite.name} {group}"]
    if c.resumed:
        parts.append("resumed" + (" with 0-RTT" if c.early_data_accepted else ""))
    if c.alpn_protocol:
        parts.append(f"alpn={c.alpn_protocol}")
    if c.server_name:
        parts.append(f"sni={c.server_name}")
    if c.peer_certificates:
        parts.append(f"client_cert={c.peer_certificates[0].subject.rfc4514_string()}")
    if c.psk_identity is not None:
        parts.append(f"psk={shown_identity(c.psk_identity)}")
    if outcome.status:
        parts.append(f"http={outcome.status}")
    bytes_in, bytes_out = writer.get_extra_info("bytes_received"), writer.get_extra_info("bytes_sent")
    text = (
        " ".join(parts) + f"; handshake {outcome.handshake_ms:.1f} ms; {bytes_in} bytes in, {bytes_out} out"
    )
    return text + "".join(f"; {n}" for n in outcome.notes)


_counter = itertools.count(1)


async def handle_client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: ServerSettings
) -> None:
    """Serve one TCP connection to the end; never raises (except cancellation at shutdown)."""
    peer = _peer_name(writer)
    number = next(_counter)
    started = time.perf_counter()
    conn = _Connection(Watch(settings.make_tracer(f"#{number} {peer}")), _Outcome())
    conn.watch.note("TCP accepted", f"from {peer}")
    outcome = conn.outcome
    try:
        await _handshake(reader, writer, settings, conn)
        await _serve(settings, conn, started)
    except SessionFailed as exc:
        outcome.failure = exc.reason + "".join(f"; {d.strip()}" for d in exc.details)
    except OSError as exc:
        outcome.failure = f"connection lost: {exc.strerror or exc}"
    except TLSError as exc:  # e.g. the engine refusing to send on a connection that just failed
        outcome.failure = plain(exc)
    except asyncio.CancelledError:
        outcome.failure = "server shutting down"  # close_notify follows: a clean close, not a truncation
        raise
    except Exception as exc:  # a bug must not stop the server: log it with the connection
        outcome.failure = f"internal error: {exc!r}"
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await _close(conn)
        conn.watch.finish()
        settings.log(_log_line(peer, outcome, (time.perf_counter() - started) * 1000, conn.writer))


class Listener:
    """The listening socket and the tasks of the connections it accepted."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.base_events.Server | None = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await handle_client(reader, writer, self.settings)
        except asyncio.CancelledError:
            pass  # stop() cancelled it; ending normally keeps asyncio's stream callback quiet
        finally:
            self.tasks.discard(task)

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; returns the address really bound (port 0 picks a free one). Usage errors for a port in
        use or a host that is not local."""
        try:
            self.server = await asyncio.start_server(self._accept, host, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.BadParameter(
                    f"port {port} on {host} is in use; choose another", param_hint="--port"
                ) from None
            if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                raise click.BadParameter(
                    f"cannot listen on {host}: {exc.strerror or exc}", param_hint="--host"
                ) from None
            if exc.errno == errno.EACCES:
                raise click.BadParameter(
                    f"not allowed to listen on port {port}", param_hint="--port"
                ) from None
            raise click.UsageError(
                f"cannot listen on {format_address(host, port)}: {exc.strerror or exc}"
            ) from None
        sockname = self.server.sockets[0].getsockname()
        return host, int(sockname[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()


async def serve(settings: ServerSettings, host: str, port: int) -> None:
    """Run until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    listener = Listener(settings)
    bound_host, bound_port = await listener.start(host, port)
    settings.log(f"listening on {format_address(bound_host, bound_port)}")
    try:
        await stop.wait()
    finally:
        await listener.stop()
        settings.log("stopped")


def build_server_config(
    *,
    cert: str | None,
    key: str | None,
    ciphers: str | None,
    groups: str | None,
    alpn: str | None,
    verify_client: str | None,
    keylog: str | None,
    early_data: bool = False,
    tickets: int | None = None,
    key_password: bytes | None = None,
    versions: tuple[str, ...] | None = None,
    psk: ExternalPsk | None = None,
    pha: str | None = None,
) -> ServerConfig:
    kwargs: dict[str, Any] = {"keylog": keylog_for(keylog)}
    if (cert is None) != (key is None) or (cert is None and psk is None):
        raise click.UsageError("give --cert and --key (or --psk alone, for a PSK-only server)")
    if cert is not None and key is not None:
        chain = load_certificates(cert, "--cert")
        private_key = load_key(key, "--key", key_password)
        check_leaf_first(chain, private_key, cert)
        kwargs.update(certificate_chain=chain, private_key=private_key)
    if psk is not None:
        kwargs["psk_lookup"] = psk_table([psk])
    if pha is not None:
        if verify_client is not None:
            raise click.UsageError("--pha and --verify-client ask at different times: choose one")
        kwargs["client_verifier"] = WebPkiVerifier(load_trust_anchors(pha, "--pha"))
        kwargs["defer_client_auth"] = True
    if versions is not None:
        kwargs["versions"] = versions
    if ciphers is not None:
        kwargs["cipher_suites"] = name_list(ciphers)
    if groups is not None:
        kwargs["groups"] = name_list(groups)
    if alpn is not None:
        kwargs["alpn_protocols"] = name_list(alpn)
    if verify_client is not None:
        kwargs["client_verifier"] = WebPkiVerifier(load_trust_anchors(verify_client, "--verify-client"))
    if tickets is not None:
        kwargs["tickets"] = tickets
    if early_data:
        if tickets == 0:
            raise click.BadParameter(
                "0-RTT needs session tickets; drop --tickets 0", param_hint="--early-data"
            )
        kwargs["max_early_data_size"] = EARLY_DATA_LIMIT
    try:
        return ServerConfig(**kwargs)
    except ConfigurationError as exc:
        raise config_error(exc) from None


@click.command("server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=4433,
    show_default=True,
    help="Port to listen on (0: any free port; the 'listening on' line names it).",
)
@click.option("--cert", metavar="CHAIN.pem", help="Certificate chain, leaf first (PEM).")
@click.option("--key", metavar="KEY.pem", help="Private key of the leaf (PEM).")
@click.option("--ciphers", metavar="LIST", help="Cipher suites in server preference order.")
@click.option(
    "--groups", metavar="LIST", help="Groups in server preference order (may force a HelloRetryRequest)."
)
@click.option(
    "--alpn",
    metavar="LIST",
    help="ALPN protocols the server accepts, in preference order (with --www: http/1.1 by default).",
)
@click.option(
    "--verify-client", metavar="CA.pem", help="Require a client certificate issued under these CAs."
)
@click.option(
    "--pha",
    metavar="CA.pem",
    help="With --www: on GET /auth, ask for a client certificate after the handshake and check it under"
    " these CAs; the page names it, or says why it was refused.",
)
@psk_options
@click.option(
    "--early-data", is_flag=True, help=f"Accept up to {EARLY_DATA_LIMIT} bytes of 0-RTT data on resumption."
)
@click.option(
    "--tickets", type=int, metavar="N", help="Session tickets sent after each handshake (0-16; default 2)."
)
@click.option(
    "--www", is_flag=True, help="Answer HTTP GET with a page naming version, cipher, group, ALPN, SNI."
)
@click.option(
    "--keylog", metavar="F", help="Append NSS key log lines to F (default: $SSLKEYLOGFILE when set)."
)
@click.option(
    "--cafile",
    metavar="F",
    help="Check our own chain at start against these CA certificates (default: the system store).",
)
@key_password_option
@trace_options
@version_options
def server(
    host: str,
    port: int,
    cert: str,
    key: str,
    ciphers: str | None,
    groups: str | None,
    alpn: str | None,
    verify_client: str | None,
    pha: str | None,
    psk: str | None,
    psk_identity: str | None,
    early_data: bool,
    tickets: int | None,
    www: bool,
    keylog: str | None,
    cafile: str | None,
    key_password: str | None,
    trace: bool,
    trace_format: str,
    tls1_2: bool,
    tls1_3: bool,
) -> None:
    """Serve TLS 1.3 and 1.2 on HOST:PORT: echo application data, or with --www answer HTTP GET."""
    if pha is not None and not www:
        raise click.UsageError("--pha asks for a client certificate when GET /auth arrives: it needs --www")
    config = build_server_config(
        cert=cert,
        key=key,
        ciphers=ciphers,
        groups=groups,
        alpn=alpn if alpn is not None or not www else "http/1.1",  # what an HTTP client offers
        verify_client=verify_client,
        keylog=keylog,
        early_data=early_data,
        tickets=tickets,
        key_password=read_password(key_password),
        versions=versions_from(tls1_2, tls1_3),
        psk=external_psk(psk_identity, psk),
        pha=pha,
    )
    store = TrustStore(load_trust_anchors(cafile, "--cafile")) if cafile is not None else None
    log = echo_err
    if trace and trace_format == "json":  # stderr carries only JSON lines: the log lines too

        def log(text: str) -> None:
            echo_err(json.dumps({"type": "log", "text": text}))

    for line in own_chain_warnings(config.certificate_chain, store) if config.certificate_chain else ():
        log(line)  # and serve all the same
    settings = ServerSettings(
        config,
        www=www,
        pha=pha is not None,
        make_tracer=tracer_factory(trace, trace_format, sys.stderr, "server"),
        log=log,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, host, port))
