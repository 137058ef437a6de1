"""``tlslens server``: a TLS 1.3 echo server (or, with ``--www``, an HTTP/1.1 page server) on asyncio.

Each connection runs as its own task, so many clients are served at once. Without ``--www`` the server
echoes application data until the client's close_notify, then sends close_notify and closes. With
``--www`` it answers one HTTP GET with the negotiated parameters (``cli/www.py``), then closes.
After each handshake it sends ``--tickets N`` session tickets (default 2); with ``--early-data`` it
accepts 0-RTT data on resumption, answered (echoed, or as an HTTP request) once the handshake is done.
One log line per connection goes to stderr (peer, outcome, handshake time). A connection that goes
silent is closed after ``--idle-timeout`` (``cli/server_session.py``), and at most ``--max-connections``
are served at once (``cli/listener.py``). ``--psk-identity ID --psk HEX`` authenticates clients that
hold that key (without --cert/--key: a PSK-only server); ``--pha CA.pem`` with ``--www`` asks for a
client certificate after the handshake when a client sends ``GET /auth`` (``cli/www.py``). Ctrl-C and
SIGTERM stop it cleanly (exit 0).
``listening on HOST:PORT`` is printed once the socket listens (``--port 0`` picks a free port, and
that line names it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any

import click

from tlslens.cli.common import (
    config_error,
    echo_err,
    key_password_option,
    keylog_for,
    load_certificates,
    load_key,
    load_trust_anchors,
    name_list,
    read_password,
    record_size_limit_option,
    trace_options,
    tracer_factory,
    version_options,
    versions_from,
)
from tlslens.cli.listener import Listener, default_max_connections, open_file_limit, serve
from tlslens.cli.ocsp import ocsp_options, start_ocsp
from tlslens.cli.own_chain import check_leaf_first, own_chain_warnings
from tlslens.cli.psk import external_psk, psk_options
from tlslens.cli.resume import EARLY_DATA_LIMIT
from tlslens.cli.server_session import IDLE_TIMEOUT, ServerSettings, handle_client
from tlslens.config import ServerConfig
from tlslens.credentials import ExternalPsk, psk_table
from tlslens.errors import ConfigurationError
from tlslens.pki import TrustStore
from tlslens.verifier import WebPkiVerifier

__all__ = ["Listener", "ServerSettings", "build_server_config", "handle_client", "serve", "server"]


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
    request_client_cert: str | None = None,
    record_size_limit: int | None = None,
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
        if verify_client is not None or request_client_cert is not None:
            raise click.UsageError(
                "--pha asks after the handshake, --verify-client and --request-client-cert during it:"
                " choose one"
            )
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
    if verify_client is not None and request_client_cert is not None:
        raise click.UsageError(
            "--verify-client requires a client certificate, --request-client-cert only asks for one:"
            " give one of them"
        )
    if verify_client is not None:
        kwargs["client_verifier"] = WebPkiVerifier(load_trust_anchors(verify_client, "--verify-client"))
    if request_client_cert is not None:
        anchors = load_trust_anchors(request_client_cert, "--request-client-cert")
        kwargs["client_verifier"] = WebPkiVerifier(anchors)
        kwargs["require_client_certificate"] = False  # an empty Certificate is accepted
    if tickets is not None:
        kwargs["tickets"] = tickets
    if record_size_limit is not None:
        kwargs["record_size_limit"] = record_size_limit
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
    "--request-client-cert",
    metavar="CA.pem",
    help="Ask for a client certificate and verify one that comes under these CAs; go on without one.",
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
    "--www",
    is_flag=True,
    help="Answer HTTP GET with a page naming version, cipher, group, ALPN, SNI"
    " (GET /keyupdate: after a KeyUpdate that asks the client to update too).",
)
@click.option(
    "--key-update",
    is_flag=True,
    help="Send KeyUpdate(update_requested) after the client's first application data.",
)
@record_size_limit_option
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0),
    default=IDLE_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Close a connection that sends nothing (or reads nothing) for this long after its handshake;"
    " with --www, the whole request must come within it. 0: never.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    metavar="N",
    help="Serve at most N connections at once; more wait in the listening socket's backlog (default:"
    " below the open-file limit, which each connection uses one of).",
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
@ocsp_options
@trace_options
@version_options
def server(
    host: str,
    port: int,
    cert: str | None,
    key: str | None,
    ciphers: str | None,
    groups: str | None,
    alpn: str | None,
    verify_client: str | None,
    request_client_cert: str | None,
    pha: str | None,
    psk: str | None,
    psk_identity: str | None,
    early_data: bool,
    tickets: int | None,
    www: bool,
    key_update: bool,
    record_size_limit: int | None,
    idle_timeout: float,
    max_connections: int | None,
    keylog: str | None,
    cafile: str | None,
    key_password: str | None,
    ocsp: str | None,
    ocsp_fetch: bool,
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
        request_client_cert=request_client_cert,
        record_size_limit=record_size_limit,
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
    start_ocsp(config, ocsp, ocsp_fetch, store, log)  # what to staple (RFC 6066), from a file or fetched
    if max_connections is not None and max_connections > default_max_connections():
        log(
            f"warning: --max-connections {max_connections} is more than the open-file limit"
            f" ({open_file_limit()}) leaves room for (about {default_max_connections()})"
        )
    settings = ServerSettings(
        config,
        www=www,
        pha=pha is not None,
        make_tracer=tracer_factory(trace, trace_format, sys.stderr, "server"),
        log=log,
        key_update=key_update,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, host, port))
