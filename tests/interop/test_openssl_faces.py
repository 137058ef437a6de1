"""A subset of the OpenSSL interop cases through the public faces instead of the engine pump:
``tlslens.connect`` / ``serve_connection`` (blocking sockets) and ``tlslens.aio`` (asyncio streams).

These check the plumbing against a real peer (handshake, data both ways, KeyUpdate, close_notify,
errors raised after their alert reached OpenSSL); the protocol matrix lives in the pump-based modules.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

import tlslens
from tlslens import CertificateError, ClientConfig, FatalAlert, HandshakeCompleted
from tlslens.adapters.blocking import TLSSocket, serve_connection
from tlslens.errors import ProtocolVersionMismatch
from tlslens.wire.enums import AlertDescription, CipherSuite

from .harness import TIMEOUT, Harness, make_pki_files, openssl_error_alert, read_keylog_file

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]


FACE_SUITES = ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256"]


def connect(port: int, config: ClientConfig) -> TLSSocket:
    return tlslens.connect("127.0.0.1", port, config, server_name="localhost", timeout=TIMEOUT)


def recv_until(tls: TLSSocket, data: bytes) -> bytes:
    received = b""
    while data not in received:
        chunk = tls.recv()
        assert chunk, f"peer closed before sending {data!r} (got {received!r})"
        received += chunk
    return received


# --- blocking client: tlslens.connect ------------------------------------------------------------------


def test_connect_fetches_a_page_from_s_server_www(harness: Harness) -> None:
    """The README example: fetch the status page of `openssl s_server -www`."""
    server = harness.s_server("-www")
    config = harness.client_config()
    with connect(server.port, config) as tls:
        assert tls.version == "TLSv1.3"
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        with tls.makefile("rb") as f:
            page = f.read()
        assert tls.closed_cleanly is True
    assert page.startswith(b"HTTP/1.0 200 ok\r\n")
    assert tls.cipher is not None and tls.cipher.encode() in page
    assert harness.tlslens_keylog == read_keylog_file(server.keylog)


@pytest.mark.parametrize("suite", FACE_SUITES)
def test_connect_data_key_update_and_close(harness: Harness, suite: str) -> None:
    server = harness.s_server("-ciphersuites", suite)
    config = harness.client_config(cipher_suites=[suite])
    with connect(server.port, config) as tls:
        assert tls.handshake is not None and tls.handshake.cipher_suite == CipherSuite[suite]
        tls.sendall(b"ping from tlslens\n")
        server.proc.wait_for(r"^ping from tlslens$", TIMEOUT)
        tls.update_keys(request_peer=True)
        tls.sendall(b"ping after KeyUpdate\n")
        server.proc.wait_for(r"^ping after KeyUpdate$", TIMEOUT)
        server.proc.write("pong from openssl\n")  # under OpenSSL's updated key
        assert recv_until(tls, b"pong from openssl\n")
        server.key_update(request_peer=True)
        server.proc.write("pong after K\n")
        assert recv_until(tls, b"pong after K\n")
        tls.sendall(b"ping after K\n")
        server.proc.wait_for(r"^ping after K$", TIMEOUT)
    # close() sent close_notify; s_server answers with its own and exits
    server.proc.wait_for(r"^DONE$", TIMEOUT)
    assert server.proc.wait_exit(TIMEOUT) == 0
    assert harness.tlslens_keylog == read_keylog_file(server.keylog)


def test_connect_raises_certificate_error_for_another_name(harness: Harness) -> None:
    pki = make_pki_files("ecdsa-p256", harness.tmp_path / "other-name", names=("other.example",))
    server = harness.s_server(pki=pki)
    with pytest.raises(CertificateError):
        connect(server.port, harness.client_config(pki))
    server.proc.wait_for(r"SSL alert number 42", TIMEOUT)  # the alert got there before the socket closed
    assert openssl_error_alert(server.proc.output) == "bad certificate"


def test_tls13_only_connect_to_tls12_only_s_server_raises_fatal_alert(harness: Harness) -> None:
    server = harness.s_server(version="-tls1_2")
    with pytest.raises(FatalAlert) as exc_info:
        connect(server.port, harness.client_config(versions=("TLSv1.3",)))
    assert exc_info.value.description == AlertDescription.PROTOCOL_VERSION


# --- blocking server: serve_connection --------------------------------------------------------------------


def test_serve_connection_to_s_client(harness: Harness) -> None:
    listener, port = harness.listen()
    client = harness.s_client(port, "-ciphersuites", "TLS_AES_128_CCM_8_SHA256")
    sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    config = harness.server_config(cipher_suites=["TLS_AES_128_CCM_8_SHA256"])
    with serve_connection(sock, config) as tls:
        client.proc.wait_for(r"^Verify return code: 0 \(ok\)$", TIMEOUT)
        tls.sendall(b"ping from tlslens\n")
        client.proc.wait_for(r"^ping from tlslens$", TIMEOUT)
        client.key_update(request_peer=True)
        client.proc.write("pong from openssl\n")
        assert recv_until(tls, b"pong from openssl\n")
        tls.sendall(b"ping after K\n")
        client.proc.wait_for(r"^ping after K$", TIMEOUT)
    client.proc.wait_for(r"^closed$", TIMEOUT)
    assert client.proc.wait_exit(TIMEOUT) == 0
    assert harness.tlslens_keylog == read_keylog_file(client.keylog)


def test_tls13_only_serve_connection_refuses_tls12_only_s_client(harness: Harness) -> None:
    listener, port = harness.listen()
    client = harness.s_client(port, version="-tls1_2")
    sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    with pytest.raises(ProtocolVersionMismatch):
        serve_connection(sock, harness.server_config(versions=("TLSv1.3",)))
    client.proc.wait_for(r"SSL alert number 70", TIMEOUT)


# --- asyncio: tlslens.aio ---------------------------------------------------------------------------------


def test_aio_open_connection_to_s_server(harness: Harness) -> None:
    server = harness.s_server("-alpn", "h2")

    async def main() -> None:
        config = harness.client_config(alpn_protocols=["h2", "http/1.1"])
        reader, writer = await tlslens.aio.open_connection(
            "127.0.0.1", server.port, config=config, server_name="localhost"
        )
        done = writer.get_extra_info("tlslens")
        assert isinstance(done, HandshakeCompleted) and done.alpn_protocol == "h2"
        writer.write(b"ping from tlslens\n")
        await writer.drain()
        await asyncio.to_thread(server.proc.wait_for, r"^ping from tlslens$", TIMEOUT)
        tlslens.aio.update_keys(writer, request_peer=True)
        server.proc.write("pong from openssl\n")
        assert await reader.readline() == b"pong from openssl\n"
        server.key_update(request_peer=True)
        server.proc.write("pong after K\n")
        assert await reader.readline() == b"pong after K\n"
        writer.write(b"ping after K\n")
        await writer.drain()
        await asyncio.to_thread(server.proc.wait_for, r"^ping after K$", TIMEOUT)
        writer.close()
        await writer.wait_closed()

    asyncio.run(asyncio.wait_for(main(), 4 * TIMEOUT))
    server.proc.wait_for(r"^DONE$", TIMEOUT)
    assert server.proc.wait_exit(TIMEOUT) == 0
    assert harness.tlslens_keylog == read_keylog_file(server.keylog)


def test_aio_start_server_with_s_client(harness: Harness) -> None:
    async def main() -> None:
        served: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"ping from tlslens\n")
            await writer.drain()
            served.set_result(await reader.readline())
            writer.close()
            await writer.wait_closed()

        server = await tlslens.aio.start_server(handle, "127.0.0.1", 0, config=harness.server_config())
        async with server:
            port = server.sockets[0].getsockname()[1]
            client = harness.s_client(port)
            await asyncio.to_thread(client.proc.wait_for, r"^ping from tlslens$", TIMEOUT)
            client.key_update(request_peer=False)
            client.proc.write("pong from openssl\n")
            assert await served == b"pong from openssl\n"
            await asyncio.to_thread(client.proc.wait_for, r"^closed$", TIMEOUT)
            assert await asyncio.to_thread(client.proc.wait_exit, TIMEOUT) == 0
        assert harness.tlslens_keylog == read_keylog_file(client.keylog)

    asyncio.run(asyncio.wait_for(main(), 4 * TIMEOUT))
