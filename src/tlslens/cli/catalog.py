"""What the command line knows before it imports any command: the commands (where each lives and its
one-line help, for ``tlslens --help``), what ``tlslens --version`` lists, and the choices of options
declared without the engine. Standard library only, so ``tlslens --version`` and ``tlslens COMMAND
--help`` start fast.

Every table here copies one the engine (or an adapter) owns; ``tests/cli/test_catalog.py`` checks
that each copy equals its original, so they cannot drift apart.
"""

from __future__ import annotations

from typing import NamedTuple


class CommandEntry(NamedTuple):
    module: str
    """The module defining the command (imported only when the command is looked up)."""
    attribute: str
    """The click command in that module."""
    help: str
    """The first paragraph of the command's help: what ``tlslens --help`` shortens to one line."""


COMMANDS: dict[str, CommandEntry] = {
    "verify": CommandEntry(
        "tlslens.cli.verify",
        "verify",
        "Validate a certificate chain (leaf first; - reads stdin) and diagnose every problem, with its fix.",
    ),
    "certs": CommandEntry(
        "tlslens.cli.certs",
        "certs",
        "Show the certificate chain a server presents, and what is wrong with it, with the fix.",
    ),
    "client": CommandEntry(
        "tlslens.cli.client",
        "client",
        "Connect to HOST:PORT (port 443 by default) over TLS 1.3 or 1.2, send stdin, print what the server"
        " sends.",
    ),
    "server": CommandEntry(
        "tlslens.cli.server",
        "server",
        "Serve TLS 1.3 and 1.2 on HOST:PORT: echo application data, or with --www answer HTTP GET.",
    ),
    "demo": CommandEntry(
        "tlslens.cli.demo",
        "demo",
        "Run a server and client on loopback and show the handshake, decoded and explained.",
    ),
    "scan": CommandEntry(
        "tlslens.cli.scan",
        "scan",
        "Scan TLS servers: protocols, suites, groups, certificates, HSTS; grade them like SSL Labs.",
    ),
}


class VersionSupport(NamedTuple):
    protocol: str
    cipher_suites: tuple[str, ...]
    """IANA names, in the engine's order (``crypto.suites.TLS13_SUITES``,
    ``crypto.suites12.TLS12_SUITES``)."""
    groups: tuple[str, ...]
    """IANA names, in default preference order (``crypto.groups.SUPPORTED_GROUPS``,
    ``crypto.ecdhe12.TLS12_GROUPS``)."""


SUPPORT: tuple[VersionSupport, ...] = (
    VersionSupport(
        "TLSv1.3",
        (
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_CCM_SHA256",
            "TLS_AES_128_CCM_8_SHA256",
        ),
        ("X25519MLKEM768", "x25519", "secp256r1", "secp384r1", "secp521r1", "x448"),
    ),
    VersionSupport(
        "TLSv1.2",
        (
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
        ("x25519", "secp256r1", "secp384r1", "secp521r1", "x448"),
    ),
)
"""What the engine speaks, newest protocol first: ``tlslens --version`` prints it."""

STARTTLS_PORTS: dict[str, int] = {
    "smtp": 25,
    "imap": 143,
    "pop3": 110,
    "ftp": 21,
    "xmpp": 5222,
    "postgres": 5432,
    "ldap": 389,
    "nntp": 119,
    "sieve": 4190,
}
"""``--starttls`` protocols and their default ports (``adapters.starttls.DEFAULT_PORTS``)."""

TRACE_FORMATS: tuple[str, ...] = ("text", "json")
"""``--trace-format`` (``trace.FORMATS``)."""

PROFILES: tuple[str, ...] = ("webpki", "rfc5280")
"""``--profile`` (``pki.profile.PROFILES``)."""
