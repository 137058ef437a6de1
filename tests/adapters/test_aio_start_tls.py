"""``tlslens.aio.start_tls``: TLS over a stream pair after a plaintext exchange (STARTTLS-style), in
both roles, with the bytes the plaintext reader already held handed to TLS."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

import tlslens
import tlslens.aio
from tests.adapters.test_aio import run
from tlslens.events import Event, HandshakeCompleted, MessageSent

LINE = b"STARTTLS\r\n"


async def plain_then_tls_server(
    config: tlslens.ServerConfig, seen: list[Event], results: list[Any]
) -> tuple[asyncio.Server, int]:
    """Reads one plaintext line, answers "GO", then serves TLS and echoes one read."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            assert await reader.readuntil(b"\r\n") == LINE
            writer.write(b"GO\r\n")
            tls_reader, tls_writer = await tlslens.aio.start_tls(
                reader, writer, config=config, on_event=seen.append
            )
            results.append(tls_writer.get_extra_info("tlslens"))
            tls_writer.write(await tls_reader.read(100))
            await tls_writer.drain()
            tls_writer.close()
            await tls_writer.wait_closed()
        except Exception as exc:  # reported to the test
            results.append(exc)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_client_and_server_start_tls_after_a_plaintext_exchange(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    client_seen: list[Event] = []
    server_seen: list[Event] = []
    results: list[Any] = []

    async def main() -> None:
        server, port = await plain_then_tls_server(server_config, server_seen, results)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(LINE)
            assert await reader.readuntil(b"\r\n") == b"GO\r\n"
            tls_reader, tls_writer = await tlslens.aio.start_tls(
                reader,
                writer,
                config=client_config,
                server_name="localhost",
                trace=True,
                on_event=client_seen.append,
            )
            assert tls_writer.get_extra_info("version") == "TLSv1.3"
            assert tls_writer.get_extra_info("peername")[1] == port
            tls_writer.write(b"ping")
            assert await tls_reader.read() == b"ping"  # echoed, then close_notify
            assert tls_writer.get_extra_info("bytes_received") > 1000  # the server's flight
            assert tls_writer.get_extra_info("bytes_sent") > 200
            tls_writer.close()
            await tls_writer.wait_closed()

    run(main())
    assert isinstance(results[0], HandshakeCompleted), results
    assert isinstance(client_seen[0], MessageSent)  # the ClientHello, traced as it was sent
    assert any(isinstance(e, HandshakeCompleted) for e in server_seen)


def test_bytes_the_plain_reader_already_held_go_to_tls(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    results: list[Any] = []

    async def main() -> None:
        server, port = await plain_then_tls_server(server_config, [], results)
        async with server:
            # The line and the ClientHello leave in one write before the server reads anything, so
            # the server's plaintext reader holds the start of TLS when start_tls takes over.
            client = tlslens.ClientConnection(client_config, "localhost")
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(LINE + client.data_to_send())
            reader, writer = await asyncio.open_connection(sock=sock)
            assert await reader.readuntil(b"\r\n") == b"GO\r\n"
            while not client.handshake_complete:
                client.receive_data(await reader.read(65536))
                writer.write(client.data_to_send())
            client.send_data(b"held")
            writer.write(client.data_to_send())
            echoed = b""
            while len(echoed) < 4:
                data = await reader.read(65536)
                assert data, "closed before the echo"
                for event in client.receive_data(data):
                    echoed += getattr(event, "data", b"")
            assert echoed == b"held"
            writer.close()

    run(main())
    assert isinstance(results[0], HandshakeCompleted), results


def test_start_tls_refuses_a_stream_already_under_tls_and_a_closed_one(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def main() -> None:
        server = await tlslens.aio.start_server(
            lambda r, w: None, "127.0.0.1", 0, config=server_config
        )
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            with pytest.raises(TypeError, match="plain stream pair"):
                await tlslens.aio.start_tls(reader, writer, config=client_config)
            writer.close()
        plain = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
        async with plain:
            port = plain.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await reader.read() == b""
            with pytest.raises(tlslens.aio.UnexpectedEOF, match="before the TLS handshake started"):
                await tlslens.aio.start_tls(reader, writer, config=client_config, server_name="localhost")
            writer.close()

    run(main())
