"""tlslens.aio: TLS for asyncio streams, on the tlslens engine.

    reader, writer = await tlslens.aio.open_connection(host, port, config=tlslens.ClientConfig())
    server = await tlslens.aio.start_server(handle, host, port, config=server_config)
    reader, writer = await tlslens.aio.start_tls(reader, writer, config=config)  # after STARTTLS

Both give real ``asyncio.StreamReader`` / ``StreamWriter`` pairs; ``writer.get_extra_info("tlslens")``
is the ``HandshakeCompleted`` event. The implementation lives in ``tlslens.adapters.aio`` (with
``aio_protocol`` and ``aio_transport`` beside it).
"""

from __future__ import annotations

from tlslens.adapters.aio import (
    TLSProtocol,
    TLSTransport,
    UnexpectedEOF,
    open_connection,
    request_client_certificate,
    start_server,
    start_tls,
    update_keys,
)

__all__ = [
    "TLSProtocol",
    "TLSTransport",
    "UnexpectedEOF",
    "open_connection",
    "request_client_certificate",
    "start_server",
    "start_tls",
    "update_keys",
]
