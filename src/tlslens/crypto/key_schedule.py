"""The TLS 1.3 key schedule (RFC 8446 §7), one function per RFC function, on ``cryptography``'s HKDF/HMAC.

Typed stages make the order impossible to get wrong::

    EarlySecret.from_psk(suite, psk or None)        binder_key, client_early_traffic, early_exporter
        .next_stage(ecdhe_shared_secret)  -> HandshakeSecret   client_traffic, server_traffic
        .next_stage()                     -> MasterSecret      application traffic, exporter, resumption

Every function takes the transcript *hash* (``Transcript.digest()``), not the messages. Secrets never
appear in a repr; they leave the process only through the key log.
"""

from __future__ import annotations

import hmac as _std_hmac
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from tlslens.crypto.suites import Tls13Suite
from tlslens.errors import LocalProtocolError
from tlslens.wire.enums import CipherSuite

_LABEL_PREFIX = b"tls13 "


def hkdf_extract(h: hashes.HashAlgorithm, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM) (RFC 5869 §2.2)."""
    mac = hmac.HMAC(salt, h)
    mac.update(ikm)
    return mac.finalize()


def _label_prefix(label: bytes, length: int) -> bytes:
    """uint16 length || opaque label<7..255> ("tls13 " + label): the fixed part of an HkdfLabel."""
    key = (label, length)
    prefix = _LABEL_PREFIXES.get(key)
    if prefix is None:
        full_len = len(label) + 6
        if full_len > 255:
            raise LocalProtocolError("HKDF label or context longer than 255 octets")
        prefix = length.to_bytes(2, "big") + bytes((full_len,)) + _LABEL_PREFIX + label
        if len(_LABEL_PREFIXES) < 256:  # the protocol's labels; exporters may bring their own
            _LABEL_PREFIXES[key] = prefix
    return prefix


_LABEL_PREFIXES: dict[tuple[bytes, int], bytes] = {}


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel struct (RFC 8446 §7.1): uint16 length || opaque label<7..255> || opaque context<0..255>.

    ``label`` is given without its "tls13 " prefix.
    """
    if len(context) > 255:
        raise LocalProtocolError("HKDF label or context longer than 255 octets")
    return _label_prefix(label, length) + bytes((len(context),)) + context


def hkdf_expand_label(
    h: hashes.HashAlgorithm, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1).

    Every TLS secret, key and IV fits one HKDF-Expand block: T(1) = HMAC(Secret, HkdfLabel || 0x01),
    cut to Length (RFC 5869 §2.3). That is one HMAC call; longer outputs (exporters) take HKDFExpand.
    """
    prefix = _LABEL_PREFIXES.get((label, length)) or _label_prefix(label, length)
    n = len(context)
    if n > 255:
        raise LocalProtocolError("HKDF label or context longer than 255 octets")
    if length > h.digest_size:
        return HKDFExpand(h, length, prefix + _LENGTH_BYTES[n] + context).derive(secret)
    mac = hmac.HMAC(secret, h)
    mac.update(b"".join((prefix, _LENGTH_BYTES[n], context, b"\x01")))
    block = mac.finalize()
    return block if length == len(block) else block[:length]


_LENGTH_BYTES = [bytes((n,)) for n in range(256)]


def derive_secret(h: hashes.HashAlgorithm, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages), given Transcript-Hash(Messages) (RFC 8446 §7.1)."""
    return hkdf_expand_label(h, secret, label, transcript_hash, h.digest_size)


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare Finished verify_data or PSK binders without leaking where they differ."""
    return _std_hmac.compare_digest(a, b)


# --- the three stages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EarlySecret:
    """Early Secret = HKDF-Extract(0, PSK) (RFC 8446 §7.1), the PSK or Hash.length zeros."""

    suite: Tls13Suite
    secret: bytes = field(repr=False)

    @classmethod
    def from_psk(cls, suite: Tls13Suite, psk: bytes | None) -> EarlySecret:
        if psk is None:  # a full handshake: the early secret is a per-hash constant
            cached = _NO_PSK.get(suite.code)
            if cached is None:
                cached = _NO_PSK[suite.code] = cls(suite, hkdf_extract(suite.hash, suite.zeros, suite.zeros))
            return cached
        return cls(suite, hkdf_extract(suite.hash, suite.zeros, psk))

    def binder_key(self, resumption: bool) -> bytes:
        """ "res binder" for resumption PSKs, "ext binder" for external PSKs (RFC 8446 §7.1)."""
        label = b"res binder" if resumption else b"ext binder"
        return derive_secret(self.suite.hash, self.secret, label, self.suite.empty_hash)

    def client_early_traffic(self, transcript_hash: bytes) -> bytes:
        """client_early_traffic_secret, over ClientHello."""
        return derive_secret(self.suite.hash, self.secret, b"c e traffic", transcript_hash)

    def early_exporter(self, transcript_hash: bytes) -> bytes:
        """early_exporter_master_secret, over ClientHello."""
        return derive_secret(self.suite.hash, self.secret, b"e exp master", transcript_hash)

    def next_stage(self, shared_secret: bytes | None) -> HandshakeSecret:
        """Handshake Secret = HKDF-Extract(Derive-Secret(., "derived", ""), (EC)DHE); None for psk_ke."""
        h = self.suite.hash
        if self is _NO_PSK.get(self.suite.code):  # constant too: 6f2615a1... for SHA-256
            derived = _NO_PSK_DERIVED.get(self.suite.code) or _NO_PSK_DERIVED.setdefault(
                self.suite.code, derive_secret(h, self.secret, b"derived", self.suite.empty_hash)
            )
        else:
            derived = derive_secret(h, self.secret, b"derived", self.suite.empty_hash)
        ikm = self.suite.zeros if shared_secret is None else shared_secret
        return HandshakeSecret(self.suite, hkdf_extract(h, derived, ikm), psk_keyed=self.psk_keyed)

    @property
    def psk_keyed(self) -> bool:
        """Built from a PSK (resumption), not the all-zero input of a full handshake."""
        return self is not _NO_PSK.get(self.suite.code)


_NO_PSK: dict[CipherSuite, EarlySecret] = {}
_NO_PSK_DERIVED: dict[CipherSuite, bytes] = {}


@dataclass(frozen=True, slots=True)
class HandshakeSecret:
    """Second stage: only the handshake traffic secrets and the next stage."""

    suite: Tls13Suite
    secret: bytes = field(repr=False)
    psk_keyed: bool = False  # the early secret came from a PSK: Finished under these keys proves it

    def client_traffic(self, transcript_hash: bytes) -> bytes:
        """client_handshake_traffic_secret, over ClientHello...ServerHello."""
        return derive_secret(self.suite.hash, self.secret, b"c hs traffic", transcript_hash)

    def server_traffic(self, transcript_hash: bytes) -> bytes:
        """server_handshake_traffic_secret, over ClientHello...ServerHello."""
        return derive_secret(self.suite.hash, self.secret, b"s hs traffic", transcript_hash)

    def next_stage(self) -> MasterSecret:
        """Master Secret = HKDF-Extract(Derive-Secret(., "derived", ""), 0)."""
        h = self.suite.hash
        derived = derive_secret(h, self.secret, b"derived", self.suite.empty_hash)
        return MasterSecret(self.suite, hkdf_extract(h, derived, self.suite.zeros))


@dataclass(frozen=True, slots=True)
class MasterSecret:
    """Last stage: application traffic, exporter and resumption secrets."""

    suite: Tls13Suite
    secret: bytes = field(repr=False)

    def client_application_traffic(self, transcript_hash: bytes) -> bytes:
        """client_application_traffic_secret_0, over ClientHello...server Finished."""
        return derive_secret(self.suite.hash, self.secret, b"c ap traffic", transcript_hash)

    def server_application_traffic(self, transcript_hash: bytes) -> bytes:
        """server_application_traffic_secret_0, over ClientHello...server Finished."""
        return derive_secret(self.suite.hash, self.secret, b"s ap traffic", transcript_hash)

    def exporter(self, transcript_hash: bytes) -> bytes:
        """exporter_master_secret, over ClientHello...server Finished."""
        return derive_secret(self.suite.hash, self.secret, b"exp master", transcript_hash)

    def resumption(self, transcript_hash: bytes) -> bytes:
        """resumption_master_secret, over ClientHello...client Finished."""
        return derive_secret(self.suite.hash, self.secret, b"res master", transcript_hash)


# --- what is made from the secrets -----------------------------------------------------------------


def finished_key(suite: Tls13Suite, base_secret: bytes) -> bytes:
    """finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (RFC 8446 §4.4.4)."""
    return hkdf_expand_label(suite.hash, base_secret, b"finished", b"", suite.hash_len)


def finished_verify_data(suite: Tls13Suite, base_secret: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(...)) (RFC 8446 §4.4.4).

    ``base_secret`` is the sender's handshake traffic secret (or, after the handshake, its
    application traffic secret for post-handshake authentication).
    """
    mac = hmac.HMAC(finished_key(suite, base_secret), suite.hash)
    mac.update(transcript_hash)
    return mac.finalize()


def binder(suite: Tls13Suite, binder_key: bytes, transcript_hash: bytes) -> bytes:
    """A PSK binder: the Finished computation with the binder key as base (RFC 8446 §4.2.11.2).

    ``transcript_hash`` covers the partial ClientHello (up to the binders list), preceded by
    ClientHello1 and HelloRetryRequest after a retry.
    """
    return finished_verify_data(suite, binder_key, transcript_hash)


def traffic_key_iv(suite: Tls13Suite, secret: bytes) -> tuple[bytes, bytes]:
    """[sender]_write_key and [sender]_write_iv for a traffic secret (RFC 8446 §7.3)."""
    key = hkdf_expand_label(suite.hash, secret, b"key", b"", suite.key_len)
    iv = hkdf_expand_label(suite.hash, secret, b"iv", b"", suite.iv_len)
    return key, iv


def next_traffic_secret(suite: Tls13Suite, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 after a KeyUpdate: label "traffic upd" (RFC 8446 §7.2)."""
    return hkdf_expand_label(suite.hash, secret, b"traffic upd", b"", suite.hash_len)


def resumption_psk(suite: Tls13Suite, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """The PSK a NewSessionTicket stands for: label "resumption" (RFC 8446 §4.6.1)."""
    return hkdf_expand_label(
        suite.hash, resumption_master_secret, b"resumption", ticket_nonce, suite.hash_len
    )


def export_keying_material(
    suite: Tls13Suite, exporter_master_secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """TLS-Exporter(label, context_value, key_length) (RFC 8446 §7.5).

    = HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), key_length).
    TLS 1.3 makes no difference between an empty and an absent context. Use the early exporter
    master secret for 0-RTT exporters.
    """
    h = suite.hash
    if not 0 <= length <= 255 * h.digest_size:
        raise LocalProtocolError(f"cannot export {length} octets with {h.name}")
    per_label = derive_secret(h, exporter_master_secret, label, suite.empty_hash)
    digest = hashes.Hash(h)
    digest.update(context)
    return hkdf_expand_label(h, per_label, b"exporter", digest.finalize(), length)
