"""How the scanner finds what a server supports with as few hello-only probes as it can.

Each strategy is an async function handed a ``Prober`` (the only thing that does I/O) and returns
plain data. They never sleep and never wait on anything but an answer.

- Protocols: one hello per version, all suites offered; the version in the ServerHello (or the alert)
  says whether it is supported. Two more hellos test version intolerance.
- Cipher suites, per protocol, by elimination: offer every candidate, remove the one the server chose,
  offer the rest again, until the server refuses: N + 1 probes for N suites instead of one per suite.
  One more probe (the first and last found, in swapped order) says whose preference order the server
  follows.
- TLS 1.3 groups, by elimination through HelloRetryRequests: a hello with no key share makes the
  server name the group it wants, so no key is needed.
- TLS_FALLBACK_SCSV (RFC 7507): a hello below the best version with the SCSV must be refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from tlslens.scan.flight import ServerAnswer
from tlslens.scan.hellos import SSL3, TLS10, TLS11, TLS12, TLS13, TLS13_GROUPS, HelloSpec, encode_sslv2_hello
from tlslens.scan.net import Prober
from tlslens.wire.enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion
from tlslens.wire.extensions import Cookie, KeyShareHelloRetryRequest

__all__ = [
    "LEGACY_VERSIONS",
    "GroupEnumeration",
    "Intolerance",
    "Order",
    "SuiteEnumeration",
    "enumerate_groups_tls12",
    "enumerate_groups_tls13",
    "enumerate_suites",
    "probe_fallback_scsv",
    "probe_intolerance",
    "probe_protocols",
    "probe_sslv2",
]

LEGACY_VERSIONS: tuple[ProtocolVersion, ...] = (SSL3, TLS10, TLS11, TLS12)
Order = Literal["server", "client"] | None
"""Whose preference decides: the server's, the client's, or unknown (fewer than two choices)."""

SpecFor = Callable[[Sequence[int]], HelloSpec]


async def probe_protocols(
    prober: Prober, spec_for: Callable[[ProtocolVersion], HelloSpec]
) -> dict[ProtocolVersion, ServerAnswer]:
    """One hello per version (SSL 3.0 to TLS 1.3), concurrently; the answers, by version asked."""
    versions = (*LEGACY_VERSIONS, TLS13)
    answers = await asyncio.gather(*(prober.hello(spec_for(v), "protocols") for v in versions))
    return dict(zip(versions, answers, strict=True))


async def probe_sslv2(prober: Prober) -> ServerAnswer:
    """An SSL 2.0 CLIENT-HELLO; a SERVER-HELLO with cipher kinds means SSL 2.0 is on."""
    return await prober.raw(encode_sslv2_hello(), "protocols")


def supported(version: ProtocolVersion, answer: ServerAnswer) -> bool:
    """Did ``answer`` (to a hello offering at most ``version``) accept exactly that version?"""
    return answer.accepted and answer.version == version


@dataclass(frozen=True, slots=True)
class SuiteEnumeration:
    """The suites one protocol version accepted, in the order they were found, and whose order that is."""

    version: ProtocolVersion
    suites: tuple[CipherSuite, ...]
    order: Order
    probes: int
    error: str | None = None
    answers: tuple[ServerAnswer, ...] = field(default=(), repr=False)
    """The ServerHello answer for each suite found, in the same order (their flights carry the
    certificate and ServerKeyExchange of that suite, in TLS 1.2 and older)."""


async def enumerate_suites(
    prober: Prober,
    version: ProtocolVersion,
    candidates: Sequence[int],
    spec_for: SpecFor,
    first: ServerAnswer | None = None,
) -> SuiteEnumeration:
    """Elimination: offer ``candidates``; remove what the server chose; repeat until it refuses.

    ``first`` is the answer to a hello that offered all ``candidates`` already (the protocol probe),
    which saves one probe. With the server's own order, the suites come out in that order.
    """
    remaining = list(candidates)
    found: list[CipherSuite] = []
    answers: list[ServerAnswer] = []
    probes = 0
    error = None
    answer = first
    while remaining:
        if answer is None:
            answer = await prober.hello(spec_for(remaining), "cipher_suites")
            probes += 1
        if not supported(version, answer) or answer.cipher_suite is None:
            break
        chosen = answer.cipher_suite
        if chosen not in remaining:
            error = f"the server chose {chosen.name}, which was not offered"
            break
        found.append(chosen)
        answers.append(answer)
        remaining.remove(chosen)
        answer = None
    order: Order = None
    if len(found) >= 2:
        swapped = await prober.hello(spec_for([found[-1], found[0]]), "cipher_suites")
        probes += 1
        if supported(version, swapped):
            order = "server" if swapped.cipher_suite == found[0] else "client"
    return SuiteEnumeration(version, tuple(found), order, probes, error, tuple(answers))


@dataclass(frozen=True, slots=True)
class GroupEnumeration:
    """Groups a server accepts for one protocol version, in the order found, and whose order that is."""

    version: ProtocolVersion
    groups: tuple[NamedGroup, ...]
    order: Order
    probes: int
    hello_retry: bool = False
    """TLS 1.3: the server answered a hello without key shares with a HelloRetryRequest."""
    cookie: bool = False
    """TLS 1.3: its HelloRetryRequest carried a cookie (a stateless server, RFC 8446 §4.2.2)."""
    error: str | None = None


def _hrr_group(answer: ServerAnswer) -> NamedGroup | None:
    if answer.kind != "hello_retry" or answer.server_hello is None:
        return None
    ks = answer.server_hello.extension(KeyShareHelloRetryRequest)
    return None if ks is None else ks.selected_group


async def enumerate_groups_tls13(
    prober: Prober, base: HelloSpec, candidates: Sequence[NamedGroup] = TLS13_GROUPS
) -> GroupEnumeration:
    """Offer ``candidates`` with no key share: the HelloRetryRequest names a group; remove it; repeat."""
    remaining = list(candidates)
    found: list[NamedGroup] = []
    probes = 0
    hrr = cookie = False
    error = None

    def spec(groups: Sequence[NamedGroup]) -> HelloSpec:
        return replace(base, groups=tuple(groups), key_shares=())

    while remaining:
        answer = await prober.hello(spec(remaining), "groups")
        probes += 1
        group = _hrr_group(answer)
        if group is None:
            if answer.kind == "hello":
                error = "the server answered a hello without key shares with a ServerHello"
            break
        hrr = True
        if answer.server_hello is not None and answer.server_hello.extension(Cookie) is not None:
            cookie = True
        if group not in remaining:
            error = f"the server asked for {group.iana_name}, which was not offered"
            break
        found.append(group)
        remaining.remove(group)
    order: Order = None
    if len(found) >= 2:
        swapped = await prober.hello(spec([found[-1], found[0]]), "groups")
        probes += 1
        chosen = _hrr_group(swapped)
        if chosen is not None:
            order = "server" if chosen == found[0] else "client"
    return GroupEnumeration(TLS13, tuple(found), order, probes, hrr, cookie, error)


async def enumerate_groups_tls12(
    prober: Prober,
    version: ProtocolVersion,
    base: HelloSpec,
    curve_of: Callable[[ServerAnswer], NamedGroup | None],
    candidates: Sequence[NamedGroup],
) -> GroupEnumeration:
    """ECDHE curves in TLS 1.2 and older: ``base`` offers only ECDHE suites; the ServerKeyExchange
    (read by ``curve_of``) names the curve chosen; remove it from supported_groups; repeat.

    An ECDSA certificate's own curve must stay offered in TLS 1.2 (RFC 8422 §5.1: the client must
    support it), so when the server refuses a list without it, the curves found so far are offered
    again, last, and the elimination goes on among the others (with a server that follows the client's
    order; one that imposes its own then picks a curve already found, which ends the search)."""
    remaining = list(candidates)
    found: list[NamedGroup] = []
    pinned: list[NamedGroup] = []
    probes = 0
    error = None

    def spec(groups: Sequence[NamedGroup]) -> HelloSpec:
        return replace(base, groups=tuple(groups))

    while remaining:
        answer = await prober.hello(spec(remaining + pinned), "groups")
        probes += 1
        if not supported(version, answer) and found and not pinned:
            pinned = list(found)
            answer = await prober.hello(spec(remaining + pinned), "groups")
            probes += 1
        if not supported(version, answer):
            break
        curve = curve_of(answer)
        if curve is None or curve in pinned or curve not in remaining:
            if curve is not None and curve not in pinned:
                error = f"the server chose {curve.iana_name}, which was not offered"
            break
        found.append(curve)
        remaining.remove(curve)
    order: Order = None
    if len(found) >= 2:
        swapped = await prober.hello(spec([found[-1], found[0]]), "groups")
        probes += 1
        chosen = curve_of(swapped) if supported(version, swapped) else None
        if chosen is not None:
            order = "server" if chosen == found[0] else "client"
    return GroupEnumeration(version, tuple(found), order, probes, error=error)


@dataclass(frozen=True, slots=True)
class FallbackResult:
    """TLS_FALLBACK_SCSV: a hello for ``version`` (below the best) with the SCSV, and the answer."""

    version: ProtocolVersion
    refused: bool
    answer: ServerAnswer


async def probe_fallback_scsv(
    prober: Prober, versions: Sequence[ProtocolVersion], spec_for: Callable[[ProtocolVersion], HelloSpec]
) -> FallbackResult | None:
    """With two or more versions, offer the second best with TLS_FALLBACK_SCSV; the server must answer
    inappropriate_fallback (RFC 7507 §3). None when the server has a single version (nothing to test)."""
    ordered = sorted(versions, reverse=True)
    if len(ordered) < 2:
        return None
    lower = ordered[1]
    answer = await prober.hello(replace(spec_for(lower), fallback_scsv=True), "fallback_scsv")
    refused = answer.kind == "alert" and answer.alert == AlertDescription.INAPPROPRIATE_FALLBACK
    return FallbackResult(lower, refused, answer)


@dataclass(frozen=True, slots=True)
class Intolerance:
    """Hellos that a correct server answers with its best version <= TLS 1.2, and what it did."""

    tls13_hello: ServerAnswer
    """supported_versions (TLS 1.3, TLS 1.2) and key shares: the hello every modern client sends."""
    high_legacy_version: ServerAnswer
    """legacy_version 0x0304 and no supported_versions: a future version in the old field."""

    def failures(self, best_legacy: ProtocolVersion) -> list[str]:
        """What went wrong, for a server whose best version up to TLS 1.2 is ``best_legacy``."""
        out = []
        for what, answer in (
            ("a TLS 1.3 ClientHello (supported_versions with TLS 1.3 and TLS 1.2)", self.tls13_hello),
            ("a ClientHello with legacy_version 0x0304", self.high_legacy_version),
        ):
            version = answer.version
            if not answer.accepted:
                out.append(f"{what} got {answer.describe()} instead of {best_legacy.label}")
            elif version is not None and version < best_legacy:
                out.append(f"{what} was answered with {version.label} instead of {best_legacy.label}")
        return out


async def probe_intolerance(prober: Prober, spec_for: Callable[[ProtocolVersion], HelloSpec]) -> Intolerance:
    """The two intolerance hellos, concurrently (each offers every TLS 1.2 suite)."""
    legacy = spec_for(TLS12)
    tls13_suites = tuple(s for s in CipherSuite if s.is_tls13)
    tls13 = replace(
        legacy, version=TLS13, versions=(TLS13, TLS12), cipher_suites=tls13_suites + legacy.cipher_suites
    )
    high = replace(legacy, legacy_version=0x0304)
    a, b = await asyncio.gather(prober.hello(tls13, "intolerance"), prober.hello(high, "intolerance"))
    return Intolerance(a, b)
