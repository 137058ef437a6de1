"""The complete handshakes of a scan (``fullhs``), by role, and the resumption probes that follow them.

Roles, as kept in ``ScanData.handshakes``:

- ``main``: every version both the server and the engine speak, every signature scheme; it sends the
  one ``GET /`` (HSTS) on an HTTPS target;
- ``ecdsa``, ``rsa``: one key type's schemes (and, in TLS 1.2, its suites), so a server with both
  certificates shows each; ALPN h2 and http/1.1 (HTTPS targets);
- ``no_sni``: no server_name, for the default certificate;
- ``resumed``: TLS 1.3, ``main``'s ticket, with the GET sent as 0-RTT;
- ``tls12``: TLS 1.2 only, on a server that also speaks TLS 1.3 (on a TLS 1.2-only server ``main`` is
  that handshake); its session ticket resumes in ``resumed12_ticket``;
- ``tls12_no_ticket``: TLS 1.2 without session_ticket, so that the server keeps the session by its
  ID (RFC 5077 §3.4; OpenSSL sends no session ID with a ticket): ``resumed12_id`` resumes it. The two
  ways are reported apart, as sslyze does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace

from tlslens.scan.fullhs import FULL_HANDSHAKE_VERSIONS, HandshakeResult, Offer, full_handshake, http_request
from tlslens.scan.model import ScanData, ServedChain
from tlslens.scan.net import Prober
from tlslens.wire.enums import ProtocolVersion

__all__ = ["ALPN_WEB", "run_handshakes", "tls12_base"]

TLS13, TLS12 = ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2
ALPN_WEB = ("h2", "http/1.1")
_LABELS = {
    "main": "all schemes",
    "ecdsa": "ECDSA schemes",
    "rsa": "RSA schemes",
    "no_sni": "no SNI",
    "tls12": "all schemes",
}
NO_EMS_RESUMPTION = (
    "the server does not use the extended master secret (RFC 7627), and tlslens resumes no session "
    "without it (RFC 7627 §5.3)"
)


def tls12_base(data: ScanData) -> HandshakeResult | None:
    """The full TLS 1.2 handshake whose ticket the resumption probe used: ``tls12``, or a TLS 1.2 ``main``."""
    base = data.handshakes.get("tls12")
    if base is None:
        main = data.handshakes.get("main")
        if main is not None and (main.version == TLS12 or not main.ok) and TLS13 not in _versions(data):
            base = main
    return base


def _versions(data: ScanData) -> tuple[ProtocolVersion, ...]:
    supported = data.supported_versions()
    return tuple(v for v in (TLS13, TLS12) if v in supported and v in FULL_HANDSHAKE_VERSIONS)


async def run_handshakes(prober: Prober, data: ScanData, name: str | None, *, http: bool) -> None:
    """Every role above, as concurrently as the connection limit allows; then the chains they saw."""
    versions = _versions(data)
    web = data.route.starttls is None
    alpn = ALPN_WEB if web else ()
    host = name or data.target.host
    http_host = host if http and web else None
    main_offer = Offer(versions, alpn=("http/1.1",) if web else ())
    tls12_only = Offer((TLS12,), alpn=alpn)

    def handshake(offer: Offer, **kw: object) -> Awaitable[HandshakeResult]:
        check = "resumption" if "session" in kw else "handshakes"
        work = full_handshake(prober, check, offer, server_name=name, **kw)  # type: ignore[arg-type]
        return prober.timed(check, work) if check == "resumption" else work

    async def keep(role: str, work: Awaitable[HandshakeResult]) -> HandshakeResult:
        result = await work
        data.handshakes[role] = result
        return result

    async def main() -> HandshakeResult:
        result = await keep("main", handshake(main_offer, http_host=http_host, want_ticket=http_host is None))
        if result.ok and result.version == TLS13 and result.session is not None:
            early = http_request(host) if http_host is not None else None
            # The same ALPN as the first: 0-RTT needs the ticket's (RFC 8446 §4.2.10).
            resumed = handshake(
                main_offer,
                session=result.session,
                early_data=early,
                http_host=http_host if early is not None else None,
            )
            await keep("resumed", resumed)
        return result

    main_task = asyncio.ensure_future(main())

    async def by_ticket() -> None:
        if TLS13 in versions:
            base = await keep("tls12", handshake(tls12_only))
        else:
            base = await main_task
        session = base.session if base.ok and base.version == TLS12 else None
        if session is not None and session.ticket:
            # A fresh session ID: the server echoes it only if it resumes by the ticket (RFC 5077 §3.4).
            await keep("resumed12_ticket", handshake(tls12_only, session=replace(session, session_id=b"")))

    async def by_session_id() -> None:
        no_ticket = Offer((TLS12,), tickets=False)
        base = await keep("tls12_no_ticket", handshake(no_ticket))
        session = base.session if base.ok and base.version == TLS12 else None
        if session is not None and session.session_id:
            await keep("resumed12_id", handshake(no_ticket, session=replace(session, ticket=b"")))

    async def other(role: str, offer: Offer) -> None:
        await keep(role, handshake(offer))

    jobs: list[Awaitable[object]] = [
        main_task,
        other("ecdsa", Offer(versions, key_type="ecdsa", alpn=alpn)),
        other("rsa", Offer(versions, key_type="rsa", alpn=alpn)),
    ]
    if name is not None:
        jobs.append(other("no_sni", Offer(versions)))
    if TLS12 in versions:
        jobs += [by_ticket(), by_session_id()]
    await asyncio.gather(*jobs)
    _not_tested(data, versions)
    for role, label in _LABELS.items():
        hs = data.handshakes.get(role)
        if hs is not None and hs.ok and hs.chain:
            sni = role != "no_sni" and name is not None
            how = f"{hs.version.label if hs.version else 'TLS'} handshake, {label}"
            if sni:
                how += f", SNI {name}"
            data.chains.append(ServedChain(hs.chain, how, sni, hs.ocsp_response is not None))


def _not_tested(data: ScanData, versions: tuple[ProtocolVersion, ...]) -> None:
    if TLS13 not in versions:
        data.not_tested["zero_rtt"] = "0-RTT is TLS 1.3's, which the server does not speak"
    if TLS12 not in versions:
        return
    base = tls12_base(data)
    if base is not None and not base.ok:
        data.not_tested["tls12_resumption"] = f"no complete TLS 1.2 handshake ({base.error})"
    elif base is not None and base.extended_master_secret is False:
        data.not_tested["tls12_resumption"] = NO_EMS_RESUMPTION
