"""``tlslens client HOST:PORT``: connect, send stdin as application data, print what comes back.

Contract (ARCHITECTURE.md, "Command line"): stdin is streamed to the server as it arrives; on stdin EOF
the client sends close_notify (TLS 1.3 half-close) and keeps reading until the server closes, then
exits 0. Right after the handshake it prints ``tlslens-summary: {json}`` on stderr; the last line on
stderr is always a summary line (it is repeated at the end when anything else was printed after it,
with an ``error`` key on failure). Exit status: 0 success, 1 TLS/certificate/network failure (one
line naming the reason), 2 usage error. ``--trace`` writes the trace to stderr, so stdout carries only
the server's data. ``--sess-out F`` is written when the connection ends (tickets arrive after the
handshake); ``--sess-in F --early-data FILE`` resumes and sends FILE as 0-RTT data (``cli/resume.py``).
``--psk-identity ID --psk HEX`` offers an external PSK (``cli/psk.py``); ``--cert/--key`` answer the
server's request for a client certificate, in the handshake or after it.
"""

from __future__ import annotations

from typing import Any

import click

from tlslens.cli.common import (
    key_password_option,
    plaintext_options,
    profile_option,
    record_size_limit_option,
    trace_options,
    version_options,
)
from tlslens.cli.psk import psk_options

DEFAULT_TIMEOUT = 10.0


@click.command("client")
@click.argument("target", metavar="HOST[:PORT]")
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
@click.option(
    "--cert",
    metavar="F",
    help="Client certificate chain (PEM), sent when the server asks, in the handshake or after it.",
)
@click.option("--key", metavar="F", help="Private key (PEM) of --cert.")
@psk_options
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
@key_password_option
@click.option(
    "-k",
    "--insecure",
    is_flag=True,
    help="Finish the handshake even when the server's chain does not verify; say why as a warning and "
    'report "verified": false. Never for anything that matters.',
)
@click.option(
    "--showcerts",
    is_flag=True,
    help="Print every certificate the server presents, in PEM, on stdout before its data.",
)
@plaintext_options
@trace_options
@click.option(
    "--key-update",
    is_flag=True,
    help="Send KeyUpdate(update_requested) right after the handshake (TLS 1.3; TLS 1.2 has none).",
)
@click.option(
    "--ign-eof",
    is_flag=True,
    help="At the end of stdin keep sending possible (no close_notify) until the server closes, as openssl"
    " s_client -ign_eof: a server may still ask for a client certificate.",
)
@record_size_limit_option
@version_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds allowed for the TCP connection and the handshake.",
)
def client(**options: Any) -> None:
    """Connect to HOST:PORT (port 443 by default) over TLS 1.3 or 1.2, send stdin, print what the server
    sends."""
    from tlslens.cli.client_run import run_client  # the engine, only once the options are parsed

    run_client(**options)
