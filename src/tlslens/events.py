"""Events: everything observable that happened on a connection, as plain frozen values.

``receive_data()`` returns a list of these. The first group is always produced; the trace group only
when the connection was created with ``trace=True`` (the trace renderer and the CLI consume them).
Don't subclass these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tlslens.wire.enums import (
    AlertDescription,
    AlertLevel,
    CipherSuite,
    ContentType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)

if TYPE_CHECKING:
    from cryptography import x509

    from tlslens.pki.ocsp import OcspOutcome
    from tlslens.wire.messages import HandshakeMessage
    from tlslens.wire.messages12 import ChangeCipherSpec


class Event:
    """Base class of every event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class HandshakeCompleted(Event):
    version: ProtocolVersion
    cipher_suite: CipherSuite
    group: NamedGroup | None  # None when no key exchange took place (a psk_ke resumption)
    signature_scheme: SignatureScheme | None  # None when resumed
    alpn_protocol: str | None
    server_name: str | None
    peer_certificates: tuple[x509.Certificate, ...] = field(repr=False)
    resumed: bool = False
    early_data_accepted: bool = False
    extended_master_secret: bool | None = None
    """TLS 1.2: whether the session uses the extended master secret (RFC 7627); a session without it
    is never resumed. None for TLS 1.3, whose key schedule needs no such extension."""
    ocsp: OcspOutcome | None = field(default=None, repr=False)
    """Client: what the OCSP response the server stapled says (``ocsp.status``: good, unknown, stale,
    invalid, or none when nothing was stapled; a revoked certificate never gets here), with its
    findings. None when we did not ask (``ClientConfig.ocsp_stapling``), on resumption, and on servers."""
    psk_identity: bytes | None = None
    """The external PSK that authenticated the handshake (RFC 8446 §2.2; no certificates then), by its
    identity; None otherwise (a resumption is ``resumed``)."""
    post_handshake_auth: bool = False
    """Server, TLS 1.3: the client offered post-handshake authentication (RFC 8446 §4.2.6), so
    ``request_client_certificate()`` may ask it for a certificate now."""


@dataclass(frozen=True, slots=True)
class ClientCertificateVerified(Event):
    """Server: the client answered ``request_client_certificate()`` (RFC 8446 §4.6.2) with a
    certificate the client verifier accepted, signed its CertificateVerify and Finished: from now on
    the connection is authenticated by ``certificates`` (leaf first). ``context`` is the one
    ``request_client_certificate()`` returned."""

    context: bytes
    certificates: tuple[x509.Certificate, ...] = field(repr=False)
    signature_scheme: SignatureScheme


@dataclass(frozen=True, slots=True)
class ClientCertificateRefused(Event):
    """Server: the answer to ``request_client_certificate()`` does not authenticate the client, and the
    connection goes on unauthenticated (RFC 8446 §4.4.2.4 lets the server decide; close it if you
    must). ``reason`` says why: the client sent no certificate, or the client verifier refused its chain
    (``error``, with the diagnosis; ``certificates`` is what it sent). The client still proved the
    messages were its own (its CertificateVerify and Finished checked out)."""

    context: bytes
    reason: str
    certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    error: Exception | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DataReceived(Event):
    data: bytes


@dataclass(frozen=True, slots=True)
class EarlyDataReceived(Event):
    """0-RTT application data: replayable, so only for idempotent requests."""

    data: bytes


@dataclass(frozen=True, slots=True)
class SessionTicketReceived(Event):
    """The server sent a ticket; ``session`` can resume a later connection."""

    session: object = field(repr=False)


@dataclass(frozen=True, slots=True)
class KeyUpdated(Event):
    """The peer sent KeyUpdate: its traffic key changed (``direction`` is "receive").

    ``update_requested``: the peer asked us to update too, which the engine has already answered. Our
    own updates (``update_keys()``, automatic ones before the AEAD limits, answers) are not events; with
    ``trace=True`` they appear as ``DecisionMade("key_update", ...)``."""

    direction: str
    update_requested: bool


@dataclass(frozen=True, slots=True)
class AlertReceived(Event):
    """An alert from the peer other than close_notify (which is ``ConnectionClosed``).

    user_canceled leaves the connection open. Every other alert, whatever its level, ends it
    (RFC 8446 §6.2): this event is then the last of the call, and ``receive_data`` raises
    ``FatalAlert`` with the events in ``exc.events``."""

    level: AlertLevel
    description: AlertDescription


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The peer closed its side: ``clean`` after close_notify, False on EOF without it."""

    clean: bool


# --- trace events (only with trace=True) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordReceived(Event):
    """One record from the peer; ``length`` is its fragment (what follows the 5-byte header)."""

    content_type: ContentType
    length: int
    protected: bool
    inner_type: ContentType | None = None


@dataclass(frozen=True, slots=True)
class RecordSent(Event):
    """Records we queued; ``length`` is the content they carry before protection: the handshake bytes
    of a flight, the application data handed to ``send_data``, the alert's 2 bytes, CCS's 1 (however many
    records that takes; protection adds a header, the content type and the AEAD tag to each)."""

    content_type: ContentType
    length: int
    protected: bool
    inner_type: ContentType | None = None


@dataclass(frozen=True, slots=True)
class MessageReceived(Event):
    """A handshake message, or in TLS 1.2 a ChangeCipherSpec (a record of its own, part of the handshake)."""

    message: HandshakeMessage | ChangeCipherSpec
    raw: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class MessageSent(Event):
    message: HandshakeMessage | ChangeCipherSpec
    raw: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SecretDerived(Event):
    """A traffic secret was installed. The secret itself is not carried; the keylog writes it."""

    label: str  # NSS key log label, e.g. CLIENT_HANDSHAKE_TRAFFIC_SECRET


@dataclass(frozen=True, slots=True)
class DecisionMade(Event):
    """Why the engine chose what it chose: ``topic`` (e.g. "cipher_suite") and a sentence."""

    topic: str
    text: str


__all__ = [
    "AlertReceived",
    "ClientCertificateRefused",
    "ClientCertificateVerified",
    "ConnectionClosed",
    "DataReceived",
    "DecisionMade",
    "EarlyDataReceived",
    "Event",
    "HandshakeCompleted",
    "KeyUpdated",
    "MessageReceived",
    "MessageSent",
    "RecordReceived",
    "RecordSent",
    "SecretDerived",
    "SessionTicketReceived",
]
