"""What the client and server state machines share: the State protocol, message checks, limits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tlslens.crypto import key_schedule
from tlslens.crypto.key_schedule import EarlySecret
from tlslens.crypto.suites import Tls13Suite
from tlslens.crypto.transcript import Transcript
from tlslens.errors import (
    BadCertificate,
    DecodeError,
    IllegalParameter,
    UnexpectedMessage,
    UnsupportedExtension,
)
from tlslens.record.reassembly import MessageLimits, message_name
from tlslens.wire.enums import ExtensionType, HandshakeType
from tlslens.wire.messages import Certificate, HandshakeMessage

if TYPE_CHECKING:
    from tlslens.output import Output
    from tlslens.parsed_certificates import ParsedCertificates

# Limits on what a peer controls.
MAX_CERTIFICATE_CHAIN_LENGTH = 10
MAX_CERTIFICATE_SIZE = 64 * 1024

_H = HandshakeType
MAX_CLIENT_HELLO = 2 + 32 + (1 + 32) + (2 + 0xFFFE) + (1 + 0xFF) + (2 + 0xFFFF)
"""The largest ClientHello body its vectors allow (about 128 KiB): every valid one is read."""
MESSAGE_SIZE_LIMITS: dict[HandshakeType, int] = {
    _H.CLIENT_HELLO: MAX_CLIENT_HELLO,
    _H.SERVER_HELLO: 2 + 32 + (1 + 32) + 2 + 1 + (2 + 0xFFFF),
    _H.NEW_SESSION_TICKET: 4 + 4 + (1 + 0xFF) + (2 + 0xFFFF) + (2 + 0xFFFE),
    _H.END_OF_EARLY_DATA: 0,
    _H.ENCRYPTED_EXTENSIONS: 2 + 0xFFFF,
    _H.CERTIFICATE: 2**18,  # our own bound (a chain of MAX_CERTIFICATE_CHAIN_LENGTH fits in practice)
    _H.COMPRESSED_CERTIFICATE: 2 + 3 + 3 + 2**18,  # RFC 8879 §4, its compressed bytes within our bound
    _H.CERTIFICATE_REQUEST: (1 + 0xFF) + (2 + 0xFFFF),
    _H.CERTIFICATE_VERIFY: 2 + (2 + 0xFFFF),
    _H.FINISHED: 64,  # Hash.length (48 at most): the state checks the exact length
    _H.KEY_UPDATE: 1,
}
"""The largest body of each handshake message (RFC 8446 §4, from its vectors' upper bounds)."""


def accepting(*types: HandshakeType, where: str) -> MessageLimits:
    """The limits of a state that reads only ``types`` (``where`` completes its error messages)."""
    return MessageLimits.of({t: MESSAGE_SIZE_LIMITS[t] for t in types}, where)


DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

M = TypeVar("M", bound=HandshakeMessage)


class State(Protocol):
    """A handshake state: what it accepts next (checked at each message's header, before its body is
    buffered), and how it handles one message."""

    @property
    def accepts(self) -> MessageLimits: ...

    def handle(self, message: HandshakeMessage, raw: bytes, out: Output) -> State: ...


def expect(message: HandshakeMessage, cls: type[M], state: str) -> M:
    """The message must be of this type (else unexpected_message, naming both)."""
    if not isinstance(message, cls):
        raise UnexpectedMessage(f"expected {_name(cls.msg_type)} {state}, got {_name(message.msg_type)}")
    return message


def unexpected(message: HandshakeMessage, state: str) -> UnexpectedMessage:
    return UnexpectedMessage(f"unexpected {_name(message.msg_type)} {state}")


def _name(t: HandshakeType) -> str:
    return message_name(t)


def parse_certificate_chain(
    ders: Sequence[bytes], who: str, cache: ParsedCertificates | None = None
) -> tuple[x509.Certificate, ...]:
    """DER certificates of a Certificate message (either version's), leaf first, within our limits;
    through the config's ``cache`` when it has one."""
    if not ders:
        raise DecodeError(f"{who} sent an empty Certificate message")
    if len(ders) > MAX_CERTIFICATE_CHAIN_LENGTH:
        raise BadCertificate(f"{who} sent {len(ders)} certificates (limit {MAX_CERTIFICATE_CHAIN_LENGTH})")
    chain = []
    load = x509.load_der_x509_certificate if cache is None else cache.load
    for i, der in enumerate(ders):
        if len(der) > MAX_CERTIFICATE_SIZE:
            raise BadCertificate(f"{who} certificate {i} is {len(der)} bytes")
        try:
            chain.append(load(der))
        except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is not a ValueError
            raise BadCertificate(f"{who} certificate {i} is not valid DER X.509: {exc}") from None
    return tuple(chain)


def check_certificate_entries(message: Certificate, offered: frozenset[ExtensionType]) -> None:
    """TLS 1.3 CertificateEntry extensions must answer ones we ``offered`` (status_request,
    signed_certificate_timestamp; RFC 8446 §4.4.2)."""
    for entry in message.certificate_list:
        check_allowed_extensions(
            [e.ext_type for e in entry.extensions],
            _CERTIFICATE_ENTRY_EXTENSIONS,
            "a CertificateEntry",
            offered=offered,
        )


_CERTIFICATE_ENTRY_EXTENSIONS = frozenset(
    {ExtensionType.STATUS_REQUEST, ExtensionType.SIGNED_CERTIFICATE_TIMESTAMP}
)


def check_allowed_extensions(
    present: Iterable[ExtensionType],
    allowed: frozenset[ExtensionType],
    where: str,
    *,
    offered: frozenset[ExtensionType] | None = None,
) -> None:
    """RFC 8446 §4.2: a known extension in the wrong message → illegal_parameter; one we did not offer
    (for responses) → unsupported_extension."""
    for ext_type in present:
        if offered is not None and ext_type not in offered:
            raise UnsupportedExtension(f"{where} carries {ext_type.name.lower()}, which we did not offer")
        if ext_type.known and ext_type not in allowed:
            raise IllegalParameter(f"{ext_type.name.lower()} is not allowed in {where}")


def psk_binder(
    suite: Tls13Suite, psk: bytes, truncated_hello: bytes, prior: Transcript | None, *, external: bool = False
) -> tuple[EarlySecret, bytes]:
    """A PSK's binder (RFC 8446 §4.2.11.2) over the ClientHello up to its binders list, after
    ClientHello1 and the HelloRetryRequest when ``prior`` holds them; with the early secret. The binder
    key is "res binder" for a resumption PSK, "ext binder" for an ``external`` one (§7.1)."""
    if prior is None:
        digest = hashes.Hash(suite.hash)
        digest.update(truncated_hello)
        binder_hash = digest.finalize()
    else:
        binder_hash = prior.digest_with(truncated_hello)
    early = EarlySecret.from_psk(suite, psk)
    return early, key_schedule.binder(suite, early.binder_key(resumption=not external), binder_hash)
