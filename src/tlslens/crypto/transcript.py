"""The running handshake transcript hash (RFC 8446 §4.4.1).

A client sends ClientHello before it knows the suite (and so the hash); ``Transcript`` buffers the
messages until ``select(hash)`` and from then on hashes incrementally. ``digest()`` works on a copy, so
the transcript can be read at every point the key schedule needs it.

After a HelloRetryRequest, ClientHello1 is replaced by the synthetic message_hash message::

    transcript.update(client_hello1)
    transcript.select(suite.hash)               # the HRR names the suite
    transcript.replace_with_message_hash()      # 0xfe 00 00 Hash.length || Hash(ClientHello1)
    transcript.update(hello_retry_request)

``update()`` is called once per whole handshake message (type || uint24 length || body).

The running hash is the standard library's ``hashlib`` (OpenSSL's SHA-2 as well): a transcript is
copied and finalised at every point the key schedule reads it, and a ``hashlib`` object does that in
about a third of the time a ``cryptography`` ``Hash`` takes. The algorithm stays a ``cryptography``
``HashAlgorithm``, the type the rest of the key schedule speaks.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives import hashes

from tlslens.errors import LocalProtocolError
from tlslens.wire.enums import HandshakeType


class Transcript:
    __slots__ = ("_algorithm", "_buffer", "_hash", "_messages", "_replaced")

    def __init__(self, algorithm: hashes.HashAlgorithm | None = None) -> None:
        self._algorithm: hashes.HashAlgorithm | None = None
        self._hash: Any = None  # a hashlib object once the algorithm is known
        self._buffer: list[bytes] = []
        self._messages = 0
        self._replaced = False
        if algorithm is not None:
            self.select(algorithm)

    def __repr__(self) -> str:
        name = self._algorithm.name if self._algorithm else "hash not selected"
        return f"<Transcript {name}, {self._messages} messages>"

    @property
    def algorithm(self) -> hashes.HashAlgorithm | None:
        return self._algorithm

    def update(self, message: bytes) -> None:
        """Append one handshake message exactly as sent or received."""
        self._messages += 1
        if self._hash is None:
            self._buffer.append(bytes(message))
        else:
            self._hash.update(message)

    def select(self, algorithm: hashes.HashAlgorithm) -> None:
        """Fix the hash (the negotiated suite's) and hash what was buffered. Selecting again is a no-op
        for the same hash and a ``LocalProtocolError`` for another one."""
        if self._algorithm is not None:
            if self._algorithm.name != algorithm.name:
                raise LocalProtocolError(f"transcript hash is already {self._algorithm.name}")
            return
        self._algorithm = algorithm
        self._hash = _running_hash(algorithm)
        for message in self._buffer:
            self._hash.update(message)
        self._buffer.clear()

    def _selected(self) -> Any:
        if self._hash is None:
            raise LocalProtocolError("transcript hash not selected yet")
        return self._hash

    def digest(self) -> bytes:
        """Transcript-Hash of the messages so far; the transcript is left as it was."""
        return self._selected().copy().digest()  # type: ignore[no-any-return]

    def digest_with(self, partial: bytes) -> bytes:
        """Transcript-Hash of the messages so far followed by ``partial``, without keeping it.

        For PSK binders: the partial ClientHello up to (not including) the binders list.
        """
        h = self._selected().copy()
        h.update(partial)
        return h.digest()  # type: ignore[no-any-return]

    def copy(self) -> Transcript:
        """An independent transcript with the same messages (a post-handshake exchange builds on the
        handshake's transcript without changing it, RFC 8446 §4.4)."""
        other = Transcript()
        other._algorithm, other._messages, other._replaced = self._algorithm, self._messages, self._replaced
        other._hash = self._hash.copy() if self._hash is not None else None
        other._buffer = list(self._buffer)
        return other

    def replace_with_message_hash(self) -> None:
        """Replace ClientHello1 by message_hash (RFC 8446 §4.4.1); call before adding the HRR."""
        if self._messages != 1:
            raise LocalProtocolError(
                f"message_hash replaces ClientHello1 alone, transcript holds {self._messages} messages"
            )
        if self._replaced:
            raise LocalProtocolError("ClientHello1 was already replaced (one HelloRetryRequest at most)")
        client_hello1_hash = self.digest()
        assert self._algorithm is not None  # (digest() needs it)
        self._hash = _running_hash(self._algorithm)
        self._hash.update(message_hash(client_hello1_hash))
        self._replaced = True

    @classmethod
    def from_client_hello1_hash(
        cls, algorithm: hashes.HashAlgorithm, client_hello1_hash: bytes
    ) -> Transcript:
        """Start from message_hash alone: a server that kept only Hash(ClientHello1), e.g. in a cookie."""
        transcript = cls(algorithm)
        transcript.update(message_hash(client_hello1_hash))
        transcript._replaced = True
        return transcript


_CONSTRUCTORS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def _running_hash(algorithm: hashes.HashAlgorithm) -> Any:
    constructor = _CONSTRUCTORS.get(algorithm.name)
    return constructor() if constructor is not None else hashlib.new(algorithm.name)


def message_hash(client_hello1_hash: bytes) -> bytes:
    """The synthetic handshake message: 0xfe 00 00 Hash.length || Hash(ClientHello1) (RFC 8446 §4.4.1)."""
    return bytes((HandshakeType.MESSAGE_HASH, 0, 0, len(client_hello1_hash))) + client_hello1_hash
