"""tlslens: a TLS 1.3 stack you can see through.

A sans-I/O engine (bytes in, events out), socket and asyncio faces, and tools that explain a handshake.
"""

from __future__ import annotations

__version__ = "0.1.0"
