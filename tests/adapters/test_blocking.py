"""The blocking face with tlslens on both ends: socketpairs and loopback listeners.

Only the plumbing is checked here (bytes reach the engine and come back, errors and EOF surface as
documented, sockets close politely); the protocol itself is tested on the engine."""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

import tlslens
from tests.adapters.helpers import TIMEOUT, Background, recv_all, recv_exactly
from tlslens.adapters import blocking
from tlslens.adapters.blocking import (
    TLSSocket,
    UnexpectedEOF,
    connect,
    serve_connection,
    wrap_server_socket,
    wrap_socket,
)
from tlslens.certgen import ThrowawayPki
from tlslens.errors import CertificateError, FatalAlert, LocalProtocolError, NoApplicationProtocol
from tlslens.events import (
    AlertReceived,
    ConnectionClosed,
    Event,
    HandshakeCompleted,
    KeyUpdated,
    MessageReceived,
    MessageSent,
    RecordSent,
)
from tlslens.wire.enums import AlertDescription, ContentType
from tlslens.wire.messages import Certificate, ClientHello

PATTERN = bytes(range(256)) * 1200  # 300 KiB, not one repeated byte


def handshake_pair(
    pair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
    **server_kw: object,
) -> tuple[TLSSocket, TLSSocket]:
    a, b = pair
    server = Background(lambda: serve_connection(b, server_config, **server_kw))  # type: ignore[arg-type]
    client = wrap_socket(a, client_config, server_name="localhost")
    return client, server.result()


def loopback_pair(
    listener: socket.socket, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> tuple[TLSSocket, TLSSocket]:
    """A client and a server TLSSocket over real TCP on 127.0.0.1."""
    tls_listener = wrap_server_socket(listener, server_config)
    accepted = Background(tls_listener.accept)
    client = connect("127.0.0.1", listener.getsockname()[1], client_config, "localhost", timeout=TIMEOUT)
    server, _address = accepted.result()
    server.settimeout(TIMEOUT)
    return client, server


def test_handshake_over_socketpair_reports_the_negotiation(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
    pki: ThrowawayPki,
) -> None:
    client, server = handshake_pair(socketpair, client_config, server_config)
    with client, server:
        assert isinstance(client.handshake, HandshakeCompleted)
        assert isinstance(server.handshake, HandshakeCompleted)
        assert client.version == server.version == "TLSv1.3"
        assert client.cipher == server.cipher
        assert client.cipher is not None and client.cipher.startswith("TLS_")
        assert client.alpn_protocol == server.alpn_protocol == "http/1.1"
        assert client.peer_certificates == tuple(pki.chain)
        assert server.peer_certificates == ()
        assert client.server_name == server.server_name == "localhost"
        assert "client TLSv1.3" in repr(client) and "server TLSv1.3" in repr(server)
        assert client.fileno() == socketpair[0].fileno()


def test_application_data_flows_both_ways_while_one_thread_reads_and_another_writes(
    listener: socket.socket, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    client, server = loopback_pair(listener, client_config, server_config)

    def echo() -> int:
        total = 0
        while data := server.recv(65536):
            server.sendall(data)
            total += len(data)
        server.close()
        return total

    echoed = Background(echo)
    with client:
        writer = Background(lambda: client.sendall(PATTERN))  # a second thread on the same TLSSocket
        assert recv_exactly(client.recv, len(PATTERN)) == PATTERN
        writer.result()
        client.sendall(b"one more")
        assert recv_exactly(client.recv, 8) == b"one more"
        client.shutdown(socket.SHUT_WR)
        assert client.recv(10) == b""
        assert client.closed_cleanly is True
    assert echoed.result() == len(PATTERN) + 8


def test_connect_is_the_public_tlslens_connect_and_accepts_an_ip_address(
    listener: socket.socket, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    assert tlslens.connect is connect
    tls_listener = wrap_server_socket(listener, server_config, handshake_timeout=TIMEOUT)
    accepted = Background(tls_listener.accept)
    port = listener.getsockname()[1]
    with tlslens.connect("127.0.0.1", port, client_config, timeout=TIMEOUT) as client:  # name = the IP
        server, address = accepted.result()
        with server:
            assert address == client.getsockname()
            assert server.getpeername() == client.getsockname()
            assert server.gettimeout() is None  # back to blocking after the handshake
            assert client.gettimeout() == TIMEOUT
            client.sendall(b"ping")
            server.settimeout(TIMEOUT)
            assert server.recv(4) == b"ping"


def test_close_sends_close_notify_and_the_peer_reads_a_clean_end(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    client, server = handshake_pair(socketpair, client_config, server_config)
    client.sendall(b"last words")
    closing = Background(client.close)  # waits (briefly) for the server's EOF while draining
    assert recv_all(server.recv) == b"last words"
    assert server.closed_cleanly is True
    server.close()
    closing.result()
    with pytest.raises(OSError):
        client.recv(1)


def test_half_close_lets_the_peer_answer_after_our_close_notify(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    client, server = handshake_pair(socketpair, client_config, server_config)
    with client, server:
        client.sendall(b"question")
        client.shutdown(socket.SHUT_WR)
        assert recv_all(server.recv) == b"question"
        assert server.closed_cleanly is True
        server.sendall(b"answer after your close_notify")
        server.close()
        assert recv_all(client.recv) == b"answer after your close_notify"
        assert client.closed_cleanly is True


def test_eof_without_close_notify_reads_as_end_but_not_clean(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    client, server = handshake_pair(socketpair, client_config, server_config)
    with client, server:
        client.sendall(b"cut")
        client.socket.shutdown(socket.SHUT_WR)  # truncation: the stream ends without close_notify
        assert recv_all(server.recv) == b"cut"
        assert server.closed_cleanly is False


def test_close_with_unread_peer_data_still_delivers_everything_and_close_notify(
    listener: socket.socket, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    # Closing a TCP socket with unread input makes the kernel send a reset and throw away what it had
    # not transmitted yet: here the end of a large reply and the close_notify behind it. The face shuts
    # down its write side and drains the peer's bytes instead, so the client reads everything.
    client, server = loopback_pair(listener, client_config, server_config)
    big = PATTERN * 8  # 2.4 MB: more than the socket buffers hold, so the tail is still queued at close
    with client:
        client.sendall(b"never read" * 10_000)  # sits unread in the server's receive buffer

        def reply_and_close() -> None:
            server.sendall(big)
            server.close()

        closing = Background(reply_and_close)
        time.sleep(0.3)  # let the server fill the buffers and reach close() with data still queued
        assert recv_all(client.recv) == big
        assert client.closed_cleanly is True
    closing.result()


def test_makefile_supports_http_client(
    listener: socket.socket, client_config: tlslens.ClientConfig, server_config: tlslens.ServerConfig
) -> None:
    client, server = loopback_pair(listener, client_config, server_config)
    body = b"hello over tlslens\n" * 1000

    def serve() -> bytes:
        with server:
            request = server.makefile("rb")
            head = b""
            while (line := request.readline()) not in (b"\r\n", b""):
                head += line
            request.close()
            server.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )
            return head

    served = Background(serve)
    conn = http.client.HTTPConnection("localhost", timeout=TIMEOUT)
    conn.sock = client
    conn.request("GET", "/page", headers={"Host": "localhost"})
    response = conn.getresponse()
    conn.close()  # the socket stays usable until the response's file is closed, as with plain sockets
    assert response.status == 200
    assert response.read() == body
    response.close()
    assert served.result().startswith(b"GET /page HTTP/1.1\r\n")
    with pytest.raises(OSError):
        client.sendall(b"closed now")


def test_makefile_text_mode_reads_and_writes_lines(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    client, server = handshake_pair(socketpair, client_config, server_config)
    with client, server:
        to_server = client.makefile("w", encoding="utf-8")
        from_client = server.makefile("r", encoding="utf-8", newline="\n")
        to_server.write("première ligne\nsecond line\n")
        to_server.flush()
        assert from_client.readline() == "première ligne\n"
        assert from_client.readline() == "second line\n"
        both = server.makefile("rwb", buffering=0)
        both.write(b"raw")
        assert client.recv(3) == b"raw"
        for f in (to_server, from_client, both):
            f.close()
        with pytest.raises(ValueError):
            client.makefile("x")
        with pytest.raises(ValueError):
            client.makefile("r", buffering=0)


def test_update_keys_in_both_directions_keeps_data_flowing(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    seen: list[Event] = []
    client, server = handshake_pair(socketpair, client_config, server_config, on_event=seen.append)
    with client, server:
        client.update_keys(request_peer=True)
        client.sendall(b"after client update")
        assert server.recv(100) == b"after client update"
        assert KeyUpdated("receive", True) in seen
        server.update_keys()
        server.sendall(b"after server update")
        assert recv_exactly(client.recv, 19) == b"after server update"  # the answer came first
        client.sendall(b"still fine")
        assert server.recv(100) == b"still fine"


def test_untrusted_certificate_raises_and_the_server_receives_the_alert(
    socketpair: tuple[socket.socket, socket.socket],
    untrusting_client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    a, b = socketpair
    server = Background(lambda: serve_connection(b, server_config))
    with pytest.raises(CertificateError) as client_error:
        wrap_socket(a, untrusting_client_config, server_name="localhost")
    server_error = server.error()
    assert isinstance(server_error, FatalAlert)
    assert server_error.description == client_error.value.alert
    assert a.fileno() == -1  # the client closed its socket after the alert


def test_server_side_failure_sends_its_alert_to_the_client(
    listener: socket.socket, pki: ThrowawayPki, client_config: tlslens.ClientConfig
) -> None:
    h2_only = tlslens.ServerConfig(
        certificate_chain=pki.chain, private_key=pki.leaf.private_key, alpn_protocols=["h2"]
    )
    tls_listener = wrap_server_socket(listener, h2_only)
    accepted = Background(tls_listener.accept)
    with pytest.raises(FatalAlert) as client_error:
        connect("127.0.0.1", listener.getsockname()[1], client_config, "localhost", timeout=TIMEOUT)
    assert client_error.value.description == AlertDescription.NO_APPLICATION_PROTOCOL
    assert isinstance(accepted.error(), NoApplicationProtocol)


def test_eof_before_the_handshake_completes_is_a_clear_error(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    a, b = socketpair
    b.close()
    with pytest.raises(UnexpectedEOF, match="before the handshake completed") as error:
        wrap_socket(a, client_config, server_name="localhost")
    assert isinstance(error.value, ConnectionError)
    assert isinstance(error.value, tlslens.TLSError)


def test_server_sees_a_client_that_hangs_up_during_the_handshake(
    listener: socket.socket, server_config: tlslens.ServerConfig
) -> None:
    accepted = Background(wrap_server_socket(listener, server_config).accept)
    socket.create_connection(listener.getsockname(), timeout=TIMEOUT).close()
    assert isinstance(accepted.error(), UnexpectedEOF)


def test_a_silent_server_makes_connect_time_out(
    listener: socket.socket, client_config: tlslens.ClientConfig
) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        connect("127.0.0.1", listener.getsockname()[1], client_config, "localhost", timeout=0.3)
    assert time.monotonic() - started < 3


def test_a_silent_client_makes_accept_time_out(
    listener: socket.socket, server_config: tlslens.ServerConfig
) -> None:
    tls_listener = wrap_server_socket(listener, server_config, handshake_timeout=0.3)
    with socket.create_connection(listener.getsockname(), timeout=TIMEOUT), pytest.raises(TimeoutError):
        tls_listener.accept()


def test_wrap_socket_checks_the_role_against_the_config(
    socketpair: tuple[socket.socket, socket.socket],
    client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    a, _ = socketpair
    with pytest.raises(TypeError):
        wrap_socket(a, client_config, server_side=True)
    with pytest.raises(TypeError):
        wrap_socket(a, server_config, server_name="localhost")
    lazy = wrap_socket(a, client_config, server_name="localhost", do_handshake=False)
    assert lazy.handshake is None and lazy.version is None and lazy.peer_certificates == ()
    with pytest.raises(LocalProtocolError):
        lazy.sendall(b"too early")


def test_events_reach_the_hook_and_a_failed_socket_refuses_more_work(
    socketpair: tuple[socket.socket, socket.socket],
    untrusting_client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    a, b = socketpair
    seen: list[Event] = []
    server = Background(lambda: serve_connection(b, server_config, on_event=seen.append))
    tls = wrap_socket(a, untrusting_client_config, server_name="localhost", do_handshake=False)
    with pytest.raises(CertificateError):
        tls.do_handshake()
    error = server.error()
    assert isinstance(error, FatalAlert)
    with pytest.raises(LocalProtocolError, match="already failed"):
        tls.recv(1)
    assert not any(isinstance(e, ConnectionClosed) for e in seen)
    # The alert that ended the server's handshake reached its hook before accept() raised.
    assert isinstance(seen[-1], AlertReceived) and seen[-1].description == error.description


def test_a_traced_failure_reaches_the_hook_in_wire_order_before_the_error(
    socketpair: tuple[socket.socket, socket.socket],
    untrusting_client_config: tlslens.ClientConfig,
    server_config: tlslens.ServerConfig,
) -> None:
    a, b = socketpair
    Background(lambda: serve_connection(b, server_config))
    seen: list[Event] = []
    with pytest.raises(CertificateError):
        wrap_socket(a, untrusting_client_config, server_name="localhost", trace=True, on_event=seen.append)
    received = [type(e.message) for e in seen if isinstance(e, MessageReceived)]
    assert Certificate in received  # the chain that failed, then the alert we sent about it
    assert isinstance(seen[-1], RecordSent) and seen[-1].content_type == ContentType.ALERT


def test_what_we_send_is_traced_when_it_is_sent_not_when_the_peer_answers(
    socketpair: tuple[socket.socket, socket.socket], client_config: tlslens.ClientConfig
) -> None:
    a, _silent = socketpair
    a.settimeout(0.3)
    seen: list[Event] = []
    with pytest.raises(TimeoutError):
        wrap_socket(a, client_config, server_name="localhost", trace=True, on_event=seen.append)
    assert isinstance(seen[0], MessageSent) and isinstance(seen[0].message, ClientHello)


def test_drain_is_bounded_in_time(socketpair: tuple[socket.socket, socket.socket]) -> None:
    a, b = socketpair
    stop = threading.Event()

    def chatter() -> None:  # a peer that never stops sending and never closes
        while not stop.is_set():
            try:
                b.send(b"x" * 1024)
            except OSError:
                return

    talker = threading.Thread(target=chatter, daemon=True)
    talker.start()
    started = time.monotonic()
    blocking.shutdown_and_drain(a, timeout=0.3)
    assert time.monotonic() - started < 2
    assert a.fileno() == -1
    stop.set()
    talker.join(TIMEOUT)
