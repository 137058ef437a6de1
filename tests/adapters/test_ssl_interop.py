"""Interop with Python's ``ssl`` (OpenSSL) in both directions, through both faces.

blocking tlslens client  <->  ssl server in a thread (SSLContext(PROTOCOL_TLS_SERVER))
ssl client               <->  blocking tlslens server
tlslens.aio client       <->  asyncio.start_server(ssl=ctx)   (and <-> the ssl server thread)
asyncio.open_connection(ssl=ctx)  <->  tlslens.aio.start_server

The ssl server threads use ``suppress_ragged_eofs=False``, so a connection that ends without
close_notify raises there instead of reading as a clean end.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

import pytest

import tlslens
import tlslens.aio
from tests.adapters.helpers import TIMEOUT, Background, PemFiles, recv_all, recv_exactly
from tlslens.adapters.blocking import connect, wrap_server_socket
from tlslens.errors import CertificateError, FatalAlert
from tlslens.events import ConnectionClosed, Event, KeyUpdated
from tlslens.wire.enums import AlertDescription

pytestmark = pytest.mark.interop

PATTERN = bytes(range(256)) * 1200  # 300 KiB


def ssl_server(
    listener: socket.socket, ctx: ssl.SSLContext, script: Callable[[ssl.SSLSocket], Any]
) -> Background:
    """Accept one connection on ``listener`` in a thread, do the ssl handshake, run ``script``."""

    def serve() -> Any:
        raw, _ = listener.accept()
        raw.settimeout(TIMEOUT)
        with ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False) as tls:
            return script(tls)

    return Background(serve)


def ssl_facts(tls: ssl.SSLSocket | ssl.SSLObject) -> tuple[str | None, str | None, str | None]:
    cipher = tls.cipher()
    return tls.version(), cipher[0] if cipher else None, tls.selected_alpn_protocol()


# --- blocking tlslens client <-> ssl server ---------------------------------------------------------


def test_tlslens_client_and_ssl_server_exchange_data_update_keys_and_close_cleanly(
    listener: socket.socket, client_config: tlslens.ClientConfig, ssl_server_context: ssl.SSLContext
) -> None:
    def script(tls: ssl.SSLSocket) -> Any:
        facts = ssl_facts(tls)
        upload = recv_exactly(tls.recv, len(PATTERN))
        tls.sendall(upload[::-1])
        after_update = recv_exactly(tls.recv, 17)
        tls.sendall(b"ssl still talking")
        end = tls.recv(10)  # b"" on close_notify; a bare EOF would raise SSLEOFError
        return facts, upload == PATTERN, after_update, end

    server = ssl_server(listener, ssl_server_context, script)
    seen: list[Event] = []
    port = listener.getsockname()[1]
    with connect("127.0.0.1", port, client_config, "localhost", timeout=TIMEOUT, on_event=seen.append) as tls:
        tls.sendall(PATTERN)
        assert recv_exactly(tls.recv, len(PATTERN)) == PATTERN[::-1]
        tls.update_keys(request_peer=True)
        tls.sendall(b"after key update!")
        assert recv_exactly(tls.recv, 17) == b"ssl still talking"
        assert KeyUpdated("receive", False) in seen  # OpenSSL answered our request with its own update
        ours = (tls.version, tls.cipher, tls.alpn_protocol)
    facts, upload_ok, after_update, end = server.result()
    assert facts == ours == ("TLSv1.3", tls.cipher, "http/1.1")
    assert upload_ok and after_update == b"after key update!"
    assert end == b""


def test_ssl_server_answers_after_our_half_close(
    listener: socket.socket, client_config: tlslens.ClientConfig, ssl_server_context: ssl.SSLContext
) -> None:
    def script(tls: ssl.SSLSocket) -> None:
        question = recv_all(tls.recv)  # ends at our close_notify
        tls.sendall(b"answer to " + question)
        tls.unwrap()  # the server's close_notify

    server = ssl_server(listener, ssl_server_context, script)
    with connect("127.0.0.1", listener.getsockname()[1], client_config, "localhost", timeout=TIMEOUT) as tls:
        tls.sendall(b"a question")
        tls.shutdown(socket.SHUT_WR)
        assert recv_all(tls.recv) == b"answer to a question"
        assert tls.closed_cleanly is True
    server.result()


def test_untrusted_ssl_server_raises_certificate_error_and_the_server_sees_our_alert(
    listener: socket.socket,
    untrusting_client_config: tlslens.ClientConfig,
    ssl_server_context: ssl.SSLContext,
) -> None:
    server = ssl_server(listener, ssl_server_context, lambda tls: None)
    with pytest.raises(CertificateError) as error:
        connect(
            "127.0.0.1", listener.getsockname()[1], untrusting_client_config, "localhost", timeout=TIMEOUT
        )
    server_error = server.error()
    assert isinstance(server_error, ssl.SSLError)
    assert f"ALERT_{error.value.alert.name}" in str(server_error).upper()  # e.g. TLSV1_ALERT_UNKNOWN_CA


# --- ssl client <-> blocking tlslens server ---------------------------------------------------------


def test_ssl_client_and_tlslens_server_exchange_data_and_update_keys(
    listener: socket.socket, server_config: tlslens.ServerConfig, ssl_client_context: ssl.SSLContext
) -> None:
    def serve() -> Any:
        tls, _ = wrap_server_socket(listener, server_config, handshake_timeout=TIMEOUT).accept()
        tls.settimeout(TIMEOUT)
        with tls:
            facts = (tls.version, tls.cipher, tls.alpn_protocol, tls.server_name)
            upload = recv_exactly(tls.recv, len(PATTERN))
            tls.sendall(upload[::-1])
            tls.update_keys(request_peer=True)
            tls.sendall(b"after key update")
            reply = recv_exactly(tls.recv, 17)
            end = tls.recv(10)
            return facts, upload == PATTERN, reply, end, tls.closed_cleanly

    server = Background(serve)
    raw = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
    with ssl_client_context.wrap_socket(raw, server_hostname="localhost") as client:
        ours = ssl_facts(client)
        client.sendall(PATTERN)
        assert recv_exactly(client.recv, len(PATTERN)) == PATTERN[::-1]
        assert recv_exactly(client.recv, 16) == b"after key update"
        client.sendall(b"ssl still talking")  # with the key OpenSSL updated at our request
        client.unwrap()  # close_notify, then waits for ours
    facts, upload_ok, reply, end, clean = server.result()
    assert facts == (*ours, "localhost")
    assert ours == ("TLSv1.3", facts[1], "http/1.1")
    assert upload_ok and reply == b"ssl still talking"
    assert end == b"" and clean is True


def test_ssl_client_keeps_sending_after_our_half_close(
    listener: socket.socket, server_config: tlslens.ServerConfig, ssl_client_context: ssl.SSLContext
) -> None:
    def serve() -> bytes:
        tls, _ = wrap_server_socket(listener, server_config).accept()
        tls.settimeout(TIMEOUT)
        with tls:
            tls.sendall(b"that is all from me")
            tls.shutdown(socket.SHUT_WR)
            return recv_all(tls.recv)

    server = Background(serve)
    raw = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
    with ssl_client_context.wrap_socket(
        raw, server_hostname="localhost", suppress_ragged_eofs=False
    ) as client:
        assert recv_all(client.recv) == b"that is all from me"  # ends at our close_notify, not an EOF error
        client.sendall(b"but I have more to say")
        client.unwrap()
    assert server.result() == b"but I have more to say"


def test_ssl_client_with_another_root_fails_and_we_receive_its_alert(
    listener: socket.socket, server_config: tlslens.ServerConfig, other_pems: PemFiles
) -> None:
    ctx = ssl.create_default_context(cafile=str(other_pems.root))
    accepted = Background(wrap_server_socket(listener, server_config, handshake_timeout=TIMEOUT).accept)
    raw = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
    with pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(raw, server_hostname="localhost")
    raw.close()
    error = accepted.error()
    assert isinstance(error, FatalAlert)
    assert error.description == AlertDescription.UNKNOWN_CA


# --- tlslens.aio client <-> asyncio ssl server (and the ssl server thread) ---------------------------


def test_aio_client_and_asyncio_ssl_server(
    client_config: tlslens.ClientConfig, ssl_server_context: ssl.SSLContext
) -> None:
    server_facts: list[Any] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_facts.append(ssl_facts(writer.get_extra_info("ssl_object")))
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        server_facts.append("eof")
        writer.close()

    async def main() -> None:
        seen: list[Event] = []
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_server_context)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost", on_event=seen.append
            )
            reading = asyncio.create_task(reader.readexactly(len(PATTERN)))
            writer.write(PATTERN)
            await writer.drain()
            assert await reading == PATTERN
            tlslens.aio.update_keys(writer, request_peer=True)
            writer.write(b"after key update")
            assert await reader.readexactly(16) == b"after key update"
            assert KeyUpdated("receive", False) in seen
            ours = tuple(writer.get_extra_info(n) for n in ("version", "cipher", "alpn_protocol"))
            writer.close()
            await writer.wait_closed()
            for _ in range(100):
                if "eof" in server_facts:
                    break
                await asyncio.sleep(0.02)
        assert server_facts == [ours, "eof"]
        assert ours[0] == "TLSv1.3" and ours[2] == "http/1.1"

    asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2))


def test_aio_client_close_sends_close_notify_to_an_ssl_server(
    listener: socket.socket, client_config: tlslens.ClientConfig, ssl_server_context: ssl.SSLContext
) -> None:
    server = ssl_server(listener, ssl_server_context, lambda tls: recv_all(tls.recv))  # raises on bare EOF

    async def main() -> None:
        port = listener.getsockname()[1]
        _reader, writer = await tlslens.aio.open_connection(
            "127.0.0.1", port, config=client_config, server_name="localhost"
        )
        writer.write(b"goodbye")
        writer.close()
        await writer.wait_closed()

    asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2))
    assert server.result() == b"goodbye"


def test_aio_client_certificate_failure_alerts_the_ssl_server(
    listener: socket.socket,
    untrusting_client_config: tlslens.ClientConfig,
    ssl_server_context: ssl.SSLContext,
) -> None:
    server = ssl_server(listener, ssl_server_context, lambda tls: None)

    async def main() -> CertificateError:
        port = listener.getsockname()[1]
        with pytest.raises(CertificateError) as error:
            await tlslens.aio.open_connection(
                "127.0.0.1", port, config=untrusting_client_config, server_name="localhost"
            )
        return error.value

    client_error = asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2))
    server_error = server.error()
    assert isinstance(server_error, ssl.SSLError)
    assert f"ALERT_{client_error.alert.name}" in str(server_error).upper()


# --- asyncio ssl client <-> tlslens.aio server --------------------------------------------------------


def test_asyncio_ssl_client_and_aio_server(
    server_config: tlslens.ServerConfig, ssl_client_context: ssl.SSLContext
) -> None:
    server_facts: list[Any] = []
    seen: list[Event] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_facts.append(tuple(writer.get_extra_info(n) for n in ("version", "cipher", "alpn_protocol")))
        first = await reader.readexactly(len(PATTERN))
        writer.write(first[::-1])
        tlslens.aio.update_keys(writer, request_peer=True)
        writer.write(b"after key update")
        await writer.drain()
        while data := await reader.read(65536):
            writer.write(data)
        writer.close()

    async def main() -> None:
        server = await tlslens.aio.start_server(
            handler, "127.0.0.1", 0, config=server_config, on_event=seen.append
        )
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ssl_client_context, server_hostname="localhost"
            )
            ours = ssl_facts(writer.get_extra_info("ssl_object"))
            reading = asyncio.create_task(reader.readexactly(len(PATTERN)))
            writer.write(PATTERN)
            await writer.drain()
            assert await reading == PATTERN[::-1]
            assert await reader.readexactly(16) == b"after key update"
            writer.write(b"ssl still talking")
            assert await reader.readexactly(17) == b"ssl still talking"
            writer.close()
            await writer.wait_closed()
        assert server_facts == [ours]
        assert ours[0] == "TLSv1.3" and ours[2] == "http/1.1"

    asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2))
    assert KeyUpdated("receive", False) in seen  # OpenSSL answered our request
    assert ConnectionClosed(clean=True) in seen


def test_asyncio_ssl_client_with_another_root_never_reaches_the_callback(
    server_config: tlslens.ServerConfig, other_pems: PemFiles, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = ssl.create_default_context(cafile=str(other_pems.root))
    called: list[object] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        called.append(writer)

    async def main() -> None:
        server = await tlslens.aio.start_server(handler, "127.0.0.1", 0, config=server_config)
        async with server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(ssl.SSLCertVerificationError):
                await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
            for _ in range(100):
                if caplog.records:
                    break
                await asyncio.sleep(0.02)

    with caplog.at_level(logging.INFO, logger="tlslens.aio"):
        asyncio.run(asyncio.wait_for(main(), TIMEOUT * 2))
    assert called == []
    # asyncio's ssl (CPython 3.11) closes without writing its alert when verification fails (the
    # blocking ssl client does send unknown_ca, see above): the server logs the early EOF instead.
    assert "TLS handshake with" in caplog.text
    assert "unknown_ca" in caplog.text or "UnexpectedEOF" in caplog.text
