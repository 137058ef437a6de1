"""What the commands share: option declarations, option parsing that fails as usage errors (exit 2)
saying what is valid, PEM loading, key logging, trace options.

Light on purpose: ``tlslens COMMAND --help`` declares its options from here without importing the
engine, rich, the PKI or the trace; each is imported by the function that needs it.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tlslens.cli.catalog import PROFILES, STARTTLS_PORTS, TRACE_FORMATS

if TYPE_CHECKING:
    from cryptography import x509
    from rich.console import Console

    from tlslens.errors import ConfigurationError
    from tlslens.pki.trust import PrivateKey, TrustStore
    from tlslens.trace import Role, TextOut, Tracer

F = TypeVar("F", bound=Callable[..., Any])


DEFAULT_PORT = 443


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6 address]:PORT`` (port 1 to 65535), or ``HOST`` / ``[v6 address]`` alone for
    port 443; a usage error saying what is valid."""
    text = text.strip()
    if text and ":" not in text and "[" not in text and "]" not in text:
        return text, DEFAULT_PORT
    if text.startswith("[") and text.endswith("]") and len(text) > 2:
        return text[1:-1], DEFAULT_PORT
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise click.BadParameter(f"{text!r}: write an IPv6 address in brackets, e.g. [::1]:4433")
    if not sep or not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise click.BadParameter(
            f"{text!r} is not HOST:PORT with a port from 1 to 65535 (e.g. example.com:443, 127.0.0.1:4433,"
            " [::1]:4433; HOST alone means port 443)"
        )
    return host, int(port_text)


def host_port_callback(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    return parse_host_port(value)


def parse_target(value: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``host:port``, ``[v6addr]:port``, or a bare host (port 443, or ``default_port``): the target of
    ``certs`` and ``scan``."""
    text = value.strip()
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise click.BadParameter(f"{value!r}: missing ']' after the IPv6 address", param_hint="HOST:PORT")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise click.BadParameter(f"{value!r} is not HOST:PORT", param_hint="HOST:PORT")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif text.count(":") > 1:  # a bare IPv6 address
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not HOST:PORT (write IPv6 addresses as [addr]:port)", param_hint="HOST:PORT"
            ) from None
    if not host:
        raise click.BadParameter(f"{value!r} has no host", param_hint="HOST:PORT")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise click.BadParameter(f"{port_text!r} is not a port number (1-65535)", param_hint="HOST:PORT")
    return host, int(port_text)


def format_address(host: str, port: int) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


def name_list(value: str | None) -> list[str] | None:
    """A comma-separated option value as a list (None when the option was not given)."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("an empty list; give comma-separated names")
    return names


_CONFIG_HINTS = (
    ("tickets", "--tickets"),
    ("cipher suite", "--ciphers"),
    ("group", "--groups"),
    ("ALPN", "--alpn"),
    ("private key", "--key"),
    ("certificate", "--cert"),
)


def config_error(exc: ConfigurationError) -> click.BadParameter:
    """A ConfigurationError (which already lists the valid names) as a usage error on its option."""
    text = str(exc).removeprefix("tls: ")
    hint = next((h for needle, h in _CONFIG_HINTS if needle in text), None)
    return click.BadParameter(text, param_hint=hint)


def load_certificates(path: str, hint: str) -> list[x509.Certificate]:
    from tlslens.pki.trust import CertificateFileError, load_pem_certificates

    try:
        return load_pem_certificates(path)
    except CertificateFileError as exc:
        raise click.BadParameter(f"{path}: {exc.reason}", param_hint=hint) from None


def load_trust_anchors(path: str, hint: str) -> list[x509.Certificate]:
    """A ``--cafile`` style location: a PEM file of CA certificates, or a folder of them."""
    from tlslens.pki.trust import CertificateFileError, load_ca_locations

    try:
        return load_ca_locations([path])
    except CertificateFileError as exc:
        raise click.BadParameter(f"{exc.path}: {exc.reason}", param_hint=hint) from None


def load_store(cafiles: tuple[Path, ...]) -> TrustStore:
    """``--cafile`` given (any number of times): those CA certificates; none: the system trust store."""
    from tlslens.pki.trust import CertificateFileError, TrustStore, system_trust_store

    if not cafiles:
        return system_trust_store()
    try:
        return TrustStore.from_locations(cafiles)
    except CertificateFileError as exc:
        raise click.BadParameter(str(exc).removeprefix("tls: "), param_hint="--cafile") from None


def load_key(path: str, hint: str, password: bytes | None = None) -> PrivateKey:
    from tlslens.pki.trust import CertificateFileError, load_pem_private_key

    try:
        return load_pem_private_key(path, password)
    except CertificateFileError as exc:
        reason = exc.reason
        if password is None and "encrypted" in reason:
            reason += " with --key-password (pass:TEXT, env:VAR, file:PATH or stdin)"
        raise click.BadParameter(f"{path}: {reason}", param_hint=hint) from None


def read_password(source: str | None) -> bytes | None:
    """``--key-password`` in OpenSSL's forms: ``pass:TEXT``, ``env:VAR``, ``file:PATH`` (its first
    line) or ``stdin`` (one line of it, the rest left for the command)."""
    if source is None:
        return None
    kind, _, value = source.partition(":")
    hint = "--key-password"
    if kind == "pass" and _:
        return value.encode()
    if kind == "env" and value:
        if value not in os.environ:
            raise click.BadParameter(f"env:{value}: the environment has no {value}", param_hint=hint)
        return os.environ[value].encode()
    if kind == "file" and value:
        try:
            with open(value, "rb") as f:
                return f.readline().rstrip(b"\r\n")
        except OSError as exc:
            raise click.BadParameter(
                f"{value}: cannot read: {exc.strerror or exc}", param_hint=hint
            ) from None
    if source == "stdin":
        line = bytearray()
        while (byte := os.read(0, 1)) and byte != b"\n":  # byte by byte: the rest of stdin is data
            line += byte
        return bytes(line).rstrip(b"\r")
    raise click.BadParameter(
        f"{source!r}: give pass:TEXT, env:VAR, file:PATH or stdin (as OpenSSL's -passin)", param_hint=hint
    )


def version_options(f: F) -> F:
    """``--tls1_2`` / ``--tls1_3``: only that version, as ``openssl s_client``; neither (or both): both."""
    f = click.option("--tls1_3", "tls1_3", is_flag=True, help="Only TLS 1.3 (default: TLS 1.3 and 1.2).")(f)
    return click.option("--tls1_2", "tls1_2", is_flag=True, help="Only TLS 1.2 (default: TLS 1.3 and 1.2).")(
        f
    )


def versions_from(tls1_2: bool, tls1_3: bool) -> tuple[str, ...] | None:
    """The ``versions`` config value the version flags ask for (None: the default, both)."""
    if tls1_2 == tls1_3:
        return None
    return ("TLSv1.2",) if tls1_2 else ("TLSv1.3",)


def key_password_option(f: F) -> F:
    return click.option(
        "--key-password",
        metavar="SOURCE",
        help="Password of an encrypted --key: pass:TEXT, env:VAR, file:PATH or stdin (first line).",
    )(f)


def record_size_limit_option(f: F) -> F:
    return click.option(
        "--record-size-limit",
        type=click.IntRange(64, 16385),
        metavar="N",
        help="RFC 8449: the largest record (plaintext and content type, 64-16385) we accept; the peer"
        " sends smaller records when it supports the extension.",
    )(f)


def profile_option(f: F) -> F:
    """``--profile webpki|rfc5280`` (shared by ``verify``, ``client`` and ``certs``)."""
    return click.option(
        "--profile",
        type=click.Choice(PROFILES),
        default=None,
        help="Rules to apply: webpki (CA/Browser Forum baseline requirements) or rfc5280. Default: webpki "
        "with the system trust store, rfc5280 with --cafile.",
    )(f)


def plaintext_options(f: F) -> F:
    """``--proxy`` and ``--starttls`` (``cli/plain.py`` follows them)."""
    f = click.option(
        "--proxy",
        metavar="URL",
        help="Reach the server through this HTTP proxy (CONNECT), e.g. http://proxy:3128 "
        "(default: $https_proxy / $HTTPS_PROXY unless $NO_PROXY lists the host; not with --starttls).",
    )(f)
    f = click.option(
        "--starttls",
        type=click.Choice(tuple(STARTTLS_PORTS)),
        help="Speak this protocol in plain text until it starts TLS, as openssl s_client -starttls "
        "(the port defaults to the protocol's).",
    )(f)
    return f


def keylog_for(path: str | None) -> Callable[[str], None] | None:
    """``--keylog FILE`` wins; otherwise ``$SSLKEYLOGFILE`` when set; otherwise no key log."""
    from tlslens.keylog import KeyLogFile, from_environment

    if path is None:
        return from_environment()
    target = Path(path)
    if target.is_dir() or not target.parent.is_dir():
        raise click.BadParameter(f"{path}: not a file in an existing folder", param_hint="--keylog")
    return KeyLogFile(target)


def trace_options(f: F) -> F:
    f = click.option(
        "--trace-format",
        type=click.Choice(TRACE_FORMATS),
        default="text",
        show_default=True,
        help="text (colour on a terminal only) or json (one object a line).",
    )(f)
    f = click.option(
        "--trace",
        is_flag=True,
        help="Show every record and handshake message decoded, each decision and why, and the round trip.",
    )(f)
    return f


def colour_wanted(stream: object) -> bool:
    """Colour when writing to a terminal; ``NO_COLOR`` (non-empty) turns it off and ``FORCE_COLOR``
    (non-empty) on, NO_COLOR winning (no-color.org, force-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False


def console(stream: Any = None) -> Console:
    """A rich console for a command's report: styled only when ``colour_wanted`` says so."""
    from rich.console import Console

    colour = colour_wanted(stream if stream is not None else sys.stdout)
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=True,
        force_terminal=colour,
        color_system="auto" if colour else None,
        no_color=False,
    )


def tracer_factory(
    trace: bool, trace_format: str, stream: TextOut, role: Role
) -> Callable[[str], Tracer | None]:
    """A function making one Tracer per connection (label tells them apart), or None without --trace."""
    if not trace:
        return lambda label: None
    from tlslens.trace import Sink, Tracer, make_sink

    sink: Sink = make_sink(trace_format, stream, colour=colour_wanted(stream))

    def make(label: str) -> Tracer:
        return Tracer(sink, role, label=label)

    return make


def echo_err(text: str) -> None:
    click.echo(text, err=True)
    sys.stderr.flush()
