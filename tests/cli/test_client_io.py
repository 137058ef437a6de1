"""The client's stdin pump, in process: input that arrives after the connection is over is dropped
quietly (its thread once raised on the closed loop and printed a traceback after the summary)."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from tlslens.cli.client_io import StdinSource


def test_input_after_the_loop_closed_ends_the_pump_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    errors: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    read_end, write_end = os.pipe()
    source = StdinSource(read_end)

    async def first_chunk() -> bytes:
        return await source.next_chunk()

    os.write(write_end, b"hello")
    assert asyncio.run(first_chunk()) == b"hello"
    os.close(write_end)  # EOF reaches the pump after asyncio.run closed its loop
    assert source.thread is not None
    source.thread.join(10)
    os.close(read_end)
    assert not source.thread.is_alive()
    assert errors == []
