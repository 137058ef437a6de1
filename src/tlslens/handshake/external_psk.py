"""Server side of external PSKs (RFC 8446 §2.2, §4.2.9, §4.2.11): which PSK of a ClientHello the server
uses, a resumption ticket or a key ``ServerConfig.psk_lookup`` knows.

``choose_server_psk`` is what the server's ClientHello state asks. A ticket in the first identity is
tried as before (``server_psk.choose_psk``) unless the lookup knows that identity; otherwise the first
identity the lookup knows that can be used is: with a suite of its hash (the negotiated one, or the
next in the server's preference that the client offers), psk_dhe_ke when the client offers it and
psk_ke only when both sides allow it. Its binder ("ext binder") must verify: a client with another key
for the identity is refused with decrypt_error. An external PSK never carries 0-RTT here (no ticket age
says how fresh a ClientHello is); early data offered with one is skipped. A server without
certificates refuses a client without a PSK it knows (unknown_psk_identity, or handshake_failure when
none was offered or none can be used).

The client's side is in ``client_psk.py`` (offering, and checking the server's choice).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from cryptography import x509

from tlslens.config import ServerConfig
from tlslens.credentials import MAX_EXTERNAL_PSK_IDENTITY, ExternalPsk, shown_identity
from tlslens.crypto.key_schedule import EarlySecret
from tlslens.crypto.suites import TLS13_SUITES, Tls13Suite
from tlslens.crypto.transcript import Transcript
from tlslens.errors import HandshakeFailure, IllegalParameter, UnknownPskIdentity
from tlslens.handshake.common import psk_binder
from tlslens.handshake.server_psk import PskChoice, choose_psk
from tlslens.handshake.verify import ByExternalPsk, verify_external_binder
from tlslens.output import Output
from tlslens.wire.enums import PskKeyExchangeMode
from tlslens.wire.extensions import EarlyData, PreSharedKeyClientHello, PskKeyExchangeModes
from tlslens.wire.hello import ClientHello

if TYPE_CHECKING:
    from tlslens.handshake.server_negotiation import Negotiated

MAX_PSK_IDENTITIES = 16
"""Identities a ClientHello's pre_shared_key may offer (more is illegal_parameter): each costs a lookup."""


@dataclass(frozen=True, slots=True)
class ExternalPskChoice:
    """An external PSK the server accepted: the handshake is authenticated by it, without certificates."""

    psk: ExternalPsk
    index: int  # its identity's place in the client's list (ServerHello.selected_identity)
    suite: Tls13Suite
    early_secret: EarlySecret
    dhe: bool  # psk_dhe_ke (a fresh key exchange too) or psk_ke
    auth: ByExternalPsk  # the binder proved the client holds the key
    accept_early_data: ClassVar[bool] = False
    client_chain: ClassVar[tuple[x509.Certificate, ...]] = ()


ServerPsk = PskChoice | ExternalPskChoice


def _say(out: Output, text: str) -> None:
    if out.tracing:
        out.decide("psk", text)


def choose_server_psk(
    config: ServerConfig,
    ch: ClientHello,
    raw: bytes,
    chosen: Negotiated,
    prior: Transcript | None,
    out: Output,
) -> ServerPsk | None:
    """The PSK this handshake uses, if any (``prior``: the transcript before a second ClientHello)."""
    offer = ch.extension(PreSharedKeyClientHello)
    if offer is not None and len(offer.identities) > MAX_PSK_IDENTITIES:
        count = len(offer.identities)
        raise IllegalParameter(f"pre_shared_key offers {count} identities (limit {MAX_PSK_IDENTITIES})")
    known = _known_identities(config, offer) if offer is not None else iter(())
    found = next(known, None)
    psk: ServerPsk | None = None
    if offer is not None and (found is None or found[0] != 0):
        psk = choose_psk(config, ch, raw, chosen.suite, chosen.alpn_protocol, chosen.server_name, prior, out)
    why = ""
    candidate = found if psk is None else None
    while offer is not None and candidate is not None:
        psk, why = _use_external(config, ch, raw, offer, candidate, chosen.suite, prior, out)
        candidate = next(known, None) if psk is None else None
    if psk is None and chosen.certificate is None:
        if offer is None:
            raise HandshakeFailure("this server authenticates with PSKs only, and the client offered none")
        if found is None:
            shown = ", ".join(shown_identity(i.identity) for i in offer.identities)
            raise UnknownPskIdentity(f"no PSK the server knows among the client's identities ({shown})")
        raise HandshakeFailure(f"this server authenticates with PSKs only, and {why}")
    return psk


def _known_identities(
    config: ServerConfig, offer: PreSharedKeyClientHello
) -> Iterator[tuple[int, ExternalPsk]]:
    """The identities ``psk_lookup`` knows, in the client's order, with their places in the list
    (looked up one at a time, as they are needed)."""
    lookup = config.psk_lookup
    if lookup is None:
        return
    for index, identity in enumerate(offer.identities):
        if len(identity.identity) <= MAX_EXTERNAL_PSK_IDENTITY:
            psk = lookup(identity.identity)
            if psk is not None:
                yield index, psk


def _use_external(
    config: ServerConfig,
    ch: ClientHello,
    raw: bytes,
    offer: PreSharedKeyClientHello,
    found: tuple[int, ExternalPsk],
    negotiated: Tls13Suite,
    prior: Transcript | None,
    out: Output,
) -> tuple[ExternalPskChoice | None, str]:
    """The known PSK, if it can be used: a suite of its hash, a key exchange mode both allow, and a
    binder that verifies (decrypt_error otherwise). Else None and why."""
    index, psk = found
    if len(offer.identities) != len(offer.binders):
        raise IllegalParameter("pre_shared_key has a different number of identities and binders")
    modes_ext = ch.extension(PskKeyExchangeModes)
    if modes_ext is None:  # RFC 8446 §4.2.9
        raise IllegalParameter("pre_shared_key offered without psk_key_exchange_modes")
    modes = modes_ext.ke_modes
    suite = _suite_for(config, ch, psk, negotiated)
    if suite is None:
        why = f"the PSK {psk.shown} is for {psk.hash}, and no cipher suite of that hash is shared"
        _say(out, f"PSK not used: {why}")
        return None, why
    dhe = PskKeyExchangeMode.PSK_DHE_KE in modes
    if not dhe and not (config.allow_psk_ke and PskKeyExchangeMode.PSK_KE in modes):
        why = "the client allows psk_ke only, which this server refuses (no forward secrecy)"
        _say(out, f"PSK {psk.shown} not used: {why}")
        return None, why
    truncated = raw[: len(raw) - offer.binders_length()]
    early, expected = psk_binder(suite, psk.key, truncated, prior, external=True)
    auth = verify_external_binder(expected, offer.binders[index])
    if out.tracing:
        kx = "psk_dhe_ke" if dhe else "psk_ke (no key exchange)"
        place = f"identity {index} of {len(offer.identities)}"
        _say(out, f"authenticating with the external PSK {psk.shown} ({place}), {suite.name}, {kx}")
        if ch.extension(EarlyData) is not None:
            out.decide("early_data", "0-RTT refused: not with an external PSK; the early data is skipped")
    return ExternalPskChoice(psk, index, suite, early, dhe, auth), ""


def _suite_for(
    config: ServerConfig, ch: ClientHello, psk: ExternalPsk, negotiated: Tls13Suite
) -> Tls13Suite | None:
    """The negotiated suite if it has the PSK's hash, else the server's next choice that has it."""
    name = psk.hash_algorithm.name
    if negotiated.hash.name == name:
        return negotiated
    for code in config.tls13_suites:
        if code in ch.cipher_suites and TLS13_SUITES[code].hash.name == name:
            return TLS13_SUITES[code]
    return None


__all__ = ["MAX_PSK_IDENTITIES", "ExternalPskChoice", "ServerPsk", "choose_server_psk"]
