"""``tlslens client HOST:PORT``: connect, send stdin as application data, print what comes back.

Contract (ARCHITECTURE.md, "Command line"): stdin is streamed to the server as it arrives; on stdin EOF
the client sends close_notify (TLS 1.3 half-close) and keeps reading until the server closes, then
exits 0. Right after the handshake it prints ``tlslens-summary: {json}`` on stderr; the last line on
stderr is always a summary line (it is repeated at the end when anything else was printed after it,
with an ``error`` key on failure). Exit status: 0 success, 1 TLS/certificate/network failure (one
line naming the reason), 2 usage error. ``--trace`` writes the trace to stderr, so stdout carries only
the server's data. ``--sess-out F`` is written when the connection ends (tickets arrive after the
handshake); ``--sess-in F --early-data FILE`` resumes and sends FILE as 0-RTT data (``cli/resume.py``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import click

from tlslens.cli.client_io import InputSource, Report, StdinSource
from tlslens.cli.common import (
    config_error,
    format_address,
    host_port_callback,
    keylog_for,
    load_certificates,
    load_key,
    load_trust_anchors,
    name_list,
    trace_options,
    tracer_factory,
)
from tlslens.cli.link import Link, SessionFailed
from tlslens.cli.resume import check_session_out, load_session, read_early_data, save_session
from tlslens.cli.verify import profile_option
from tlslens.config import ClientConfig
from tlslens.connection import ClientConnection
from tlslens.errors import ConfigurationError, LocalProtocolError
from tlslens.events import ConnectionClosed, DataReceived, Event, HandshakeCompleted, SessionTicketReceived
from tlslens.session import Session
from tlslens.trace import Tracer
from tlslens.verifier import WebPkiVerifier

DEFAULT_TIMEOUT = 10.0


@dataclass
class ClientRun:
    """One client connection over asyncio TCP: handshake, stream input, print output, close."""

    host: str
    port: int
    config: ClientConfig
    server_name: str | None
    tracer: Tracer | None = None
    timeout: float = DEFAULT_TIMEOUT
    key_update: bool = False
    session: Session | None = None
    early_data: bytes | None = None
    on_handshake: Callable[[HandshakeCompleted], None] = lambda completed: None
    on_data: Callable[[bytes], None] = lambda data: None
    on_warning: Callable[[str], None] = lambda text: None
    completed: HandshakeCompleted | None = None
    tickets: list[object] = field(default_factory=list)

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        except ConnectionRefusedError:
            raise SessionFailed(f"connection refused by {self.address}") from None
        except TimeoutError:
            raise SessionFailed(
                f"timeout: no TCP connection to {self.address} within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise SessionFailed(f"cannot connect to {self.address}: {exc.strerror or exc}") from None

    async def run(self, source: InputSource) -> None:
        """Raises SessionFailed with the reason when the connection fails."""
        reader, writer = await self._connect()
        if self.tracer is not None:
            local = writer.get_extra_info("sockname")
            self.tracer.note("TCP connected", f"to {self.address} from {format_address(*local[:2])}")
        try:
            conn = ClientConnection(
                self.config,
                self.server_name,
                session=self.session,
                early_data=self.early_data,
                trace=self.tracer is not None,
            )
        except LocalProtocolError as exc:
            writer.close()
            raise SessionFailed(str(exc).removeprefix("tls: ")) from None
        link = Link(conn, reader, writer, self.tracer, "server")
        try:
            await link.send_pending()
            await self._exchange(link, source)
        except OSError as exc:
            raise SessionFailed(f"connection to {self.address} lost: {exc.strerror or exc}") from None
        finally:
            await link.shutdown()

    async def _exchange(self, link: Link, source: InputSource) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        reading: asyncio.Task[list[Event]] = asyncio.ensure_future(link.read())
        typing: asyncio.Task[bytes] | None = None
        peer_closed = False
        try:
            while not peer_closed:
                waiting: set[asyncio.Future[Any]] = {reading} if typing is None else {reading, typing}
                limit = None if self.completed else deadline - loop.time()
                done, _ = await asyncio.wait(waiting, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    raise SessionFailed(
                        f"timeout: the handshake with {self.address} did not finish within {self.timeout:g} s"
                    )
                if reading in done:  # first: a failure read from the peer wins over our input
                    started = self.completed is None
                    for event in reading.result():
                        peer_closed |= self._event(event)
                    if started and self.completed is not None:
                        self._after_handshake(link, self.completed)
                        typing = asyncio.ensure_future(self._next_input(link, source))
                    if not peer_closed:
                        reading = asyncio.ensure_future(link.read())
                if typing is not None and typing.done() and not peer_closed:
                    chunk = typing.result()
                    if chunk:
                        link.conn.send_data(chunk)
                        typing = asyncio.ensure_future(self._next_input(link, source))
                    else:  # stdin EOF: half-close, keep reading until the server closes
                        link.close_notify()
                        typing = None
                link.write_pending()  # no drain here: reading must go on while the peer is slow
        finally:
            for task in (reading, typing):
                if task is not None and not task.done():
                    task.cancel()
        if self.completed is None:
            raise SessionFailed("the server closed the connection during the handshake, without an alert")
        link.close_notify()

    @staticmethod
    async def _next_input(link: Link, source: InputSource) -> bytes:
        """Backpressure on input only: wait until the transport drained, then take the next chunk."""
        await link.writer.drain()
        return await source.next_chunk()

    def _after_handshake(self, link: Link, completed: HandshakeCompleted) -> None:
        if self.key_update:
            link.conn.update_keys(request_peer=True)
        if self.early_data and not completed.early_data_accepted:
            # RFC 8446 §4.2.10: refused 0-RTT data is lost unless the client sends it again.
            link.conn.send_data(self.early_data)
            if self.tracer is not None:
                self.tracer.note("0-RTT refused", "the early data is sent again, after the handshake")

    def _event(self, event: Event) -> bool:
        """Handle one event; True when the server has closed its side."""
        if isinstance(event, HandshakeCompleted):
            self.completed = event
            self.on_handshake(event)
        elif isinstance(event, DataReceived):
            self.on_data(event.data)
        elif isinstance(event, SessionTicketReceived):
            self.tickets.append(event.session)
        elif isinstance(event, ConnectionClosed):
            if not event.clean and self.completed is not None:
                self.on_warning("the server closed TCP without close_notify (the data may be truncated)")
            return True
        return False


def build_client_config(
    *,
    cafile: str | None,
    ciphers: str | None,
    groups: str | None,
    alpn: str | None,
    cert: str | None,
    key: str | None,
    keylog: str | None,
) -> ClientConfig:
    kwargs: dict[str, Any] = {}
    if ciphers is not None:
        kwargs["cipher_suites"] = name_list(ciphers)
    group_names = name_list(groups)
    if group_names is not None:
        kwargs["groups"] = group_names
        kwargs["key_share_groups"] = group_names[:1]  # the contract: a key share for the first only
    if alpn is not None:
        kwargs["alpn_protocols"] = name_list(alpn)
    if (cert is None) != (key is None):
        raise click.BadParameter(
            "a client certificate needs both --cert and --key", param_hint="--cert/--key"
        )
    if cert is not None and key is not None:
        kwargs["certificate_chain"] = load_certificates(cert, "--cert")
        kwargs["private_key"] = load_key(key, "--key")
    if cafile is not None:
        kwargs["trust_anchors"] = load_trust_anchors(cafile, "--cafile")
    kwargs["keylog"] = keylog_for(keylog)
    try:
        return ClientConfig(**kwargs)
    except ConfigurationError as exc:
        raise config_error(exc) from None


@click.command("client")
@click.argument("target", metavar="HOST:PORT", callback=host_port_callback)
@click.option("--servername", metavar="NAME", help="Name for SNI and verification (default: HOST).")
@click.option(
    "--cafile",
    metavar="F",
    help="Trust these CA certificates (PEM file or folder) instead of the system store.",
)
@profile_option
@click.option(
    "--ciphers", metavar="LIST", help="Cipher suites in preference order, e.g. TLS_AES_128_GCM_SHA256."
)
@click.option(
    "--groups", metavar="LIST", help="Groups in preference order; a key share is sent for the first only."
)
@click.option("--alpn", metavar="LIST", help="ALPN protocols to offer, e.g. h2,http/1.1.")
@click.option("--cert", metavar="F", help="Client certificate chain (PEM), sent when the server asks.")
@click.option("--key", metavar="F", help="Private key (PEM) of --cert.")
@click.option(
    "--sess-out", metavar="F", help="Write the session (newest ticket) to F when the connection ends."
)
@click.option("--sess-in", metavar="F", help="Resume the session in F (written by --sess-out).")
@click.option(
    "--early-data",
    metavar="F",
    help="Send the contents of F as 0-RTT data (with --sess-in), sent again if refused.",
)
@click.option(
    "--keylog", metavar="F", help="Append NSS key log lines to F (default: $SSLKEYLOGFILE when set)."
)
@trace_options
@click.option(
    "--key-update", is_flag=True, help="Send KeyUpdate(update_requested) right after the handshake."
)
@click.option("--tls1_2", "tls1_2", is_flag=True, help="Only TLS 1.2 (not supported yet: a usage error).")
@click.option("--tls1_3", "tls1_3", is_flag=True, help="Only TLS 1.3 (the default).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed for the TCP connection and the handshake.",
)
def client(
    target: tuple[str, int],
    servername: str | None,
    cafile: str | None,
    profile: str | None,
    ciphers: str | None,
    groups: str | None,
    alpn: str | None,
    cert: str | None,
    key: str | None,
    sess_out: str | None,
    sess_in: str | None,
    early_data: str | None,
    keylog: str | None,
    trace: bool,
    trace_format: str,
    key_update: bool,
    tls1_2: bool,
    tls1_3: bool,
    timeout: float,
) -> None:
    """Connect to HOST:PORT over TLS 1.3, send stdin, print what the server sends."""
    if tls1_2:
        raise click.UsageError(
            "--tls1_2: TLS 1.2 is not supported yet; tlslens speaks TLS 1.3 only (--tls1_3)"
        )
    host, port = target
    config = build_client_config(
        cafile=cafile, ciphers=ciphers, groups=groups, alpn=alpn, cert=cert, key=key, keylog=keylog
    )
    if profile is not None:  # the rules the server's chain is judged by (tlslens verify --profile)
        config = replace(config, verifier=WebPkiVerifier(config.trust_anchors, profile=profile))  # type: ignore[arg-type]
    session = load_session(sess_in) if sess_in is not None else None
    early = read_early_data(early_data, session) if early_data is not None else None
    if sess_out is not None:
        check_session_out(sess_out)
    report = Report(sys.stderr)
    tracer = tracer_factory(trace, trace_format, report, "client")("")
    stdout = sys.stdout.buffer

    def write_data(data: bytes) -> None:
        stdout.write(data)
        stdout.flush()

    run = ClientRun(
        host,
        port,
        config,
        servername if servername is not None else host,
        tracer,
        timeout,
        key_update,
        session,
        early,
        on_handshake=report.summary,
        on_data=write_data,
        on_warning=report.warning,
    )
    failure: SessionFailed | None = None
    try:
        asyncio.run(run.run(StdinSource()))
    except SessionFailed as exc:
        failure = exc
    except KeyboardInterrupt:
        failure = SessionFailed("interrupted")
    if tracer is not None:
        tracer.finish()
    if sess_out is not None:
        warning = save_session(sess_out, run.tickets)
        if warning is not None:
            report.warning(warning)
    if failure is not None:
        report.failed(run.completed, failure)
        sys.exit(1)
    report.summary_last(run.completed)
