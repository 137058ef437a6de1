"""The plaintext path to a TLS server for ``client`` and ``certs``: TCP to the target, or through an
HTTP CONNECT proxy (``--proxy``, or ``https_proxy`` as curl reads it), then a STARTTLS dialogue
(``--starttls``), every line of both shown in the trace. The protocols themselves live in
``tlslens.adapters.proxy`` and ``tlslens.adapters.starttls``; what a failure says is worded here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import click

from tlslens.adapters.proxy import Proxy, ProxyError, open_tunnel, parse_proxy, proxy_from_environment
from tlslens.adapters.starttls import DEFAULT_PORTS, StartTLSError, starttls
from tlslens.cli.common import DEFAULT_PORT, format_address, parse_host_port
from tlslens.cli.events import Watch
from tlslens.cli.failure import SessionFailed, connect_error_text


def parse_target(text: str, starttls: str | None) -> tuple[str, int]:
    """HOST[:PORT]; without a port, the STARTTLS protocol's own (25 for smtp...), else 443."""
    host, port = parse_host_port(text)
    if starttls is not None and port == DEFAULT_PORT and not text.rstrip().endswith(f":{DEFAULT_PORT}"):
        port = DEFAULT_PORTS[starttls]
    return host, port


def choose_proxy(host: str, proxy: str | None, starttls: str | None) -> Proxy | None:
    """``--proxy`` (a usage error when malformed); else the environment's, as curl does for https."""
    try:
        if proxy is not None:
            return parse_proxy(proxy) if proxy else None
        if starttls is not None:
            return None  # curl tunnels other protocols only when asked
        return proxy_from_environment(host)
    except ValueError as exc:
        raise click.BadParameter(
            str(exc), param_hint="--proxy" if proxy is not None else "HTTPS_PROXY"
        ) from None


async def open_plain(
    host: str,
    port: int,
    *,
    server_name: str,
    starttls_protocol: str | None,
    proxy: Proxy | None,
    timeout: float,
    watch: Watch,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stream pair ready for TLS, or SessionFailed saying what went wrong and where."""
    address = format_address(host, port)

    def line(label: str) -> Callable[[str, str], None]:
        return lambda direction, text: watch.line(label, direction, text)

    try:
        if proxy is None:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        else:
            reader, writer = await asyncio.wait_for(
                open_tunnel(proxy, host, port, on_line=line("proxy")), timeout
            )
    except TimeoutError:
        via = f" through the proxy {proxy.address}" if proxy is not None else ""
        raise SessionFailed(
            f"timeout: no TCP connection to {address}{via} within {timeout:g} s", connected=False
        ) from None
    except ProxyError as exc:
        raise SessionFailed(str(exc), connected=True) from None
    except socket.gaierror as exc:
        name = proxy.host if proxy is not None else host
        raise SessionFailed(f"cannot resolve {name}: {connect_error_text(exc)}", connected=False) from None
    except OSError as exc:
        target = f"the proxy {proxy.address}" if proxy is not None else address
        raise SessionFailed(
            f"cannot connect to {target}: {connect_error_text(exc)}", connected=False
        ) from None
    local = writer.get_extra_info("sockname")
    via = f" through the proxy {proxy.address}" if proxy is not None else ""
    watch.note("TCP connected", f"to {address}{via} from {format_address(*local[:2])}")
    if starttls_protocol is None:
        return reader, writer
    try:
        await asyncio.wait_for(
            starttls(
                starttls_protocol, reader, writer, server_name=server_name, on_line=line(starttls_protocol)
            ),
            timeout,
        )
    except BaseException as exc:
        writer.close()
        if isinstance(exc, StartTLSError):
            raise SessionFailed(f"STARTTLS {exc}") from None
        if isinstance(exc, TimeoutError):
            raise SessionFailed(
                f"timeout: the {starttls_protocol} exchange with {address} did not reach TLS"
                f" within {timeout:g} s"
            ) from None
        if isinstance(exc, OSError):
            raise SessionFailed(f"connection to {address} lost: {connect_error_text(exc)}") from None
        raise
    return reader, writer
