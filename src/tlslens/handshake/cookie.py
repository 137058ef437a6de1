"""HelloRetryRequest cookies (RFC 8446 §4.2.2): what lets a server forget a client between its two
ClientHellos. The cookie carries the hash of ClientHello1 and what the HRR said, under an HMAC with the
server's cookie secret, and expires after ``COOKIE_LIFETIME`` seconds.

    cookie = version(1) || issued_at(8, ms) || suite(2) || group(2) || session_id<0..32>
             || client_hello1_hash<32..64> || HMAC-SHA256(secret, all of the above)
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

from tlslens.crypto.suites import TLS13_SUITES
from tlslens.crypto.transcript import Transcript
from tlslens.errors import DecodeError, IllegalParameter
from tlslens.handshake.common import HRR_RANDOM
from tlslens.wire.enums import CipherSuite, NamedGroup, ProtocolVersion
from tlslens.wire.extensions import Cookie, KeyShareHelloRetryRequest, SupportedVersionsServerHello
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import encode_handshake
from tlslens.wire.reader import Reader, Writer

COOKIE_LIFETIME = 60.0
_VERSION = 1
_MAC_LEN = 32


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
    session_id: bytes,
    client_hello1_hash: bytes,
) -> bytes:
    w = Writer()
    w.u8(_VERSION)
    w.uint(8, int(now * 1000))
    w.u16(suite)
    w.u16(group)
    w.opaque(1, session_id)
    w.opaque(1, client_hello1_hash)
    body = w.getvalue()
    return body + _mac(secret, body).finalize()


@dataclass(frozen=True, slots=True)
class RetryCookie:
    """What a valid cookie tells the server about the HelloRetryRequest it sent."""

    suite: CipherSuite
    group: NamedGroup
    session_id: bytes
    client_hello1_hash: bytes
    cookie: bytes

    def rebuild_transcript(self, second_hello: ClientHello) -> Transcript:
        """message_hash(ClientHello1) || HelloRetryRequest, ready for ClientHello2."""
        if second_hello.legacy_session_id != self.session_id:
            raise IllegalParameter("second ClientHello changed legacy_session_id")
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
        suite, group = CipherSuite(r.u16()), NamedGroup(r.u16())
        session_id, ch1_hash = r.opaque(1), r.opaque(1)
        r.expect_end("cookie")
    except DecodeError as exc:  # only possible if our own format changed under a valid MAC
        raise IllegalParameter(f"cookie does not parse: {exc}") from None
    if version != _VERSION or suite not in TLS13_SUITES:
        raise IllegalParameter("cookie from another version of this server")
    age = now - issued_ms / 1000
    if not -1.0 <= age <= COOKIE_LIFETIME:
        raise IllegalParameter(f"cookie is {age:.0f} s old (lifetime {COOKIE_LIFETIME:.0f} s)")
    return RetryCookie(suite, group, session_id, ch1_hash, cookie)
