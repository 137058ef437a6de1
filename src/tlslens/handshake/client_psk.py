"""Client side of resumption and 0-RTT (RFC 8446 §4.2.10, §4.2.11, §4.6.1).

The client offers one ticket (single use, as RFC 8446 §C.4 advises) in a pre_shared_key extension,
which must be the last one, with a binder over the ClientHello up to the binders. With early data the
client sends its first bytes under the client_early_traffic_secret right after the ClientHello.
"""

from __future__ import annotations

from dataclasses import replace

from tlslens.config import ClientConfig
from tlslens.crypto.suites import TLS13_SUITES
from tlslens.crypto.transcript import Transcript
from tlslens.errors import LocalProtocolError
from tlslens.handshake.common import psk_binder
from tlslens.session.cache import Session
from tlslens.wire.enums import ExtensionType, ProtocolVersion
from tlslens.wire.extensions import EarlyData, PreSharedKeyClientHello, PskIdentity
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import encode_handshake


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


def with_psk(hello: ClientHello, session: Session, now: float, prior: Transcript | None) -> ClientHello:
    """Append pre_shared_key (last) with the binder over the truncated hello (RFC 8446 §4.2.11.2).

    ``prior`` is the transcript before this hello (message_hash + HelloRetryRequest) or None.
    """
    suite = TLS13_SUITES[session.suite]
    identity = PskIdentity(session.ticket, session.obfuscated_age(now))
    others = tuple(e for e in hello.extensions or () if e.ext_type != ExtensionType.PRE_SHARED_KEY)
    placeholder = PreSharedKeyClientHello((identity,), (bytes(suite.hash_len),))
    draft = replace(hello, extensions=(*others, placeholder))
    raw = encode_handshake(draft)
    _, binder = psk_binder(suite, session.psk, raw[: len(raw) - placeholder.binders_length()], prior)
    return replace(hello, extensions=(*others, PreSharedKeyClientHello((identity,), (binder,))))
