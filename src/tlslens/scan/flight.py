"""Reading a server's answer to a probe: records in, a ``ServerAnswer`` out, no keys needed.

Pure and incremental: ``FlightReader.feed(data)`` takes the bytes in any chunking and says when the
answer is complete, which is as early as possible:

- an alert (the server refused: protocol_version, handshake_failure, inappropriate_fallback, ...);
- a TLS 1.3 ServerHello or a HelloRetryRequest (everything after it is encrypted);
- a TLS 1.2-or-older ServerHelloDone (the plaintext flight is whole: Certificate, CertificateStatus,
  ServerKeyExchange, CertificateRequest), or a ChangeCipherSpec (an abbreviated handshake);
- application data, or anything that is not TLS at all (an HTTP server, an SSH banner).

Handshake messages after the ServerHello are kept raw (``messages``), for the codecs that read them.
Every length is bounded: a server cannot make a probe buffer more than ``MAX_FLIGHT`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tlslens.errors import RemoteProtocolError
from tlslens.record.deframer import Deframer
from tlslens.wire.alert import Alert
from tlslens.wire.enums import AlertDescription, AlertLevel, CipherSuite, HandshakeType, ProtocolVersion
from tlslens.wire.extensions import SupportedVersionsServerHello
from tlslens.wire.hello import ServerHello
from tlslens.wire.messages import decode_handshake

__all__ = ["MAX_FLIGHT", "AnswerKind", "FlightReader", "ServerAnswer"]

MAX_FLIGHT = 1 << 20
"""Bytes of one server flight we are willing to buffer (a long chain with OCSP fits many times)."""

MAX_MESSAGES = 32

AnswerKind = Literal[
    "hello",  # a ServerHello (TLS 1.3 or older)
    "hello_retry",  # a HelloRetryRequest
    "alert",  # an alert before any ServerHello
    "closed",  # EOF (or a reset) before any ServerHello
    "not_tls",  # bytes that are not TLS records
    "malformed",  # TLS records whose content could not be decoded
    "sslv2",  # an SSL 2.0 SERVER-HELLO
    "timeout",  # no complete answer in time
    "refused",  # the TCP connection could not be made
]

_HANDSHAKE, _ALERT, _CCS, _APPDATA = 22, 21, 20, 23
_SERVER_HELLO = HandshakeType.SERVER_HELLO
_SERVER_HELLO_DONE = HandshakeType.SERVER_HELLO_DONE


@dataclass(frozen=True, slots=True)
class ServerAnswer:
    """What a server said to one ClientHello, as far as it can be read without keys."""

    kind: AnswerKind
    server_hello: ServerHello | None = None
    messages: tuple[tuple[HandshakeType, bytes], ...] = field(default=(), repr=False)
    """Handshake messages after the ServerHello, each whole and raw (type, uint24 length, body)."""
    alert: AlertDescription | None = None
    """The alert that ended the answer (before or after the ServerHello), if any."""
    error: str | None = None
    sslv2_cipher_kinds: tuple[int, ...] = ()
    elapsed: float = 0.0

    @property
    def version(self) -> ProtocolVersion | None:
        """The version the server chose: supported_versions (TLS 1.3) or legacy_version."""
        sh = self.server_hello
        if sh is None:
            return None
        sv = sh.extension(SupportedVersionsServerHello)
        return sv.selected_version if sv is not None else sh.legacy_version

    @property
    def cipher_suite(self) -> CipherSuite | None:
        return None if self.server_hello is None else self.server_hello.cipher_suite

    @property
    def accepted(self) -> bool:
        """The server answered with a ServerHello or a HelloRetryRequest."""
        return self.kind in ("hello", "hello_retry")

    def message(self, msg_type: HandshakeType) -> bytes | None:
        """The first raw message of ``msg_type`` after the ServerHello, or None."""
        return next((raw for t, raw in self.messages if t == msg_type), None)

    def with_elapsed(self, seconds: float) -> ServerAnswer:
        return ServerAnswer(
            self.kind,
            self.server_hello,
            self.messages,
            self.alert,
            self.error,
            self.sslv2_cipher_kinds,
            seconds,
        )

    def describe(self) -> str:
        """A short phrase for reports: "ServerHello TLSv1.2 TLS_...", "alert handshake_failure"."""
        if self.kind in ("hello", "hello_retry"):
            what = "HelloRetryRequest" if self.kind == "hello_retry" else "ServerHello"
            version = self.version.label if self.version is not None else "?"
            suite = self.cipher_suite.name if self.cipher_suite is not None else "?"
            return f"{what} {version} {suite}"
        if self.kind == "alert" and self.alert is not None:
            return f"alert {self.alert.name.lower()}"
        return self.kind.replace("_", " ") + (f": {self.error}" if self.error else "")


class FlightReader:
    """Feed the server's bytes; ``feed`` returns True once the answer is complete."""

    def __init__(self) -> None:
        self._deframer = Deframer(max_plaintext_fragment=2**14 + 2048)
        self._started = False
        self._hs = bytearray()
        self._server_hello: ServerHello | None = None
        self._messages: list[tuple[HandshakeType, bytes]] = []
        self._alert: AlertDescription | None = None
        self._total = 0
        self._answer: ServerAnswer | None = None

    @property
    def answer(self) -> ServerAnswer | None:
        """The complete answer, once ``feed`` or ``eof`` returned it."""
        return self._answer

    def feed(self, data: bytes) -> bool:
        if self._answer is not None:
            return True
        if not data:
            self.eof()
            return True
        self._total += len(data)
        if not self._started:
            self._started = True
            if data[0] & 0x80 and data[0] not in (20, 21, 22, 23):
                self._answer = _sslv2_answer(data)
                return True
        try:
            for record in self._deframer.feed(data):
                if self._record(record.content_type, record.fragment):
                    return True
        except RemoteProtocolError as exc:
            kind: AnswerKind = "not_tls" if "does not speak TLS" in str(exc) else "malformed"
            if not self._messages and self._server_hello is None and kind == "malformed":
                kind = "not_tls"
            self._finish(kind, str(exc).removeprefix("tls: "))
            return True
        if self._total > MAX_FLIGHT:
            self._finish("malformed", f"the server sent more than {MAX_FLIGHT} bytes without finishing")
            return True
        return False

    def eof(self) -> ServerAnswer:
        """The connection ended: what was read so far is the answer."""
        if self._answer is None:
            self._finish("closed")
        assert self._answer is not None
        return self._answer

    def _finish(self, kind: AnswerKind, error: str | None = None) -> None:
        if self._server_hello is not None:
            sh = self._server_hello
            kind = "hello_retry" if sh.is_hello_retry_request else "hello"
            # An error after a complete ServerHello is kept as a note; an alert there says enough.
            error = f"after the ServerHello: {error}" if error is not None and self._alert is None else None
        self._answer = ServerAnswer(kind, self._server_hello, tuple(self._messages), self._alert, error)

    def _record(self, content_type: int, fragment: bytes) -> bool:
        if content_type == _ALERT:
            if len(fragment) >= 2:
                alert = Alert(AlertLevel(fragment[0]), AlertDescription(fragment[1]))
                if alert.level == AlertLevel.WARNING and alert.description != AlertDescription.CLOSE_NOTIFY:
                    return False  # e.g. unrecognized_name as a warning (RFC 6066 §3): the hello goes on
                self._alert = alert.description
                self._finish("alert")
            else:
                self._finish("malformed", f"an alert record of {len(fragment)} bytes")
            return True
        if content_type == _HANDSHAKE:
            self._hs += fragment
            return self._messages_ready()
        if content_type in (_CCS, _APPDATA):
            if self._server_hello is None:
                self._finish("malformed", "the server sent encrypted or CCS records before its ServerHello")
            else:
                self._finish("hello")
            return True
        return False

    def _messages_ready(self) -> bool:
        buf = self._hs
        while len(buf) >= 4:
            length = int.from_bytes(buf[1:4], "big")
            if length > MAX_FLIGHT:
                self._finish("malformed", f"a handshake message of {length} bytes")
                return True
            if len(buf) < 4 + length:
                return False
            raw = bytes(buf[: 4 + length])
            del buf[: 4 + length]
            msg_type = HandshakeType(raw[0])
            if self._server_hello is None:
                if msg_type != _SERVER_HELLO:
                    self._finish("malformed", f"the server sent {msg_type.name} before its ServerHello")
                    return True
                try:
                    msg = decode_handshake(raw, strict=False)
                except RemoteProtocolError as exc:
                    self._finish("malformed", f"ServerHello: {str(exc).removeprefix('tls: ')}")
                    return True
                assert isinstance(msg, ServerHello)
                self._server_hello = msg
                sv = msg.extension(SupportedVersionsServerHello)
                if msg.is_hello_retry_request or (sv is not None and sv.selected_version >= 0x0304):
                    self._finish("hello")
                    return True
                continue
            self._messages.append((msg_type, raw))
            if msg_type == _SERVER_HELLO_DONE or len(self._messages) >= MAX_MESSAGES:
                self._finish("hello")
                return True
        return False


def _sslv2_answer(data: bytes) -> ServerAnswer:
    """An SSL 2.0 record: two-byte header (high bit set), then SERVER-HELLO (type 4)::

    session_id_hit(1) certificate_type(1) server_version(2) certificate_length(2)
    cipher_specs_length(2) connection_id_length(2) certificate cipher_specs connection_id
    """
    if len(data) < 13 or data[2] != 4:
        return ServerAnswer("not_tls", error="an SSL 2.0 record that is not a SERVER-HELLO")
    cert_len = int.from_bytes(data[7:9], "big")
    specs_len = int.from_bytes(data[9:11], "big")
    start = 13 + cert_len
    specs = data[start : start + specs_len]
    if len(specs) != specs_len or specs_len % 3:
        return ServerAnswer("sslv2", error="a truncated SSL 2.0 SERVER-HELLO")
    kinds = tuple(int.from_bytes(specs[i : i + 3], "big") for i in range(0, specs_len, 3))
    return ServerAnswer("sslv2", sslv2_cipher_kinds=kinds)
