"""The asyncio face on an event loop other than asyncio's own: uvloop (when installed), whose transports
are stream transports without being ``asyncio.Transport`` subclasses."""

from __future__ import annotations

import asyncio

import pytest

import tlslens
import tlslens.aio
from tests.adapters.helpers import TIMEOUT


def test_a_server_and_a_client_on_uvloop(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(5))
        writer.close()
        await writer.wait_closed()

    async def main() -> tuple[bytes, str]:
        server = await tlslens.aio.start_server(handle, "127.0.0.1", 0, config=server_config)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            writer.write(b"hello")
            answer = await reader.read()
            writer.close()
            await writer.wait_closed()
            return answer, writer.get_extra_info("version")

    assert uvloop.run(asyncio.wait_for(main(), TIMEOUT * 2)) == (b"hello", "TLSv1.3")
