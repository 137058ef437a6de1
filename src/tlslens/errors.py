"""The error model: caller misuse vs peer faults, each peer fault named after the alert it sends.

``receive_data()`` raises only ``RemoteProtocolError`` subclasses and ``FatalAlert``; anything else
escaping it is a bug. When a ``RemoteProtocolError`` is raised, its alert has already been queued in
``data_to_send()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from tlslens.wire.enums import AlertDescription

if TYPE_CHECKING:
    from tlslens.events import Event


class TLSError(Exception):
    """Base of every tlslens error; not raised directly.

    ``events``: when ``receive_data()`` fails, what happened in that call before the failure (the trace
    of the records and messages that led to it, an ``AlertReceived``...), in order. Faces forward them
    to their event hooks before raising, so nothing a connection reported is lost with the error."""

    events: list[Event]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.events = []

    def __str__(self) -> str:
        return "tls: " + super().__str__()


class LocalProtocolError(TLSError):
    """Caller misuse or an illegal local state; never caused by peer bytes."""


class ConfigurationError(LocalProtocolError, ValueError):
    """A ClientConfig / ServerConfig that cannot work (bad names, mismatched key and certificate...)."""


class RemoteProtocolError(TLSError):
    """The peer violated the protocol. ``alert`` was queued in data_to_send() before raising."""

    alert: ClassVar[AlertDescription] = AlertDescription.INTERNAL_ERROR

    @property
    def description(self) -> AlertDescription:
        return type(self).alert


class UnexpectedMessage(RemoteProtocolError):
    alert = AlertDescription.UNEXPECTED_MESSAGE


class BadRecordMac(RemoteProtocolError):
    alert = AlertDescription.BAD_RECORD_MAC


class RecordOverflow(RemoteProtocolError):
    alert = AlertDescription.RECORD_OVERFLOW


class HandshakeFailure(RemoteProtocolError):
    alert = AlertDescription.HANDSHAKE_FAILURE


class IllegalParameter(RemoteProtocolError):
    alert = AlertDescription.ILLEGAL_PARAMETER


class DecodeError(RemoteProtocolError):
    alert = AlertDescription.DECODE_ERROR


class DecryptError(RemoteProtocolError):
    alert = AlertDescription.DECRYPT_ERROR


class ProtocolVersionMismatch(RemoteProtocolError):
    """No protocol version in common (alert protocol_version)."""

    alert = AlertDescription.PROTOCOL_VERSION


class InappropriateFallback(RemoteProtocolError):
    """TLS_FALLBACK_SCSV from a client that could have used a newer version we speak (RFC 7507)."""

    alert = AlertDescription.INAPPROPRIATE_FALLBACK


class InsufficientSecurity(RemoteProtocolError):
    alert = AlertDescription.INSUFFICIENT_SECURITY


class InternalError(RemoteProtocolError):
    alert = AlertDescription.INTERNAL_ERROR


class MissingExtension(RemoteProtocolError):
    alert = AlertDescription.MISSING_EXTENSION


class UnsupportedExtension(RemoteProtocolError):
    alert = AlertDescription.UNSUPPORTED_EXTENSION


class UnrecognizedName(RemoteProtocolError):
    alert = AlertDescription.UNRECOGNIZED_NAME


class NoApplicationProtocol(RemoteProtocolError):
    alert = AlertDescription.NO_APPLICATION_PROTOCOL


class CertificateRequired(RemoteProtocolError):
    alert = AlertDescription.CERTIFICATE_REQUIRED


class UnknownPskIdentity(RemoteProtocolError):
    """A PSK-only server knows none of the identities the client offered (RFC 8446 §6.2)."""

    alert = AlertDescription.UNKNOWN_PSK_IDENTITY


class CertificateError(RemoteProtocolError):
    """The peer's certificate chain was refused. ``findings`` carries the diagnosis when one was made.

    Subclasses pick the alert the RFC asks for; the message says in plain words what is wrong.
    """

    alert = AlertDescription.BAD_CERTIFICATE

    def __init__(self, message: str, *, findings: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.findings = findings


class BadCertificate(CertificateError):
    alert = AlertDescription.BAD_CERTIFICATE


class UnsupportedCertificate(CertificateError):
    alert = AlertDescription.UNSUPPORTED_CERTIFICATE


class CertificateExpired(CertificateError):
    alert = AlertDescription.CERTIFICATE_EXPIRED


class UnknownCA(CertificateError):
    alert = AlertDescription.UNKNOWN_CA


class FatalAlert(TLSError):
    """The peer sent a fatal alert, so the connection is over; ``description`` says which.

    (The event ``tlslens.events.AlertReceived`` reports alerts that do not end the connection.)
    """

    def __init__(self, description: AlertDescription, message: str | None = None) -> None:
        super().__init__(message or f"peer sent alert {description.name.lower()} ({int(description)})")
        self.description = description
