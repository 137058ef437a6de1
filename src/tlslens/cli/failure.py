"""Why a connection failed, in one line: ``SessionFailed`` and the wording of each TLS and network error.

The commands run their connections on ``tlslens.aio`` like any user; what they print when one fails is
decided here, so that ``client``, ``server``, ``certs`` and ``demo`` word a failure the same way.
"""

from __future__ import annotations

import errno
import os

from tlslens.errors import CertificateError, FatalAlert, LocalProtocolError, RemoteProtocolError, TLSError
from tlslens.wire.enums import AlertDescription

READ_SIZE = 65536
"""Bytes asked of a stream at a time."""

_ALERT_HINTS = {
    AlertDescription.HANDSHAKE_FAILURE: "usually no cipher suite, group or signature scheme in common",
    AlertDescription.PROTOCOL_VERSION: "the peer does not accept TLS 1.3",
    AlertDescription.INSUFFICIENT_SECURITY: "the peer wants stronger parameters than we offered",
    AlertDescription.NO_APPLICATION_PROTOCOL: "no ALPN protocol in common",
    AlertDescription.UNRECOGNIZED_NAME: "the server has no certificate for that name",
    AlertDescription.CERTIFICATE_REQUIRED: "the server requires a client certificate (--cert/--key)",
    AlertDescription.BAD_CERTIFICATE: "the peer refused our certificate",
    AlertDescription.UNKNOWN_CA: "the peer does not trust the CA of our certificate",
    AlertDescription.CERTIFICATE_EXPIRED: "the peer says our certificate has expired",
    AlertDescription.DECRYPT_ERROR: "a signature or Finished did not verify",
    AlertDescription.ILLEGAL_PARAMETER: "the peer found a field it cannot accept",
}


class SessionFailed(Exception):
    """A connection failed. ``str(exc)`` is the one-line reason; ``details`` more lines (findings)."""

    def __init__(self, reason: str, details: tuple[str, ...] = (), *, connected: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details
        self.connected = connected  # False: not even a TCP connection to the target (or its proxy)


def plain(exc: BaseException) -> str:
    """An error's message without the ``tls:`` prefix."""
    return str(exc).removeprefix("tls: ")


def describe_tls_error(exc: TLSError, peer: str) -> SessionFailed:
    """The reason a TLS error ended a connection, in one line naming what happened."""
    if isinstance(exc, FatalAlert):
        name = exc.description.name.lower()
        hint = _ALERT_HINTS.get(exc.description)
        more = f": {hint}" if hint else ""
        return SessionFailed(f"alert received: the {peer} sent {name} ({int(exc.description)}){more}")
    if isinstance(exc, CertificateError):
        reason = f"certificate problem: {plain(exc)}"
        details = []
        for f in exc.findings:
            code, message, fix = (getattr(f, a, None) for a in ("code", "message", "fix"))
            if code and message and str(message).lower() not in reason.lower():
                details.append(f"  {code}: {message}")
            if fix:
                details.append(f"  fix: {fix}")
        return SessionFailed(reason, tuple(details))
    if isinstance(exc, RemoteProtocolError):
        return SessionFailed(f"{plain(exc)} (sent alert {exc.alert.name.lower()})")
    return SessionFailed(plain(exc))


def describe_os_error(exc: OSError, peer: str, address: str) -> SessionFailed:
    """A network error after the TCP connection was made."""
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return SessionFailed(f"the {peer} reset the connection ({exc.strerror or exc})")
    return SessionFailed(f"connection to {address} lost: {exc.strerror or exc}")


def connect_error_text(exc: OSError) -> str:
    """Why a TCP connection could not be made, in lowercase words (``connection refused``), not
    asyncio's "Connect call failed (...)"."""
    refused = isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED
    if refused or (exc.errno is None and f"[Errno {errno.ECONNREFUSED}]" in str(exc)):
        return "connection refused"
    text = os.strerror(exc.errno) if exc.errno and not exc.strerror else (exc.strerror or str(exc))
    if text.startswith("Connect call failed") and exc.errno:
        text = os.strerror(exc.errno)
    return text[:1].lower() + text[1:]


def face_closes(exc: BaseException) -> bool:
    """After ``tlslens.aio.start_tls`` raised ``exc``, does the face close the connection itself? It
    does when the handshake failed (politely: our alert out, then a short drain, so that no TCP reset
    destroys it) or timed out; otherwise (the engine refused to start) the plain pair is still ours."""
    return isinstance(exc, TLSError | TimeoutError) and not isinstance(exc, LocalProtocolError)
