"""The command line's light tables (``tlslens.cli.catalog``) equal what they copy: the commands and their
help, what the engine speaks (``tlslens --version``), and the choices of options declared without it."""

from __future__ import annotations

import importlib

import click
import pytest
from click.testing import CliRunner

from tlslens.cli.catalog import COMMANDS, PROFILES, STARTTLS_PORTS, SUPPORT, TRACE_FORMATS
from tlslens.cli.commands import LazyGroup, cli, version_text
from tlslens.config import ClientConfig
from tlslens.crypto.ecdhe12 import TLS12_GROUPS
from tlslens.crypto.groups import SUPPORTED_GROUPS
from tlslens.crypto.suites import TLS13_SUITES
from tlslens.crypto.suites12 import TLS12_SUITES
from tlslens.wire.enums import NamedGroup


def _command(name: str) -> click.Command:
    entry = COMMANDS[name]
    command = getattr(importlib.import_module(entry.module), entry.attribute)
    assert isinstance(command, click.Command)
    return command


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_where_the_catalog_says_with_its_help(name: str) -> None:
    command = _command(name)
    assert command.name == name
    assert command.help is not None and not command.short_help and not command.hidden
    assert " ".join(command.help.partition("\n\n")[0].split()) == COMMANDS[name].help


def _fresh_group(commands: list[click.Command] | None = None) -> click.Group:
    settings = {"help_option_names": ["-h", "--help"]}
    if commands is None:
        return LazyGroup("tlslens", params=cli.params, help=cli.help, context_settings=settings)
    return click.Group("tlslens", commands, params=cli.params, help=cli.help, context_settings=settings)


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_group_help_is_what_the_commands_themselves_give(width: int) -> None:
    eager = _fresh_group([_command(name) for name in COMMANDS])
    lazy = _fresh_group()
    runner = CliRunner()
    expected = runner.invoke(eager, ["--help"], terminal_width=width, prog_name="tlslens")
    got = runner.invoke(lazy, ["--help"], terminal_width=width, prog_name="tlslens")
    assert got.exit_code == expected.exit_code == 0
    assert got.output == expected.output
    assert "Commands:" in got.output


def test_unknown_commands_are_refused_with_a_suggestion() -> None:
    result = CliRunner().invoke(_fresh_group(), ["clien"], prog_name="tlslens")
    assert result.exit_code == 2
    assert "No such command 'clien'" in result.output
    assert "client" in result.output


def test_version_tables_are_what_the_engine_speaks() -> None:
    tls13, tls12 = SUPPORT
    assert tls13.protocol == "TLSv1.3" and tls12.protocol == "TLSv1.2"
    assert tls13.cipher_suites == tuple(s.name for s in TLS13_SUITES.values())
    assert tls13.groups == tuple(NamedGroup(g).iana_name for g in SUPPORTED_GROUPS)
    assert tls12.cipher_suites == tuple(s.name for s in TLS12_SUITES.values())
    assert tls12.groups == tuple(NamedGroup(g).iana_name for g in TLS12_GROUPS)


def test_a_config_accepts_every_suite_and_group_listed() -> None:
    tls13, tls12 = SUPPORT
    suites = [*tls13.cipher_suites, *tls12.cipher_suites]
    groups = list(dict.fromkeys([*tls13.groups, *tls12.groups]))
    config = ClientConfig(cipher_suites=suites, groups=groups)
    assert [s.name for s in config.tls13_suites] == list(tls13.cipher_suites)
    assert [s.name for s in config.tls12_suites] == list(tls12.cipher_suites)
    assert [NamedGroup(g).iana_name for g in config.tls12_groups] == list(tls12.groups)


def test_version_text_lists_both_protocols() -> None:
    lines = version_text().splitlines()
    assert lines[0].startswith("tlslens ")
    assert lines[1] == "protocol: TLSv1.3" and lines[4] == "protocol: TLSv1.2"
    assert lines[2].startswith("cipher suites: TLS_AES_128_GCM_SHA256, ")
    assert lines[6] == "groups: x25519, secp256r1, secp384r1, secp521r1, x448"


def test_option_choices_are_the_owners() -> None:
    from tlslens.adapters.starttls import DEFAULT_PORTS, PROTOCOLS
    from tlslens.pki.profile import PROFILES as PKI_PROFILES
    from tlslens.trace import FORMATS

    assert STARTTLS_PORTS == DEFAULT_PORTS and tuple(STARTTLS_PORTS) == PROTOCOLS
    assert TRACE_FORMATS == FORMATS
    assert PROFILES == PKI_PROFILES
