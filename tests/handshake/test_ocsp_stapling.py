"""OCSP stapling between tlslens ends, in memory, TLS 1.3 (the leaf's CertificateEntry) and TLS 1.2 (a
CertificateStatus message): what the server staples and when, what the client makes of it
(``HandshakeCompleted.ocsp``), what refuses the certificate (revoked, must-staple without a usable
staple) and what is only a finding (stale, invalid), and how each verifier takes it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cryptography import x509

from tests.handshake.helpers import ConnectionPair, client_config, of_type, pki, server_config
from tests.pki import factory
from tests.pki.factory import DAY, NOW
from tests.pki.ocsp_factory import must_staple_leaf, ocsp_response
from tlslens.config import ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.dangerous import NoVerification, RecordingVerifier
from tlslens.errors import BadCertificate
from tlslens.events import DecisionMade, HandshakeCompleted, MessageReceived
from tlslens.session.cache import SessionCache
from tlslens.wire.enums import AlertDescription, CertificateStatusType, ProtocolVersion
from tlslens.wire.extensions import CertificateStatus, StatusRequest, StatusRequestEmpty
from tlslens.wire.messages import Certificate, ClientHello, ServerHello
from tlslens.wire.messages12 import CertificateStatusMessage

VERSIONS = [pytest.param(("TLSv1.3",), id="tls13"), pytest.param(("TLSv1.2",), id="tls12")]
PKI = pki()


def staple(**kwargs: object) -> bytes:
    return ocsp_response(PKI.leaf, PKI.intermediate, **kwargs)  # type: ignore[arg-type]


def traced(client_kwargs: dict, server_cfg: ServerConfig) -> ConnectionPair:
    client = ClientConnection(client_config(**client_kwargs), "localhost", trace=True)
    server = ServerConnection(server_cfg, trace=True)
    return ConnectionPair(client=client, server=server)


def completed(events: list) -> HandshakeCompleted:
    [done] = of_type(events, HandshakeCompleted)
    return done  # type: ignore[no-any-return]


def received(events: list) -> list:
    return [e.message for e in of_type(events, MessageReceived)]


@pytest.mark.parametrize("versions", VERSIONS)
def test_good_staple_is_checked_and_reported(versions: Sequence[str]) -> None:
    response = staple()
    pair = traced({"versions": versions}, server_config(ocsp_response=response)).handshake()
    outcome = completed(pair.client_events).ocsp
    assert outcome is not None and outcome.status == "good" and not outcome.findings
    assert outcome.response == response
    assert completed(pair.server_events).ocsp is None
    decisions = [e.text for e in of_type(pair.client_events, DecisionMade) if e.topic == "ocsp"]
    assert decisions == ["OCSP status good: good, says the issuer"]
    messages = received(pair.client_events)
    if versions == ("TLSv1.3",):
        [cert] = [m for m in messages if isinstance(m, Certificate)]
        leaf, intermediate = cert.certificate_list
        assert leaf.extensions == (CertificateStatus(CertificateStatusType.OCSP, response),)
        assert intermediate.extensions == ()
    else:
        [sh] = [m for m in messages if isinstance(m, ServerHello)]
        assert sh.extension(StatusRequestEmpty) is not None
        [status] = [m for m in messages if isinstance(m, CertificateStatusMessage)]
        assert status.response == response


@pytest.mark.parametrize("versions", VERSIONS)
def test_client_that_does_not_ask_gets_no_staple(versions: Sequence[str]) -> None:
    pair = traced({"versions": versions, "ocsp_stapling": False}, server_config(ocsp_response=staple()))
    pair.handshake()
    [hello] = [m for m in received(pair.server_events) if isinstance(m, ClientHello)]
    assert hello.extension(StatusRequest) is None
    assert completed(pair.client_events).ocsp is None
    assert not [m for m in received(pair.client_events) if isinstance(m, CertificateStatusMessage)]
    for m in received(pair.client_events):
        if isinstance(m, Certificate):
            assert all(not e.extensions for e in m.certificate_list)


@pytest.mark.parametrize("versions", VERSIONS)
def test_server_without_a_staple(versions: Sequence[str]) -> None:
    pair = traced({"versions": versions}, server_config()).handshake()
    outcome = completed(pair.client_events).ocsp
    assert outcome is not None and outcome.status == "none" and not outcome.findings
    sh = next(m for m in received(pair.client_events) if isinstance(m, ServerHello))
    assert sh.extension(StatusRequestEmpty) is None


@pytest.mark.parametrize("versions", VERSIONS)
def test_revoked_is_bad_certificate_with_reason_and_date(versions: Sequence[str]) -> None:
    when = (NOW - 3 * DAY).replace(microsecond=0)
    cfg = server_config(ocsp_response=staple(status="revoked", revoked_at=when))
    pair = ConnectionPair(client_config(versions=versions), cfg)
    with pytest.raises(BadCertificate) as info:
        pair.pump()
    message = str(info.value)
    assert message.startswith("tls: ocsp-revoked: the OCSP response stapled for")
    assert f"revoked on {when:%Y-%m-%d %H:%M:%S} UTC (reason: key_compromise)" in message
    assert [f.code for f in info.value.findings] == ["ocsp-revoked"]
    assert info.value.alert == AlertDescription.BAD_CERTIFICATE


@pytest.mark.parametrize("versions", VERSIONS)
def test_stale_staple_is_a_finding(versions: Sequence[str]) -> None:
    cfg = server_config(ocsp_response=staple(this_update=NOW - 3 * DAY, next_update=NOW - DAY))
    pair = ConnectionPair(client_config(versions=versions), cfg).handshake()
    outcome = completed(pair.client_events).ocsp
    assert outcome is not None and outcome.status == "stale"
    assert [(f.code, f.severity) for f in outcome.findings] == [("ocsp-stale", "warning")]


def test_staple_for_another_certificate_is_invalid() -> None:
    other = pki("ecdsa-p256", ("other.example",))
    response = ocsp_response(other.leaf, other.intermediate)  # type: ignore[arg-type]
    pair = ConnectionPair(client_config(), server_config(ocsp_response=response)).handshake()
    outcome = completed(pair.client_events).ocsp
    assert outcome is not None and outcome.status == "invalid"
    assert [f.code for f in outcome.findings] == ["ocsp-invalid"]


def _must_staple_config(response: bytes | None = None) -> tuple[ServerConfig, factory.Issued]:
    inter = factory.Issued(PKI.intermediate.certificate, PKI.intermediate.private_key)  # type: ignore[arg-type]
    leaf = must_staple_leaf(inter, "localhost")
    chain = [leaf.cert, PKI.intermediate.certificate]
    return ServerConfig(certificate_chain=chain, private_key=leaf.key, ocsp_response=response), leaf


@pytest.mark.parametrize("versions", VERSIONS)
def test_must_staple_leaf_without_a_staple_is_refused(versions: Sequence[str]) -> None:
    cfg, _ = _must_staple_config()
    with pytest.raises(BadCertificate, match=r"must-staple-missing: .* requires a stapled OCSP response"):
        ConnectionPair(client_config(versions=versions), cfg).pump()


def test_must_staple_leaf_with_a_good_staple_is_accepted() -> None:
    cfg, leaf = _must_staple_config()
    inter = factory.Issued(PKI.intermediate.certificate, PKI.intermediate.private_key)  # type: ignore[arg-type]
    cfg.certified_keys[0].staple.set(ocsp_response(leaf, inter))
    pair = ConnectionPair(client_config(), cfg).handshake()
    assert completed(pair.client_events).ocsp.status == "good"  # type: ignore[union-attr]


def test_no_verification_reports_a_revoked_staple_and_goes_on() -> None:
    cfg = server_config(ocsp_response=staple(status="revoked"))
    pair = ConnectionPair(client_config(verifier=NoVerification()), cfg).handshake()
    assert completed(pair.client_events).ocsp.status == "revoked"  # type: ignore[union-attr]


def test_recording_verifier_adds_ocsp_findings_to_its_report() -> None:
    recorder = RecordingVerifier([PKI.root.certificate])
    cfg = server_config(ocsp_response=staple(status="revoked"))
    ConnectionPair(client_config(verifier=recorder), cfg).handshake()
    last = recorder.last
    assert last is not None and last.ocsp is not None and last.ocsp.status == "revoked"
    assert last.report is not None and "ocsp-revoked" in last.report.codes and not last.report.valid


class AcceptsAll:
    """A verifier of one's own, without ``verify_ocsp``: tlslens's rule applies."""

    def verify_server(self, chain: Sequence[x509.Certificate], server_name: str | None, now: float) -> None:
        return None

    def verify_client(self, chain: Sequence[x509.Certificate], now: float) -> None:
        return None


def test_a_verifier_without_verify_ocsp_still_refuses_revoked() -> None:
    cfg = server_config(ocsp_response=staple(status="revoked"))
    with pytest.raises(BadCertificate, match="ocsp-revoked"):
        ConnectionPair(client_config(verifier=AcceptsAll()), cfg).pump()


def test_the_staple_can_change_while_the_server_runs() -> None:
    cfg = server_config()
    first = ConnectionPair(client_config(), cfg).handshake()
    assert completed(first.client_events).ocsp.status == "none"  # type: ignore[union-attr]
    cfg.certified_keys[0].staple.set(staple())
    second = ConnectionPair(client_config(), cfg).handshake()
    assert completed(second.client_events).ocsp.status == "good"  # type: ignore[union-attr]


@pytest.mark.parametrize("versions", VERSIONS)
def test_resumption_staples_nothing(versions: Sequence[str]) -> None:
    cache = SessionCache()
    cfg = server_config(ocsp_response=staple())
    client_cfg = client_config(versions=versions, session_cache=cache)
    ConnectionPair(client_cfg, cfg).handshake()
    pair = traced({"versions": versions, "session_cache": cache}, cfg).handshake()
    done = completed(pair.client_events)
    assert done.resumed and done.ocsp is None
    if versions == ("TLSv1.2",):
        sh = next(m for m in received(pair.client_events) if isinstance(m, ServerHello))
        assert sh.extension(StatusRequestEmpty) is None
    assert done.version in (ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3)


def test_with_compression_the_staple_travels_compressed() -> None:
    response = staple()
    pair = traced(
        {"certificate_compression": ("zlib",)},
        server_config(ocsp_response=response, certificate_compression=("zlib",)),
    )
    pair.handshake()
    assert completed(pair.client_events).ocsp.status == "good"  # type: ignore[union-attr]
