"""The asyncio face with tlslens on both ends, and the protocol/transport pair against a fake raw
transport (flow control without sockets). Each test runs its own loop with ``asyncio.run``."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import tlslens
import tlslens.aio
from tests.adapters.helpers import TIMEOUT
from tlslens.adapters.aio import TLSProtocol, TLSTransport
from tlslens.certgen import ThrowawayPki
from tlslens.errors import CertificateError, FatalAlert, LocalProtocolError
from tlslens.events import (
    AlertReceived,
    ConnectionClosed,
    DataReceived,
    Event,
    HandshakeCompleted,
    KeyUpdated,
    MessageReceived,
    MessageSent,
    RecordSent,
)
from tlslens.wire.enums import AlertDescription, ContentType
from tlslens.wire.messages import Certificate, ClientHello

PATTERN = bytes(range(256)) * 1200  # 300 KiB

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, TIMEOUT * 2)

    return asyncio.run(bounded())


async def serve(handler: Handler, config: tlslens.ServerConfig, **kw: Any) -> tuple[asyncio.Server, int]:
    server = await tlslens.aio.start_server(handler, "127.0.0.1", 0, config=config, **kw)
    return server, server.sockets[0].getsockname()[1]


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_streams_echo_and_report_the_negotiation(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig, pki: ThrowawayPki
) -> None:
    server_info: dict[str, Any] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for name in (
            "tlslens",
            "version",
            "cipher",
            "alpn_protocol",
            "peercert_chain",
            "peername",
            "sockname",
        ):
            server_info[name] = writer.get_extra_info(name)
        await echo(reader, writer)

    async def main() -> None:
        server, port = await serve(handler, server_config)
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            assert isinstance(reader, asyncio.StreamReader) and isinstance(writer, asyncio.StreamWriter)
            hs = writer.get_extra_info("tlslens")
            assert isinstance(hs, HandshakeCompleted)
            assert writer.get_extra_info("version") == "TLSv1.3"
            assert writer.get_extra_info("cipher") == hs.cipher_suite.name
            assert writer.get_extra_info("alpn_protocol") == "http/1.1"
            assert writer.get_extra_info("peercert_chain") == tuple(pki.chain)
            assert writer.get_extra_info("peername")[1] == port
            assert writer.get_extra_info("nonsense", "default") == "default"
            assert isinstance(writer.transport, TLSTransport)

            reading = asyncio.create_task(reader.readexactly(len(PATTERN)))
            writer.write(PATTERN)
            await writer.drain()
            assert await reading == PATTERN
            writer.close()
            await writer.wait_closed()
        assert server_info["version"] == "TLSv1.3"
        assert server_info["cipher"] == hs.cipher_suite.name
        assert server_info["alpn_protocol"] == "http/1.1"
        assert server_info["peercert_chain"] == ()
        assert server_info["peername"] == writer.get_extra_info("sockname")
        assert isinstance(server_info["tlslens"], HandshakeCompleted)

    run(main())


def test_writer_close_sends_close_notify(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    seen: list[Event] = []

    async def main() -> None:
        received = asyncio.get_running_loop().create_future()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.set_result(await reader.read())
            writer.close()

        server, port = await serve(handler, server_config, on_event=seen.append)
        async with server:
            _reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            writer.write(b"bye")
            writer.close()
            await writer.wait_closed()
            assert await received == b"bye"

    run(main())
    assert ConnectionClosed(clean=True) in seen


def test_write_eof_half_closes_and_the_server_still_answers(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        question = await reader.read()  # until the client's close_notify
        writer.write(b"you said: " + question)
        await writer.drain()
        writer.close()

    async def main() -> None:
        seen: list[Event] = []
        server, port = await serve(handler, server_config)
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost", on_event=seen.append
            )
            assert writer.can_write_eof()
            writer.write(b"hello")
            writer.write_eof()
            with pytest.raises(RuntimeError):
                writer.write(b"more")
            assert await reader.read() == b"you said: hello"
            assert ConnectionClosed(clean=True) in seen
            writer.close()
            await writer.wait_closed()

    run(main())


def test_a_slow_reader_gets_the_whole_reply_and_close_notify_after_the_server_closed(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    big = PATTERN * 8  # 2.4 MB: still buffered on the server side when it closes

    async def reply_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(big)
        writer.close()  # returns at once; the face keeps the bytes and the close_notify going

    async def main() -> None:
        seen: list[Event] = []
        server, port = await serve(reply_and_close, server_config)
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost", on_event=seen.append
            )
            writer.write(b"unread by the server" * 1000)
            await asyncio.sleep(1.5)  # longer than DRAIN_TIMEOUT: slow, but still reading
            assert await reader.read() == big
            assert ConnectionClosed(clean=True) in seen
            writer.close()
            await writer.wait_closed()

    run(main())


def test_eof_without_close_notify_is_seen_as_a_truncated_connection(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    seen: list[Event] = []

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            done.set_result(await reader.read())
            writer.close()

        server, port = await serve(handler, server_config, on_event=seen.append)
        async with server:
            _reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            writer.write(b"cut short")
            await writer.drain()
            writer.get_extra_info("socket").shutdown(socket.SHUT_WR)  # TCP FIN, no close_notify
            assert await done == b"cut short"
            writer.transport.abort()

    run(main())
    assert ConnectionClosed(clean=False) in seen


def test_update_keys_on_a_stream(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    seen: list[Event] = []

    async def main() -> None:
        server, port = await serve(echo, server_config, on_event=seen.append)
        async with server:
            reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            tlslens.aio.update_keys(writer, request_peer=True)
            writer.write(b"after the update")
            assert await reader.readexactly(16) == b"after the update"
            writer.close()
            await writer.wait_closed()
            with pytest.raises(LocalProtocolError):
                tlslens.aio.update_keys(writer)
            _plain_reader, plain_writer = await asyncio.open_connection("127.0.0.1", port)
            with pytest.raises(TypeError):
                tlslens.aio.update_keys(plain_writer)
            plain_writer.close()

    run(main())
    assert KeyUpdated("receive", True) in seen


def test_callback_runs_only_after_a_successful_handshake_and_failures_are_logged(
    untrusting_client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    called: list[object] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        called.append(writer)

    async def main() -> CertificateError:
        server, port = await serve(handler, server_config)
        async with server:
            with pytest.raises(CertificateError) as error:
                await tlslens.aio.open_connection(
                    "127.0.0.1", port, config=untrusting_client_config, server_name="localhost"
                )
            for _ in range(50):  # the server logs once the alert arrived
                if caplog.records:
                    break
                await asyncio.sleep(0.02)
            return error.value

    with caplog.at_level(logging.WARNING, logger="tlslens.aio"):
        client_error = run(main())
    assert called == []
    assert len(caplog.records) == 1
    alert_name = client_error.alert.name.lower()
    assert "handshake" in caplog.text and alert_name in caplog.text  # the client's alert got through


def test_failures_reach_both_hooks_before_they_are_reported(
    untrusting_client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    client_seen: list[Event] = []
    server_seen: list[Event] = []

    async def main() -> None:
        server, port = await serve(echo, server_config, on_event=server_seen.append)
        async with server:
            with pytest.raises(CertificateError) as error:
                await tlslens.aio.open_connection(
                    "127.0.0.1",
                    port,
                    config=untrusting_client_config,
                    server_name="localhost",
                    trace=True,
                    on_event=client_seen.append,
                )
            # The chain that failed, then the alert we sent about it, all before the error.
            received = [type(e.message) for e in client_seen if isinstance(e, MessageReceived)]
            assert Certificate in received
            last = client_seen[-1]
            assert isinstance(last, RecordSent) and last.content_type == ContentType.ALERT
            for _ in range(100):  # the server's hook gets the alert the client sent
                if server_seen:
                    break
                await asyncio.sleep(0.02)
            assert server_seen == [AlertReceived(server_seen[0].level, error.value.alert)]  # type: ignore[attr-defined]

    run(main())


def test_what_we_send_is_traced_when_it_is_sent(client_config: tlslens.ClientConfig) -> None:
    seen: list[Event] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(TimeoutError):
                await tlslens.aio.open_connection(
                    "127.0.0.1",
                    port,
                    config=client_config,
                    server_name="localhost",
                    ssl_handshake_timeout=0.3,
                    trace=True,
                    on_event=seen.append,
                )

    run(main())
    assert isinstance(seen[0], MessageSent) and isinstance(seen[0].message, ClientHello)


def test_server_failure_alert_reaches_the_client(
    pki: ThrowawayPki, client_config: tlslens.ClientConfig, caplog: pytest.LogCaptureFixture
) -> None:
    h2_only = tlslens.ServerConfig(
        certificate_chain=pki.chain, private_key=pki.leaf.private_key, alpn_protocols=["h2"]
    )

    async def main() -> None:
        server, port = await serve(echo, h2_only)
        async with server:
            with pytest.raises(FatalAlert) as error:
                await tlslens.aio.open_connection(
                    "127.0.0.1", port, config=client_config, server_name="localhost"
                )
            assert error.value.description == AlertDescription.NO_APPLICATION_PROTOCOL

    with caplog.at_level(logging.WARNING, logger="tlslens.aio"):
        run(main())
    assert "NoApplicationProtocol" in caplog.text


def test_eof_before_the_handshake_completes_is_a_clear_error(client_config: tlslens.ClientConfig) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(tlslens.aio.UnexpectedEOF, match="before the handshake completed"):
                await tlslens.aio.open_connection(
                    "127.0.0.1", port, config=client_config, server_name="localhost"
                )

    run(main())


def test_handshake_timeout(client_config: tlslens.ClientConfig) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TimeoutError):
                await tlslens.aio.open_connection(
                    "127.0.0.1",
                    port,
                    config=client_config,
                    server_name="localhost",
                    ssl_handshake_timeout=0.3,
                )
            assert loop.time() - started < 3

    run(main())


def test_ssl_argument_is_refused(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    async def main() -> None:
        with pytest.raises(TypeError):
            await tlslens.aio.open_connection("127.0.0.1", 1, config=client_config, ssl=True)
        with pytest.raises(TypeError):
            await tlslens.aio.start_server(echo, "127.0.0.1", 0, config=server_config, ssl=True)

    run(main())


def test_backpressure_pauses_the_writer_until_the_peer_reads(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        go = asyncio.Event()
        got = loop.create_future()
        server_transports: list[asyncio.Transport] = []

        async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert isinstance(writer.transport, TLSTransport)
            server_transports.append(writer.transport)
            await go.wait()
            got.set_result(await reader.read())
            writer.close()

        server, port = await serve(slow, server_config)
        async with server:
            _reader, writer = await tlslens.aio.open_connection(
                "127.0.0.1", port, config=client_config, server_name="localhost"
            )
            writer.transport.set_write_buffer_limits(high=64 * 1024)
            assert writer.transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
            chunk = bytes(range(256)) * 256  # 64 KiB
            sent = 0

            async def flood() -> None:
                nonlocal sent
                for _ in range(256):  # 16 MiB: more than any socket buffer holds
                    writer.write(chunk)
                    sent += len(chunk)
                    await writer.drain()

            flooding = asyncio.create_task(flood())
            await asyncio.sleep(0.5)
            assert not flooding.done()  # drain() is waiting: the raw transport paused us
            assert writer.transport.get_write_buffer_size() > 0
            assert not server_transports[0].is_reading()  # the server's reader paused its transport
            go.set()
            await flooding
            writer.write_eof()
            assert len(await got) == sent == 256 * len(chunk)
            writer.close()
            await writer.wait_closed()

    run(main())


# --- the protocol/transport pair against a fake raw transport --------------------------------------


class FakeRaw(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.reading = True
        self.eof_written = False
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.written += data

    def take(self) -> bytes:
        out = bytes(self.written)
        self.written.clear()
        return out

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("192.0.2.1", 443)}.get(name, default)


class RecordingApp(asyncio.Protocol):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.data = bytearray()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.calls.append("connection_made")

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.calls.append("data")

    def eof_received(self) -> bool:
        self.calls.append("eof")
        return True

    def pause_writing(self) -> None:
        self.calls.append("pause_writing")

    def resume_writing(self) -> None:
        self.calls.append("resume_writing")

    def connection_lost(self, exc: Exception | None) -> None:
        self.calls.append(f"connection_lost:{type(exc).__name__ if exc else None}")


def test_flow_control_passes_through_the_tls_transport(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    async def main() -> None:
        raw, app = FakeRaw(), RecordingApp()
        tls = TLSProtocol(tlslens.ClientConnection(client_config, "localhost"), app)
        peer = tlslens.ServerConnection(server_config)
        tls.connection_made(raw)
        tls.pause_writing()  # the raw buffer filled before the handshake finished
        assert app.calls == []
        tls.data_received(_answer(peer, raw.take()))
        peer.receive_data(raw.take())
        assert app.calls == ["connection_made", "pause_writing"]  # not connected before the handshake
        assert tls.handshake_done.done()
        tls.resume_writing()
        assert app.calls[-1] == "resume_writing"

        transport = app.transport
        assert isinstance(transport, TLSTransport)
        transport.pause_reading()
        assert not raw.reading and not transport.is_reading()
        peer.send_data(b"held while paused")
        tls.data_received(peer.data_to_send())
        assert app.data == b""  # held, not delivered
        transport.resume_reading()
        assert app.data == b"" and not raw.reading  # delivered on the next loop iteration, then read on
        await asyncio.sleep(0)
        assert app.data == b"held while paused" and raw.reading

        transport.write(b"to the peer")
        assert peer.receive_data(raw.take())[-1] == DataReceived(b"to the peer")
        transport.write_eof()
        assert raw.eof_written
        assert isinstance(peer.receive_data(raw.take())[-1], ConnectionClosed)
        peer.close()
        tls.data_received(peer.data_to_send())
        assert app.calls[-1] == "eof"
        transport.close()
        tls.eof_received()
        assert raw.closed
        tls.connection_lost(None)
        assert app.calls[-1] == "connection_lost:None"

    run(main())


def test_eof_while_paused_is_delivered_after_the_held_data(
    client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    async def main() -> None:
        raw, app = FakeRaw(), RecordingApp()
        tls = TLSProtocol(tlslens.ClientConnection(client_config, "localhost"), app)
        peer = tlslens.ServerConnection(server_config)
        tls.connection_made(raw)
        tls.data_received(_answer(peer, raw.take()))
        peer.receive_data(raw.take())
        assert isinstance(app.transport, TLSTransport)
        app.transport.pause_reading()
        peer.send_data(b"last")
        peer.close()
        tls.data_received(peer.data_to_send())
        tls.eof_received()
        assert "eof" not in app.calls
        app.transport.resume_reading()
        await asyncio.sleep(0)
        assert app.calls[-2:] == ["data", "eof"] and app.data == b"last"

    run(main())


def test_a_failed_handshake_writes_the_alert_shuts_down_and_drains(
    untrusting_client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    async def main() -> None:
        raw, app = FakeRaw(), RecordingApp()
        tls = TLSProtocol(tlslens.ClientConnection(untrusting_client_config, "localhost"), app)
        peer = tlslens.ServerConnection(server_config)
        tls.connection_made(raw)
        tls.data_received(_answer(peer, raw.take()))
        assert isinstance(tls.handshake_done.exception(), CertificateError)
        with pytest.raises(FatalAlert):
            peer.receive_data(raw.take())  # the alert was written
        assert raw.eof_written and not raw.closed  # write side shut, still reading
        tls.data_received(b"late bytes from the peer")  # drained and dropped
        tls.eof_received()
        assert raw.closed
        tls.connection_lost(None)
        assert app.calls == []  # the application never saw this connection

    run(main())


def _answer(server: tlslens.ServerConnection, client_hello: bytes) -> bytes:
    server.receive_data(client_hello)
    return server.data_to_send()
