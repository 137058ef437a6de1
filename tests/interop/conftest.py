"""Fixtures for the OpenSSL interop tests: throwaway PKIs (made once per key type), and a per-test
``harness`` that owns every process and socket the test starts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .harness import Harness, make_pki_files
from .ossl import PkiFiles


@pytest.fixture(scope="session")
def interop_pki(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], PkiFiles]:
    cache: dict[str, PkiFiles] = {}

    def get(key_type: str = "ecdsa-p256") -> PkiFiles:
        if key_type not in cache:
            cache[key_type] = make_pki_files(key_type, tmp_path_factory.mktemp(f"pki-{key_type}"))
        return cache[key_type]

    return get


@pytest.fixture
def harness(tmp_path: Path, interop_pki: Callable[[str], PkiFiles]) -> Iterator[Harness]:
    h = Harness(tmp_path, interop_pki)
    try:
        yield h
    finally:
        h.close()
