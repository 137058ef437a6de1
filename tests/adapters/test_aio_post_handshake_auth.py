"""``tlslens.aio.request_client_certificate``: a server stream asks its client for a certificate after
the handshake and awaits the answer; the wait ends when the client closes first."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

import tlslens
import tlslens.aio
from tests.adapters.test_aio import run, serve
from tlslens.certgen import ThrowawayPki, make_leaf
from tlslens.errors import LocalProtocolError
from tlslens.events import ClientCertificateVerified
from tlslens.verifier import WebPkiVerifier


def configs(
    pki: ThrowawayPki, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> tuple[tlslens.ClientConfig, tlslens.ServerConfig]:
    leaf = make_leaf(pki.intermediate, ("aio client",), client=True)
    client = dataclasses.replace(
        client_config,
        certificate_chain=[leaf.certificate, pki.intermediate.certificate],
        private_key=leaf.private_key,
    )
    server = dataclasses.replace(
        server_config, client_verifier=WebPkiVerifier([pki.root.certificate]), defer_client_auth=True
    )
    return client, server


def test_server_stream_asks_and_gets_the_answer(
    pki: ThrowawayPki, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    client, server_cfg = configs(pki, client_config, server_config)
    answers: list[object] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readexactly(5) == b"hello"
        answers.append(await tlslens.aio.request_client_certificate(writer, timeout=5))
        writer.write(b"authenticated")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server, port = await serve(handler, server_cfg)
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client, server_name="localhost"
            )
            writer.write(b"hello")
            assert await reader.read() == b"authenticated"  # reading lets the client answer the request
            writer.close()
            await writer.wait_closed()
            _plain_reader, plain_writer = await asyncio.open_connection("127.0.0.1", port)
            with pytest.raises(TypeError):
                await tlslens.aio.request_client_certificate(plain_writer)
            plain_writer.close()

    run(main())
    (answer,) = answers
    assert isinstance(answer, ClientCertificateVerified)
    assert answer.certificates[0].subject.rfc4514_string().startswith("CN=aio client")


def test_a_client_without_a_certificate_cannot_be_asked(
    pki: ThrowawayPki, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    _client, server_cfg = configs(pki, client_config, server_config)
    errors: list[BaseException] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(1)
        try:
            await tlslens.aio.request_client_certificate(writer)
        except LocalProtocolError as exc:
            errors.append(exc)
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server, port = await serve(handler, server_cfg)
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            writer.write(b"x")
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()

    run(main())
    assert len(errors) == 1 and "did not offer post_handshake_auth" in str(errors[0])


def test_the_wait_ends_when_the_client_closes_first(
    pki: ThrowawayPki, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    """The request leaves, then the client's close_notify arrives (it had half-closed before reading
    the request, so it cannot answer): the wait ends with EOFError, not a timeout."""
    client, server_cfg = configs(pki, client_config, server_config)
    outcome: list[BaseException | object] = []
    asked = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(1)
        waiter = asyncio.ensure_future(tlslens.aio.request_client_certificate(writer, timeout=5))
        await asyncio.sleep(0)  # (the request is written synchronously; let the client go on)
        asked.set()
        try:
            outcome.append(await waiter)
        except EOFError as exc:
            outcome.append(exc)
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server, port = await serve(handler, server_cfg)
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client, server_name="localhost"
            )
            writer.transport.pause_reading()  # the request waits unread in the socket
            writer.write(b"x")
            await asyncio.wait_for(asked.wait(), 5)
            writer.write_eof()  # close_notify before the client reads the request
            writer.transport.resume_reading()
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()

    run(main())
    (result,) = outcome
    assert isinstance(result, EOFError), result
