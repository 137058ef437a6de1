"""redis is an optional extra: without it, RedisReplayStore says which extra to install."""

from __future__ import annotations

import sys

import pytest

from tlslens.session import RedisReplayStore


def test_redis_store_without_the_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis now fails, as when it is not installed
    with pytest.raises(ImportError, match=r"pip install 'tlslens\[redis\]'"):
        RedisReplayStore("redis://127.0.0.1:1")
