"""Certificate compression in the handshake (RFC 8879), for both roles and both directions.

The client offers ``compress_certificate`` in its ClientHello (the server in its CertificateRequest);
the sender of a Certificate picks the first of its own algorithms the peer offered and sends a
CompressedCertificate instead, compressed once per chain (``CertifiedKey.compressed``). The receiver
checks what it is sent before inflating anything:

- a CompressedCertificate when we offered no compression: unexpected_message (§4), at its header: the
  states accept the type only when we offered;
- an algorithm we did not offer: illegal_parameter (§4);
- an ``uncompressed_length`` above ``certificate_decompression_limit``: bad_certificate, unopened (a
  decompression bomb costs nothing);
- bytes that do not inflate to exactly ``uncompressed_length``: bad_certificate (§4), with the work
  bounded by that length however the bytes lie.

The CompressedCertificate itself is what enters the transcript (§4). The trace shows both sizes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from tlslens.compression import CompressionCache, DecompressionFailed, decompress
from tlslens.errors import BadCertificate, IllegalParameter
from tlslens.events import MessageReceived
from tlslens.handshake.common import accepting
from tlslens.output import Output
from tlslens.record.reassembly import MessageLimits
from tlslens.wire.enums import CertificateCompressionAlgorithm, HandshakeType
from tlslens.wire.extensions import CompressCertificate, Extension
from tlslens.wire.messages import Certificate, CompressedCertificate
from tlslens.wire.reader import Reader, Writer

__all__ = ["accepting_certificate", "offer", "offered", "receive_compressed", "send_certificate"]


@functools.cache
def accepting_certificate(compressed: bool, *also: HandshakeType, where: str) -> MessageLimits:
    """A state's limits for a peer's Certificate (and ``also``), with CompressedCertificate when we
    offered compression: otherwise that type is refused at its header (unexpected_message, §4)."""
    types = (*also, HandshakeType.CERTIFICATE)
    return (
        accepting(*types, HandshakeType.COMPRESSED_CERTIFICATE, where=where)
        if compressed
        else accepting(*types, where=where)
    )


def offered(
    sent: CompressCertificate | None, ours: Sequence[CertificateCompressionAlgorithm]
) -> tuple[CertificateCompressionAlgorithm, ...]:
    """What we offered in the ``compress_certificate`` we ``sent`` (a hook may have changed it), among
    the algorithms we can inflate; () when we offered none."""
    return tuple(a for a in sent.algorithms if a in ours) if sent is not None else ()


def offer(algorithms: Sequence[CertificateCompressionAlgorithm]) -> list[Extension]:
    """``compress_certificate`` listing ``algorithms``, or nothing when compression is off."""
    return [CompressCertificate(tuple(algorithms))] if algorithms else []


def _name(algorithm: CertificateCompressionAlgorithm) -> str:
    return algorithm.name.lower()


def send_certificate(
    out: Output,
    message: Certificate,
    peer_offer: CompressCertificate | None,
    ours: Sequence[CertificateCompressionAlgorithm],
    cache: CompressionCache,
) -> bytes:
    """Queue ``message``, compressed with the first of ``ours`` that the peer offered (when any); returns
    the bytes that enter the transcript."""
    offered = peer_offer.algorithms if peer_offer is not None else ()
    algorithm = next((a for a in ours if a in offered), None)
    if algorithm is None:
        if out.tracing and offered:
            theirs = ", ".join(_name(a) for a in offered)
            out.decide("certificate_compression", f"not compressing: the peer offers {theirs}, none of ours")
        return out.send(message)
    w = Writer()
    message.encode_body(w)
    body = w.getvalue()
    compressed = cache.get(algorithm, body)
    raw = out.send(CompressedCertificate(algorithm, len(body), compressed))
    if out.tracing:
        out.decide(
            "certificate_compression",
            f"Certificate compressed with {_name(algorithm)}: {len(body)} → {len(compressed)} bytes"
            f" ({_percent(len(compressed), len(body))} of its size)",
        )
    return raw


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def receive_compressed(
    message: CompressedCertificate,
    offered: Sequence[CertificateCompressionAlgorithm],
    limit: int,
    out: Output,
) -> Certificate:
    """The Certificate inside ``message``, checked as the module docstring says before and after it is
    inflated."""
    algorithm = message.algorithm
    if algorithm not in offered:
        raise IllegalParameter(f"CompressedCertificate uses {_name(algorithm)}, which we did not offer")
    length = message.uncompressed_length
    if length > limit:
        raise BadCertificate(
            f"CompressedCertificate announces {length} bytes uncompressed (limit {limit}): refused"
            " without inflating it"
        )
    try:
        body = decompress(algorithm, message.compressed_certificate_message, length)
    except DecompressionFailed as exc:
        raise BadCertificate(
            f"CompressedCertificate ({_name(algorithm)}) does not decompress: {exc}"
        ) from None
    r = Reader(body)
    certificate = Certificate.decode_body(r)
    r.expect_end("the decompressed Certificate")
    if out.tracing:
        compressed = len(message.compressed_certificate_message)
        out.decide(
            "certificate_compression",
            f"CompressedCertificate ({_name(algorithm)}) inflated: {compressed} → {length} bytes",
        )
        w = Writer()
        w.u8(HandshakeType.CERTIFICATE)
        w.uint(3, length)
        out.emit(MessageReceived(certificate, w.getvalue() + body))
    return certificate
