"""RecordingVerifier (never aborts, keeps the chain and its report) and the engine's CertificateError.

The handshakes here run in memory: a ClientConnection and a ServerConnection pumping bytes to each other.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from tests.pki.factory import DAY, NOW, Issued, make_intermediate, make_leaf, make_root, standard_pki
from tlslens import (
    ChainReport,
    ClientConfig,
    ClientConnection,
    Event,
    FatalAlert,
    Finding,
    HandshakeCompleted,
    ServerConfig,
    ServerConnection,
    TrustStore,
    verify_chain,
)
from tlslens.config import CertifiedKey
from tlslens.crypto.provider import DeterministicProvider
from tlslens.crypto.signatures import KeySigner
from tlslens.dangerous import RecordingVerifier
from tlslens.errors import CertificateError, CertificateExpired, DecryptError, UnknownCA
from tlslens.pki import findings as F
from tlslens.pki.recording import Recording
from tlslens.pki.trust import system_trust_store
from tlslens.wire.enums import AlertDescription

T0 = NOW.timestamp()


@pytest.fixture(scope="module")
def pki() -> tuple[Issued, Issued, Issued]:
    root = make_root()
    inter = make_intermediate(root)
    leaf = make_leaf(inter, "localhost", sans=["localhost"], aia_url="http://ca.example.test/inter.cer")
    return root, inter, leaf


# --- the public surface ------------------------------------------------------------------------------


def test_recording_verifier_is_a_dangerous_setting_and_pki_is_public() -> None:
    import tlslens.dangerous

    assert "RecordingVerifier" in tlslens.dangerous.__all__
    assert tlslens.dangerous.RecordingVerifier is RecordingVerifier
    for name in ("verify_chain", "ChainReport", "Finding", "TrustStore"):
        assert name in tlslens.__all__
        assert getattr(tlslens, name) is not None
    assert tlslens.verify_chain is verify_chain
    assert tlslens.ChainReport is ChainReport and tlslens.Finding is Finding


# --- RecordingVerifier on its own --------------------------------------------------------------------


def test_nothing_recorded_before_a_chain_is_shown(pki: tuple[Issued, Issued, Issued]) -> None:
    v = RecordingVerifier([pki[0].cert])
    assert v.last is None and v.chain is None and v.report is None and v.recordings == ()


def test_a_bad_chain_is_recorded_with_its_diagnosis_not_refused(pki: tuple[Issued, Issued, Issued]) -> None:
    root, _inter, leaf = pki
    v = RecordingVerifier([root.cert])
    v.verify_server([leaf.cert], "localhost", T0)  # no exception
    rec = v.last
    assert isinstance(rec, Recording)
    assert rec.chain == (leaf.cert,) == v.chain
    assert rec.server_name == "localhost" and rec.purpose == "server"
    assert rec.at == NOW
    assert rec.error is None and not rec.valid
    report = v.report
    assert report is not None and report is rec.report
    assert not report.valid
    assert report.codes == {F.MISSING_INTERMEDIATE}
    assert "http://ca.example.test/inter.cer" in report.errors[0].message


def test_a_good_chain_is_recorded_as_valid(pki: tuple[Issued, Issued, Issued]) -> None:
    root, inter, leaf = pki
    v = RecordingVerifier(TrustStore([root.cert]))
    v.verify_server([leaf.cert, inter.cert], "localhost", T0)
    assert v.last is not None and v.last.valid
    assert v.report is not None and v.report.path == (leaf.cert, inter.cert, root.cert)
    assert v.report.trusted and not v.report.findings


def test_report_matches_verify_chain(pki: tuple[Issued, Issued, Issued]) -> None:
    root, inter, leaf = pki
    v = RecordingVerifier([root.cert])
    v.verify_server([leaf.cert, inter.cert], "www.example.com", T0)
    direct = verify_chain(
        [leaf.cert, inter.cert], server_name="www.example.com", trust_anchors=[root.cert], at=NOW
    )
    assert v.report is not None
    assert v.report.to_dict() == direct.to_dict()
    assert v.report.codes == {F.NAME_MISMATCH}


def test_the_connection_clock_decides_expiry() -> None:
    p = standard_pki()
    v = RecordingVerifier([p.root.cert])
    later = (NOW + 400 * DAY).timestamp()  # the leaf ends at NOW + 365 days
    v.verify_server([p.leaf.cert, p.inter.cert], "www.example.com", later)
    assert v.report is not None and F.EXPIRED in v.report.codes
    assert v.last is not None and v.last.at == NOW + 400 * DAY


def test_at_overrides_the_connection_clock() -> None:
    p = standard_pki()
    v = RecordingVerifier([p.root.cert], at=(NOW + 400 * DAY).replace(tzinfo=None))  # naive = UTC
    v.verify_server([p.leaf.cert, p.inter.cert], "www.example.com", T0)
    assert v.last is not None and v.last.at == NOW + 400 * DAY
    assert v.report is not None and F.EXPIRED in v.report.codes


def test_expiring_soon_threshold_is_configurable() -> None:
    p = standard_pki()
    chain = [p.leaf.cert, p.inter.cert]
    soon = (NOW + 350 * DAY).timestamp()  # 15 days before the leaf ends
    default = RecordingVerifier([p.root.cert])
    default.verify_server(chain, "www.example.com", soon)
    relaxed = RecordingVerifier([p.root.cert], expiring_soon_days=10)
    relaxed.verify_server(chain, "www.example.com", soon)
    assert default.report is not None and default.report.codes == {F.EXPIRING_SOON}
    assert default.report.valid  # a warning only
    assert relaxed.report is not None and not relaxed.report.findings


def test_client_chains_are_recorded_for_client_auth() -> None:
    root = make_root()
    client = make_leaf(root, "alice", sans=None)
    v = RecordingVerifier([root.cert])
    v.verify_client([client.cert], T0)
    assert v.last is not None and v.last.purpose == "client" and v.last.server_name is None
    assert v.report is not None and v.report.purpose == "client" and v.report.valid


def test_a_chain_that_cannot_be_diagnosed_is_still_recorded() -> None:
    v = RecordingVerifier([make_root().cert])
    v.verify_server([], "localhost", T0)  # the engine never passes one; the verifier must not raise
    assert v.last is not None and v.last.report is None and v.last.chain == ()
    assert v.last.error == "the certificate chain is empty"
    assert not v.last.valid


def test_recordings_are_bounded_and_ordered(pki: tuple[Issued, Issued, Issued]) -> None:
    root, inter, leaf = pki
    v = RecordingVerifier([root.cert], keep=2)
    for name in ("a.example", "b.example", "localhost"):
        v.verify_server([leaf.cert, inter.cert], name, T0)
    assert [r.server_name for r in v.recordings] == ["b.example", "localhost"]
    assert v.last is not None and v.last.server_name == "localhost"
    v.clear()
    assert v.last is None
    with pytest.raises(ValueError):
        RecordingVerifier([root.cert], keep=0)


def test_default_trust_store_is_the_system_store() -> None:
    assert RecordingVerifier().store is system_trust_store()


# --- in-memory handshakes ----------------------------------------------------------------------------


def _server(chain: list[Issued] | list[x509.Certificate], key: Issued) -> ServerConfig:
    certs = [c.cert if isinstance(c, Issued) else c for c in chain]
    return ServerConfig(certificate_chain=certs, private_key=key.key)


def _client(verifier: object | None = None, **kw: object) -> ClientConfig:
    return ClientConfig(verifier=verifier, provider=DeterministicProvider(seed=b"c", clock=T0), **kw)  # type: ignore[arg-type]


def _pump(client: ClientConnection, server: ServerConnection) -> tuple[list[Event], list[Event]]:
    """Move bytes both ways until neither side has anything to send."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    for _ in range(20):
        out = client.data_to_send()
        if out:
            server_events += server.receive_data(out)
        back = server.data_to_send()
        if back:
            client_events += client.receive_data(back)
        if not out and not back:
            return client_events, server_events
    raise AssertionError("the handshake did not settle")


def test_handshake_completes_against_a_missing_intermediate_and_records_it(
    pki: tuple[Issued, Issued, Issued],
) -> None:
    root, _inter, leaf = pki
    recorder = RecordingVerifier([root.cert])
    client = ClientConnection(_client(recorder), "localhost")
    server = ServerConnection(_server([leaf], leaf))
    client_events, _ = _pump(client, server)
    done = [e for e in client_events if isinstance(e, HandshakeCompleted)]
    assert len(done) == 1 and client.handshake_complete
    assert done[0].peer_certificates == (leaf.cert,)
    assert recorder.chain == (leaf.cert,)
    assert recorder.report is not None and not recorder.report.valid
    assert F.MISSING_INTERMEDIATE in recorder.report.codes
    assert recorder.last is not None and recorder.last.server_name == "localhost"
    assert recorder.last.at == NOW  # the connection's clock


def test_recording_does_not_skip_the_certificate_verify_signature(pki: tuple[Issued, Issued, Issued]) -> None:
    root, inter, leaf = pki
    impostor = make_leaf(inter, "localhost", sans=["localhost"])  # someone else's key
    forged = CertifiedKey((leaf.cert, inter.cert), KeySigner(impostor.key), ("localhost",))
    recorder = RecordingVerifier([root.cert])
    client = ClientConnection(_client(recorder), "localhost")
    server = ServerConnection(ServerConfig(certificates=[forged]))
    with pytest.raises(DecryptError):
        _pump(client, server)
    assert not client.handshake_complete
    assert recorder.chain == (leaf.cert, inter.cert)  # the chain is kept for the diagnosis anyway
    assert recorder.report is not None and recorder.report.valid


def _refused(
    root: Issued, chain: list[Issued], key: Issued, name: str = "localhost"
) -> tuple[CertificateError, FatalAlert]:
    """A default (WebPki) client refusing ``chain``: its error, and the alert the server then receives."""
    client = ClientConnection(_client(None, trust_anchors=[root.cert]), name)
    server = ServerConnection(_server(chain, key))
    with pytest.raises(CertificateError) as info:
        _pump(client, server)
    with pytest.raises(FatalAlert) as alert:
        server.receive_data(client.data_to_send())
    return info.value, alert.value


def test_default_verifier_refuses_an_expired_leaf_with_findings_and_the_alert() -> None:
    root = make_root()
    inter = make_intermediate(root)
    leaf = make_leaf(
        inter, "localhost", sans=["localhost"], not_before=NOW - 400 * DAY, not_after=NOW - 3 * DAY
    )
    exc, alert = _refused(root, [leaf, inter], leaf)
    assert type(exc) is CertificateExpired
    assert exc.description == AlertDescription.CERTIFICATE_EXPIRED
    codes = {f.code for f in exc.findings if isinstance(f, Finding)}
    assert codes == {F.EXPIRED}
    expired = next(f for f in exc.findings if isinstance(f, Finding) and f.code == F.EXPIRED)
    assert expired.certificate == leaf.cert and expired.fix
    assert "3 days" in expired.message
    assert str(exc).startswith("tls: expired: ")
    assert alert.description == AlertDescription.CERTIFICATE_EXPIRED


def test_default_verifier_refuses_a_missing_intermediate_with_findings(
    pki: tuple[Issued, Issued, Issued],
) -> None:
    root, _inter, leaf = pki
    exc, alert = _refused(root, [leaf], leaf)
    assert type(exc) is UnknownCA
    assert [f.code for f in exc.findings if isinstance(f, Finding)] == [F.MISSING_INTERMEDIATE]
    assert alert.description == AlertDescription.UNKNOWN_CA


def test_default_verifier_refuses_the_wrong_name_with_findings(pki: tuple[Issued, Issued, Issued]) -> None:
    root, inter, leaf = pki
    exc, alert = _refused(root, [leaf, inter], leaf, name="www.example.com")
    assert {f.code for f in exc.findings if isinstance(f, Finding)} == {F.NAME_MISMATCH}
    assert alert.description == AlertDescription.BAD_CERTIFICATE


def test_default_verifier_accepts_a_good_chain(pki: tuple[Issued, Issued, Issued]) -> None:
    root, inter, leaf = pki
    client = ClientConnection(_client(None, trust_anchors=[root.cert]), "localhost")
    server = ServerConnection(_server([leaf, inter], leaf))
    client_events, _ = _pump(client, server)
    assert any(isinstance(e, HandshakeCompleted) for e in client_events)


def test_at_in_the_past_of_the_chain_is_reported_not_yet_valid() -> None:
    p = standard_pki()
    v = RecordingVerifier([p.root.cert], at=NOW - 60 * DAY)  # before the leaf's notBefore (NOW - 30d)
    v.verify_server([p.leaf.cert, p.inter.cert], "www.example.com", T0)
    assert v.report is not None and F.NOT_YET_VALID in v.report.codes
    assert v.report.at == (NOW - 60 * DAY).astimezone(dt.UTC)
