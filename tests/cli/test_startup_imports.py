"""What the command line imports before it does anything: ``tlslens --version``, ``tlslens --help`` and
``tlslens client --help`` load neither the engine, nor rich, the PKI, the trace or cryptography's X.509;
``tlslens scan`` loads what the scanner needs and not the other commands. Checked by module names in a
fresh interpreter, never by time (machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "rich",
    "cryptography.x509",
    "cryptography.hazmat.primitives.asymmetric",
    "asyncio",
    "tlslens.handshake",
    "tlslens.connection",
    "tlslens.config",
    "tlslens.trace",
    "tlslens.pki",
    "tlslens.adapters",
    "tlslens.aio",
    "tlslens.wire",
    "tlslens.crypto",
)

_RUN = """
import json, sys
sys.argv = ["tlslens", *sys.argv[1:]]
from tlslens.cli.main import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def modules_after(*args: str) -> set[str]:
    """The modules loaded once ``tlslens ARGS`` has run, in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=60, check=False
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


@pytest.mark.parametrize(
    "args",
    [("--version",), ("--help",), ("client", "--help"), ("scan", "--help")],
    ids=["version", "help", "client-help", "scan-help"],
)
def test_start_up_imports_nothing_heavy(args: tuple[str, ...]) -> None:
    modules = modules_after(*args)
    assert "click" in modules and "tlslens.cli.commands" in modules  # it did run
    heavy = {package: _loaded(modules, package) for package in HEAVY}
    assert not any(heavy.values()), {p: m for p, m in heavy.items() if m}


def test_group_help_imports_no_command() -> None:
    modules = modules_after("--help")
    assert not {"tlslens.cli.client", "tlslens.cli.verify", "tlslens.cli.scan"} & modules


def test_client_help_imports_only_the_client_declaration() -> None:
    modules = modules_after("client", "--help")
    assert "tlslens.cli.client" in modules
    others = {"tlslens.cli.client_run", "tlslens.cli.certs", "tlslens.cli.server", "tlslens.cli.scan"}
    assert not others & modules


def test_scan_imports_no_other_command_and_no_trace() -> None:
    # A whole scan (of a closed port: refused at once, reported, exit 2) with its report rendered.
    modules = modules_after("scan", "127.0.0.1:1", "--timeout", "5")
    assert {"tlslens.cli.scan", "tlslens.scan.runner", "tlslens.scan.render"} <= modules
    others = {"tlslens.cli.certs", "tlslens.cli.client", "tlslens.cli.verify", "tlslens.cli.server"}
    assert not others & modules
    assert not _loaded(modules, "tlslens.trace")
