"""``tlslens certs HOST:PORT``: the chain a server presents, each certificate in detail, and its diagnosis.

What ``openssl s_client -showcerts`` plus ``openssl x509 -dates`` plus ``openssl verify`` give, in one
view. The connection uses a :class:`~tlslens.pki.recording.RecordingVerifier`, so the handshake goes on
even when the chain is bad and the presented chain is always there to show (the server's
CertificateVerify signature is still checked).

Exit status: 0 when the chain is valid (warnings are still printed), 1 when it has errors or the
connection fails (one line on stderr says why), 2 on usage errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from rich.console import Console
from rich.text import Text

import tlslens.aio
from tlslens.adapters import UnexpectedEOF
from tlslens.adapters.proxy import Proxy
from tlslens.adapters.starttls import DEFAULT_PORTS
from tlslens.cli.common import (
    DEFAULT_PORT,
    console,
    format_address,
    load_store,
    parse_target,
    plaintext_options,
    profile_option,
    version_options,
    versions_from,
)
from tlslens.cli.events import Watch
from tlslens.cli.failure import SessionFailed, face_closes
from tlslens.cli.plain import choose_proxy, open_plain
from tlslens.cli.verify import parse_time, render
from tlslens.config import ClientConfig
from tlslens.errors import LocalProtocolError, TLSError
from tlslens.events import HandshakeCompleted
from tlslens.pki import ChainReport, TrustStore
from tlslens.pki.findings import describe_key, format_date, format_duration
from tlslens.pki.names import parse_server_name, san_names
from tlslens.pki.recording import Recording, RecordingVerifier

DEFAULT_TIMEOUT = 10.0


# --- arguments -------------------------------------------------------------------------------------


def _server_name(host: str, servername: str | None) -> str:
    name = servername if servername is not None else host
    try:
        parse_server_name(name)
    except ValueError as exc:
        hint = "--servername" if servername is not None else "HOST:PORT"
        raise click.BadParameter(str(exc), param_hint=hint) from None
    return name


# --- the connection --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one connection gave: the handshake (when it completed) or why it failed."""

    handshake: HandshakeCompleted | None
    error: str | None
    connected: bool


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TLSError):
        return str(exc).removeprefix("tls: ")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


async def _fetch(
    host: str,
    port: int,
    server_name: str,
    verifier: RecordingVerifier,
    timeout: float,
    starttls: str | None,
    proxy: Proxy | None,
    versions: tuple[str, ...] | None,
) -> Fetched:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    where = format_address(host, port)
    try:
        reader, writer = await open_plain(
            host,
            port,
            server_name=server_name,
            starttls_protocol=starttls,
            proxy=proxy,
            timeout=timeout,
            watch=Watch(None),
        )
    except SessionFailed as exc:
        return Fetched(None, exc.reason, exc.connected)
    try:
        _tls_reader, tls_writer = await tlslens.aio.start_tls(
            reader,
            writer,
            config=ClientConfig(verifier=verifier, versions=versions or ("TLSv1.3", "TLSv1.2")),
            server_name=server_name,
            ssl_handshake_timeout=max(deadline - loop.time(), 0.001),
        )
    except BaseException as exc:
        if not face_closes(exc):
            writer.close()
        if isinstance(exc, UnexpectedEOF):
            return Fetched(None, f"{where} closed the connection during the handshake", True)
        if isinstance(exc, TLSError) and not isinstance(exc, LocalProtocolError):
            return Fetched(None, f"handshake with {where} failed: {_reason(exc)}", True)
        if isinstance(exc, TimeoutError):
            return Fetched(None, f"{where} did not complete the handshake within {timeout:g}s", True)
        if isinstance(exc, OSError):
            return Fetched(None, f"connection to {where} failed during the handshake: {_reason(exc)}", True)
        raise
    completed: HandshakeCompleted = tls_writer.get_extra_info("tlslens")
    tls_writer.close()  # close_notify; give the server a moment to close too (no error matters any more)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(tls_writer.wait_closed(), max(min(deadline - loop.time(), 2.0), 0.1))
    return Fetched(completed, None, True)


def fetch(
    host: str,
    port: int,
    server_name: str,
    verifier: RecordingVerifier,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    starttls: str | None = None,
    proxy: Proxy | None = None,
    versions: tuple[str, ...] | None = None,
) -> Fetched:
    """One handshake (TLS 1.3 or 1.2, or ``versions``) with ``verifier``, on ``tlslens.aio`` (after
    ``starttls``'s dialogue, through ``proxy``, when given).

    Network and TLS failures come back as ``Fetched.error``; only a server name the engine will not
    send raises (``LocalProtocolError``, a caller error).
    """
    return asyncio.run(_fetch(host, port, server_name, verifier, timeout, starttls, proxy, versions))


# --- what a certificate looks like ----------------------------------------------------------------


def key_text(cert: x509.Certificate) -> str:
    """Key type and size: ``"EC secp256r1 (256 bits)"``, ``"RSA 2048 bits"``, ``"Ed25519"``."""
    return describe_key(cert, with_bits=True)


def signature_text(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    name = oid._name
    return name if name and name != "Unknown OID" else oid.dotted_string


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _names(cert: x509.Certificate) -> list[str]:
    try:
        return san_names(cert)
    except ValueError:  # a malformed extension
        return []


def validity_text(cert: x509.Certificate, at: dt.datetime) -> str:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if at > end:
        state = f"EXPIRED {_days(at - end)} ago"
    elif at < start:
        state = f"NOT YET VALID, starts in {_days(start - at)}"
    else:
        state = f"{_days(end - at)} left"
    return f"{format_date(start)} to {format_date(end)} ({state})"


def _days(delta: dt.timedelta) -> str:
    if delta >= dt.timedelta(days=1):
        n = delta.days
        return f"{n} day{'s' if n != 1 else ''}"
    return format_duration(delta)


def certificate_dict(cert: x509.Certificate, at: dt.datetime) -> dict[str, Any]:
    return {
        "pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "names": _names(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": (cert.not_valid_after_utc - at).total_seconds() // 86400,
        "key": key_text(cert),
        "signature_algorithm": signature_text(cert),
        "serial": f"{cert.serial_number:x}",
        "sha256": fingerprint(cert),
    }


def _role(i: int, cert: x509.Certificate) -> str:
    if i == 0:
        return "leaf"
    return "root" if cert.subject == cert.issuer else "intermediate"


def _certificate_lines(i: int, cert: x509.Certificate, at: dt.datetime, pem: bool = False) -> list[Text]:
    head = Text(f"  #{i} ")
    head.append(f"[{_role(i, cert)}] ", style="cyan")
    head.append(cert.subject.rfc4514_string() or "(empty subject)", style="bold")
    lines = [head]
    expired = not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc
    fields: list[tuple[str, str, str | None]] = [
        ("issuer", cert.issuer.rfc4514_string() or "(empty)", None),
        ("names", ", ".join(_names(cert)) or "(no subjectAltName)", None),
        ("valid", validity_text(cert, at), "red" if expired else None),
        ("key", key_text(cert), None),
        ("signature", signature_text(cert), None),
        ("serial", f"{cert.serial_number:x}", None),
        ("SHA-256", fingerprint(cert), None),
    ]
    for label, value, style in fields:
        line = Text(f"      {label:<10} ", style="dim")
        line.append(value, style=style or "")
        lines.append(line)
    if pem:
        lines += [Text(row) for row in cert.public_bytes(serialization.Encoding.PEM).decode().splitlines()]
    return lines


def _connection_line(target: str, server_name: str, fetched: Fetched) -> Text:
    line = Text(f"{target}", style="bold")
    line.append(f" (server name {server_name})")
    hs = fetched.handshake
    if hs is not None:
        parts = [hs.version.name.replace("TLS1_", "TLSv1."), hs.cipher_suite.name]
        if hs.group is not None:
            parts.append(hs.group.iana_name)
        if hs.signature_scheme is not None:
            parts.append(f"signed with {hs.signature_scheme.iana_name}")
        line.append(": " + ", ".join(parts), style="dim")
    return line  # a failure is said once, on stderr


def render_certs(
    console: Console,
    target: str,
    server_name: str,
    fetched: Fetched,
    recording: Recording | None,
    store: TrustStore,
    pem: bool = False,
) -> None:
    if recording is None:
        if fetched.handshake is not None:
            console.print(_connection_line(target, server_name, fetched))
        return
    console.print(_connection_line(target, server_name, fetched))
    at = recording.at
    n = len(recording.chain)
    console.print()
    console.print(Text(f"Presented chain ({n} certificate{'s' if n != 1 else ''}):", style="bold"))
    for i, cert in enumerate(recording.chain):
        for line in _certificate_lines(i, cert, at, pem):
            console.print(line)
    console.print()
    if recording.report is not None:
        render(recording.report, console, store)
    else:
        console.print(Text(f"The chain could not be diagnosed: {recording.error}", style="red"))


def _json(target: str, server_name: str, fetched: Fetched, recording: Recording | None) -> dict[str, Any]:
    hs = fetched.handshake
    report: ChainReport | None = recording.report if recording else None
    return {
        "target": target,
        "server_name": server_name,
        "connected": fetched.connected,
        "handshake_completed": hs is not None,
        "verified": bool(report is not None and report.valid),
        "error": fetched.error,
        "handshake": None
        if hs is None
        else {
            "version": hs.version.name.replace("TLS1_", "TLSv1."),
            "cipher": hs.cipher_suite.name,
            "group": hs.group.iana_name if hs.group is not None else None,
            "signature_scheme": hs.signature_scheme.iana_name if hs.signature_scheme is not None else None,
        },
        "certificates": []
        if recording is None
        else [certificate_dict(c, recording.at) for c in recording.chain],
        "report": report.to_dict() if report is not None else None,
    }


# --- the command -----------------------------------------------------------------------------------


@click.command("certs")
@click.argument("target", metavar="HOST:PORT")
@click.option("--servername", metavar="N", help="Send this SNI name and check the certificate for it.")
@click.option(
    "--cafile",
    "cafiles",
    multiple=True,
    metavar="F",
    type=click.Path(path_type=Path),
    help="Trust these CA certificates (PEM file or folder; repeatable) instead of the system store.",
)
@click.option("--at", "at", metavar="TIME", help="Judge the chain at this ISO 8601 time instead of now.")
@profile_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed for connecting and the handshake.",
)
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
@click.option(
    "--pem", is_flag=True, help="Show each certificate in PEM too (as openssl s_client -showcerts)."
)
@click.option(
    "--insecure",
    is_flag=True,
    help="An invalid chain is a warning, not a failure: exit 0 when the handshake completed.",
)
@plaintext_options
@version_options
def certs(
    target: str,
    servername: str | None,
    cafiles: tuple[Path, ...],
    at: str | None,
    profile: str | None,
    timeout: float,
    as_json: bool,
    pem: bool,
    insecure: bool,
    starttls: str | None,
    proxy: str | None,
    tls1_2: bool,
    tls1_3: bool,
) -> None:
    """Show the certificate chain a server presents, and what is wrong with it, with the fix."""
    host, port = parse_target(target, DEFAULT_PORTS[starttls] if starttls else DEFAULT_PORT)
    via = choose_proxy(host, proxy, starttls)
    when = parse_time(at) if at is not None else None
    name = _server_name(host, servername)
    store = load_store(cafiles)
    verifier = RecordingVerifier(store, at=when, profile=profile)  # type: ignore[arg-type]
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        fetched = fetch(
            host,
            port,
            name,
            verifier,
            timeout,
            starttls=starttls,
            proxy=via,
            versions=versions_from(tls1_2, tls1_3),
        )
    except LocalProtocolError as exc:  # a name the engine will not send
        raise click.BadParameter(str(exc).removeprefix("tls: "), param_hint="--servername") from None
    recording = verifier.last
    if as_json:
        click.echo(json.dumps(_json(shown, name, fetched, recording), indent=2))
    else:
        render_certs(console(), shown, name, fetched, recording, store, pem)
    report = recording.report if recording is not None else None
    if report is not None and not report.valid:
        first = report.errors[0] if report.errors else None
        summary = f"{first.code}: {first.message}" if first else "chain refused"
        also = f" (and {fetched.error})" if fetched.error is not None else ""
        if insecure and fetched.error is None:
            click.echo(f"tlslens certs: warning: invalid chain (--insecure): {summary}", err=True)
            return
        click.echo(f"tlslens certs: invalid chain: {summary}{also}", err=True)
        raise SystemExit(1)
    if fetched.error is not None:
        click.echo(f"tlslens certs: {fetched.error}", err=True)
        raise SystemExit(1)
    if recording is None or report is None:
        why = recording.error if recording is not None else "the server presented no certificate"
        click.echo(f"tlslens certs: {why}", err=True)
        raise SystemExit(1)
