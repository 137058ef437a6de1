"""Distinguished names as TLS carries them: DER-encoded X.501 Names (certificate_authorities, RFC 8446
§4.2.4; TLS 1.2's CertificateRequest).

``cryptography`` parses Names only inside certificates and requests, so ``name_from_der`` wraps the DER
in the smallest certification request that holds it (the signature is never checked: the request is
only an envelope) and lets ``cryptography`` parse the subject. ``names_match`` says whether a chain
reaches one of a server's certificate authorities, comparing the DER bytes, as TLS stacks do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from cryptography import x509

# An ECDSA P-256 SubjectPublicKeyInfo (any valid key does: the envelope is never verified).
_SPKI = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d03010703420004"
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
)
_ECDSA_WITH_SHA256 = bytes.fromhex("06082a8648ce3d040302")


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


@lru_cache(maxsize=256)
def name_from_der(der: bytes) -> x509.Name | None:
    """The Name these DER bytes encode, or None when they are not one."""
    info = _tlv(0x30, b"\x02\x01\x00" + der + _SPKI + b"\xa0\x00")
    envelope = _tlv(0x30, info + _tlv(0x30, _ECDSA_WITH_SHA256) + _tlv(0x03, b"\x00"))
    try:
        request = x509.load_der_x509_csr(envelope)
        subject = request.subject
        subject.rfc4514_string()  # (parsed lazily: an undecodable attribute surfaces here)
    except Exception:  # whatever cryptography refuses is "not a Name"
        return None
    if subject.public_bytes() != der:  # trailing bytes, or a Name that re-encodes differently
        return None
    return subject


def shown_name(der: bytes) -> str:
    """A Name as RFC 4514 text, or its length and first bytes when it does not parse."""
    name = name_from_der(der)
    if name is not None:
        return name.rfc4514_string() or "(empty name)"
    return f"{len(der)} bytes, not a Name: {der[:8].hex()}…" if len(der) > 8 else f"not a Name: {der.hex()}"


def names_match(chain: Sequence[x509.Certificate], authorities: Iterable[bytes]) -> bool:
    """Whether a certificate of ``chain`` names one of ``authorities`` as its issuer (or is one)."""
    wanted = set(authorities)
    for cert in chain:
        if cert.issuer.public_bytes() in wanted or cert.subject.public_bytes() in wanted:
            return True
    return False


__all__ = ["name_from_der", "names_match", "shown_name"]
