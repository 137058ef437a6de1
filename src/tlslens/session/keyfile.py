"""Ticket keys and the file a fleet shares them in.

A ``TicketKey`` is a random 16-octet id and a random 32-octet AES-256-GCM key, with the time it was
made. The key file is JSON with hex, so an operator can read it and any tool can write it::

    {
      "format": "tlslens-ticket-keys",
      "version": 1,
      "aead": "AES-256-GCM",
      "keys": [
        {"id": "<32 hex digits>", "key": "<64 hex digits>", "created_at": 1700000000.0},
        ...
      ]
    }

``created_at`` is Unix seconds (a number). Order does not matter: the newest key seals, the one before
it still opens (see ``TicketKeyRing``). The file holds secrets: it is written with mode 0600, replaced
atomically (write, fsync, rename), and rotated under an exclusive lock on ``<file>.lock`` so that
several server processes sharing it agree on one new key.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlslens.crypto.provider import CryptoProvider
from tlslens.errors import ConfigurationError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: rotation is then coordinated by rename only
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "KEY_FILE_FORMAT",
    "KEY_FILE_VERSION",
    "KEY_ID_LEN",
    "KEY_LEN",
    "TicketKey",
    "dump_ticket_keys",
    "load_ticket_keys",
]

KEY_FILE_FORMAT = "tlslens-ticket-keys"
KEY_FILE_VERSION = 1
KEY_ID_LEN = 16
KEY_LEN = 32  # AES-256-GCM
_AEAD_NAME = "AES-256-GCM"


@dataclass(frozen=True, slots=True)
class TicketKey:
    """One ticket-sealing key. The AEAD object is made once per key, not per ticket."""

    key_id: bytes
    secret: bytes = field(repr=False)
    created_at: float
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.key_id) != KEY_ID_LEN:
            raise ConfigurationError(f"a ticket key id is {KEY_ID_LEN} octets, not {len(self.key_id)}")
        if len(self.secret) != KEY_LEN:
            raise ConfigurationError(
                f"a ticket key is {KEY_LEN} octets (AES-256-GCM), not {len(self.secret)}"
            )
        if not math.isfinite(self.created_at):
            raise ConfigurationError(f"ticket key created_at must be a finite time, not {self.created_at!r}")
        object.__setattr__(self, "_aead", AESGCM(self.secret))

    @classmethod
    def generate(cls, provider: CryptoProvider, now: float) -> TicketKey:
        return cls(provider.random(KEY_ID_LEN), provider.random(KEY_LEN), float(now))

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Raises ``cryptography.exceptions.InvalidTag`` when the ticket was not sealed by this key."""
        return self._aead.decrypt(nonce, ciphertext, aad)


def dump_ticket_keys(keys: Iterable[TicketKey]) -> str:
    """The key file text (module docstring), newest key first."""
    ordered = sorted(keys, key=lambda k: k.created_at, reverse=True)
    doc = {
        "format": KEY_FILE_FORMAT,
        "version": KEY_FILE_VERSION,
        "aead": _AEAD_NAME,
        "keys": [{"id": k.key_id.hex(), "key": k.secret.hex(), "created_at": k.created_at} for k in ordered],
    }
    return json.dumps(doc, indent=2) + "\n"


def load_ticket_keys(text: str | bytes, *, source: str = "ticket key data") -> tuple[TicketKey, ...]:
    """Parse key file text; ``ConfigurationError`` saying what is wrong (never a bare KeyError)."""
    try:
        doc: Any = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{source} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != KEY_FILE_FORMAT:
        raise ConfigurationError(
            f'{source} is not a tlslens ticket key file (no "format": "{KEY_FILE_FORMAT}")'
        )
    if doc.get("version") != KEY_FILE_VERSION:
        raise ConfigurationError(
            f"{source} has format version {doc.get('version')!r};"
            f" this tlslens reads version {KEY_FILE_VERSION}"
        )
    if doc.get("aead", _AEAD_NAME) != _AEAD_NAME:
        raise ConfigurationError(f"{source} names AEAD {doc.get('aead')!r}; only {_AEAD_NAME} is supported")
    entries = doc.get("keys")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f'{source} has no "keys" list with at least one key')
    keys = []
    for i, entry in enumerate(entries):
        try:
            created = entry["created_at"]
            if isinstance(created, bool) or not isinstance(created, int | float):
                raise TypeError("created_at is not a number")
            keys.append(TicketKey(bytes.fromhex(entry["id"]), bytes.fromhex(entry["key"]), float(created)))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{source}, key #{i}: {exc.args[0]}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f'{source}, key #{i}: needs "id" (hex), "key" (hex) and "created_at" (number): {exc}'
            ) from None
    if len({k.key_id for k in keys}) != len(keys):
        raise ConfigurationError(f"{source} lists one key id twice")
    return tuple(keys)


def read_key_file(path: Path) -> tuple[TicketKey, ...]:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read ticket key file {path}: {exc.strerror or exc}") from None
    return load_ticket_keys(text, source=f"ticket key file {path}")


def write_key_file(path: Path, keys: Iterable[TicketKey]) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``keys``."""
    data = dump_ticket_keys(keys).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def file_signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is replaced or rewritten (None if it does not exist)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<path>.lock`` (blocking) for the duration of the block."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
