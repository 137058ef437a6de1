"""The asyncio face frees a closed connection at once, by reference counting: no cycle keeps the engine
(``ServerConnection`` / ``ClientConnection`` and what they own) or the face's protocol and transport
alive until the cyclic garbage collector runs. With many connections that matters: the collector runs
rarely, and a failed handshake keeps traceback frames (the whole engine) in its exception."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import tlslens
import tlslens.aio
from tests.adapters.helpers import TIMEOUT
from tlslens.adapters.aio import TLSProtocol, TLSTransport
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.lifecycle import Lifecycle
from tlslens.output import Output
from tlslens.record.inbound import Inbound
from tlslens.record.layer import RecordLayer

pytestmark = pytest.mark.timeout(120)

WATCHED = (
    ServerConnection,
    ClientConnection,
    Lifecycle,
    Output,
    Inbound,
    RecordLayer,
    TLSProtocol,
    TLSTransport,
)


def alive() -> Counter[str]:
    """The watched objects that still exist, by type."""
    return Counter(type(o).__name__ for o in gc.get_objects() if isinstance(o, WATCHED))


@contextlib.contextmanager
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def settle(condition: Any) -> None:
    """Let the loop run the close callbacks until ``condition()`` holds (at most a few seconds)."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_closed_connections_leave_no_engine_behind(
    server_config: tlslens.ServerConfig,
    client_config: tlslens.ClientConfig,
    untrusting_client_config: tlslens.ClientConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.CRITICAL, logger="tlslens.aio")  # the failed handshakes are logged
    no_common_suite = tlslens.ClientConfig(
        trust_anchors=client_config.trust_anchors, cipher_suites=["TLS_CHACHA20_POLY1305_SHA256"]
    )
    server_only_aes = tlslens.ServerConfig(
        certificate_chain=server_config.certificate_chain,
        private_key=server_config.private_key,
        cipher_suites=["TLS_AES_128_GCM_SHA256"],
    )

    async def main() -> Counter[str]:
        ok = await tlslens.aio.start_server(echo, "127.0.0.1", 0, config=server_config)
        picky = await tlslens.aio.start_server(echo, "127.0.0.1", 0, config=server_only_aes)
        async with ok, picky:
            ok_port = ok.sockets[0].getsockname()[1]
            picky_port = picky.sockets[0].getsockname()[1]

            async def good() -> None:
                reader, writer = await tlslens.aio.open_connection(
                    "127.0.0.1", ok_port, config=client_config, server_name="localhost"
                )
                writer.write(b"ping")
                assert await reader.readexactly(4) == b"ping"
                writer.close()
                await writer.wait_closed()

            async def refused(config: tlslens.ClientConfig, port: int) -> None:
                with pytest.raises(tlslens.TLSError):  # ours (CertificateError) or theirs (FatalAlert)
                    await tlslens.aio.open_connection(
                        "127.0.0.1", port, config=config, server_name="localhost"
                    )

            async def garbage() -> None:
                reader, writer = await asyncio.open_connection("127.0.0.1", ok_port)
                writer.write(b"\x16\x03\x01\x00\x05hello")  # a record that is no ClientHello
                assert await reader.read() != b""  # the server's alert, then EOF
                writer.close()
                await writer.wait_closed()

            async def good_after_starttls() -> None:
                plain_reader, plain_writer = await asyncio.open_connection("127.0.0.1", ok_port)
                reader, writer = await tlslens.aio.start_tls(
                    plain_reader, plain_writer, config=client_config, server_name="localhost"
                )
                writer.write(b"pong")
                assert await reader.readexactly(4) == b"pong"
                writer.close()
                await writer.wait_closed()

            async def refused_after_starttls() -> None:
                reader, writer = await asyncio.open_connection("127.0.0.1", ok_port)
                with pytest.raises(tlslens.CertificateError):
                    await tlslens.aio.start_tls(
                        reader, writer, config=untrusting_client_config, server_name="localhost"
                    )

            for _round in range(40):
                await good()
                await refused(untrusting_client_config, ok_port)  # the client refuses the chain
                await refused(no_common_suite, picky_port)  # the server refuses the hello
                await garbage()
                await refused_after_starttls()
                await good_after_starttls()
            await settle(lambda: not alive())
            return alive()

    with no_cycle_collector():
        left = asyncio.run(asyncio.wait_for(main(), TIMEOUT * 10))
    assert left == Counter(), f"still alive without the cycle collector: {dict(left)}"


def test_timed_out_handshakes_leave_no_engine_behind(
    server_config: tlslens.ServerConfig, client_config: tlslens.ClientConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="tlslens.aio")

    async def main() -> Counter[str]:
        server = await tlslens.aio.start_server(
            echo, "127.0.0.1", 0, config=server_config, ssl_handshake_timeout=0.05
        )
        silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # accepts, never answers
        async with server, silent:
            port = server.sockets[0].getsockname()[1]
            silent_port = silent.sockets[0].getsockname()[1]
            for _round in range(10):
                # A client that says nothing: the server gives up on it.
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert await reader.read() == b""
                writer.close()
                await writer.wait_closed()
                # A server that says nothing: the client gives up on it.
                with pytest.raises(TimeoutError):
                    await tlslens.aio.open_connection(
                        "127.0.0.1", silent_port, config=client_config, ssl_handshake_timeout=0.05
                    )
            await settle(lambda: not alive())
            return alive()

    with no_cycle_collector():
        left = asyncio.run(asyncio.wait_for(main(), TIMEOUT * 10))
    assert left == Counter(), f"still alive without the cycle collector: {dict(left)}"
