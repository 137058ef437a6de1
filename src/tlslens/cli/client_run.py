"""What ``tlslens client`` does once its options are parsed (``cli/client.py`` declares them): build the
ClientConfig, connect on ``tlslens.aio`` (``ClientRun``), stream stdin to the server and its data to
stdout, and report (``cli/client_io.py``). The contract is in ``cli/client.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

import tlslens.aio
from tlslens.adapters import UnexpectedEOF
from tlslens.adapters.proxy import Proxy
from tlslens.cli.client import DEFAULT_TIMEOUT
from tlslens.cli.client_io import InputSource, Report, StdinSource
from tlslens.cli.common import (
    config_error,
    format_address,
    keylog_for,
    load_certificates,
    load_key,
    load_trust_anchors,
    name_list,
    read_password,
    tracer_factory,
    versions_from,
)
from tlslens.cli.events import Watch
from tlslens.cli.failure import (
    READ_SIZE,
    SessionFailed,
    describe_os_error,
    describe_tls_error,
    face_closes,
    plain,
)
from tlslens.cli.main import INTERRUPTED
from tlslens.cli.peer_chain import RecordThenVerify, pem_chain, problems
from tlslens.cli.plain import choose_proxy, open_plain, parse_target
from tlslens.cli.psk import external_psk
from tlslens.cli.resume import check_session_out, load_session, read_early_data, save_session
from tlslens.config import ClientConfig
from tlslens.credentials import ExternalPsk
from tlslens.dangerous import RecordingVerifier
from tlslens.errors import ConfigurationError, LocalProtocolError, TLSError
from tlslens.events import HandshakeCompleted
from tlslens.session import Session
from tlslens.trace import Tracer
from tlslens.verifier import CertificateVerifier, WebPkiVerifier
from tlslens.wire.enums import ProtocolVersion


@dataclass
class ClientRun:
    """One client connection on ``tlslens.aio``: TCP, the handshake, stdin to the server and what it
    sends to ``on_data``, then close_notify both ways."""

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
    starttls: str | None = None
    proxy: Proxy | None = None
    ign_eof: bool = False  # at the end of stdin, no close_notify: the server closes first
    watch: Watch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = Watch(self.tracer)

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    @property
    def tickets(self) -> list[object]:
        return self.watch.tickets

    async def run(self, source: InputSource) -> None:
        """Raises SessionFailed with the reason when the connection fails."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        reader, writer = await open_plain(
            self.host,
            self.port,
            server_name=self.server_name or self.host,
            starttls_protocol=self.starttls,
            proxy=self.proxy,
            timeout=self.timeout,
            watch=self.watch,
        )
        tls_reader, tls_writer = await self._handshake(reader, writer, deadline - loop.time())
        try:
            await self._exchange(tls_reader, tls_writer, source)
        finally:
            await self._close(tls_writer)

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            try:
                tls_reader, tls_writer = await tlslens.aio.start_tls(
                    reader,
                    writer,
                    config=self.config,
                    server_name=self.server_name,
                    session=self.session,
                    early_data=self.early_data,
                    ssl_handshake_timeout=max(timeout, 0.001),
                    trace=self.tracer is not None,
                    on_event=self.watch,
                )
            except BaseException as exc:
                if not face_closes(exc):
                    writer.close()
                raise
        except LocalProtocolError as exc:  # the engine refused to start (e.g. a name it cannot send)
            raise SessionFailed(plain(exc)) from None
        except UnexpectedEOF:
            raise SessionFailed(
                "the server closed the connection during the handshake, without an alert"
            ) from None
        except TLSError as exc:
            self.watch.failed(exc)
            raise describe_tls_error(exc, "server") from exc
        except TimeoutError:
            raise SessionFailed(
                f"timeout: the handshake with {self.address} did not finish within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise describe_os_error(exc, "server", self.address) from None
        completed: HandshakeCompleted = tls_writer.get_extra_info("tlslens")
        self.completed = completed
        self.on_handshake(completed)
        if self.key_update:
            if completed.version == ProtocolVersion.TLS1_3:
                tlslens.aio.update_keys(tls_writer, request_peer=True)
            else:
                self.on_warning(f"--key-update: {completed.version.label} has no KeyUpdate; none was sent")
        if self.early_data and not completed.early_data_accepted:
            # RFC 8446 §4.2.10: refused 0-RTT data is lost unless the client sends it again.
            self.watch.note("0-RTT refused", "the early data is sent again, after the handshake")
            tls_writer.write(self.early_data)
        return tls_reader, tls_writer

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, source: InputSource
    ) -> None:
        sending = asyncio.ensure_future(self._send(writer, source))
        try:
            while data := await reader.read(READ_SIZE):
                self.on_data(data)
        except TLSError as exc:
            self.watch.failed(exc)
            raise describe_tls_error(exc, "server") from exc
        except OSError as exc:
            raise describe_os_error(exc, "server", self.address) from None
        finally:
            if not sending.done():
                sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sending  # its errors are the connection's, reported by the reading side
        if self.watch.closed_cleanly is False:
            self.on_warning("the server closed TCP without close_notify (the data may be truncated)")

    async def _send(self, writer: asyncio.StreamWriter, source: InputSource) -> None:
        """stdin to the server as it arrives (the next chunk only once the transport drained); at
        its end, close_notify and a TCP half-close, while reading goes on until the server closes."""
        while True:
            await writer.drain()
            chunk = await source.next_chunk()
            if not chunk:
                break
            writer.write(chunk)
        if not writer.transport.is_closing() and not self.ign_eof:
            self.watch.closing()
            writer.write_eof()

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        """close_notify unless sent already, then a bounded wait for the connection to end."""
        if not self.watch.closing_sent and not writer.transport.is_closing():
            self.watch.closing()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def build_client_config(
    *,
    cafile: str | None,
    ciphers: str | None,
    groups: str | None,
    alpn: str | None,
    cert: str | None,
    key: str | None,
    keylog: str | None,
    key_password: bytes | None = None,
    profile: str | None = None,
    record: bool = False,
    insecure: bool = False,
    record_size_limit: int | None = None,
    versions: tuple[str, ...] | None = None,
    psk: ExternalPsk | None = None,
) -> tuple[ClientConfig, RecordingVerifier | None]:
    """The options as a ClientConfig. With ``record`` (or ``insecure``), every chain the server
    presents is recorded by the RecordingVerifier returned too; with ``insecure``, that recorder
    alone judges it (it never refuses). ``profile``: the rules chains are judged by (verify's)."""
    kwargs: dict[str, Any] = {}
    if versions is not None:
        kwargs["versions"] = versions
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
        kwargs["private_key"] = load_key(key, "--key", key_password)
    anchors = load_trust_anchors(cafile, "--cafile") if cafile is not None else None
    recorder: RecordingVerifier | None = None
    checker: CertificateVerifier | None = None
    if profile is not None:
        checker = WebPkiVerifier(anchors, profile=profile)  # type: ignore[arg-type]
    if record or insecure:
        recorder = RecordingVerifier(anchors, keep=1, profile=profile)  # type: ignore[arg-type]
        checker = recorder if insecure else RecordThenVerify(recorder, checker or WebPkiVerifier(anchors))
    if checker is not None:
        kwargs["verifier"] = checker
    elif anchors is not None:
        kwargs["trust_anchors"] = anchors
    kwargs["keylog"] = keylog_for(keylog)
    if psk is not None:
        kwargs["external_psks"] = [psk]
    if record_size_limit is not None:
        kwargs["record_size_limit"] = record_size_limit
    try:
        return ClientConfig(**kwargs), recorder
    except ConfigurationError as exc:
        raise config_error(exc) from None


def run_client(
    *,
    target: str,
    servername: str | None,
    cafile: str | None,
    profile: str | None,
    ciphers: str | None,
    groups: str | None,
    alpn: str | None,
    cert: str | None,
    key: str | None,
    psk: str | None,
    psk_identity: str | None,
    sess_out: str | None,
    sess_in: str | None,
    early_data: str | None,
    keylog: str | None,
    key_password: str | None,
    insecure: bool,
    showcerts: bool,
    starttls: str | None,
    proxy: str | None,
    trace: bool,
    trace_format: str,
    key_update: bool,
    ign_eof: bool,
    record_size_limit: int | None,
    tls1_2: bool,
    tls1_3: bool,
    timeout: float,
) -> None:
    """``tlslens client``: connect, send stdin, print what the server sends; exits 1 on failure."""
    host, port = parse_target(target, starttls)
    via = choose_proxy(host, proxy, starttls)
    config, recorder = build_client_config(
        cafile=cafile,
        ciphers=ciphers,
        groups=groups,
        alpn=alpn,
        cert=cert,
        key=key,
        keylog=keylog,
        key_password=read_password(key_password),
        profile=profile,  # the rules the server's chain is judged by (tlslens verify --profile)
        record=showcerts,
        insecure=insecure,
        record_size_limit=record_size_limit,
        versions=versions_from(tls1_2, tls1_3),
        psk=external_psk(psk_identity, psk),
    )
    session = load_session(sess_in) if sess_in is not None else None
    early = read_early_data(early_data, session) if early_data is not None else None
    if sess_out is not None:
        check_session_out(sess_out)
    report = Report(sys.stderr, json_lines=trace and trace_format == "json")
    tracer = tracer_factory(trace, trace_format, report, "client")("")
    stdout = sys.stdout.buffer

    def write_data(data: bytes) -> None:
        stdout.write(data)
        stdout.flush()

    def show_chain() -> None:
        if recorder is not None and showcerts and recorder.last is not None:
            write_data(pem_chain(recorder.last.chain).encode("ascii"))

    def handshake_done(completed: HandshakeCompleted) -> None:
        show_chain()
        if insecure and recorder is not None:
            wrong = problems(recorder.last)
            report.verified = not wrong
            if wrong:
                report.warning("the server's certificate chain does not verify (ignored: --insecure)", wrong)
        for finding in completed.ocsp.findings if completed.ocsp is not None and not insecure else ():
            report.warning(f"OCSP: {finding.code}: {finding.message}", [f"fix: {finding.fix}"])
        report.summary(completed)

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
        on_handshake=handshake_done,
        on_data=write_data,
        on_warning=report.warning,
        starttls=starttls,
        proxy=via,
        ign_eof=ign_eof,
    )
    failure: SessionFailed | None = None
    status = 1
    try:
        asyncio.run(run.run(StdinSource()))
    except SessionFailed as exc:
        failure = exc
    except KeyboardInterrupt:
        failure = SessionFailed("interrupted")
        status = INTERRUPTED
    run.watch.finish()
    if sess_out is not None:
        warning = save_session(sess_out, run.tickets)
        if warning is not None:
            report.warning(warning)
    if failure is not None:
        if run.completed is None:
            show_chain()  # refused: what was presented
        report.failed(run.completed, failure)
        sys.exit(status)
    report.summary_last(run.completed)
