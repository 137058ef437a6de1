"""Post-handshake client authentication (handshake/post_handshake_auth.py, client_auth.py): what the
server refuses in a client's answer to its request, and what the client refuses in a request. The
exchanges that work are in test_post_handshake_auth.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from tests.handshake.faults.fault import Injected, faults
from tests.handshake.faults.scenes import Scene, flip_last, with_client_certificate
from tests.handshake.helpers import (
    ConnectionPair,
    Tamper,
    TamperingClient,
    TamperingServer,
    client_config,
    replacing,
    server_config,
    verifier,
)
from tlslens.errors import BadCertificate, DecryptError, IllegalParameter, MissingExtension, UnexpectedMessage
from tlslens.handshake.client_auth import MAX_CERTIFICATE_AUTHORITIES
from tlslens.handshake.common import MAX_CERTIFICATE_CHAIN_LENGTH
from tlslens.wire.enums import SignatureScheme
from tlslens.wire.extensions import CertificateAuthorities, SignatureAlgorithmsCert
from tlslens.wire.messages import Certificate, CertificateRequest, CertificateVerify, Finished

S = SignatureScheme
replace = dataclasses.replace
ANSWER = "handshake/post_handshake_auth.py:ServerPha._certificate"
CHECK_REQUEST = "handshake/client_auth.py:check_certificate_request"
REFUSED_AT_HEADER = "record/reassembly.py:MessageLimits.refuse"


def pha(client_tamper: Tamper | None = None, server_tamper: Tamper | None = None) -> Callable[[], Scene]:
    """A completed handshake between a client with a certificate (offering post_handshake_auth) and a
    server that defers client authentication; either may tamper with what it sends afterwards."""

    def scene() -> Scene:
        c = TamperingClient(client_config(**with_client_certificate()), "localhost", tamper=client_tamper)
        s = TamperingServer(
            server_config(client_verifier=verifier(), defer_client_auth=True), tamper=server_tamper
        )
        ConnectionPair(client=c, server=s).handshake()
        return Scene(c, s)

    return scene


def answer(scene: Scene) -> bytes:
    """The server asks; what the client answers (for the server to receive)."""
    assert scene.client is not None
    scene.server.request_client_certificate()
    scene.client.receive_data(scene.server.data_to_send())
    return scene.client.data_to_send()


def request(scene: Scene) -> bytes:
    """The server's CertificateRequest (for the client to receive)."""
    scene.server.request_client_certificate()
    return scene.server.data_to_send()


def answer_then_key_update(scene: Scene) -> bytes:
    """The client's answer re-sealed as its Certificate followed by a KeyUpdate, where its
    CertificateVerify should be."""
    assert isinstance(scene.client, TamperingClient)
    scene.server.request_client_certificate()
    scene.client.receive_data(scene.server.data_to_send())
    scene.client.data_to_send()
    certificate = next(raw for raw, _ in scene.client.sent if raw[0] == 11)
    sealer = scene.client.sealer(-1, seq=scene.client.next_seq() - 1)  # re-seal from the answer's record
    key_update = bytes((24, 0, 0, 1, 0))
    return sealer.seal(22, certificate + key_update)


def certificate_only(scene: Scene) -> bytes:
    """The client's answer re-sealed as its Certificate twice (no CertificateVerify)."""
    assert isinstance(scene.client, TamperingClient)
    scene.server.request_client_certificate()
    scene.client.receive_data(scene.server.data_to_send())
    scene.client.data_to_send()
    certificate = next(raw for raw, _ in scene.client.sent if raw[0] == 11)
    return scene.client.sealer(-1, seq=scene.client.next_seq() - 1).seal(22, certificate + certificate)


def too_many_authorities(m: CertificateRequest) -> CertificateRequest:
    names = tuple(
        bytes((0x30, 0x00)) + bytes(i.to_bytes(2, "big")) for i in range(MAX_CERTIFICATE_AUTHORITIES + 1)
    )
    return replace(m, extensions=(*m.extensions, CertificateAuthorities(names)))


SERVER_FAULTS = [
    Injected(
        id="answer-unknown_context",
        fails="server",
        raises=IllegalParameter,
        site=ANSWER,
        match="answers no request of ours",
        given=pha(
            client_tamper=replacing(Certificate, lambda m: replace(m, certificate_request_context=b"x"))
        ),
        inject=answer,
    ),
    Injected(
        id="answer-bad_signature",
        fails="server",
        raises=DecryptError,
        site="crypto/signatures.py:verify",
        given=pha(
            client_tamper=replacing(CertificateVerify, lambda m: replace(m, signature=flip_last(m.signature)))
        ),
        inject=answer,
    ),
    Injected(
        id="answer-signature_in_a_scheme_not_offered",
        fails="server",
        raises=IllegalParameter,
        site="handshake/verify.py:verify_certificate_verify",
        given=pha(client_tamper=replacing(CertificateVerify, lambda m: replace(m, algorithm=S.ECDSA_SHA1))),
        inject=answer,
    ),
    Injected(
        id="answer-bad_finished",
        fails="server",
        raises=DecryptError,
        site="handshake/verify.py:verify_finished",
        given=pha(
            client_tamper=replacing(
                Finished, lambda m: replace(m, verify_data=flip_last(m.verify_data)), nth=2
            )
        ),
        inject=answer,
    ),
    Injected(
        id="answer-too_many_certificates",
        fails="server",
        raises=BadCertificate,
        site="handshake/common.py:parse_certificate_chain",
        given=pha(
            client_tamper=replacing(
                Certificate,
                lambda m: replace(
                    m, certificate_list=m.certificate_list * (MAX_CERTIFICATE_CHAIN_LENGTH + 1)
                ),
            )
        ),
        inject=answer,
    ),
    Injected(  # the answer must be contiguous: Certificate, CertificateVerify, Finished (RFC 8446 §4.6.2)
        id="answer-interrupted_by_a_key_update",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSED_AT_HEADER,
        match="expected CertificateVerify after the client's post-handshake Certificate, got KeyUpdate",
        given=pha(),
        inject=answer_then_key_update,
    ),
    Injected(
        id="answer-certificate_twice",
        fails="server",
        raises=UnexpectedMessage,
        site=REFUSED_AT_HEADER,
        match="got Certificate",
        given=pha(),
        inject=certificate_only,
    ),
]

CLIENT_FAULTS = [
    Injected(
        id="request-no_signature_algorithms",
        fails="client",
        raises=MissingExtension,
        site=CHECK_REQUEST,
        given=pha(
            server_tamper=replacing(
                CertificateRequest, lambda m: replace(m, extensions=(SignatureAlgorithmsCert((S.ED25519,)),))
            )
        ),
        inject=request,
    ),
    Injected(
        id="request-too_many_authorities",
        fails="client",
        raises=IllegalParameter,
        site=CHECK_REQUEST,
        match=f"limit {MAX_CERTIFICATE_AUTHORITIES}",
        given=pha(server_tamper=replacing(CertificateRequest, too_many_authorities)),
        inject=request,
    ),
    Injected(  # (a client that did not offer post_handshake_auth: faults/test_traffic.py)
        id="request-finished_instead",
        fails="client",
        raises=UnexpectedMessage,
        site=REFUSED_AT_HEADER,
        match="got Finished",
        given=pha(server_tamper=replacing(CertificateRequest, lambda m: Finished(bytes(32)))),
        inject=request,
    ),
]


@faults(SERVER_FAULTS)
def test_server_refuses_post_handshake_answer(fault: Injected) -> None:
    fault.check()


@faults(CLIENT_FAULTS)
def test_client_refuses_post_handshake_request(fault: Injected) -> None:
    fault.check()
