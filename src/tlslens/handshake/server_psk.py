"""Server side of resumption and 0-RTT (RFC 8446 §4.2.9 to §4.2.11, §4.6.1, §8).

``choose_psk`` decides whether a ClientHello's ticket resumes the session, and whether its early data
is accepted; every refusal falls back to a full handshake (or to skipping the early data), never to a
failure, except a binder that does not verify (decrypt_error). ``send_tickets`` issues tickets after
every handshake, full or resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cryptography import x509

from tlslens.config import ServerConfig
from tlslens.crypto import key_schedule
from tlslens.crypto.key_schedule import EarlySecret
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.crypto.transcript import Transcript
from tlslens.errors import IllegalParameter
from tlslens.handshake.common import psk_binder
from tlslens.handshake.verify import Resumed, verify_binder
from tlslens.output import Output
from tlslens.session.replay import ReplayStoreError, replay_expiry, replay_key, ticket_age_is_fresh
from tlslens.session.tickets import TicketContents
from tlslens.wire.enums import PskKeyExchangeMode
from tlslens.wire.extensions import (
    EarlyData,
    EarlyDataNewSessionTicket,
    PreSharedKeyClientHello,
    PskKeyExchangeModes,
)
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import NewSessionTicket

if TYPE_CHECKING:
    from tlslens.handshake.server_negotiation import Negotiated


@dataclass(frozen=True, slots=True)
class PskChoice:
    """A ticket the server accepted: the session resumes with this PSK."""

    contents: TicketContents
    suite: Tls13Suite
    early_secret: EarlySecret
    dhe: bool  # psk_dhe_ke (a fresh key exchange too) or psk_ke
    accept_early_data: bool
    auth: Resumed  # the binder proved the client holds the PSK

    @property
    def index(self) -> int:
        """The ticket's place among the client's identities (the first: the only one tried)."""
        return 0

    @property
    def client_chain(self) -> tuple[x509.Certificate, ...]:
        """The client certificates of the original connection, which this session carries on."""
        return tuple(x509.load_der_x509_certificate(c) for c in self.contents.client_certificates or ())


def _say(out: Output, text: str) -> None:
    if out.tracing:
        out.decide("resumption", text)


def choose_psk(
    config: ServerConfig,
    ch: ClientHello,
    raw: bytes,
    suite: Tls13Suite,
    alpn: bytes | None,
    server_name: str | None,
    prior: Transcript | None,
    out: Output,
) -> PskChoice | None:
    """The first offered identity is tried (RFC 8446 §4.2.11 lets the server pick; clients offer one).

    ``prior`` is the transcript before this ClientHello (message_hash + HelloRetryRequest) or None.
    """
    offer = ch.extension(PreSharedKeyClientHello)
    if offer is None:
        return None
    if len(offer.identities) != len(offer.binders) or not offer.identities:
        raise IllegalParameter("pre_shared_key has a different number of identities and binders")
    modes_ext = ch.extension(PskKeyExchangeModes)
    if modes_ext is None:
        raise IllegalParameter("pre_shared_key offered without psk_key_exchange_modes")  # RFC 8446 §4.2.9
    modes = modes_ext.ke_modes
    ring = config.effective_ticket_keys
    now = config.provider.now()
    identity = offer.identities[0]
    contents, why = ring.open_with_reason(identity.identity, now)
    if contents is None:
        _say(out, f"full handshake: the client's ticket was refused ({why})")
        return None
    # Resume with the ticket's own suite when both sides still allow it (0-RTT needs exactly that suite),
    # else with the negotiated one if its hash matches the PSK's (RFC 8446 §4.2.11).
    ticket_suite = TLS13_SUITES.get(contents.suite)
    if (
        ticket_suite is not None
        and ticket_suite.code in ch.cipher_suites
        and ticket_suite.code in config.cipher_suites
    ):
        suite = ticket_suite
    elif ticket_suite is None or ticket_suite.hash.name != suite.hash.name:
        _say(
            out,
            f"full handshake: the ticket is for {contents.suite.name}, whose hash is not {suite.name}'s",
        )
        return None
    if contents.server_name != server_name:
        _say(out, f"full handshake: the ticket was issued for {contents.server_name}, not {server_name}")
        return None
    dhe = PskKeyExchangeMode.PSK_DHE_KE in modes
    if not dhe and not (config.allow_psk_ke and PskKeyExchangeMode.PSK_KE in modes):
        _say(
            out,
            "full handshake: the client allows psk_ke only, which this server refuses (no forward secrecy)",
        )
        return None
    # The binder proves the client holds the PSK and binds this ClientHello (constant-time compare).
    truncated = raw[: len(raw) - offer.binders_length()]
    early, expected = psk_binder(ticket_suite, contents.psk, truncated, prior)
    auth = verify_binder(expected, offer.binders[0])
    _say(out, f"resuming with {suite.name}: the ticket was issued {now - contents.created_at:.0f} s ago")
    return PskChoice(contents, suite, early, dhe, accept_early_data=False, auth=auth)


def decide_early_data(
    config: ServerConfig, ch: ClientHello, psk: PskChoice, alpn: bytes | None, after_retry: bool, out: Output
) -> PskChoice:
    """Whether the early data of this resumption is accepted; asked only once no HelloRetryRequest
    is needed, because asking consumes the ticket's one 0-RTT use."""
    offer = ch.extension(PreSharedKeyClientHello)
    assert offer is not None
    accept = _early_data_decision(config, ch, psk, alpn, after_retry, offer, config.provider.now(), out)
    return replace(psk, accept_early_data=accept)


def _early_data_decision(
    config: ServerConfig,
    ch: ClientHello,
    psk: PskChoice,
    alpn: bytes | None,
    after_retry: bool,
    offer: PreSharedKeyClientHello,
    now: float,
    out: Output,
) -> bool:
    if ch.extension(EarlyData) is None:
        return False
    contents = psk.contents

    def refuse(why: str) -> bool:
        _say(out, f"0-RTT refused: {why}; the early data is skipped")
        return False

    if config.max_early_data_size == 0:
        return refuse("early data is disabled on this server")
    if after_retry:
        return refuse("a HelloRetryRequest was needed")
    if contents.max_early_data_size == 0:
        return refuse("the ticket does not allow early data")
    if psk.suite.code != contents.suite:
        return refuse(f"the ticket's suite {contents.suite.name} is not the one chosen ({psk.suite.name})")
    if contents.alpn != alpn:
        return refuse("the ALPN protocol differs from the ticket's")
    if not ticket_age_is_fresh(
        offer.identities[0].obfuscated_ticket_age, contents.ticket_age_add, contents.created_at, now
    ):
        return refuse("the ticket age does not match when it was issued (outside the freshness window)")
    # Asked only now, after the binder verified, so nobody without the PSK can burn the ticket.
    key = replay_key(offer.identities[0].identity)
    try:
        first_use = config.effective_replay_store.check_and_remember(
            key, replay_expiry(contents.created_at, contents.lifetime), now
        )
    except ReplayStoreError as exc:  # fail closed: no 0-RTT when the store cannot answer
        return refuse(f"the anti-replay store did not answer ({exc})")
    if not first_use:
        return refuse("this ticket was already used for 0-RTT (a replay, or a client reusing it)")
    _say(out, "0-RTT accepted: fresh ticket, first use, same suite and ALPN")
    return True


def early_data_extension_ok(ch: ClientHello) -> bool:
    """RFC 8446 §4.2.10: early_data needs a PSK offer."""
    return ch.extension(EarlyData) is None or ch.extension(PreSharedKeyClientHello) is not None


def ticket_messages(
    config: ServerConfig,
    suite: Tls13Suite,
    resumption_secret: bytes,
    server_name: str | None,
    alpn: bytes | None,
    client_certificates: tuple[bytes, ...] | None,
    *,
    max_lifetime: int | None = None,
) -> list[NewSessionTicket]:
    """``config.tickets`` NewSessionTickets, each with its own nonce (and so its own PSK), valid for the
    configured lifetime (at most what the ticket keys guarantee, and ``max_lifetime`` when given)."""
    provider = config.provider
    now = provider.now()
    ring = config.effective_ticket_keys
    lifetime = min(config.ticket_lifetime, int(ring.guaranteed_lifetime))
    if max_lifetime is not None:
        lifetime = min(lifetime, max_lifetime)
    max_early = config.max_early_data_size
    messages = []
    for i in range(config.tickets):
        nonce = i.to_bytes(1, "big")
        age_add = int.from_bytes(provider.random(4), "big")
        contents = TicketContents(
            suite=suite.code,
            psk=key_schedule.resumption_psk(suite, resumption_secret, nonce),
            created_at=now,
            ticket_age_add=age_add,
            lifetime=lifetime,
            server_name=server_name,
            alpn=alpn,
            max_early_data_size=max_early,
            client_certificates=client_certificates,
        )
        extensions = (EarlyDataNewSessionTicket(max_early),) if max_early else ()
        messages.append(NewSessionTicket(lifetime, age_add, nonce, ring.seal(contents, now=now), extensions))
    return messages


def send_tickets(
    config: ServerConfig,
    chosen: Negotiated,
    psk: PskChoice | None,
    resumption_secret: bytes,
    client_chain_der: tuple[bytes, ...],
    out: Output,
) -> None:
    """NewSessionTickets after every handshake, full or resumed (RFC 8446 §4.6.1). A resumed session's
    tickets carry its client certificates on, and live no longer than the ticket that was resumed: the
    keying material of one full handshake has a bounded total lifetime, as §4.6.1 recommends."""
    client_der = client_chain_der or None
    max_lifetime = None
    if psk is not None:
        contents = psk.contents
        client_der = contents.client_certificates
        max_lifetime = int(contents.created_at + contents.lifetime - config.provider.now())
        if max_lifetime < 1:
            out.decide("tickets", "sent no tickets: the resumed session's lifetime is over")
            return
    tickets = ticket_messages(
        config,
        chosen.suite,
        resumption_secret,
        chosen.server_name,
        chosen.alpn_protocol,
        client_der,
        max_lifetime=max_lifetime,
    )
    for ticket in tickets:
        out.send(ticket)
    if out.tracing:
        text = f"sent {len(tickets)} session tickets"
        if psk is not None and tickets:
            text += f" (valid {tickets[0].ticket_lifetime} s: no longer than the ticket this session resumed)"
        out.decide("tickets", text)
