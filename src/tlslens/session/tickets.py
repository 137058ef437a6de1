"""Server-side stateless session tickets (RFC 8446 §4.6.1), sealed under rotating keys.

The server keeps no per-session state: what resumption needs travels inside the ticket, encrypted and
authenticated with AES-256-GCM under a ``TicketKey``::

    ticket = key_id (16) || nonce (12) || AES-256-GCM(key, nonce, TicketContents.encode(), aad=key_id)

Keys rotate (``TicketKeyRing``): the newest key seals; when it is ``rotation_interval`` old a new key
replaces it and the old one only opens tickets, for one more interval, then is forgotten. A key made at
``c`` therefore seals during ``[c, c + interval)`` and opens during ``[c, c + 2 * interval)``: every
ticket stays openable for at least ``rotation_interval`` seconds (``guaranteed_lifetime``), so a server
should advertise ``ticket_lifetime <= rotation_interval``.

``open`` never raises on what a client sent: garbage, tampered, foreign, retired or expired tickets give
``None``, and ``open_with_reason`` says why (a ``TicketRejection``) for the trace's decision line.

A fleet shares keys through a key file (format in ``tlslens.session.keyfile``):
``TicketKeyRing.from_file(path)`` reloads the file when it changes, and rotates *through* it under a
lock, so several processes on one host agree on every new key. Hosts that do not share a file system
must have the file distributed (``ring.export()`` / ``TicketKeyRing.from_export``) before the newest
key is ``rotation_interval`` old, or each host will rotate on its own and tickets will only resume on
the host that issued them (a full handshake elsewhere, never an error).

Nonces are random (96 bits); at one ticket per handshake a key seals far fewer than the 2^32 tickets
AES-GCM allows per key with random nonces.
"""

from __future__ import annotations

import enum
import math
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import ClassVar

from cryptography.exceptions import InvalidTag

from tlslens.crypto.provider import CryptoProvider, DefaultProvider
from tlslens.errors import ConfigurationError, DecodeError, LocalProtocolError
from tlslens.session.keyfile import (
    KEY_ID_LEN,
    TicketKey,
    dump_ticket_keys,
    exclusive_lock,
    file_signature,
    load_ticket_keys,
    read_key_file,
    write_key_file,
)
from tlslens.wire.enums import CipherSuite
from tlslens.wire.reader import Reader, Writer

__all__ = ["MAX_TICKET_LIFETIME", "TicketContents", "TicketKeyRing", "TicketRejection"]

MAX_TICKET_LIFETIME = 604800  # seven days, RFC 8446 §4.6.1
NONCE_LEN = 12
TAG_LEN = 16
_OVERHEAD = KEY_ID_LEN + NONCE_LEN + TAG_LEN
_FILE_CHECK_INTERVAL = 1.0  # seconds between stat() calls on a shared key file
_DOUBLE = struct.Struct(">d")
_HAS_SERVER_NAME, _HAS_ALPN, _HAS_CLIENT_CHAIN, _TLS12 = 0x01, 0x02, 0x04, 0x08


class TicketRejection(enum.StrEnum):
    """Why ``TicketKeyRing.open`` refused a ticket (the text goes into the trace)."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown ticket key"
    RETIRED_KEY = "ticket key retired"
    TAMPERED = "tampered"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class TicketContents:
    """What a ticket carries: everything the server needs to resume, nothing it must remember.

    ``psk`` is the resumption PSK (``key_schedule.resumption_psk``); ``created_at`` is the server's
    time when the ticket was issued (Unix seconds); ``client_certificates`` is the client's DER chain,
    leaf first, when it authenticated (None otherwise). The encoding starts with ``FORMAT_VERSION``.

    ``tls12``: a TLS 1.2 session ticket (RFC 5077), whose ``psk`` is the session's master secret (only
    sessions with the extended master secret get tickets). A TLS 1.3 handshake never resumes one, nor
    a TLS 1.2 handshake a TLS 1.3 ticket.
    """

    FORMAT_VERSION: ClassVar[int] = 1

    suite: CipherSuite
    psk: bytes = field(repr=False)
    created_at: float
    ticket_age_add: int
    lifetime: int
    server_name: str | None = None
    alpn: bytes | None = None
    max_early_data_size: int = 0
    client_certificates: tuple[bytes, ...] | None = field(default=None, repr=False)
    tls12: bool = False

    def __post_init__(self) -> None:
        if not 1 <= len(self.psk) <= 255:
            raise LocalProtocolError(f"a resumption PSK is 1 to 255 octets, not {len(self.psk)}")
        if not math.isfinite(self.created_at):
            raise LocalProtocolError(f"ticket created_at must be a finite time, not {self.created_at!r}")
        for name in ("ticket_age_add", "max_early_data_size"):
            if not 0 <= getattr(self, name) <= 0xFFFFFFFF:
                raise LocalProtocolError(f"{name} must fit in 32 bits")
        if not 0 <= self.lifetime <= MAX_TICKET_LIFETIME:
            raise LocalProtocolError(f"ticket lifetime must be 0 to {MAX_TICKET_LIFETIME} seconds")
        if self.server_name is not None and not 1 <= len(self.server_name.encode()) <= 255:
            raise LocalProtocolError("ticket server_name must be 1 to 255 octets")
        if self.alpn is not None and not 1 <= len(self.alpn) <= 255:
            raise LocalProtocolError("ticket alpn must be 1 to 255 octets")
        if self.client_certificates is not None and not all(self.client_certificates):
            raise LocalProtocolError("an empty certificate in the ticket's client chain")

    @property
    def expires_at(self) -> float:
        return self.created_at + self.lifetime

    def is_expired(self, now: float) -> bool:
        return now >= self.created_at + self.lifetime

    def encode(self) -> bytes:
        """``version(1) suite(2) psk<1..255> created_at(8, IEEE double) ticket_age_add(4) lifetime(4)
        max_early_data_size(4) flags(1) [server_name<1..255>] [alpn<1..255>] [chain<0..2^24-1>]``."""
        w = Writer()
        w.u8(self.FORMAT_VERSION)
        w.u16(self.suite)
        w.opaque(1, self.psk)
        w.bytes(_DOUBLE.pack(self.created_at))
        w.uint(4, self.ticket_age_add)
        w.uint(4, self.lifetime)
        w.uint(4, self.max_early_data_size)
        flags = (
            (_HAS_SERVER_NAME if self.server_name is not None else 0)
            | (_HAS_ALPN if self.alpn is not None else 0)
            | (_HAS_CLIENT_CHAIN if self.client_certificates is not None else 0)
            | (_TLS12 if self.tls12 else 0)
        )
        w.u8(flags)
        if self.server_name is not None:
            w.opaque(1, self.server_name.encode())
        if self.alpn is not None:
            w.opaque(1, self.alpn)
        if self.client_certificates is not None:
            with w.length_prefixed(3):
                for der in self.client_certificates:
                    w.opaque(3, der)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> TicketContents:
        """Inverse of ``encode``; ``DecodeError`` (or ``LocalProtocolError`` for bad values) if invalid."""
        r = Reader(data)
        version = r.u8()
        if version != cls.FORMAT_VERSION:
            raise DecodeError(f"ticket format version {version}, expected {cls.FORMAT_VERSION}")
        suite = CipherSuite(r.u16())
        psk = r.opaque(1, min_len=1, what="psk")
        (created_at,) = _DOUBLE.unpack(r.bytes(_DOUBLE.size))
        ticket_age_add, lifetime, max_early = r.uint(4), r.uint(4), r.uint(4)
        flags = r.u8()
        if flags & ~(_HAS_SERVER_NAME | _HAS_ALPN | _HAS_CLIENT_CHAIN | _TLS12):
            raise DecodeError(f"unknown ticket flags 0x{flags:02x}")
        server_name = r.opaque(1, min_len=1).decode() if flags & _HAS_SERVER_NAME else None
        alpn = r.opaque(1, min_len=1) if flags & _HAS_ALPN else None
        chain: tuple[bytes, ...] | None = None
        if flags & _HAS_CLIENT_CHAIN:
            sub, certs = r.sub(3), []
            while sub.remaining():
                certs.append(sub.opaque(3, min_len=1, what="certificate"))
            chain = tuple(certs)
        r.expect_end("ticket contents")
        return cls(
            suite,
            psk,
            created_at,
            ticket_age_add,
            lifetime,
            server_name,
            alpn,
            max_early,
            chain,
            tls12=bool(flags & _TLS12),
        )


class TicketKeyRing:
    """The current key (seals and opens) and the previous one (opens only), rotated by age.

    ``provider`` supplies key material, nonces and, when a method is not given ``now``, the time. Pass
    ``keys`` to start from known keys (the newest is current). Thread-safe.
    """

    def __init__(
        self,
        rotation_interval: float = 3600.0,
        *,
        keys: Iterable[TicketKey] | None = None,
        provider: CryptoProvider | None = None,
    ) -> None:
        if not (math.isfinite(rotation_interval) and rotation_interval > 0):
            raise ConfigurationError(
                f"rotation_interval must be a positive number of seconds, not {rotation_interval!r}"
            )
        self._interval = float(rotation_interval)
        self._provider: CryptoProvider = provider if provider is not None else DefaultProvider()
        self._lock = threading.Lock()
        self._keys: tuple[TicketKey, ...] = ()  # newest first; at most current + previous
        self._retired: dict[bytes, float] = {}  # key id -> when to stop calling it "retired"
        self._path: Path | None = None
        self._file_sig: tuple[int, int, int] | None = None
        self._next_file_check = -math.inf
        self._file_error: ConfigurationError | None = None
        if keys is not None:
            self._set_keys(tuple(keys), self._provider.now())

    def __repr__(self) -> str:
        where = f" file={str(self._path)!r}" if self._path else ""
        return f"<TicketKeyRing interval={self._interval:g}s keys={len(self._keys)}{where}>"

    # --- construction from shared keys ---------------------------------------------------------

    @classmethod
    def from_export(
        cls, text: str | bytes, rotation_interval: float = 3600.0, *, provider: CryptoProvider | None = None
    ) -> TicketKeyRing:
        """A ring holding the keys of ``export()`` text (``ConfigurationError`` if it is not valid)."""
        return cls(rotation_interval, keys=load_ticket_keys(text), provider=provider)

    @classmethod
    def from_file(
        cls,
        path: str | PathLike[str],
        rotation_interval: float = 3600.0,
        *,
        provider: CryptoProvider | None = None,
        create: bool = True,
    ) -> TicketKeyRing:
        """A ring backed by a shared key file: reloaded when it changes, rotated through it under a lock.

        With ``create`` a missing file is made (with one fresh key); otherwise it must exist.
        """
        ring = cls(rotation_interval, provider=provider)
        ring._path = Path(path)
        if ring._path.exists() or not create:
            ring._file_sig = file_signature(ring._path)
            ring._set_keys(read_key_file(ring._path), ring._provider.now())
        with ring._lock:
            ring._maintain_locked(ring._provider.now(), strict=True)
        return ring

    def export(self) -> str:
        """The key file text for the keys in use now (module ``keyfile`` documents the format)."""
        return dump_ticket_keys(self.keys())

    def save(self, path: str | PathLike[str]) -> None:
        """Write ``export()`` to ``path`` atomically, mode 0600."""
        write_key_file(Path(path), self.keys())

    # --- state ---------------------------------------------------------------------------------

    @property
    def rotation_interval(self) -> float:
        return self._interval

    @property
    def guaranteed_lifetime(self) -> int:
        """Seconds a ticket sealed now is sure to stay openable: advertise no longer a lifetime."""
        return min(int(self._interval), MAX_TICKET_LIFETIME)

    def keys(self, now: float | None = None) -> tuple[TicketKey, ...]:
        """The keys in use at ``now`` (rotating first if due), newest (current) first."""
        now = self._provider.now() if now is None else now
        with self._lock:
            return self._maintain_locked(now, strict=True)

    def rotate(self, now: float | None = None) -> TicketKey:
        """Make a new current key now, whatever the age of the old one; returns it."""
        now = self._provider.now() if now is None else now
        with self._lock:
            self._rotate_locked(now, force=True)
            return self._keys[0]

    # --- sealing and opening -------------------------------------------------------------------

    def seal(self, contents: TicketContents, *, now: float | None = None) -> bytes:
        """The opaque ticket for a NewSessionTicket. ``LocalProtocolError`` if it exceeds 65535 octets;
        ``ConfigurationError`` if a file-backed ring cannot rotate its file."""
        now = self._provider.now() if now is None else now
        with self._lock:
            key = self._maintain_locked(now, strict=True)[0]
        nonce = self._provider.random(NONCE_LEN)
        ticket = key.key_id + nonce + key.encrypt(nonce, contents.encode(), key.key_id)
        if len(ticket) > 0xFFFF:
            raise LocalProtocolError(f"a sealed ticket of {len(ticket)} octets exceeds the 65535 allowed")
        return ticket

    def open(self, ticket: bytes | bytearray | memoryview, now: float | None = None) -> TicketContents | None:
        """The contents of a ticket this ring sealed and that is still valid, else None. Never raises."""
        return self.open_with_reason(ticket, now)[0]

    def open_with_reason(
        self, ticket: bytes | bytearray | memoryview, now: float | None = None
    ) -> tuple[TicketContents, None] | tuple[None, TicketRejection]:
        """``(contents, None)`` for a good ticket, ``(None, reason)`` otherwise. Never raises on input."""
        now = self._provider.now() if now is None else now
        ticket = bytes(ticket)
        key_id = ticket[:KEY_ID_LEN]
        with self._lock:
            keys = self._maintain_locked(now, strict=False)
            retired = key_id in self._retired
        if len(ticket) < _OVERHEAD + 1:
            return None, TicketRejection.MALFORMED
        key = next((k for k in keys if k.key_id == key_id), None)
        if key is None:
            return None, TicketRejection.RETIRED_KEY if retired else TicketRejection.UNKNOWN_KEY
        if now >= key.created_at + 2 * self._interval:  # kept only because a shared file could not rotate
            return None, TicketRejection.RETIRED_KEY
        nonce = ticket[KEY_ID_LEN : KEY_ID_LEN + NONCE_LEN]
        try:
            plaintext = key.decrypt(nonce, ticket[KEY_ID_LEN + NONCE_LEN :], key_id)
        except InvalidTag:
            return None, TicketRejection.TAMPERED
        try:
            contents = TicketContents.decode(plaintext)
        except (DecodeError, LocalProtocolError, ValueError):  # authentic but unreadable: another format
            return None, TicketRejection.MALFORMED
        if contents.is_expired(now):
            return None, TicketRejection.EXPIRED
        return contents, None

    # --- rotation (all under self._lock) -------------------------------------------------------

    def _is_stale(self, key: TicketKey, now: float) -> bool:
        return now - key.created_at >= self._interval

    def _maintain_locked(self, now: float, *, strict: bool) -> tuple[TicketKey, ...]:
        """Reload a changed key file, rotate a stale current key, forget keys past two intervals.

        ``strict=False`` (opening) never raises: a file problem leaves the keys as they are.
        """
        if self._path is not None and now >= self._next_file_check:
            self._next_file_check = now + _FILE_CHECK_INTERVAL
            sig = file_signature(self._path)
            if sig is not None and sig != self._file_sig:
                try:
                    keys = read_key_file(self._path)
                except ConfigurationError as exc:
                    self._file_error = exc  # kept: seal() reports it until the file is fixed
                else:
                    self._file_sig, self._file_error = sig, None
                    self._set_keys(keys, now)
        if strict and self._file_error is not None:
            raise ConfigurationError(*self._file_error.args)
        if not self._keys or self._is_stale(self._keys[0], now):
            try:
                self._rotate_locked(now, force=False)
            except (ConfigurationError, OSError):
                if strict:
                    raise
        if self._pruning_due(now):
            self._set_keys(self._keys, now)
        return self._keys

    def _pruning_due(self, now: float) -> bool:
        """Whether ``_set_keys`` would forget something now: the older key, or a retired key's entry."""
        keys = self._keys
        if len(keys) > 1 and now >= keys[1].created_at + 2 * self._interval:
            return True
        return any(until <= now for until in self._retired.values())

    def _rotate_locked(self, now: float, *, force: bool) -> None:
        if self._path is None:
            self._set_keys((TicketKey.generate(self._provider, now), *self._keys[:1]), now)
            return
        try:
            with exclusive_lock(self._path):
                on_disk = read_key_file(self._path) if self._path.exists() else ()
                newest = max(on_disk, key=lambda k: k.created_at, default=None)
                # Another process may have rotated the file while we waited for the lock.
                if force or newest is None or self._is_stale(newest, now):
                    kept = (newest,) if newest is not None else ()
                    on_disk = (TicketKey.generate(self._provider, now), *kept)
                    write_key_file(self._path, on_disk)
                self._file_sig = file_signature(self._path)
        except OSError as exc:
            raise ConfigurationError(f"cannot rotate ticket key file {self._path}: {exc}") from None
        self._set_keys(on_disk, now)

    def _set_keys(self, keys: tuple[TicketKey, ...], now: float) -> None:
        ordered = sorted(keys, key=lambda k: k.created_at, reverse=True)
        # The newest key is always kept (it is current, or about to be replaced); older ones only
        # while they may still open tickets.
        kept = tuple(ordered[:1] + [k for k in ordered[1:2] if now < k.created_at + 2 * self._interval])
        kept_ids = {k.key_id for k in kept}
        for old in self._keys + tuple(ordered):
            if old.key_id not in kept_ids:
                self._retired[old.key_id] = now + 2 * self._interval
        for key_id, until in list(self._retired.items()):
            if until <= now or key_id in kept_ids:
                del self._retired[key_id]
        while len(self._retired) > 64:  # a bounded diagnostic, not a security mechanism
            del self._retired[next(iter(self._retired))]
        self._keys = kept
