"""The ``tlslens`` click group; each subcommand lives in its own module (``main.py`` runs it).

The group is lazy: a command's module is imported only when that command is looked up by name (to run
it, or for its ``--help``). ``tlslens --help`` lists every command from ``catalog.COMMANDS`` without
importing one, and ``tlslens --version`` prints ``catalog.SUPPORT``: neither loads the engine.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

import click

from tlslens import __version__
from tlslens.cli.catalog import COMMANDS, SUPPORT


def version_text() -> str:
    lines = [f"tlslens {__version__}"]
    for support in SUPPORT:
        lines.append(f"protocol: {support.protocol}")
        lines.append(f"cipher suites: {', '.join(support.cipher_suites)}")
        lines.append(f"groups: {', '.join(support.groups)}")
    return "\n".join(lines)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(version_text())
    ctx.exit(0)


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name: the names come from the catalog, each command from its module the
    first time it is asked for. Iterating (listing, "did you mean") imports nothing."""

    def __init__(self) -> None:
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        command = self._loaded.get(name)
        if command is None:
            entry = COMMANDS[name]  # KeyError: no such command
            # __import__ rather than importlib.import_module: -X importtime reports the module itself too.
            __import__(entry.module)
            command = getattr(sys.modules[entry.module], entry.attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{entry.module}.{entry.attribute} is not a click command")
            self._loaded[name] = command
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("the commands of tlslens are fixed")

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self._loaded]))

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded

    def loaded(self, name: str) -> click.Command | None:
        return self._loaded.get(name)


class LazyGroup(click.Group):
    commands: LazyCommands

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As ``click.Group.format_commands``, with the one-line help of a command not yet imported
        made from the catalog the way click makes it from the command's help."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.loaded(name)
            if command is not None:
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=COMMANDS[name].help).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
