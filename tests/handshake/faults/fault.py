"""The fault record, its runner, and the registry of raise sites the records cover.

A peer-fault test is one keyword record in a table, e.g.

    Fault(
        id="server_hello-wrong_session_id_echo",
        fails="client",
        raises=IllegalParameter,
        site="handshake/client13.py:ExpectServerHello.handle",
        tamper=replacing(ServerHello, lambda m: replace(m, legacy_session_id_echo=bytes(32))),
    )

which reads: during a handshake between real connections, the client's peer (a ``TamperingServer``)
sends its ServerHello through ``tamper``; the client must fail. ``Injected`` records instead put two
connections in a state (``given``, see ``scenes.py``) and hand the failing side crafted bytes
(``inject``, which may take preparatory steps and check them; only the bytes it returns must fail).

``check()`` asserts, for every record:

- the failing side raises exactly ``raises`` (not a subclass), matching ``match`` when given;
- the raise is at ``site`` (``path/under/tlslens.py:qualified.name`` of the innermost tlslens frame),
  so each record says which raise site it covers, and ``test_raise_sites.py`` checks that every raise
  site in the seam is covered by a record or listed as unreachable;
- the alert of ``raises`` is queued, and nothing else (``helpers.assert_alert_sent``) but the
  compatibility change_cipher_spec the failing call sent, or the answer it sent (``answers_first``);
- the failing side is closed.

Adding a case is adding one record to a table that a test runs through ``@faults(TABLE)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

import tlslens
from tests.handshake.faults.scenes import Scene
from tests.handshake.helpers import (
    CHANGE_CIPHER_SPEC,
    ConnectionPair,
    Tamper,
    TamperingClient,
    TamperingServer,
    assert_alert_sent,
    client_config,
    records,
    server_config,
)
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.errors import RemoteProtocolError

Side = Literal["client", "server"]
ConfigArgs = Mapping[str, object] | Callable[[], Mapping[str, object]]
"""Keyword arguments for ``client_config`` / ``server_config``, or a function that makes them when the
test runs (for arguments that cost a key generation)."""

_TLSLENS = Path(tlslens.__file__).resolve().parent


def raise_site(exc: BaseException) -> str:
    """Where ``exc`` was raised: the innermost tlslens frame of its traceback, as
    ``path/under/tlslens.py:qualified.name``."""
    site = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        path = Path(code.co_filename).resolve()
        if path.is_relative_to(_TLSLENS):
            site = f"{path.relative_to(_TLSLENS).as_posix()}:{code.co_qualname}"
        tb = tb.tb_next
    assert site is not None, f"{exc!r} was not raised by tlslens"
    return site


@dataclass(frozen=True, kw_only=True)
class _Expected:
    """What every record asserts; see the module docstring."""

    id: str
    fails: Side  # the side that must raise
    raises: type[RemoteProtocolError]
    site: str  # "handshake/client13.py:ExpectServerHello.handle"
    match: str | None = None  # a regex the message must contain
    # The failing call also carries what the failing side answers before the fault (a ClientHello with
    # the 0-RTT records after it): that answer leaves before the alert. Otherwise the alert is alone.
    answers_first: bool = False
    xfail: str | None = None  # a known product bug: the reason (the case must fail: strict)

    def param(self) -> object:
        marks = [pytest.mark.xfail(strict=True, reason=self.xfail)] if self.xfail else []
        return pytest.param(self, id=self.id, marks=marks)

    def _raised(self, act: Callable[[], object]) -> RemoteProtocolError:
        with pytest.raises(self.raises, match=self.match) as info:
            act()
        error = info.value
        assert type(error) is self.raises, f"{type(error).__name__} is not {self.raises.__name__}: {error}"
        assert raise_site(error) == self.site, f"raised at {raise_site(error)}, not at {self.site}"
        return error

    def _alerted(
        self,
        victim: ClientConnection | ServerConnection,
        peer: ClientConnection | ServerConnection | None,
        *,
        after_ccs: bool,
    ) -> None:
        """The alert and nothing else, after the compatibility change_cipher_spec if the failing call
        sent it (it leaves before the failure is known)."""
        assert_alert_sent(victim, peer, self.raises.alert, alone=not self.answers_first, after_ccs=after_ccs)
        assert victim.closed


def _sent_ccs(conn: ClientConnection | ServerConnection) -> bool:
    """Whether ``conn`` sent its compatibility change_cipher_spec (the Output sends it at most once)."""
    return conn._out._ccs_sent  # type: ignore[no-any-return]


def _args(args: ConfigArgs) -> dict[str, object]:
    return dict(args() if callable(args) else args)


@dataclass(frozen=True, kw_only=True)
class Fault(_Expected):
    """A handshake between a ``TamperingClient`` and a ``TamperingServer`` built from ``client`` and
    ``server`` (``helpers.client_config`` / ``server_config`` keyword arguments); the peer of the side
    that ``fails`` sends its handshake messages through ``tamper`` (see ``helpers.replacing``)."""

    tamper: Tamper | None = None
    client: ConfigArgs = field(default_factory=dict)
    server: ConfigArgs = field(default_factory=dict)
    server_name: str = "localhost"

    def check(self) -> RemoteProtocolError:
        client_tamper, server_tamper = (None, self.tamper) if self.fails == "client" else (self.tamper, None)
        c = TamperingClient(client_config(**_args(self.client)), self.server_name, tamper=client_tamper)
        s = TamperingServer(server_config(**_args(self.server)), tamper=server_tamper)
        victim, peer = (c, s) if self.fails == "client" else (s, c)
        error = self._raised(ConnectionPair(client=c, server=s).pump)
        # (What the victim sent before the failing call left through the pair, and is in its ``wire``.)
        ccs_left_before = any(r.content_type == CHANGE_CIPHER_SPEC for r in records(bytes(victim.wire)))
        self._alerted(victim, peer, after_ccs=_sent_ccs(victim) and not ccs_left_before)
        return error


@dataclass(frozen=True, kw_only=True)
class Injected(_Expected):
    """Two connections in the state ``given`` makes; the side that ``fails`` receives what ``inject``
    returns. ``inject`` may take steps first (and assert on them): only its result must fail."""

    given: Callable[[], Scene]
    inject: Callable[[Scene], bytes]

    def check(self) -> RemoteProtocolError:
        scene = self.given()
        victim, peer = (
            (scene.client, scene.server) if self.fails == "client" else (scene.server, scene.client)
        )
        assert victim is not None
        data = self.inject(scene)
        error = self._raised(lambda: victim.receive_data(data))
        # (A compatibility change_cipher_spec the failing call sent is part of its answer: answers_first.)
        self._alerted(victim, peer, after_ccs=False)
        return error


AnyFault = Fault | Injected

REGISTERED: list[AnyFault] = []
"""Every record a test runs (``faults``): the raise sites they cover (test_raise_sites.py)."""


def faults(table: Sequence[AnyFault]) -> pytest.MarkDecorator:
    """``@faults(TABLE)`` on ``def test_x(fault)``: one case per record, named by its id."""
    ids = [f.id for f in table]
    duplicated = {i for i in ids if ids.count(i) > 1}
    assert not duplicated, f"duplicate fault ids: {duplicated}"
    REGISTERED.extend(table)
    return pytest.mark.parametrize("fault", [f.param() for f in table])
