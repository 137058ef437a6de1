"""``tlslens verify CHAIN.pem``: validate a certificate chain and explain what is wrong with it.

Exit status: 0 valid (warnings are still printed), 1 invalid, 2 usage error. The report goes to
stdout — readable text (colour on a terminal only) or, with ``--json``, one JSON object; when the
chain is invalid, a one-line summary also goes to stderr. ``-`` reads the chain from stdin;
``--untrusted FILE`` adds intermediates to build the path from, as ``openssl verify -untrusted``;
``--profile`` picks the rule set (``profile_option`` is shared with ``client`` and ``certs``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from cryptography import x509
from rich.console import Console
from rich.text import Text

from tlslens.cli.common import load_store, profile_option
from tlslens.pki import (
    CertificateFileError,
    ChainReport,
    Finding,
    TrustStore,
    load_pem_certificates,
    verify_chain,
)
from tlslens.pki.checks import hash_of
from tlslens.pki.findings import describe_key, describe_name, format_date, format_duration
from tlslens.pki.names import parse_server_name
from tlslens.pki.trust import parse_certificates


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2030-01-31 or 2030-01-31T12:00:00Z)", param_hint="--at"
        ) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _load_chain(path: Path) -> list[x509.Certificate]:
    try:
        if str(path) == "-":
            return parse_certificates(sys.stdin.buffer.read(), "stdin")
        return load_pem_certificates(path)
    except CertificateFileError as exc:
        where = "stdin" if str(path) == "-" else path
        raise click.BadParameter(exc.reason, param_hint=f"CHAIN ({where})") from None


def _load_untrusted(paths: tuple[Path, ...]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for path in paths:
        try:
            out += load_pem_certificates(path)
        except CertificateFileError as exc:
            raise click.BadParameter(str(exc).removeprefix("tls: "), param_hint="--untrusted") from None
    return out


# --- rendering -------------------------------------------------------------------------------------


def _role(report: ChainReport, i: int) -> str:
    last = len(report.path) - 1
    if i == 0:
        return "leaf, trusted directly" if report.trusted_directly else "leaf"
    if i == last and report.trusted:
        return "root, trusted" if report.path[i].subject == report.path[i].issuer else "trust anchor"
    if i == last and report.path[i].subject == report.path[i].issuer:
        return "root, NOT trusted"
    return "intermediate"


def _dates(cert: x509.Certificate, at: dt.datetime) -> str:
    end = cert.not_valid_after_utc
    if at > end:
        left = f"expired {format_duration(at - end)} ago"
    elif at < cert.not_valid_before_utc:
        left = f"not valid for another {format_duration(cert.not_valid_before_utc - at)}"
    else:
        left = f"{format_duration(end - at)} left"
    return f"valid {format_date(cert.not_valid_before_utc)[:10]} to {format_date(end)[:10]} ({left})"


def _branch(depth: int) -> str:
    return "  " if depth == 0 else "  " + "   " * (depth - 1) + "└─ "


def _path_lines(report: ChainReport) -> list[Text]:
    lines: list[Text] = [Text("Path, leaf → root:", style="bold")]
    for i, cert in enumerate(report.path):
        line = Text(_branch(i))
        line.append(f"[{_role(report, i)}] ", style="cyan")
        line.append(cert.subject.rfc4514_string() or "(empty subject)", style="bold")
        codes = [f.code for f in report.errors if f.certificate is not None and f.certificate == cert]
        if codes:
            line.append("  ✗ " + ", ".join(dict.fromkeys(codes)), style="red")
        lines.append(line)
        detail = f"{_dates(cert, report.at)}; {describe_key(cert)} key, signed with {hash_of(cert)}"
        lines.append(Text(" " * (len(_branch(i)) + 2) + detail, style="dim"))
    last = report.path[-1]
    if not report.trusted and last.subject != last.issuer and not report.codes & {"too-complex"}:
        line = Text(_branch(len(report.path)))
        line.append(f"missing: {describe_name(last.issuer)} (neither presented nor trusted)", style="red")
        lines.append(line)
    return lines


def _finding_lines(f: Finding) -> list[Text]:
    error = f.severity == "error"
    head = Text("  ")
    head.append("✗ error  " if error else "! warning", style="bold red" if error else "bold yellow")
    head.append(f" {f.code}", style="bold")
    if f.subject:
        head.append(f"  {f.subject}", style="dim")
    body = Text(f"      {f.message}")
    fix = Text("      fix: ", style="green")
    fix.append(f.fix)
    return [head, body, fix]


def render(report: ChainReport, console: Console, store: TrustStore) -> None:
    verdict = Text()
    if report.valid:
        verdict.append("✓ VALID", style="bold green")
    else:
        verdict.append("✗ INVALID", style="bold red")
    what = f" certificate chain for {report.server_name}" if report.server_name else " certificate chain"
    verdict.append(what)
    verdict.append(f" ({report.purpose}), checked at {format_date(report.at)}", style="dim")
    console.print(verdict)
    source = store.source or "given certificates"
    count = f"{len(store)} certificate{'s' if len(store) != 1 else ''}"
    console.print(Text(f"trust store: {source} ({count})", style="dim"))
    console.print(Text(f"profile: {report.profile} ({report.profile_reason})", style="dim"))
    console.print()
    for line in _path_lines(report):
        console.print(line)
    for note in report.notes:
        console.print(Text(f"  note: {note}", style="cyan"))
    if report.errors:
        console.print()
        console.print(Text(f"Errors ({len(report.errors)}):", style="bold red"))
        for f in report.errors:
            for line in _finding_lines(f):
                console.print(line)
    if report.warnings:
        console.print()
        console.print(Text(f"Warnings ({len(report.warnings)}):", style="bold yellow"))
        for f in report.warnings:
            for line in _finding_lines(f):
                console.print(line)
    if report.valid and not report.findings:
        console.print()
        console.print(Text("No problems found.", style="green"))


@click.command("verify")
@click.argument(
    "chain", metavar="CHAIN.pem", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path)
)
@click.option("--host", "host", metavar="NAME", help="Check that the leaf is valid for this DNS name or IP.")
@click.option(
    "--cafile",
    "cafiles",
    multiple=True,
    metavar="F",
    type=click.Path(path_type=Path),
    help="Trust these CA certificates (PEM file or folder; repeatable) instead of the system store.",
)
@click.option(
    "--untrusted",
    "untrusted",
    multiple=True,
    metavar="F",
    type=click.Path(dir_okay=False, path_type=Path),
    help="More intermediates to build the path from (PEM file; repeatable), as openssl verify -untrusted.",
)
@click.option("--at", "at", metavar="TIME", help="Validate at this ISO 8601 time instead of now.")
@profile_option
@click.option(
    "--purpose",
    type=click.Choice(["server", "client"]),
    default="server",
    show_default=True,
    help="Check the chain for TLS server or client authentication.",
)
@click.option(
    "--ocsp",
    "ocsp",
    metavar="RESPONSE.der",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this DER OCSP response about the leaf too (ocsp-revoked, ocsp-stale, ocsp-invalid).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def verify(
    chain: Path,
    host: str | None,
    cafiles: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    at: str | None,
    profile: str | None,
    purpose: str,
    ocsp: Path | None,
    as_json: bool,
) -> None:
    """Validate a certificate chain (leaf first; - reads stdin) and diagnose every problem, with its fix."""
    when = parse_time(at) if at is not None else None
    if host is not None:
        try:
            parse_server_name(host)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--host") from None
    certs = _load_chain(chain)
    extra = _load_untrusted(untrusted)
    store = load_store(cafiles)
    try:
        response = ocsp.read_bytes() if ocsp is not None else None
    except OSError as exc:
        raise click.BadParameter(f"cannot read {ocsp}: {exc.strerror or exc}", param_hint="--ocsp") from None
    try:
        report = verify_chain(
            certs,
            server_name=host,
            trust_anchors=store,
            at=when,
            purpose="client" if purpose == "client" else "server",
            profile="webpki" if profile == "webpki" else "rfc5280" if profile == "rfc5280" else None,
            intermediates=extra,
            ocsp_response=response,
        )
    except ValueError as exc:  # an empty chain cannot come from load_pem_certificates; be safe
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        render(report, Console(highlight=False, soft_wrap=True), store)
    if not report.valid:
        first = report.errors[0] if report.errors else None
        summary = f"{first.code}: {first.message}" if first else "chain refused"
        click.echo(f"tlslens verify: invalid chain: {summary}", err=True)
        raise SystemExit(1)
