"""Client side of PSKs: resumption and 0-RTT (RFC 8446 §4.2.10, §4.2.11, §4.6.1), and the external
PSKs of ``ClientConfig.external_psks`` (§2.2).

The client offers one ticket (single use, as RFC 8446 §C.4 advises) and then its external PSKs in a
pre_shared_key extension, which must be the last one, each with a binder over the ClientHello up to the
binders ("res binder" for the ticket, "ext binder" for the others). With early data (a ticket only) the
client sends its first bytes under the client_early_traffic_secret right after the ClientHello.
``selected_psk`` checks the server's choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tlslens.config import ClientConfig
from tlslens.credentials import ExternalPsk
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.crypto.transcript import Transcript
from tlslens.errors import IllegalParameter, LocalProtocolError
from tlslens.handshake.common import psk_binder
from tlslens.session.cache import Session
from tlslens.wire.enums import ExtensionType, ProtocolVersion
from tlslens.wire.extensions import EarlyData, PreSharedKeyClientHello, PreSharedKeyServerHello, PskIdentity
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import encode_handshake
from tlslens.wire.reader import Writer


def usable_session(
    config: ClientConfig, session: Session | None, server_name: str | None, now: float
) -> Session | None:
    """The session to offer, if it can still be: not expired, its version and suite still allowed (a
    TLS 1.2 one only with the extended master secret), same name."""
    if session is None or session.is_expired(now) or session.version not in config.enabled_versions:
        return None
    if session.version == ProtocolVersion.TLS1_2:
        if session.suite not in config.tls12_suites or not session.extended_master_secret:
            return None
    elif session.suite not in config.tls13_suites:
        return None
    if session.server_name != server_name:
        return None
    return session


def check_early_data(session: Session | None, early_data: bytes | None) -> None:
    if early_data is None:
        return
    if session is None:
        raise LocalProtocolError("early data needs a session to resume")
    if len(early_data) > session.max_early_data_size:
        raise LocalProtocolError(
            f"{len(early_data)} bytes of early data; the server's ticket allows {session.max_early_data_size}"
        )


def with_early_data_offer(hello: ClientHello) -> ClientHello:
    return replace(hello, extensions=(*(hello.extensions or ()), EarlyData()))


PskOffer = Session | ExternalPsk
"""What one identity of our pre_shared_key stands for: a TLS 1.3 session (its ticket) or an external PSK."""


def binder_suite(psk: ExternalPsk) -> Tls13Suite:
    """A suite of the PSK's hash, for its binder and early secret (only the hash counts there)."""
    name = psk.hash_algorithm.name
    return next(s for s in TLS13_SUITES.values() if s.hash.name == name)


def with_psks(
    hello: ClientHello, offers: Sequence[PskOffer], now: float, prior: Transcript | None
) -> tuple[ClientHello, bytes]:
    """Append pre_shared_key (last) naming ``offers`` in order, with their binders over the truncated
    hello (RFC 8446 §4.2.11.2). ``prior`` is the transcript before this hello (message_hash +
    HelloRetryRequest) or None. An external PSK's obfuscated_ticket_age is 0 (§4.2.11).

    Returns the hello and its encoding: the truncated hello the binders cover, then the binders vector
    (the placeholder binders had the same lengths, so every length before them already holds)."""
    entries = []
    for offer in offers:
        if isinstance(offer, Session):
            identity = PskIdentity(offer.ticket, offer.obfuscated_age(now))
            entries.append((identity, TLS13_SUITES[offer.suite], offer.psk, False))
        else:
            entries.append((PskIdentity(offer.identity, 0), binder_suite(offer), offer.key, True))
    identities = tuple(e[0] for e in entries)
    others = tuple(e for e in hello.extensions or () if e.ext_type != ExtensionType.PRE_SHARED_KEY)
    placeholder = PreSharedKeyClientHello(identities, tuple(bytes(e[1].hash_len) for e in entries))
    raw = encode_handshake(replace(hello, extensions=(*others, placeholder)))
    truncated = raw[: len(raw) - placeholder.binders_length()]
    binders = tuple(
        psk_binder(suite, key, truncated, prior, external=ext)[1] for _, suite, key, ext in entries
    )
    tail = Writer()
    with tail.length_prefixed(2):  # (as PreSharedKeyClientHello.encode_body writes its binders)
        for binder in binders:
            tail.opaque(1, binder)
    final = replace(hello, extensions=(*others, PreSharedKeyClientHello(identities, binders)))
    return final, truncated + tail.getvalue()


def selected_psk(
    offers: Sequence[PskOffer], selected: PreSharedKeyServerHello | None, suite: Tls13Suite
) -> tuple[Session | None, ExternalPsk | None]:
    """The PSK the ServerHello selected (RFC 8446 §4.2.11): one we offered, whose hash is the suite's.
    Returns the session it resumes, or the external PSK; (None, None) when it selected none."""
    if selected is None:
        return None, None
    if not offers:
        raise IllegalParameter("server selected a PSK that was not offered")
    index = selected.selected_identity
    if index >= len(offers):
        raise IllegalParameter(f"server selected PSK identity {index} of {len(offers)}")
    offer = offers[index]
    if isinstance(offer, Session):
        if TLS13_SUITES[offer.suite].hash.name != suite.hash.name:
            raise IllegalParameter("server resumed with a suite whose hash differs from the ticket's")
        return offer, None
    if offer.hash_algorithm.name != suite.hash.name:
        raise IllegalParameter(
            f"server chose {suite.name} for the PSK {offer.shown}, whose hash is {offer.hash}"
        )
    return None, offer
