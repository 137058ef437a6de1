"""HelloRetryRequest cookies (RFC 8446 §4.2.2): what lets a server forget a client between its two
ClientHellos. The cookie carries the hash of ClientHello1, what the HRR said, and a digest of what the
second ClientHello must repeat, under an HMAC with the server's cookie secret, and expires after
``COOKIE_LIFETIME`` seconds.

    cookie = version(1) || issued_at(8, ms) || suite(2) || group(2) || flags(1) || session_id<0..32>
             || client_hello1_hash<32..64> || hello1_digest<32> || HMAC-SHA256(secret, all of the above)

RFC 8446 §4.1.2: ClientHello2 is ClientHello1 except for key_share (one share, for the group the HRR
named), early_data (removed), cookie (added), pre_shared_key (updated, or removed; never added) and
padding. ``hello1_digest`` hashes everything else, in order, so a stateless server checks the rule
without the first hello; flag ``_OFFERED_PSK`` says whether ClientHello1 offered a PSK. On the same
connection the server also keeps ClientHello1, to name what changed (``describe_changes``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from tlslens.crypto.suites import TLS13_SUITES
from tlslens.crypto.transcript import Transcript
from tlslens.errors import DecodeError, IllegalParameter
from tlslens.handshake.common import HRR_RANDOM
from tlslens.wire.enums import CipherSuite, ExtensionType, NamedGroup, ProtocolVersion
from tlslens.wire.extensions import (
    Cookie,
    EarlyData,
    Extension,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    PreSharedKeyClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import encode_handshake
from tlslens.wire.reader import Reader, Writer

COOKIE_LIFETIME = 60.0
_VERSION = 2
_MAC_LEN = 32
_OFFERED_PSK = 0x01

_T = ExtensionType
# What ClientHello2 may change (RFC 8446 §4.1.2): left out of the digest (key_share's body only).
_MAY_CHANGE = frozenset({_T.EARLY_DATA, _T.COOKIE, _T.PRE_SHARED_KEY, _T.PADDING})
_KEY_SHARE_PLACE = UnknownExtension(_T.KEY_SHARE, b"")


def _must_repeat(ch: ClientHello) -> tuple[Extension, ...]:
    return tuple(
        _KEY_SHARE_PLACE if e.ext_type == _T.KEY_SHARE else e
        for e in ch.extensions or ()
        if e.ext_type not in _MAY_CHANGE
    )


def hello1_digest(ch: ClientHello) -> bytes:
    """SHA-256 of what a second ClientHello must repeat from this one (RFC 8446 §4.1.2)."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(encode_handshake(replace(ch, extensions=_must_repeat(ch))))
    return digest.finalize()


def build_hello_retry_request(
    session_id: bytes, suite: CipherSuite, group: NamedGroup, cookie: bytes
) -> ServerHello:
    return ServerHello(
        legacy_version=ProtocolVersion.TLS1_2,
        random=HRR_RANDOM,
        legacy_session_id_echo=session_id,
        cipher_suite=suite,
        extensions=(
            KeyShareHelloRetryRequest(group),
            Cookie(cookie),
            SupportedVersionsServerHello(ProtocolVersion.TLS1_3),
        ),
    )


def _mac(secret: bytes, data: bytes) -> hmac.HMAC:
    h = hmac.HMAC(secret, hashes.SHA256())
    h.update(data)
    return h


def seal_cookie(
    secret: bytes,
    *,
    now: float,
    suite: CipherSuite,
    group: NamedGroup,
    client_hello1: ClientHello,
    client_hello1_hash: bytes,
) -> bytes:
    w = Writer()
    w.u8(_VERSION)
    w.uint(8, int(now * 1000))
    w.u16(suite)
    w.u16(group)
    w.u8(_OFFERED_PSK if client_hello1.extension(PreSharedKeyClientHello) is not None else 0)
    w.opaque(1, client_hello1.legacy_session_id)
    w.opaque(1, client_hello1_hash)
    w.bytes(hello1_digest(client_hello1))
    body = w.getvalue()
    return body + _mac(secret, body).finalize()


@dataclass(frozen=True, slots=True)
class RetryCookie:
    """What a valid cookie tells the server about the HelloRetryRequest it sent."""

    suite: CipherSuite
    group: NamedGroup
    session_id: bytes
    client_hello1_hash: bytes
    hello1_digest: bytes
    offered_psk: bool
    cookie: bytes

    def check_second_hello(self, second: ClientHello, first: ClientHello | None = None) -> None:
        """RFC 8446 §4.1.2: ``second`` repeats ClientHello1 but for what may change; IllegalParameter
        otherwise (naming the change when ``first``, ClientHello1 itself, is at hand)."""
        if second.extension(EarlyData) is not None:
            raise IllegalParameter("second ClientHello offers early data (none after a HelloRetryRequest)")
        if second.extension(PreSharedKeyClientHello) is not None and not self.offered_psk:
            raise IllegalParameter("second ClientHello adds a pre_shared_key the first did not offer")
        ks = second.extension(KeyShareClientHello)
        if ks is None or [e.group for e in ks.client_shares] != [self.group]:
            raise IllegalParameter(
                f"second ClientHello must carry one key share, for {self.group.iana_name} as asked"
            )
        if hello1_digest(second) != self.hello1_digest:  # (not a secret: the cookie's MAC covers it)
            changed = describe_changes(first, second) if first is not None else None
            raise IllegalParameter(
                f"second ClientHello changed {changed or 'what RFC 8446 §4.1.2 keeps fixed'}"
                " since the first (only key_share, early_data, cookie, pre_shared_key and padding may)"
            )

    def rebuild_transcript(self, second_hello: ClientHello) -> Transcript:
        """message_hash(ClientHello1) || HelloRetryRequest, ready for ClientHello2 (which
        ``check_second_hello`` has compared with ClientHello1, legacy_session_id included)."""
        suite = TLS13_SUITES[self.suite]
        transcript = Transcript.from_client_hello1_hash(suite.hash, self.client_hello1_hash)
        hrr = build_hello_retry_request(self.session_id, self.suite, self.group, self.cookie)
        transcript.update(encode_handshake(hrr))
        return transcript


def open_cookie(secret: bytes, cookie: bytes, now: float) -> RetryCookie:
    """Check the MAC (constant time), the version and the age; IllegalParameter for a bad cookie."""
    if len(cookie) <= _MAC_LEN:
        raise IllegalParameter("cookie is too short to be one of ours")
    body, tag = cookie[:-_MAC_LEN], cookie[-_MAC_LEN:]
    try:
        _mac(secret, body).verify(tag)
    except InvalidSignature:
        raise IllegalParameter("cookie was not issued by this server") from None
    try:
        r = Reader(body)
        version, issued_ms = r.u8(), r.uint(8)
        if version != _VERSION:
            raise IllegalParameter("cookie from another version of this server")
        suite, group, flags = CipherSuite(r.u16()), NamedGroup(r.u16()), r.u8()
        session_id, ch1_hash, ch1_digest = r.opaque(1), r.opaque(1), r.bytes(32)
        r.expect_end("cookie")
    except DecodeError as exc:  # only possible if our own format changed under a valid MAC
        raise IllegalParameter(f"cookie does not parse: {exc}") from None
    if suite not in TLS13_SUITES:
        raise IllegalParameter("cookie names a suite this server does not have")
    age = now - issued_ms / 1000
    if not -1.0 <= age <= COOKIE_LIFETIME:
        raise IllegalParameter(f"cookie is {age:.0f} s old (lifetime {COOKIE_LIFETIME:.0f} s)")
    return RetryCookie(suite, group, session_id, ch1_hash, ch1_digest, bool(flags & _OFFERED_PSK), cookie)


def describe_changes(first: ClientHello, second: ClientHello) -> str | None:
    """What ``second`` changed of ``first`` that RFC 8446 §4.1.2 keeps fixed, in words (None: nothing)."""
    fields = ("legacy_version", "random", "legacy_session_id", "cipher_suites", "legacy_compression_methods")
    changed = [f for f in fields if getattr(first, f) != getattr(second, f)]
    before, after = _must_repeat(first), _must_repeat(second)
    types_before, types_after = [e.ext_type for e in before], [e.ext_type for e in after]
    by_type = {e.ext_type: e for e in after}
    changed += [f"{t.name.lower()} (added)" for t in types_after if t not in types_before]
    changed += [f"{t.name.lower()} (removed)" for t in types_before if t not in types_after]
    changed += [f"{e.ext_type.name.lower()}" for e in before if by_type.get(e.ext_type, e) != e]
    if not changed and types_before != types_after:
        changed.append("the order of its extensions")
    return ", ".join(changed) or None
