"""``wrap_server_socket(...).accept()`` bounds each handshake by default: a client that connects and
says nothing (or drips its ClientHello a byte at a time) cannot hold the accept loop, and every client
behind it is served."""

from __future__ import annotations

import select
import socket

import pytest

import tlslens
from tests.adapters.helpers import TIMEOUT, Background, recv_exactly
from tlslens.adapters import blocking
from tlslens.adapters.blocking import connect, wrap_server_socket

pytestmark = pytest.mark.timeout(120)


def test_accept_has_a_default_handshake_timeout(
    listener: socket.socket, server_config: tlslens.ServerConfig
) -> None:
    assert blocking.HANDSHAKE_TIMEOUT == 10.0
    assert wrap_server_socket(listener, server_config).handshake_timeout == blocking.HANDSHAKE_TIMEOUT
    assert blocking.TLSServerSocket(listener, server_config).handshake_timeout == blocking.HANDSHAKE_TIMEOUT


def test_a_silent_client_does_not_block_the_next_one(
    listener: socket.socket, server_config: tlslens.ServerConfig, client_config: tlslens.ClientConfig
) -> None:
    tls_listener = wrap_server_socket(listener, server_config)  # the default timeout
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as silent:
        # The real client connects after the silent one; it waits in the backlog meanwhile.
        real = Background(
            lambda: connect(
                "127.0.0.1", port, client_config, "localhost", timeout=blocking.HANDSHAKE_TIMEOUT * 3
            )
        )

        def serve_two() -> bytes:
            with pytest.raises(TimeoutError):
                tls_listener.accept()  # the silent client: dropped after the handshake timeout
            server, _address = tls_listener.accept()
            with server:
                data = recv_exactly(server.recv, 5)
                server.sendall(data.upper())
            return data

        served = Background(serve_two)
        with real.result(timeout=blocking.HANDSHAKE_TIMEOUT * 3) as client:
            client.sendall(b"hello")
            assert recv_exactly(client.recv, 5) == b"HELLO"
        assert served.result(timeout=TIMEOUT) == b"hello"
        silent.settimeout(TIMEOUT)
        assert silent.recv(1) == b""  # the silent client was closed


def test_the_handshake_timeout_bounds_the_whole_handshake_not_each_read(
    listener: socket.socket, server_config: tlslens.ServerConfig, client_config: tlslens.ClientConfig
) -> None:
    hello = tlslens.ClientConnection(client_config, "localhost").data_to_send()
    tls_listener = wrap_server_socket(listener, server_config, handshake_timeout=1.0)
    accepted = Background(tls_listener.accept)
    sent = 0
    with socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as dripper:
        # One byte every 0.2 s: each read succeeds well within the timeout, the handshake never does.
        for byte in hello[:200]:
            readable, _, _ = select.select([dripper], [], [], 0.2)
            if readable:
                break  # the server closed: EOF (or an alert)
            try:
                dripper.sendall(bytes([byte]))
            except OSError:
                break
            sent += 1
    assert isinstance(accepted.error(), TimeoutError)
    assert sent < 200  # closed long before the 40 s the dripper would have taken
