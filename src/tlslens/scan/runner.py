"""The runner: scans targets, the only part of the scanner that drives I/O (through ``net`` and
``fullhs``).

One target runs in stages, each as concurrent as the per-host connection limit allows:

1. protocols (one hello per version, SSL 2.0 included) and version intolerance;
2. cipher suites per protocol, groups, TLS_FALLBACK_SCSV, and the complete handshakes of
   ``scan.handshakes`` (certificates per key type, with and without SNI, ALPN, OCSP, HTTP for HSTS,
   resumption); a server none of whose handshakes completes has its certificates read from the
   plaintext TLS 1.2-and-older flights instead;
3. AIA downloads for chains missing an intermediate.

Every connection takes the target's ``Route`` (``ScanOptions.proxy``, ``ScanOptions.starttls``).

Then the checks, the grader and the improvements run on the data. ``scan_many`` runs many targets
at once (bounded) and yields each result as it finishes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from tlslens.adapters.proxy import Proxy, proxy_from_environment
from tlslens.pki import TrustStore, system_trust_store
from tlslens.scan import enumerate as en
from tlslens.scan.analysis import Analysis, analyse
from tlslens.scan.checks_certs import aia_urls_needed
from tlslens.scan.enumerate import supported
from tlslens.scan.flight import ServerAnswer
from tlslens.scan.fullhs import FULL_HANDSHAKE_VERSIONS, fetch_aia
from tlslens.scan.handshakes import ALPN_WEB, run_handshakes
from tlslens.scan.hellos import ECDHE_GROUPS, TLS13, HelloSpec
from tlslens.scan.model import ScanData, ServedChain
from tlslens.scan.net import Prober, Route, Target, TargetError, resolve
from tlslens.scan.suites import candidates, info
from tlslens.scan.tls12 import read_flight12
from tlslens.wire.enums import NamedGroup, ProtocolVersion
from tlslens.wire.suite_registry import Authentication
from tlslens.wire.suite_registry import KeyExchange as KX

__all__ = ["ScanOptions", "ScanResult", "scan_many", "scan_target"]

NEEDS_HANDSHAKE = "needs a complete handshake, which tlslens does in " + " and ".join(
    v.label for v in sorted(FULL_HANDSHAKE_VERSIONS, reverse=True)
)


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
    starttls: str | None = None
    """Run this protocol's plaintext dialogue (``tlslens.adapters.starttls.PROTOCOLS``: smtp, imap, ...)
    before every ClientHello. No HTTP then (HSTS does not apply), and no ALPN offered."""
    proxy: Proxy | None = None
    """Reach every target through this HTTP CONNECT proxy (AIA downloads too)."""
    proxy_from_environment: bool = False
    """Without ``proxy`` or ``starttls``: the proxy curl would take for https://HOST (``https_proxy`` /
    ``HTTPS_PROXY``, unless ``NO_PROXY`` lists the host)."""

    def route_for(self, host: str) -> Route:
        proxy = self.proxy
        if proxy is None and self.proxy_from_environment and self.starttls is None:
            proxy = proxy_from_environment(host)
        return Route(self.starttls, proxy)


@dataclass(slots=True)
class ScanResult:
    """One target: its data and analysis, or why it could not be scanned (``error``)."""

    label: str
    data: ScanData | None = None
    analysis: Analysis | None = None
    error: str | None = None
    elapsed: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


def _spec_factory(name: str | None, route: Route) -> Callable[[ProtocolVersion], HelloSpec]:
    alpn = tuple(p.encode() for p in ALPN_WEB) if route.starttls is None else ()

    def spec_for(version: ProtocolVersion) -> HelloSpec:
        return HelloSpec(
            version=version,
            cipher_suites=candidates(version),
            server_name=name,
            alpn=alpn if version >= ProtocolVersion.TLS1_0 else (),
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
    spec_for = _spec_factory(name, data.route)
    versions = data.supported_versions()
    jobs: list[Awaitable[object]] = []

    async def suites(version: ProtocolVersion) -> None:
        base = spec_for(version)
        first = data.protocols.get(version)

        def spec(offer: Sequence[int]) -> HelloSpec:
            return replace(base, cipher_suites=tuple(offer))

        data.suites[version] = await prober.timed(
            "cipher_suites",
            en.enumerate_suites(prober, version, candidates(version), spec, first),
        )

    for version in versions:
        jobs.append(suites(version))
    if TLS13 in versions:

        async def groups() -> None:
            data.groups[TLS13] = await prober.timed(
                "groups", en.enumerate_groups_tls13(prober, spec_for(TLS13))
            )

        jobs.append(groups())
    if len(versions) >= 2:

        async def fallback() -> None:
            data.fallback = await prober.timed(
                "fallback_scsv", en.probe_fallback_scsv(prober, versions, spec_for)
            )

        jobs.append(fallback())
    legacy = [v for v in versions if v < TLS13]
    full = bool(FULL_HANDSHAKE_VERSIONS.intersection(versions))
    if not full:
        for check in ("hsts", "resumption", "zero_rtt"):
            data.not_tested[check] = NEEDS_HANDSHAKE
    if data.route.starttls is not None:
        data.not_tested["hsts"] = f"not an HTTPS server (STARTTLS {data.route.starttls})"
    elif not options.http:
        data.not_tested["hsts"] = "HTTP was turned off (--no-http)"

    async def handshakes_then_chains() -> None:
        if full:
            await prober.timed("handshakes", run_handshakes(prober, data, name, http=options.http))
        if legacy and not any(h.ok and h.chain for h in data.handshakes.values()):
            await _hello_chains(prober, data, max(legacy), spec_for(max(legacy)), name)

    jobs.append(handshakes_then_chains())
    if legacy:
        jobs.append(_legacy_groups(prober, data, max(legacy), spec_for(max(legacy))))
        _first_chain(data, max(legacy), name)
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


def _add_hello_chain(data: ScanData, answer: ServerAnswer, how: str, sni: bool) -> None:
    flight = read_flight12(answer)
    if flight.chain:
        data.chains.append(ServedChain(flight.chain, how, sni, flight.ocsp_stapled))


def _first_chain(data: ScanData, best: ProtocolVersion, name: str | None) -> None:
    """The chain in the protocol probe's flight (TLS 1.2 and older send it in plain text): free."""
    how = f"{best.label} hello" + (f", SNI {name}" if name else "")
    _add_hello_chain(data, data.protocols[best], how, name is not None)


async def _legacy_groups(prober: Prober, data: ScanData, best: ProtocolVersion, base: HelloSpec) -> None:
    """ECDHE curves of TLS 1.2 and older, read from ServerKeyExchanges."""

    def curve(answer: ServerAnswer) -> NamedGroup | None:
        return read_flight12(answer).curve

    ecdhe = replace(base, cipher_suites=_ecdhe_suites(best))
    data.groups[best] = await prober.timed(
        "groups", en.enumerate_groups_tls12(prober, best, ecdhe, curve, ECDHE_GROUPS)
    )


async def _hello_chains(
    prober: Prober, data: ScanData, best: ProtocolVersion, base: HelloSpec, name: str | None
) -> None:
    """Without a complete handshake: the certificates per key type and without SNI, from the plaintext
    flights of TLS 1.2-and-older hellos."""
    label = f"{best.label} hello"

    async def chain(role: str, spec: HelloSpec, sni: bool) -> None:
        answer = await prober.timed("certificates", prober.hello(spec, "certificates"))
        if supported(best, answer):
            how = f"{label}, {role}" + (f", SNI {name}" if sni and name else "")
            _add_hello_chain(data, answer, how, sni)

    jobs = [
        chain("ECDSA suites", replace(base, cipher_suites=_auth_suites(best, Authentication.ECDSA)), True),
        chain("RSA suites", replace(base, cipher_suites=_auth_suites(best, Authentication.RSA)), True),
    ]
    if name is not None:
        jobs.append(chain("no SNI", replace(base, server_name=None), False))
    await asyncio.gather(*jobs)


async def scan_target(
    host: str, port: int, options: ScanOptions, store: TrustStore | None = None
) -> ScanResult:
    """Scan one target; never raises for what the network does (the result says ``error``)."""
    start = time.perf_counter()
    label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        route = options.route_for(host)
        # Through a proxy the proxy resolves the name (and we may not be able to).
        address = host if route.proxy is not None else await resolve(host, port, options.timeout)
    except (TargetError, ValueError) as exc:
        return ScanResult(label, error=str(exc), elapsed=time.perf_counter() - start)
    name = options.servername or (None if _is_ip(host) else host)
    target = Target(host, port, address, name)
    prober = Prober(target, timeout=options.timeout, connections=options.connections, route=route)
    data = ScanData(target, dt.datetime.now(dt.UTC), route=route, stats=prober.stats)
    spec_for = _spec_factory(name, route)

    async def protocols() -> None:
        data.protocols = await en.probe_protocols(
            prober, lambda v: replace(spec_for(v), compression=v < TLS13)
        )

    async def sslv2() -> None:
        data.sslv2 = await en.probe_sslv2(prober)

    async def intolerance() -> None:
        data.intolerance = await prober.timed("intolerance", en.probe_intolerance(prober, spec_for))

    await asyncio.gather(prober.timed("protocols", asyncio.gather(protocols(), sslv2())), intolerance())
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
            fetches = (fetch_aia(u, options.timeout, proxy=route.proxy) for u in urls)
            downloads = await prober.timed("aia", asyncio.gather(*fetches))
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
