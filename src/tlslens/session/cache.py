"""Client side of resumption: the ``Session`` a ticket stands for, its file format, and a ticket cache.

A ``Session`` is what the client keeps from one NewSessionTicket (RFC 8446 §4.6.1): the PSK derived
from it, the opaque ticket, and what a later connection needs to offer it (age obfuscation, lifetime)
and to decide on 0-RTT (suite, ALPN, max_early_data_size).

Session files (``tlslens client --sess-out F`` / ``--sess-in F``) are PEM-like text::

    -----BEGIN TLSLENS SESSION-----
    <base64 of Session.to_bytes(), 64 columns>
    -----END TLSLENS SESSION-----

``to_bytes()`` starts with the magic ``TLSLENS-SESSION`` and a format version octet, so a damaged,
foreign (OpenSSL's ``SSL SESSION PARAMETERS``) or newer file is refused with a ``SessionFileError``
that says which. The file holds the PSK: ``save`` writes it with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import os
import struct
import tempfile
import threading
from collections import OrderedDict, deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import ClassVar

from tlslens.crypto.key_schedule import resumption_psk
from tlslens.crypto.suites import Tls13Suite
from tlslens.errors import DecodeError, LocalProtocolError
from tlslens.wire.enums import CipherSuite, ProtocolVersion
from tlslens.wire.extensions import EarlyDataNewSessionTicket
from tlslens.wire.messages import NewSessionTicket
from tlslens.wire.reader import Reader, Writer

__all__ = ["Session", "SessionCache", "SessionFileError"]

_MAGIC = b"TLSLENS-SESSION"
_PEM_BEGIN = "-----BEGIN TLSLENS SESSION-----"
_PEM_END = "-----END TLSLENS SESSION-----"
_MAX_LIFETIME = 604800  # RFC 8446 §4.6.1: clients MUST NOT cache tickets longer than seven days
_DOUBLE = struct.Struct(">d")
_HAS_SERVER_NAME, _HAS_ALPN, _TLS12, _HAS_SESSION_ID, _EMS = 0x01, 0x02, 0x04, 0x08, 0x10


class SessionFileError(LocalProtocolError, ValueError):
    """A session file or blob that cannot be read: not ours, damaged, or of another format version."""


def _alpn_key(alpn: Sequence[bytes | str]) -> tuple[bytes, ...]:
    return tuple(p.encode("ascii") if isinstance(p, str) else bytes(p) for p in alpn)


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """One resumable session (one ticket). Secrets stay out of the repr.

    ``alpn`` is the protocol the original connection negotiated (0-RTT must use the same);
    ``offered_alpn`` is what the client offered then, which with ``server_name`` keys the cache.
    ``received_at`` is the client's time when the ticket arrived (Unix seconds).

    A TLS 1.2 session (``version`` TLSv1.2) holds the master secret in ``psk``, the RFC 5077 ticket
    (possibly empty) and the server's ``session_id``; it is offered only to resume TLS 1.2, and a TLS 1.3
    session only in a TLS 1.3 pre_shared_key. ``extended_master_secret`` is always true for a 1.2
    session that may be resumed (RFC 7627 §5.3).
    """

    FORMAT_VERSION: ClassVar[int] = 1

    server_name: str | None
    suite: CipherSuite
    psk: bytes = field(repr=False)
    ticket: bytes = field(repr=False)
    ticket_age_add: int
    lifetime: int
    received_at: float
    alpn: bytes | None = None
    offered_alpn: tuple[bytes, ...] = ()
    max_early_data_size: int = 0
    peer_certificates: tuple[bytes, ...] = field(default=(), repr=False)  # server's DER chain, leaf first
    version: ProtocolVersion = ProtocolVersion.TLS1_3
    session_id: bytes = field(default=b"", repr=False)  # TLS 1.2: the server's session ID
    extended_master_secret: bool = True

    def __post_init__(self) -> None:
        if not 1 <= len(self.psk) <= 255:
            raise LocalProtocolError(f"a resumption PSK is 1 to 255 octets, not {len(self.psk)}")
        if self.version == ProtocolVersion.TLS1_2:
            if not (self.ticket or self.session_id) or len(self.ticket) > 0xFFFF or len(self.session_id) > 32:
                raise LocalProtocolError(
                    "a TLS 1.2 session needs a ticket (< 64 KiB) or a session ID (<= 32)"
                )
        elif self.version != ProtocolVersion.TLS1_3:
            raise LocalProtocolError(f"sessions are TLSv1.3 or TLSv1.2, not {self.version.label}")
        elif not 1 <= len(self.ticket) <= 0xFFFF:
            raise LocalProtocolError(f"a ticket is 1 to 65535 octets, not {len(self.ticket)}")
        for name in ("ticket_age_add", "lifetime", "max_early_data_size"):
            if not 0 <= getattr(self, name) <= 0xFFFFFFFF:
                raise LocalProtocolError(f"{name} must fit in 32 bits")
        if not math.isfinite(self.received_at):
            raise LocalProtocolError(f"received_at must be a finite time, not {self.received_at!r}")
        if self.server_name is not None and not 1 <= len(self.server_name.encode()) <= 255:
            raise LocalProtocolError("session server_name must be 1 to 255 octets")
        if self.alpn is not None and not 1 <= len(self.alpn) <= 255:
            raise LocalProtocolError("session alpn must be 1 to 255 octets")
        if not all(1 <= len(p) <= 255 for p in self.offered_alpn):
            raise LocalProtocolError("each offered ALPN protocol must be 1 to 255 octets")

    @classmethod
    def from_new_session_ticket(
        cls,
        ticket: NewSessionTicket,
        *,
        suite: Tls13Suite,
        resumption_master_secret: bytes,
        received_at: float,
        server_name: str | None,
        alpn: bytes | None = None,
        offered_alpn: Sequence[bytes | str] = (),
        peer_certificates: Sequence[bytes] = (),
    ) -> Session:
        """The session a NewSessionTicket stands for: PSK = HKDF-Expand-Label(rms, "resumption", nonce)."""
        early = ticket.extension(EarlyDataNewSessionTicket)
        return cls(
            server_name=server_name,
            suite=suite.code,
            psk=resumption_psk(suite, resumption_master_secret, ticket.ticket_nonce),
            ticket=ticket.ticket,
            ticket_age_add=ticket.ticket_age_add,
            lifetime=ticket.ticket_lifetime,
            received_at=received_at,
            alpn=alpn,
            offered_alpn=_alpn_key(offered_alpn),
            max_early_data_size=early.max_early_data_size if early is not None else 0,
            peer_certificates=tuple(peer_certificates),
        )

    @classmethod
    def from_tls12(
        cls,
        *,
        suite: CipherSuite,
        master_secret: bytes,
        ticket: bytes,
        lifetime: int,
        session_id: bytes,
        received_at: float,
        server_name: str | None,
        alpn: bytes | None = None,
        offered_alpn: Sequence[bytes | str] = (),
        peer_certificates: Sequence[bytes] = (),
    ) -> Session:
        """A TLS 1.2 session (with the extended master secret): by ticket, session ID, or both."""
        return cls(
            server_name=server_name,
            suite=suite,
            psk=master_secret,
            ticket=ticket,
            ticket_age_add=0,
            lifetime=lifetime,
            received_at=received_at,
            alpn=alpn,
            offered_alpn=_alpn_key(offered_alpn),
            peer_certificates=tuple(peer_certificates),
            version=ProtocolVersion.TLS1_2,
            session_id=session_id,
        )

    # --- age and lifetime ---------------------------------------------------------------------

    @property
    def cache_key(self) -> tuple[str | None, tuple[bytes, ...]]:
        return (self.server_name, self.offered_alpn)

    @property
    def expires_at(self) -> float:
        return self.received_at + min(self.lifetime, _MAX_LIFETIME)

    def is_expired(self, now: float) -> bool:
        """Past its lifetime (capped at seven days); a lifetime of 0 means never to be used."""
        return now >= self.expires_at

    def age_ms(self, now: float) -> int:
        """Milliseconds since the ticket arrived (0 if the clock went backwards)."""
        return max(0, int((now - self.received_at) * 1000))

    def obfuscated_age(self, now: float) -> int:
        """``obfuscated_ticket_age`` for the PskIdentity: (age in ms + ticket_age_add) mod 2^32 (§4.2.11)."""
        return (self.age_ms(now) + self.ticket_age_add) & 0xFFFFFFFF

    @property
    def early_data_allowed(self) -> bool:
        return self.max_early_data_size > 0

    # --- serialization ------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        w = Writer()
        w.bytes(_MAGIC)
        w.u8(self.FORMAT_VERSION)
        w.u16(self.suite)
        w.opaque(1, self.psk)
        w.opaque(2, self.ticket)
        w.uint(4, self.ticket_age_add)
        w.uint(4, self.lifetime)
        w.bytes(_DOUBLE.pack(self.received_at))
        w.uint(4, self.max_early_data_size)
        tls12 = self.version == ProtocolVersion.TLS1_2
        w.u8(
            (_HAS_SERVER_NAME if self.server_name is not None else 0)
            | (_HAS_ALPN if self.alpn is not None else 0)
            | (_TLS12 if tls12 else 0)
            | (_HAS_SESSION_ID if self.session_id else 0)
            | (_EMS if tls12 and self.extended_master_secret else 0)
        )
        if self.session_id:
            w.opaque(1, self.session_id)
        if self.server_name is not None:
            w.opaque(1, self.server_name.encode())
        if self.alpn is not None:
            w.opaque(1, self.alpn)
        with w.length_prefixed(2):
            for p in self.offered_alpn:
                w.opaque(1, p)
        with w.length_prefixed(3):
            for der in self.peer_certificates:
                w.opaque(3, der)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Session:
        """Inverse of ``to_bytes``; ``SessionFileError`` saying what is wrong."""
        if not data.startswith(_MAGIC):
            raise SessionFileError("not a tlslens session (missing the TLSLENS-SESSION magic)")
        r = Reader(data, len(_MAGIC))
        try:
            version = r.u8()
            if version != cls.FORMAT_VERSION:
                raise SessionFileError(
                    f"session format version {version} is not supported (this tlslens reads version"
                    f" {cls.FORMAT_VERSION})"
                )
            suite = CipherSuite(r.u16())
            psk = r.opaque(1, min_len=1, what="psk")
            ticket = r.opaque(2, what="ticket")
            age_add, lifetime = r.uint(4), r.uint(4)
            (received_at,) = _DOUBLE.unpack(r.bytes(_DOUBLE.size))
            max_early = r.uint(4)
            flags = r.u8()
            if flags & ~(_HAS_SERVER_NAME | _HAS_ALPN | _TLS12 | _HAS_SESSION_ID | _EMS):
                raise DecodeError(f"unknown flags 0x{flags:02x}")
            session_id = r.opaque(1, min_len=1, what="session_id") if flags & _HAS_SESSION_ID else b""
            server_name = r.opaque(1, min_len=1).decode() if flags & _HAS_SERVER_NAME else None
            alpn = r.opaque(1, min_len=1) if flags & _HAS_ALPN else None
            offered, sub = [], r.sub(2)
            while sub.remaining():
                offered.append(sub.opaque(1, min_len=1, what="ALPN protocol"))
            chain, sub = [], r.sub(3)
            while sub.remaining():
                chain.append(sub.opaque(3, min_len=1, what="certificate"))
            r.expect_end("session")
            return cls(
                server_name=server_name,
                suite=suite,
                psk=psk,
                ticket=ticket,
                ticket_age_add=age_add,
                lifetime=lifetime,
                received_at=received_at,
                alpn=alpn,
                offered_alpn=tuple(offered),
                max_early_data_size=max_early,
                peer_certificates=tuple(chain),
                version=ProtocolVersion.TLS1_2 if flags & _TLS12 else ProtocolVersion.TLS1_3,
                session_id=session_id,
                extended_master_secret=bool(flags & _EMS) or not flags & _TLS12,
            )
        except SessionFileError:
            raise
        except (DecodeError, LocalProtocolError, ValueError) as exc:
            raise SessionFileError(f"damaged session: {exc.args[0] if exc.args else exc}") from None

    def to_pem(self) -> str:
        b64 = base64.b64encode(self.to_bytes()).decode("ascii")
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return "\n".join([_PEM_BEGIN, *lines, _PEM_END]) + "\n"

    @classmethod
    def from_pem(cls, text: str | bytes) -> Session:
        if isinstance(text, bytes):
            text = text.decode("ascii", errors="replace")
        begin = text.find(_PEM_BEGIN)
        end = text.find(_PEM_END, begin) if begin >= 0 else -1
        if begin < 0 or end < begin:
            if "BEGIN SSL SESSION PARAMETERS" in text:
                raise SessionFileError(
                    "this is an OpenSSL session file (s_client -sess_out); tlslens reads only its own format"
                )
            raise SessionFileError(f"not a tlslens session file (no {_PEM_BEGIN} ... {_PEM_END} block)")
        body = "".join(text[begin + len(_PEM_BEGIN) : end].split())
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise SessionFileError(
                "damaged session file: the base64 between the markers is invalid"
            ) from None
        return cls.from_bytes(data)

    def save(self, path: str | PathLike[str]) -> None:
        """Write ``to_pem()`` to ``path`` (mode 0600: it holds the PSK), replacing it atomically."""
        target = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(self.to_pem())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Session:
        """Read a session file; ``SessionFileError`` naming the file if it cannot be used."""
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise SessionFileError(f"cannot read session file {path}: {exc.strerror or exc}") from None
        try:
            return cls.from_pem(text)
        except SessionFileError as exc:
            raise SessionFileError(f"{path}: {exc.args[0]}") from None


class SessionCache:
    """Thread-safe, bounded LRU of sessions keyed by (server name, offered ALPN protocols).

    Each key holds up to ``tickets_per_server`` sessions (servers often send two tickets so that two
    parallel connections can resume). ``take`` hands out the newest unexpired one and, with
    ``single_use`` (the default, RFC 8446 §C.4), removes it: a ticket offered twice lets an observer
    link the two connections.
    """

    def __init__(
        self, max_servers: int = 256, *, tickets_per_server: int = 8, single_use: bool = True
    ) -> None:
        if max_servers < 1 or tickets_per_server < 1:
            raise LocalProtocolError("a session cache needs room for at least one server and one ticket")
        self._max_servers = max_servers
        self._per_server = tickets_per_server
        self._single_use = single_use
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str | None, tuple[bytes, ...]], deque[Session]] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._entries.values())

    def __repr__(self) -> str:
        return f"<SessionCache servers={len(self._entries)} single_use={self._single_use}>"

    def store(self, session: Session) -> None:
        """Remember a session (ignored if its lifetime is 0, which means "do not cache")."""
        if session.lifetime == 0:
            return
        key = session.cache_key
        with self._lock:
            queue = self._entries.get(key)
            if queue is None:
                queue = self._entries[key] = deque(maxlen=self._per_server)
            queue.append(session)  # the oldest falls off when full
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_servers:
                self._entries.popitem(last=False)

    def take(
        self,
        server_name: str | None,
        alpn: Sequence[bytes | str],
        now: float,
        versions: Collection[ProtocolVersion] = (ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2),
    ) -> Session | None:
        """The newest unexpired session for this server and ALPN offer, of one of ``versions``, or
        None; expired ones are dropped."""
        key = (server_name, _alpn_key(alpn))
        with self._lock:
            queue = self._entries.get(key)
            if queue is None:
                return None
            live = [s for s in queue if not s.is_expired(now)]
            if len(live) != len(queue):
                queue.clear()
                queue.extend(live)
            session = next((s for s in reversed(queue) if s.version in versions), None)
            if session is not None and self._single_use:
                queue.remove(session)
            if not queue:
                del self._entries[key]
            elif session is not None:
                self._entries.move_to_end(key)
            return session

    def discard(self, session: Session) -> None:
        """Forget one session (say, after the server refused it)."""
        with self._lock:
            queue = self._entries.get(session.cache_key)
            if queue is None:
                return
            with contextlib.suppress(ValueError):
                queue.remove(session)
            if not queue:
                del self._entries[session.cache_key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
