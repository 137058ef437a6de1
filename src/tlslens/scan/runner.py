"""The runner: scans targets, the only part of the scanner that drives I/O (through ``net`` and
``fullhs``).

One target runs in stages, each as concurrent as the per-host connection limit allows:

1. protocols (one hello per version, SSL 2.0 included) and version intolerance;
2. cipher suites per protocol, TLS 1.3 groups, TLS_FALLBACK_SCSV, and the complete handshakes
   (certificates per key type, with and without SNI, ALPN, OCSP, HTTP for HSTS), then resumption;
3. AIA downloads for chains missing an intermediate.

Then the checks, the grader and the improvements run on the data. ``scan_many`` runs many targets
at once (bounded) and yields each result as it finishes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from tlslens.pki import TrustStore, system_trust_store
from tlslens.scan import enumerate as en
from tlslens.scan.analysis import Analysis, analyse
from tlslens.scan.checks_certs import aia_urls_needed
from tlslens.scan.enumerate import supported
from tlslens.scan.flight import ServerAnswer
from tlslens.scan.fullhs import FULL_HANDSHAKE_VERSIONS, fetch_aia, full_handshake, http_request
from tlslens.scan.hellos import ECDHE_GROUPS, ECDSA_SCHEMES, RSA_SCHEMES, TLS13, HelloSpec
from tlslens.scan.model import ScanData, ServedChain
from tlslens.scan.net import Prober, Target, TargetError, resolve
from tlslens.scan.suites import candidates, info
from tlslens.scan.tls12 import read_flight12
from tlslens.wire.enums import NamedGroup, ProtocolVersion
from tlslens.wire.suite_registry import Authentication
from tlslens.wire.suite_registry import KeyExchange as KX

__all__ = ["ScanOptions", "ScanResult", "scan_many", "scan_target"]

T = TypeVar("T")

NEEDS_TLS12_HANDSHAKE = "needs a TLS 1.2 handshake, which the engine does not do yet"
ALPN_OFFER = (b"h2", b"http/1.1")


@dataclass(frozen=True, slots=True)
class ScanOptions:
    servername: str | None = None
    """SNI and the name certificates are checked against (default: the target's host name)."""
    trust: TrustStore | None = None
    """Roots for the chain diagnosis; None = the system store."""
    timeout: float = 5.0
    """Seconds one probe (connect, hello, answer) or one complete handshake may take."""
    connections: int = 5
    """Connections open to one host at a time."""
    concurrency: int = 16
    """Hosts scanned at a time."""
    http: bool = True
    """Send one GET / (for HSTS) on a complete handshake."""
    aia: bool = True
    """Download missing intermediates through the leaf's AIA URL."""


@dataclass(slots=True)
class ScanResult:
    """One target: its data and analysis, or why it could not be scanned (``error``)."""

    label: str
    data: ScanData | None = None
    analysis: Analysis | None = None
    error: str | None = None
    elapsed: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


async def _timed(prober: Prober, check: str, work: Awaitable[T]) -> T:
    start = time.perf_counter()
    try:
        return await work
    finally:
        stats = prober.stats_for(check)
        stats.wall = max(stats.wall, time.perf_counter() - start)


def _spec_factory(name: str | None) -> Callable[[ProtocolVersion], HelloSpec]:
    def spec_for(version: ProtocolVersion) -> HelloSpec:
        return HelloSpec(
            version=version,
            cipher_suites=candidates(version),
            server_name=name,
            alpn=ALPN_OFFER if version >= ProtocolVersion.TLS1_0 else (),
            extensions=version != ProtocolVersion.SSL3,
        )

    return spec_for


def _unscannable(data: ScanData) -> str | None:
    answers = [a for a in data.protocols.values()]
    if any(a.accepted for a in answers) or (data.sslv2 is not None and data.sslv2.kind == "sslv2"):
        return None
    kinds = {a.kind for a in answers}
    if kinds <= {"refused"}:
        return next((a.error for a in answers if a.error), "connection refused") or "connection refused"
    if "not_tls" in kinds:
        return "not TLS: " + next((a.error or "" for a in answers if a.kind == "not_tls"), "")
    if kinds <= {"timeout", "refused"}:
        return "no answer to any ClientHello within the timeout"
    summary = ", ".join(sorted({a.describe() for a in answers}))
    return f"the server accepted none of the protocols offered ({summary})"


async def _scan_stage2(prober: Prober, data: ScanData, name: str | None, options: ScanOptions) -> None:
    spec_for = _spec_factory(name)
    versions = data.supported_versions()
    jobs: list[Awaitable[object]] = []

    async def suites(version: ProtocolVersion) -> None:
        base = spec_for(version)
        first = data.protocols.get(version)

        def spec(offer: Sequence[int]) -> HelloSpec:
            return replace(base, cipher_suites=tuple(offer))

        data.suites[version] = await _timed(
            prober,
            "cipher_suites",
            en.enumerate_suites(prober, version, candidates(version), spec, first),
        )

    for version in versions:
        jobs.append(suites(version))
    if TLS13 in versions:

        async def groups() -> None:
            data.groups[TLS13] = await _timed(
                prober, "groups", en.enumerate_groups_tls13(prober, spec_for(TLS13))
            )

        jobs.append(groups())
    if len(versions) >= 2:

        async def fallback() -> None:
            data.fallback = await _timed(
                prober, "fallback_scsv", en.probe_fallback_scsv(prober, versions, spec_for)
            )

        jobs.append(fallback())
    full = bool(FULL_HANDSHAKE_VERSIONS.intersection(versions))
    if full:
        jobs.append(_timed(prober, "handshakes", _handshakes(prober, data, name, options)))
    else:
        for check in ("hsts", "resumption", "zero_rtt"):
            data.not_tested[check] = NEEDS_TLS12_HANDSHAKE
    legacy = [v for v in versions if v < TLS13]
    if legacy:
        jobs.append(_legacy(prober, data, max(legacy), spec_for(max(legacy)), name, certificates=not full))
    await asyncio.gather(*jobs)
    for found in data.suites.values():
        for suite, answer in zip(found.suites, found.answers, strict=False):
            dh = read_flight12(answer).dh
            if dh is not None:
                data.dh[suite.name] = dh


def _auth_suites(version: ProtocolVersion, auth: Authentication) -> tuple[int, ...]:
    return tuple(
        s for s in candidates(version) if (row := info(s)) is not None and row.authentication == auth
    )


def _ecdhe_suites(version: ProtocolVersion) -> tuple[int, ...]:
    return tuple(
        s for s in candidates(version) if (row := info(s)) is not None and row.key_exchange == KX.ECDHE
    )


async def _legacy(
    prober: Prober,
    data: ScanData,
    best: ProtocolVersion,
    base: HelloSpec,
    name: str | None,
    *,
    certificates: bool,
) -> None:
    """TLS 1.2-and-older extras: ECDHE curves, and (without a complete handshake) the certificates per
    key type and without SNI, all read from plaintext flights."""
    label = f"{best.label} hello"

    def add_chain(answer: ServerAnswer, how: str, sni: bool) -> None:
        flight = read_flight12(answer)
        if flight.chain:
            data.chains.append(ServedChain(flight.chain, how, sni, flight.ocsp_stapled))

    first = data.protocols[best]
    add_chain(first, f"{label}" + (f", SNI {name}" if name else ""), name is not None)

    async def groups() -> None:
        def curve(answer: ServerAnswer) -> NamedGroup | None:
            return read_flight12(answer).curve

        ecdhe = replace(base, cipher_suites=_ecdhe_suites(best))
        data.groups[best] = await _timed(
            prober, "groups", en.enumerate_groups_tls12(prober, best, ecdhe, curve, ECDHE_GROUPS)
        )

    async def chain(role: str, spec: HelloSpec, sni: bool) -> None:
        answer = await _timed(prober, "certificates", prober.hello(spec, "certificates"))
        if supported(best, answer):
            add_chain(answer, f"{label}, {role}" + (f", SNI {name}" if sni and name else ""), sni)

    jobs = [groups()]
    if certificates:
        jobs += [
            chain(
                "ECDSA suites", replace(base, cipher_suites=_auth_suites(best, Authentication.ECDSA)), True
            ),
            chain("RSA suites", replace(base, cipher_suites=_auth_suites(best, Authentication.RSA)), True),
        ]
        if name is not None:
            jobs.append(chain("no SNI", replace(base, server_name=None), False))
    await asyncio.gather(*jobs)


async def _handshakes(prober: Prober, data: ScanData, name: str | None, options: ScanOptions) -> None:
    host = name or data.target.host
    alpn = [p.decode() for p in ALPN_OFFER]

    async def main() -> None:
        http_host = host if options.http else None
        result = await full_handshake(
            prober, "handshakes", server_name=name, alpn=["http/1.1"], http_host=http_host
        )
        data.handshakes["main"] = result
        if result.ok and result.session is not None:
            early = http_request(host) if options.http else None
            data.handshakes["resumed"] = await _timed(
                prober,
                "resumption",
                full_handshake(
                    prober,
                    "resumption",
                    server_name=name,
                    alpn=["http/1.1"],  # as the first one: 0-RTT needs the ticket's ALPN (RFC 8446 §4.2.10)
                    session=result.session,
                    early_data=early,
                    http_host=http_host if early is not None else None,
                ),
            )

    async def other(role: str, **kw: object) -> None:
        data.handshakes[role] = await full_handshake(prober, "handshakes", **kw)  # type: ignore[arg-type]

    jobs = [
        main(),
        other("ecdsa", server_name=name, schemes=ECDSA_SCHEMES, alpn=alpn),
        other("rsa", server_name=name, schemes=RSA_SCHEMES, alpn=alpn),
    ]
    if name is not None:
        jobs.append(other("no_sni", server_name=None))
    await asyncio.gather(*jobs)
    if not options.http:
        data.not_tested["hsts"] = "HTTP was turned off (--no-http)"
    labels = {"main": "all schemes", "ecdsa": "ECDSA schemes", "rsa": "RSA schemes", "no_sni": "no SNI"}
    for role, label in labels.items():
        hs = data.handshakes.get(role)
        if hs is not None and hs.ok and hs.chain:
            sni = role != "no_sni" and name is not None
            how = f"{hs.version.label if hs.version else 'TLS'} handshake, {label}"
            if sni:
                how += f", SNI {name}"
            data.chains.append(ServedChain(hs.chain, how, sni, hs.ocsp_response is not None))


async def scan_target(
    host: str, port: int, options: ScanOptions, store: TrustStore | None = None
) -> ScanResult:
    """Scan one target; never raises for what the network does (the result says ``error``)."""
    start = time.perf_counter()
    label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        address = await resolve(host, port, options.timeout)
    except TargetError as exc:
        return ScanResult(label, error=str(exc), elapsed=time.perf_counter() - start)
    name = options.servername or (None if _is_ip(host) else host)
    target = Target(host, port, address, name)
    prober = Prober(target, timeout=options.timeout, connections=options.connections)
    data = ScanData(target, dt.datetime.now(dt.UTC), stats=prober.stats)
    spec_for = _spec_factory(name)

    async def protocols() -> None:
        data.protocols = await en.probe_protocols(
            prober, lambda v: replace(spec_for(v), compression=v < TLS13)
        )

    async def sslv2() -> None:
        data.sslv2 = await en.probe_sslv2(prober)

    async def intolerance() -> None:
        data.intolerance = await _timed(prober, "intolerance", en.probe_intolerance(prober, spec_for))

    await asyncio.gather(_timed(prober, "protocols", asyncio.gather(protocols(), sslv2())), intolerance())
    error = _unscannable(data)
    if error is not None:
        return ScanResult(label, data, error=error, elapsed=time.perf_counter() - start)
    await _scan_stage2(prober, data, name, options)
    if not data.chains:
        errors = [h.error for h in data.handshakes.values() if h.error]
        why = f"no complete handshake ({errors[0]})" if errors else "no certificate was presented"
        data.not_tested["certificates"] = why
    trust = store if store is not None else (options.trust or system_trust_store())
    if options.aia:
        urls = aia_urls_needed(data, trust)
        if urls:
            downloads = await _timed(
                prober, "aia", asyncio.gather(*(fetch_aia(u, options.timeout) for u in urls))
            )
            prober.stats_for("aia").probes += len(urls)
            data.aia = {d.url: d for d in downloads}
    data.elapsed = time.perf_counter() - start
    analysis = analyse(data, trust)
    return ScanResult(label, data, analysis, elapsed=time.perf_counter() - start)


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def scan_many(
    targets: Iterable[tuple[str, int]], options: ScanOptions, store: TrustStore | None = None
) -> AsyncIterator[ScanResult]:
    """Scan ``targets``, ``options.concurrency`` at a time, yielding each result as it finishes.

    Targets are taken from the iterable only as a worker frees up, so a list of millions costs no more
    memory than ``concurrency`` scans in flight."""
    trust = store if store is not None else (options.trust or system_trust_store())
    source = iter(targets)
    running: set[asyncio.Task[ScanResult]] = set()

    def refill() -> None:
        while len(running) < options.concurrency:
            item = next(source, None)
            if item is None:
                return
            running.add(asyncio.ensure_future(scan_target(item[0], item[1], options, trust)))

    refill()
    while running:
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            running.discard(task)
        refill()
        for task in done:
            yield task.result()
