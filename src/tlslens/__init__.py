"""tlslens: a TLS 1.3 stack you can see through.

A sans-I/O engine (``ClientConnection`` / ``ServerConnection``: bytes in, events out), a blocking face
(``tlslens.connect``), an asyncio face (``tlslens.aio``) and tools that explain a handshake.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlslens import aio
    from tlslens.adapters.blocking import connect
    from tlslens.config import CertifiedKey, ClientConfig, ServerConfig
    from tlslens.connection import ClientConnection, ServerConnection
    from tlslens.credentials import ExternalPsk
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
        ClientCertificateRefused,
        ClientCertificateVerified,
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

# Everything loads on first use: ``import tlslens`` (and so the command line's start, where Ctrl-C must
# be answered with "interrupted", not a traceback) stays light.
_HOMES = {
    "CertifiedKey": "tlslens.config",
    "ClientConfig": "tlslens.config",
    "ServerConfig": "tlslens.config",
    "ExternalPsk": "tlslens.credentials",
    "ClientConnection": "tlslens.connection",
    "ServerConnection": "tlslens.connection",
    "CertificateError": "tlslens.errors",
    "ConfigurationError": "tlslens.errors",
    "FatalAlert": "tlslens.errors",
    "LocalProtocolError": "tlslens.errors",
    "RemoteProtocolError": "tlslens.errors",
    "TLSError": "tlslens.errors",
    "AlertReceived": "tlslens.events",
    "ClientCertificateRefused": "tlslens.events",
    "ClientCertificateVerified": "tlslens.events",
    "ConnectionClosed": "tlslens.events",
    "DataReceived": "tlslens.events",
    "EarlyDataReceived": "tlslens.events",
    "Event": "tlslens.events",
    "HandshakeCompleted": "tlslens.events",
    "KeyUpdated": "tlslens.events",
    "SessionTicketReceived": "tlslens.events",
    "verify_chain": "tlslens.pki.diagnosis",
    "ChainReport": "tlslens.pki.findings",
    "Finding": "tlslens.pki.findings",
    "TrustStore": "tlslens.pki.trust",
    "load_pem_certificates": "tlslens.pki.trust",
    "load_pem_private_key": "tlslens.pki.trust",
    "connect": "tlslens.adapters.blocking",
}


def __getattr__(name: str) -> Any:
    if name == "aio":
        return importlib.import_module("tlslens.aio")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tlslens' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AlertReceived",
    "CertificateError",
    "CertifiedKey",
    "ChainReport",
    "ClientCertificateRefused",
    "ClientCertificateVerified",
    "ClientConfig",
    "ClientConnection",
    "ConfigurationError",
    "ConnectionClosed",
    "DataReceived",
    "EarlyDataReceived",
    "Event",
    "ExternalPsk",
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
