"""Client certificates (handshake/client_auth.py, and the server's rule in verify.py): the client
refuses a bad CertificateRequest; the server refuses a client without a certificate when it requires
one, and goes on without one when it does not.

How the peer's certificate itself is checked (both roles) is in test_peer_certificate.py.
"""

from __future__ import annotations

from tests.handshake.faults.fault import Fault, faults
from tests.handshake.faults.scenes import requiring_client_certificate
from tests.handshake.helpers import (
    ConnectionPair,
    client_config,
    of_type,
    replacing,
    server_config,
    verifier,
)
from tlslens.errors import CertificateRequired, IllegalParameter, MissingExtension, UnexpectedMessage
from tlslens.events import HandshakeCompleted
from tlslens.wire.enums import SignatureScheme
from tlslens.wire.extensions import SignatureAlgorithms, SignatureAlgorithmsCert
from tlslens.wire.messages import CertificateRequest, EncryptedExtensions

S = SignatureScheme
CHECK_REQUEST = "handshake/client_auth.py:check_certificate_request"


def request_after_encrypted_extensions(*requests: CertificateRequest) -> object:
    return replacing(EncryptedExtensions, lambda m: [m, *requests])


CERTIFICATE_REQUEST_FAULTS = [  # RFC 8446 §4.3.2
    Fault(
        id="certificate_request-with_context",
        fails="client",
        raises=IllegalParameter,
        site=CHECK_REQUEST,
        tamper=request_after_encrypted_extensions(
            CertificateRequest(b"\x01", (SignatureAlgorithms((S.ED25519,)),))
        ),
    ),
    Fault(
        id="certificate_request-no_signature_algorithms",
        fails="client",
        raises=MissingExtension,
        site=CHECK_REQUEST,
        tamper=request_after_encrypted_extensions(
            CertificateRequest(b"", (SignatureAlgorithmsCert((S.ED25519,)),))
        ),
    ),
    Fault(
        id="certificate_request-twice",
        fails="client",
        raises=UnexpectedMessage,
        site="record/reassembly.py:MessageLimits.refuse",
        tamper=request_after_encrypted_extensions(
            *[CertificateRequest(b"", (SignatureAlgorithms((S.ED25519,)),))] * 2
        ),
    ),
]

REQUIRED_FAULTS = [
    Fault(
        id="client_certificate-none_but_required",
        fails="server",
        raises=CertificateRequired,
        site="handshake/verify.py:verify_no_client_certificate",
        server=requiring_client_certificate,
    ),
]


@faults(CERTIFICATE_REQUEST_FAULTS)
def test_client_refuses_certificate_request(fault: Fault) -> None:
    fault.check()


@faults(REQUIRED_FAULTS)
def test_server_refuses_client_without_certificate(fault: Fault) -> None:
    fault.check()


def test_server_accepts_missing_client_certificate_when_optional() -> None:
    pair = ConnectionPair(
        client_config(), server_config(client_verifier=verifier(), require_client_certificate=False)
    )
    pair.handshake()
    (done,) = of_type(pair.server_events, HandshakeCompleted)
    assert done.peer_certificates == ()
