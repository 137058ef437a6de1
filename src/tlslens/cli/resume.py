"""Resumption on the command line: ``--sess-in``/``--sess-out`` session files and ``--early-data``.

Session files are the engine's own (``tlslens.session.Session.save``/``load``: PEM-like text holding
the PSK, written with mode 0600). Every mistake that can be seen before connecting is a usage error.
"""

from __future__ import annotations

from pathlib import Path

import click

from tlslens.session import Session, SessionFileError

EARLY_DATA_LIMIT = 16384
"""What ``tlslens server --early-data`` accepts per connection (OpenSSL's s_server default too)."""


def load_session(path: str) -> Session:
    try:
        return Session.load(path)
    except SessionFileError as exc:
        raise click.BadParameter(str(exc).removeprefix("tls: "), param_hint="--sess-in") from None


def read_early_data(path: str, session: Session | None) -> bytes:
    """The ``--early-data`` file, checked against what the session's ticket allows."""
    if session is None:
        raise click.BadParameter(
            "0-RTT data needs a session to resume: give --sess-in F (written by an earlier --sess-out F)",
            param_hint="--early-data",
        )
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise click.BadParameter(
            f"{path}: cannot read: {exc.strerror or exc}", param_hint="--early-data"
        ) from None
    if not data:
        raise click.BadParameter(f"{path} is empty", param_hint="--early-data")
    if len(data) > session.max_early_data_size:
        allowed = (
            "the server that issued the ticket does not accept 0-RTT"
            if session.max_early_data_size == 0
            else f"its ticket allows {session.max_early_data_size} bytes"
        )
        raise click.BadParameter(f"{path} has {len(data)} bytes; {allowed}", param_hint="--early-data")
    return data


def check_session_out(path: str) -> None:
    target = Path(path)
    if target.is_dir() or not target.parent.is_dir():
        raise click.BadParameter(f"{path}: not a file in an existing folder", param_hint="--sess-out")


def save_session(path: str, tickets: list[object]) -> str | None:
    """Write the newest session; returns a warning when there is none to write."""
    sessions = [t for t in tickets if isinstance(t, Session)]
    if not sessions:
        return f"the server sent no session ticket; {path} was not written"
    try:
        sessions[-1].save(path)
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None
