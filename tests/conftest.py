"""Shared fixtures: RFC 8448 vectors and hypothesis profiles."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

VECTORS = Path(__file__).parent / "vectors"


def load_rfc8448() -> dict[str, Any]:
    with open(VECTORS / "rfc8448.json") as f:
        return json.load(f)


RFC8448 = load_rfc8448()
RFC8448_SECTIONS: dict[str, dict[str, Any]] = {s["section"]: s for s in RFC8448["sections"]}


@pytest.fixture(scope="session")
def rfc8448() -> dict[str, dict[str, Any]]:
    return RFC8448_SECTIONS
