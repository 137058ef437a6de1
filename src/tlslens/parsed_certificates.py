"""Parsed certificates by their DER bytes: a bounded cache a config shares between its connections.

A peer that presents the same chain again (a pooled HTTP client meeting the same server, a server
meeting the same client certificate) sends the same DER; ``x509.load_der_x509_certificate`` is cheap,
but the first use of a parsed certificate's extensions and public key costs tens of microseconds, and
that work is kept inside the ``x509.Certificate`` object. Returning the object parsed earlier keeps it.

The key is the exact DER, and an ``x509.Certificate`` is immutable, so an entry can never answer for
other bytes. Bounded (least recently used out), thread-safe; ``ClientConfig(parsed_certificates=None)``
(or ``ServerConfig``) turns it off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from cryptography import x509

__all__ = ["ParsedCertificates"]


class ParsedCertificates:
    """DER -> ``x509.Certificate``, at most ``size`` of them (least recently used out)."""

    __slots__ = ("_entries", "_lock", "_size")

    def __init__(self, size: int = 256) -> None:
        if size < 1:
            raise ValueError("a ParsedCertificates cache holds at least one certificate")
        self._size = size
        self._entries: OrderedDict[bytes, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ParsedCertificates({len(self._entries)} of {self._size})"

    def load(self, der: bytes) -> x509.Certificate:
        """The certificate ``der`` encodes; raises what ``x509.load_der_x509_certificate`` raises."""
        with self._lock:
            cert = self._entries.get(der)
            if cert is not None:
                self._entries.move_to_end(der)
                return cert
        cert = x509.load_der_x509_certificate(der)  # (outside the lock: may raise, takes a while)
        with self._lock:
            self._entries[der] = cert
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return cert
