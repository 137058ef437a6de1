"""What the client and server state machines share: the Output seam, message checks, limits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from cryptography import x509

from tlslens.crypto.suites import Tls13Suite
from tlslens.errors import (
    BadCertificate,
    DecodeError,
    IllegalParameter,
    UnexpectedMessage,
    UnsupportedExtension,
)
from tlslens.events import Event
from tlslens.wire.enums import ExtensionType, HandshakeType
from tlslens.wire.messages import Certificate, HandshakeMessage

# Limits on what a peer controls.
MAX_CERTIFICATE_CHAIN_LENGTH = 10
MAX_CERTIFICATE_SIZE = 64 * 1024
MAX_KEY_SHARES = 16
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

M = TypeVar("M", bound=HandshakeMessage)


class Output(Protocol):
    """The route by which a state machine acts on its connection (it never touches bytes itself)."""

    @property
    def tracing(self) -> bool: ...

    def send(self, message: HandshakeMessage) -> bytes:
        """Queue a handshake message under the current write key; returns its encoding."""
        ...

    def send_change_cipher_spec(self) -> None: ...

    def set_read_key(self, suite: Tls13Suite, secret: bytes, label: str | None) -> None: ...

    def set_write_key(self, suite: Tls13Suite, secret: bytes, label: str | None) -> None: ...

    def drop_write_key(self) -> None:
        """Back to plaintext records (a client whose 0-RTT was cut short by a HelloRetryRequest)."""
        ...

    def update_read_key(self) -> None: ...

    def update_write_key(self) -> None: ...

    def set_peer_record_size_limit(self, limit: int) -> None: ...

    def set_own_record_size_limit(self, limit: int) -> None:
        """The peer agreed to our record_size_limit: enforce it on what we read from now on."""
        ...

    def keylog(self, label: str, secret: bytes) -> None: ...

    def emit(self, event: Event) -> None: ...

    def decide(self, topic: str, text: str) -> None:
        """A trace line saying why; callers build costly text only when ``tracing`` is true."""
        ...

    def set_client_random(self, client_random: bytes) -> None:
        """Keys the key log lines of this connection."""
        ...

    def peer_finished(self) -> None:
        """The peer's Finished was verified: change_cipher_spec is no longer tolerated."""
        ...

    def handshake_finished(self) -> None:
        """The handshake is complete: application data may flow."""
        ...

    def send_early_data(self, data: bytes | bytearray | memoryview) -> None:
        """Client: 0-RTT application data under the current (early) write key."""
        ...

    def accept_early_data(self, limit: int) -> None:
        """Server: application data may now arrive (as EarlyDataReceived), up to ``limit`` bytes."""
        ...

    def end_early_data(self) -> None:
        """Server: EndOfEarlyData arrived; application data before Finished is an error again."""
        ...

    def skip_early_data(self, limit: int) -> None:
        """Server: 0-RTT was refused; skip up to ``limit`` bytes of records we cannot decrypt."""
        ...

    def answer_key_update(self) -> None:
        """Send KeyUpdate(update_not_requested) and move to the next write key, unless closed."""
        ...


class State(Protocol):
    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State: ...


def expect(message: HandshakeMessage, cls: type[M], state: str) -> M:
    """The message must be of this type (else unexpected_message, naming both)."""
    if not isinstance(message, cls):
        raise UnexpectedMessage(f"expected {_name(cls.msg_type)} {state}, got {_name(message.msg_type)}")
    return message


def unexpected(message: HandshakeMessage, state: str) -> UnexpectedMessage:
    return UnexpectedMessage(f"unexpected {_name(message.msg_type)} {state}")


def _name(t: HandshakeType) -> str:
    return "".join(p.capitalize() for p in t.name.split("_")).replace(
        "Certificaterequest", "CertificateRequest"
    )


def parse_certificate_chain(
    message: Certificate, who: str, offered: frozenset[ExtensionType]
) -> tuple[x509.Certificate, ...]:
    """DER certificates of a Certificate message, leaf first, within our limits. Entry extensions must
    answer ones we ``offered`` (status_request, signed_certificate_timestamp; RFC 8446 §4.4.2)."""
    entries = message.certificate_list
    if not entries:
        raise DecodeError(f"{who} sent an empty Certificate message")
    if len(entries) > MAX_CERTIFICATE_CHAIN_LENGTH:
        raise BadCertificate(f"{who} sent {len(entries)} certificates (limit {MAX_CERTIFICATE_CHAIN_LENGTH})")
    chain = []
    for i, entry in enumerate(entries):
        check_allowed_extensions(
            [e.ext_type for e in entry.extensions],
            _CERTIFICATE_ENTRY_EXTENSIONS,
            "a CertificateEntry",
            offered=offered,
        )
        if len(entry.cert_data) > MAX_CERTIFICATE_SIZE:
            raise BadCertificate(f"{who} certificate {i} is {len(entry.cert_data)} bytes")
        try:
            chain.append(x509.load_der_x509_certificate(entry.cert_data))
        except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
            raise BadCertificate(f"{who} certificate {i} is not valid DER X.509: {exc}") from None
    return tuple(chain)


_CERTIFICATE_ENTRY_EXTENSIONS = frozenset(
    {ExtensionType.STATUS_REQUEST, ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP}
)


def check_allowed_extensions(
    present: Iterable[ExtensionType],
    allowed: frozenset[ExtensionType],
    where: str,
    *,
    offered: frozenset[ExtensionType] | None = None,
) -> None:
    """RFC 8446 §4.2: a known extension in the wrong message → illegal_parameter; one we did not offer
    (for responses) → unsupported_extension."""
    for ext_type in present:
        if offered is not None and ext_type not in offered:
            raise UnsupportedExtension(f"{where} carries {ext_type.name.lower()}, which we did not offer")
        if ext_type.known and ext_type not in allowed:
            raise IllegalParameter(f"{ext_type.name.lower()} is not allowed in {where}")
