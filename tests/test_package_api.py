"""``import tlslens`` stays light (each public name loads on first use) and every name in ``__all__``
resolves, as ``from tlslens import X`` needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tlslens


@pytest.mark.parametrize("name", tlslens.__all__)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(tlslens, name)
    assert value is not None
    namespace: dict[str, object] = {}
    exec(f"from tlslens import {name}", namespace)
    assert namespace[name] is value


def test_import_tlslens_loads_no_engine() -> None:
    code = "import json, sys, tlslens; print(json.dumps(sorted(sys.modules)))"
    modules = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    assert [m for m in modules if m.startswith("tlslens")] == ["tlslens"]
    assert not [m for m in modules if m.startswith(("cryptography", "rich", "click", "asyncio"))]
