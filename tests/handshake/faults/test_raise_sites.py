"""Every raise in the connection seam is accounted for: a fault record reaches it, or it is listed as
unreachable by peer bytes, with the reason.

The seam is ``handshake/*.py``, ``connection.py``, ``output.py``, ``lifecycle.py`` and
``record/inbound.py``. A raise site is a function (its qualified name, as the traceback names it) and
the exception class raised there, read from the source with ``ast``. The fault records of this package
(``fault.REGISTERED``) each say which site they reach (``site``, ``raises``), and check at run time
that the failure comes from there; so:

- a ``RemoteProtocolError`` raised in the seam must be reached by a record, or listed in UNREACHABLE;
- anything else raised there (``LocalProtocolError``, ``TypeError``...) must be listed in UNREACHABLE,
  since peer bytes must only ever end in a ``RemoteProtocolError`` (or ``FatalAlert``, the peer's
  own alert, raised where the inbound path reads alerts; test_record_inbound.py);
- every UNREACHABLE entry names a function that exists in that file and still raises that class there,
  and no record reaches it.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tests.handshake.faults as fault_package
import tlslens
from tests.handshake.faults.fault import REGISTERED
from tlslens.errors import (
    FatalAlert,
    IllegalParameter,
    InternalError,
    LocalProtocolError,
    RemoteProtocolError,
    UnexpectedMessage,
)

SRC = Path(tlslens.__file__).resolve().parent
SEAM = ("handshake/*.py", "connection.py", "output.py", "lifecycle.py", "record/inbound.py")


@dataclass(frozen=True)
class Unreachable:
    site: str  # "path/under/tlslens.py:qualified.name"
    raises: type[BaseException]
    reason: str


UNREACHABLE = [
    Unreachable(
        site="handshake/client_hello.py:_sni_and_verify_name",
        raises=LocalProtocolError,
        reason="the server_name the caller passed is empty or not a host name",
    ),
    Unreachable(
        site="handshake/client_hello.py:send_first_client_hello",
        raises=LocalProtocolError,
        reason="the caller gave no server_name to verify the certificate against",
    ),
    Unreachable(
        site="handshake/client_psk.py:check_early_data",
        raises=LocalProtocolError,
        reason="the caller passed early data without a session, or more than its ticket allows",
    ),
    Unreachable(
        site="handshake/verify.py:_Token.__init__",
        raises=TypeError,
        reason="a proof token made outside verify.py: engine misuse",
    ),
    Unreachable(
        site="handshake/verify.py:verify_resumed_finished",
        raises=TypeError,
        reason="the client calls it only when the ServerHello accepted its PSK, so the handshake secret"
        " was derived from that PSK",
    ),
    Unreachable(
        site="handshake/verify.py:resumed_by_session12",
        raises=TypeError,
        reason="TLS 1.2 states call it only on an abbreviated handshake, keyed from the session's master"
        " secret",
    ),
    Unreachable(
        site="handshake/verify.py:verify_external_psk_finished",
        raises=TypeError,
        reason="the client calls it only when the ServerHello selected one of its external PSKs, so the"
        " handshake secret was derived from that PSK",
    ),
    Unreachable(
        site="handshake/server13.py:_send_certificate",
        raises=InternalError,
        reason="it runs only without a PSK, and choose_server_psk refuses a handshake with neither a PSK"
        " nor a certificate (a PSK-only server: handshake_failure or unknown_psk_identity)",
    ),
    Unreachable(
        site="handshake/post_handshake_auth.py:ServerPha.request",
        raises=LocalProtocolError,
        reason="the caller asked for a client certificate the client did not offer to give, without a"
        " client_verifier, or with too many requests waiting",
    ),
    Unreachable(
        site="connection.py:ServerConnection.request_client_certificate",
        raises=LocalProtocolError,
        reason="the caller asked for a client certificate on a TLS 1.2 connection",
    ),
    Unreachable(
        site="connection.py:_Connection.update_keys",
        raises=LocalProtocolError,
        reason="the caller asked for a KeyUpdate on a TLS 1.2 connection",
    ),
    Unreachable(
        site="handshake/server13.py:_send_server_parameters",
        raises=InternalError,
        reason="ExpectClientHello.handle sends a HelloRetryRequest instead (or refuses a second"
        " ClientHello) whenever a key share is needed and the client sent none for the chosen group",
    ),
    Unreachable(
        site="handshake/common.py:expect",
        raises=UnexpectedMessage,
        reason="each state's `accepts` names the types it handles; the reassembler refuses any other at"
        " its header (record/reassembly.py MessageLimits.refuse) before the state sees a message",
    ),
    Unreachable(
        site="handshake/traffic.py:ClientTraffic.handle",
        raises=UnexpectedMessage,
        reason="ClientTraffic accepts NewSessionTicket and KeyUpdate (and CertificateRequest when it offered"
        " post_handshake_auth, which has a ClientPha then) only; the reassembler refuses any other type at"
        " its header",
    ),
    Unreachable(
        site="handshake/client12_finish.py:ExpectChangeCipherSpec.receive",
        raises=UnexpectedMessage,
        reason="the state accepts HelloRequest only (ignored before receive); the reassembler refuses any"
        " other handshake type at its header",
    ),
    Unreachable(
        site="handshake/server12.py:ExpectChangeCipherSpec.handle",
        raises=UnexpectedMessage,
        reason="the state accepts no handshake message; the reassembler refuses every one at its header",
    ),
    Unreachable(
        site="handshake/traffic12.py:ClientTraffic12.handle",
        raises=UnexpectedMessage,
        reason="ClientTraffic12 accepts HelloRequest only; the reassembler refuses any other type at its"
        " header",
    ),
    Unreachable(
        site="handshake/traffic12.py:ServerTraffic12.handle",
        raises=UnexpectedMessage,
        reason="ServerTraffic12 accepts ClientHello only; the reassembler refuses any other type at its"
        " header",
    ),
    Unreachable(
        site="handshake/traffic.py:ServerTraffic.handle",
        raises=UnexpectedMessage,
        reason="ServerTraffic accepts KeyUpdate, and the messages of a client's answer to a post-handshake"
        " CertificateRequest only; the reassembler refuses any other type at its header",
    ),
    Unreachable(
        site="connection.py:_Connection._change_cipher_spec",
        raises=UnexpectedMessage,
        reason="the inbound path yields ChangeCipherSpec only after Output.negotiated(TLS1_2), and every"
        " state from there on is a Tls12State (client12's and server12's states, the TLS 1.2 Traffic"
        " states); before it a change_cipher_spec record is TLS 1.3's, dropped or refused by the inbound"
        " path itself",
    ),
    Unreachable(
        site="handshake/client12.py:ExpectCertificateRequestOrDone.receive",
        raises=IllegalParameter,
        reason="the TLS 1.2 decoder reads supported_signature_algorithms<2..2^16-2>: an empty list is a"
        " decode_error before the state sees it (test_client12.py:"
        " certificate_request12-no_signature_algorithms)",
    ),
    Unreachable(
        site="handshake/server12.py:ExpectClientCertificate.handle",
        raises=UnexpectedMessage,
        reason="the state is entered only when the config has a client_verifier (the server asked); a"
        " client Certificate that was not asked for meets ExpectClientKeyExchange's expect() (test_server12"
        ".py: client_flight12-certificate_not_asked_for)",
    ),
    Unreachable(
        site="handshake/server12.py:ExpectFinished.handle",
        raises=UnexpectedMessage,
        reason="a full handshake's keys always include our sealer (ExpectClientKeyExchange makes both);"
        " only an abbreviated one has none, and it takes the other branch",
    ),
    Unreachable(
        site="connection.py:_Connection.receive_data",
        raises=LocalProtocolError,
        reason="the caller fed bytes to a connection that had already failed",
    ),
    Unreachable(
        site="connection.py:_Connection.export_keying_material",
        raises=LocalProtocolError,
        reason="the caller asked for keying material before the handshake completed",
    ),
    Unreachable(
        site="connection.py:_Connection._check_can_send",
        raises=LocalProtocolError,
        reason="the caller sent data or a KeyUpdate before the handshake, after close() or a failure",
    ),
]


# --- reading raise sites from the source ----------------------------------------------------------------


@dataclass(frozen=True)
class RaiseSite:
    site: str
    raises: type[BaseException] | None  # None: a bare ``raise`` (re-raise)
    line: int


class _Finder(ast.NodeVisitor):
    """Each ``raise`` with the qualified name of the function around it (``co_qualname``'s rules)."""

    def __init__(self) -> None:
        self.scope: list[tuple[str, bool]] = []  # (name, is a function)
        self.found: list[tuple[str, ast.Raise]] = []

    def _qualname(self) -> str:
        if not self.scope:
            return "<module>"
        name = self.scope[0][0]
        for (_, outer_is_function), (inner, _) in zip(self.scope, self.scope[1:], strict=False):
            name += (".<locals>." if outer_is_function else ".") + inner
        return name

    def _enter(self, node: ast.AST, name: str, is_function: bool) -> None:
        self.scope.append((name, is_function))
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._enter(node, node.name, True)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._enter(node, node.name, True)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._enter(node, "<lambda>", True)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._enter(node, node.name, False)

    def visit_Raise(self, node: ast.Raise) -> None:
        self.found.append((self._qualname(), node))
        self.generic_visit(node)


def _raised_class(node: ast.Raise, namespace: dict[str, object], where: str) -> type[BaseException] | None:
    """The class a ``raise`` statement raises: a class named in the module, or the declared return type
    of a function that builds the exception (``raise unexpected(...)``)."""
    if node.exc is None:
        return None
    target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    what = f"{where}: `raise {ast.unparse(node.exc)}`"
    assert isinstance(target, ast.Name | ast.Attribute), f"{what}: cannot tell what this raises"
    try:
        obj = eval(compile(ast.Expression(target), where, "eval"), namespace)  # a name or dotted name
    except (NameError, AttributeError):
        pytest.fail(f"{what}: cannot tell what this raises (not a class or function of the module)")
    if not isinstance(obj, type) and callable(obj):
        obj = typing.get_type_hints(obj).get("return")
    assert isinstance(obj, type) and issubclass(obj, BaseException), f"{what}: raises {obj!r}?"
    return obj


def raise_sites(relpath: str) -> list[RaiseSite]:
    """Every ``raise`` in ``src/tlslens/<relpath>``."""
    path = SRC / relpath
    module = importlib.import_module("tlslens." + relpath.removesuffix(".py").replace("/", "."))
    finder = _Finder()
    finder.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return [
        RaiseSite(
            f"{relpath}:{qualname}",
            _raised_class(node, vars(module), f"{relpath}:{node.lineno}"),
            node.lineno,
        )
        for qualname, node in finder.found
    ]


def seam_files() -> list[str]:
    files = sorted({p.relative_to(SRC).as_posix() for pattern in SEAM for p in SRC.glob(pattern)})
    assert "handshake/server13.py" in files and "record/inbound.py" in files
    return files


def seam_raise_sites() -> Iterator[RaiseSite]:
    for relpath in seam_files():
        yield from raise_sites(relpath)


def covered() -> set[tuple[str, type[BaseException]]]:
    """(site, class) of every fault record the tests of this package run (xfailed ones reach nothing)."""
    for module in pkgutil.iter_modules(fault_package.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"{fault_package.__name__}.{module.name}")
    assert len(REGISTERED) > 100, "the fault records were not collected"
    return {(f.site, f.raises) for f in REGISTERED if not f.xfail}


def unreachable() -> set[tuple[str, type[BaseException]]]:
    return {(u.site, u.raises) for u in UNREACHABLE}


# --- the checks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", [pytest.param(u, id=u.site) for u in UNREACHABLE])
def test_unreachable_site_still_raises_what_it_says(entry: Unreachable) -> None:
    relpath, qualname = entry.site.split(":")
    assert (SRC / relpath).is_file(), f"no file src/tlslens/{relpath}"
    sites = raise_sites(relpath)
    raised_there = {s.raises for s in sites if s.site == entry.site}
    assert raised_there, f"no raise in a function {qualname} in src/tlslens/{relpath}"
    assert entry.raises in raised_there, f"{entry.site} raises {raised_there}, not {entry.raises.__name__}"
    assert entry.reason


def test_every_peer_fault_raised_in_the_seam_is_reached_by_a_fault_record() -> None:
    accounted = covered() | unreachable()
    missing = sorted(
        f"{s.site} ({s.raises.__name__}, line {s.line})"
        for s in seam_raise_sites()
        if s.raises is not None
        and issubclass(s.raises, RemoteProtocolError)
        and (s.site, s.raises) not in accounted
    )
    assert not missing, "add a fault record that reaches these, or list them in UNREACHABLE:\n" + "\n".join(
        missing
    )


def test_every_other_raise_in_the_seam_is_listed_unreachable() -> None:
    listed = unreachable()
    unexplained = sorted(
        f"{s.site} ({s.raises.__name__}, line {s.line})"
        for s in seam_raise_sites()
        if s.raises is not None
        and not issubclass(s.raises, RemoteProtocolError | FatalAlert)
        and (s.site, s.raises) not in listed
    )
    assert not unexplained, (
        "peer bytes must end in a RemoteProtocolError; if these cannot be reached by peer bytes, list them"
        " in UNREACHABLE with the reason:\n" + "\n".join(unexplained)
    )


def test_no_fault_record_reaches_an_unreachable_site() -> None:
    both = covered() & unreachable()
    assert not both, f"reached by a fault record, so not unreachable: {both}"


def test_raise_sites_are_read_as_the_traceback_names_them() -> None:
    # The finder's qualified names are those the fault records compare with co_qualname.
    sites = {s.site: s.raises for s in raise_sites("handshake/client13.py")}
    assert "handshake/client13.py:ExpectServerHello._hello_retry" in sites
    traffic = {(s.site, s.raises) for s in raise_sites("handshake/traffic.py")}
    assert any(
        site.endswith("ServerTraffic.handle") and cls.__name__ == "UnexpectedMessage" for site, cls in traffic
    )
    verify = {s.site for s in raise_sites("handshake/verify.py") if s.raises is None}
    assert verify == {"handshake/verify.py:_unparsable_as_bad_certificate"}  # the bare re-raise
