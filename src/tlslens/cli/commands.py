"""The ``tlslens`` click group; each subcommand lives in its own module (``main.py`` runs it)."""

from __future__ import annotations

import click

from tlslens import __version__
from tlslens.cli.certs import certs
from tlslens.cli.client import client
from tlslens.cli.demo import demo
from tlslens.cli.scan import scan
from tlslens.cli.server import server
from tlslens.cli.verify import verify
from tlslens.crypto.suites import TLS13_SUITES
from tlslens.wire.enums import NamedGroup


def _version_text() -> str:
    from tlslens.crypto.groups import SUPPORTED_GROUPS

    suites = ", ".join(s.name for s in TLS13_SUITES.values())
    groups = ", ".join(NamedGroup(g).iana_name for g in SUPPORTED_GROUPS)
    return f"tlslens {__version__}\nprotocol: TLSv1.3\ncipher suites: {suites}\ngroups: {groups}"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(_version_text())
    ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, the supported cipher suites and groups, and exit.",
)
def cli() -> None:
    """tlslens: a TLS 1.3 stack you can see through."""


cli.add_command(verify)
cli.add_command(certs)
cli.add_command(client)
cli.add_command(server)
cli.add_command(demo)
cli.add_command(scan)
