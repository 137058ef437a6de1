"""``TLSTransport``: the asyncio transport the application protocol is given: it writes plaintext
and gets plaintext, while ``TLSProtocol`` (in ``aio_protocol``) turns it into TLS records on the raw
transport underneath.

``write_eof()`` sends close_notify (a TLS 1.3 half-close) and shuts down the write side; ``close()``
does the same and then drains what the peer still sends for a moment before closing the socket, so
that the close_notify (or a fatal alert) is not lost to a TCP reset. Writes after ``close()`` are
dropped, as asyncio's own transports do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlslens.adapters.aio_protocol import TLSProtocol
    from tlslens.events import ClientCertificateRefused, ClientCertificateVerified

logger = logging.getLogger("tlslens.aio")
"""Where the asyncio face reports: failed handshakes of a server, writes to a closed connection."""

__all__ = ["TLSTransport"]


class TLSTransport(asyncio.Transport):
    """What the application protocol writes to and reads from: plaintext in, TLS records out."""

    def __init__(self, tls: TLSProtocol) -> None:
        super().__init__()
        self._tls = tls
        self._closing = False
        self._eof_written = False
        self._lost_writes = 0

    # --- writing ----------------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        if self._eof_written:
            raise RuntimeError("cannot write after write_eof()")
        if self._closing or self._tls.failed:
            self._lost_writes += 1
            if self._lost_writes == 5:
                logger.warning("writes to a closed TLS connection are dropped")
            return
        self._tls.send_application_data(data)

    def write_eof(self) -> None:
        """Send close_notify and shut down the TCP write side; reading goes on until the peer closes."""
        if self._eof_written or self._closing:
            return
        self._eof_written = True
        self._tls.send_close_notify(shutdown=True)

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return self._tls.raw_transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._tls.raw_transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._tls.raw_transport.set_write_buffer_limits(high, low)

    def update_keys(self, request_peer: bool = False) -> None:
        """Send KeyUpdate (RFC 8446 §4.6.3); with ``request_peer`` the peer updates its keys too."""
        self._tls.update_keys(request_peer)

    def request_client_certificate(
        self,
    ) -> asyncio.Future[ClientCertificateVerified | ClientCertificateRefused]:
        """Server: ask the client for a certificate (RFC 8446 §4.6.2); the future gets its answer."""
        return self._tls.request_client_certificate()

    # --- reading ----------------------------------------------------------------------------------

    def pause_reading(self) -> None:
        self._tls.pause_app_reading()

    def resume_reading(self) -> None:
        self._tls.resume_app_reading()

    def is_reading(self) -> bool:
        return self._tls.app_reading

    # --- the rest ---------------------------------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._tls.extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls.app_protocol = protocol  # type: ignore[assignment]

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls.app_protocol

    def is_closing(self) -> bool:
        return self._closing or self._tls.closing

    def close(self) -> None:
        """Send close_notify, shut down our side, drain briefly, then close the connection."""
        if self._closing:
            return
        self._closing = True
        self._tls.close_from_app()

    def abort(self) -> None:
        """Close at once, without close_notify (the peer sees a truncated connection)."""
        self._closing = True
        self._tls.abort()
