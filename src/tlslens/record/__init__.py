"""The record layer: deframing, record protection (AEAD), handshake-message reassembly, size limits.

``deframer``: ``Deframer`` (stream -> ``Record``), ``encode_plaintext`` (data -> unprotected records).
``protection``: ``RecordSealer`` / ``RecordOpener``, one per traffic key (RFC 8446 §5.2-§5.5).
``reassembly``: ``HandshakeReassembler`` (handshake records -> whole handshake messages).
"""

from __future__ import annotations

from tlslens.record.deframer import (
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    MAX_PLAINTEXT,
    Deframer,
    Record,
    encode_plaintext,
)
from tlslens.record.protection import MAX_CONSECUTIVE_EMPTY_RECORDS, RecordOpener, RecordSealer
from tlslens.record.reassembly import HandshakeReassembler

__all__ = [
    "MAX_CIPHERTEXT",
    "MAX_CONSECUTIVE_EMPTY_RECORDS",
    "MAX_INNER_PLAINTEXT",
    "MAX_PLAINTEXT",
    "Deframer",
    "HandshakeReassembler",
    "Record",
    "RecordOpener",
    "RecordSealer",
    "encode_plaintext",
]
