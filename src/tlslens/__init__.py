"""tlslens: a TLS 1.3 stack you can see through.

A sans-I/O engine (``ClientConnection`` / ``ServerConnection``: bytes in, events out), a blocking face
(``tlslens.connect``), an asyncio face (``tlslens.aio``) and tools that explain a handshake.
"""

from __future__ import annotations

from typing import Any

from tlslens.config import CertifiedKey, ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import (
    CertificateError,
    ConfigurationError,
    FatalAlert,
    LocalProtocolError,
    RemoteProtocolError,
    TLSError,
)
from tlslens.events import (
    AlertReceived,
    ConnectionClosed,
    DataReceived,
    EarlyDataReceived,
    Event,
    HandshakeCompleted,
    KeyUpdated,
    SessionTicketReceived,
)
from tlslens.pki.diagnosis import verify_chain
from tlslens.pki.findings import ChainReport, Finding
from tlslens.pki.trust import TrustStore, load_pem_certificates, load_pem_private_key

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The faces load on first use, so the engine alone stays light to import.
    if name == "connect":
        from tlslens.adapters.blocking import connect

        return connect
    if name == "aio":
        import tlslens.aio

        return tlslens.aio
    raise AttributeError(f"module 'tlslens' has no attribute {name!r}")


__all__ = [
    "AlertReceived",
    "CertificateError",
    "CertifiedKey",
    "ChainReport",
    "ClientConfig",
    "ClientConnection",
    "ConfigurationError",
    "ConnectionClosed",
    "DataReceived",
    "EarlyDataReceived",
    "Event",
    "FatalAlert",
    "Finding",
    "HandshakeCompleted",
    "KeyUpdated",
    "LocalProtocolError",
    "RemoteProtocolError",
    "ServerConfig",
    "ServerConnection",
    "SessionTicketReceived",
    "TLSError",
    "TrustStore",
    "aio",
    "connect",
    "load_pem_certificates",
    "load_pem_private_key",
    "verify_chain",
]
