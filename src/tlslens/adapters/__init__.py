"""The I/O faces of the engine: ``blocking`` (sockets) and ``aio`` (asyncio).

They move bytes between a transport and a ``ClientConnection`` / ``ServerConnection`` and turn the
engine's events into the calls their world expects; every protocol decision stays in the engine.
"""

from __future__ import annotations

from tlslens.adapters._common import UnexpectedEOF

__all__ = ["UnexpectedEOF"]
