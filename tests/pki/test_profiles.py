"""Profiles (webpki / rfc5280), trustme, time precision, and certificates that must never crash or slow.

The corpus (tests/pki/corpus.py) holds one case per finding code; these tests cover what a case cannot
say: which profile is chosen and why, a real trustme CA through verify_chain and through handshakes (one
of them against Python's ssl), and the work bound, checked with counters rather than a clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tlslens
from tests.handshake.helpers import ConnectionPair, TamperingServer, replacing
from tests.pki.factory import (
    DAY,
    NOW,
    Issued,
    make_cert,
    make_intermediate,
    make_key,
    make_leaf,
    make_root,
    standard_pki,
    with_duplicate_extension,
)
from tlslens.dangerous import RecordingVerifier
from tlslens.errors import BadCertificate, CertificateError
from tlslens.pki import (
    Budget,
    TrustStore,
    names,
    paths,
    system_trust_store,
    verify_chain,
    verify_server_chain,
)
from tlslens.pki import findings as F
from tlslens.pki.budget import LIMITS
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import AlertDescription
from tlslens.wire.messages import Certificate, CertificateEntry

# --- which profile, and why ----------------------------------------------------------------------------


def test_own_trust_anchors_mean_rfc5280_and_the_system_store_means_webpki() -> None:
    p = standard_pki()
    own = verify_chain([p.leaf.cert, p.inter.cert], trust_anchors=[p.root.cert], at=NOW)
    assert own.profile == "rfc5280" and "your own trust anchors" in own.profile_reason
    system = verify_chain([p.leaf.cert, p.inter.cert], at=NOW)
    assert system.profile == "webpki" and "system trust store" in system.profile_reason
    assert verify_chain([p.leaf.cert], trust_anchors=system_trust_store(), at=NOW).profile == "webpki"
    chosen = verify_chain([p.leaf.cert], trust_anchors=[p.root.cert], at=NOW, profile="webpki")
    assert chosen.profile == "webpki" and chosen.profile_reason == "chosen explicitly"
    assert own.to_dict()["profile"] == "rfc5280"
    with pytest.raises(ValueError, match="profile"):
        verify_chain([p.leaf.cert], trust_anchors=[p.root.cert], profile="strict")  # type: ignore[arg-type]


def test_verifiers_take_the_profile_of_their_trust() -> None:
    p = standard_pki()
    assert WebPkiVerifier([p.root.cert]).profile == "rfc5280"
    assert WebPkiVerifier().profile == "webpki"
    assert WebPkiVerifier([p.root.cert], profile="webpki").profile == "webpki"
    assert RecordingVerifier([p.root.cert]).profile == "rfc5280"


def test_web_pki_rules_are_errors_under_webpki_and_warnings_under_rfc5280() -> None:
    p = standard_pki()
    leaf = make_leaf(p.inter, eku=None, aki=False)
    chain, anchors = [leaf.cert, p.inter.cert], [p.root.cert]
    soft = verify_chain(chain, trust_anchors=anchors, at=NOW)
    assert soft.valid and soft.codes == {F.EKU_MISSING, F.AKI_MISSING}
    assert {f.severity for f in soft.findings} == {"warning"}
    hard = verify_chain(chain, trust_anchors=anchors, at=NOW, profile="webpki")
    assert not hard.valid and {F.EKU_MISSING, F.AKI_MISSING} <= {f.code for f in hard.errors}
    for f in hard.findings:
        assert f.fix.startswith("Reissue")


@pytest.mark.parametrize(
    ("wildcard", "host", "flagged"),
    [
        ("*.com", "example.com", True),
        ("*.co.uk", "example.co.uk", True),
        ("*.github.io", "someone.github.io", True),
        ("*.example.co.uk", "www.example.co.uk", False),
        ("*.example.com", "www.example.com", False),
        ("*.localhost", "app.localhost", False),  # not on the list: a local name, not a public suffix
    ],
)
def test_wildcards_over_a_public_suffix_come_from_the_public_suffix_list(
    wildcard: str, host: str, flagged: bool
) -> None:
    p = standard_pki()
    leaf = make_leaf(p.inter, wildcard, sans=[wildcard])
    report = verify_chain([leaf.cert, p.inter.cert], server_name=host, trust_anchors=[p.root.cert], at=NOW)
    assert (F.WILDCARD_PUBLIC_SUFFIX in report.codes) is flagged
    assert report.valid  # a warning under rfc5280


# --- trustme: the test CA of urllib3, httpx and aiohttp ------------------------------------------------


@pytest.fixture(scope="module")
def trustme_ca() -> trustme.CA:
    return trustme.CA()


def _trustme_chain(ca: trustme.CA, *names: str) -> tuple[trustme.LeafCert, list[x509.Certificate]]:
    issued = ca.issue_cert(*names)
    return issued, [x509.load_pem_x509_certificate(b.bytes()) for b in issued.cert_chain_pems]


def _trustme_root(ca: trustme.CA) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes())


def test_trustme_certificates_validate_under_rfc5280(trustme_ca: trustme.CA) -> None:
    _issued, chain = _trustme_chain(trustme_ca, "localhost", "127.0.0.1")
    san = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical and len(chain[0].subject)  # what the Web PKI profile refuses, RFC 5280 allows
    root = _trustme_root(trustme_ca)
    for host in ("localhost", "127.0.0.1"):
        report = verify_chain(chain, server_name=host, trust_anchors=[root])
        assert report.valid and report.profile == "rfc5280" and not report.errors, report.findings
    assert not verify_chain(chain, server_name="other.test", trust_anchors=[root]).valid
    strict = verify_chain(chain, server_name="localhost", trust_anchors=[root], profile="webpki")
    assert not strict.valid and F.INVALID_CHAIN in strict.codes


def _pem_key(issued: trustme.LeafCert) -> object:
    return serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)


def test_trustme_certificates_pass_a_tlslens_handshake_both_ways(trustme_ca: trustme.CA) -> None:
    server_cert, server_chain = _trustme_chain(trustme_ca, "localhost")
    client_cert, client_chain = _trustme_chain(trustme_ca, "client@example.test")
    root = _trustme_root(trustme_ca)
    pair = ConnectionPair(
        tlslens.ClientConfig(
            trust_anchors=[root], certificate_chain=client_chain, private_key=_pem_key(client_cert)
        ),
        tlslens.ServerConfig(
            certificate_chain=server_chain,
            private_key=_pem_key(server_cert),
            client_verifier=WebPkiVerifier([root]),
        ),
    ).handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete


@pytest.mark.interop
def test_python_ssl_and_tlslens_agree_on_a_trustme_server(trustme_ca: trustme.CA) -> None:
    """Python's ssl serves a trustme certificate (through memory BIOs); the tlslens client accepts it."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme_ca.issue_cert("localhost").configure_cert(server_ctx)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_ctx.wrap_bio(incoming, outgoing, server_side=True)
    client = tlslens.ClientConnection(
        tlslens.ClientConfig(trust_anchors=[_trustme_root(trustme_ca)]), "localhost"
    )
    done = False
    for _ in range(10):
        incoming.write(client.data_to_send())
        try:
            server.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            pass
        client.receive_data(outgoing.read())
        if done and client.handshake_complete:
            break
    assert client.handshake_complete and done and server.version() == "TLSv1.3"


# --- time: the precision the certificate states ---------------------------------------------------------


def test_a_leaf_is_valid_through_the_whole_second_of_its_not_after() -> None:
    p = standard_pki()
    end = NOW + 10 * DAY
    leaf = make_leaf(p.inter, not_after=end)
    chain, anchors = [leaf.cert, p.inter.cert], [p.root.cert]
    late = end + dt.timedelta(milliseconds=500)
    report = verify_chain(chain, trust_anchors=anchors, at=late)
    assert report.valid and F.EXPIRED not in report.codes
    assert verify_server_chain(chain, "www.example.com", TrustStore(anchors), late)[0] == leaf.cert
    assert F.EXPIRED in verify_chain(chain, trust_anchors=anchors, at=end + dt.timedelta(seconds=1)).codes
    start = NOW - DAY
    early = make_leaf(p.inter, not_before=start)
    before = verify_chain(
        [early.cert, p.inter.cert], trust_anchors=anchors, at=start - dt.timedelta(microseconds=1)
    )
    assert before.codes == {F.NOT_YET_VALID}


# --- trusted directly, and the report's words ----------------------------------------------------------


def test_a_self_signed_certificate_given_as_trust_anchor_is_trusted_directly_for_its_own_names() -> None:
    ss = make_cert("localhost", ca=True, ku=None, eku=None, sans=["localhost", "127.0.0.1"])
    report = verify_chain([ss.cert], server_name="localhost", trust_anchors=[ss.cert], at=NOW)
    assert report.valid and report.trusted_directly and report.path == (ss.cert,)
    assert any("trusted directly" in note for note in report.notes)
    assert report.to_dict()["trusted_directly"] is True
    assert not verify_chain([ss.cert], server_name="other.test", trust_anchors=[ss.cert], at=NOW).valid
    path = verify_server_chain([ss.cert], "127.0.0.1", TrustStore([ss.cert]), NOW)
    assert path == (ss.cert,)


def test_untrusted_root_never_asks_to_serve_the_root() -> None:
    trusted, namesake = make_root(), make_root()  # both "Test Root CA", two keys
    leaf = make_leaf(namesake)
    report = verify_chain([leaf.cert], trust_anchors=[trusted.cert], at=NOW)
    (f,) = report.errors
    assert f.code == F.UNTRUSTED_ROOT and "not in your trust store" in f.message
    assert "--cafile" in f.fix and "Serve" not in f.fix


# --- never slow: the work is counted ---------------------------------------------------------------------


class Counting:
    """Wraps a function and counts its calls: the work actually done, independently of the budget."""

    def __init__(self, fn: object) -> None:
        self.fn, self.calls = fn, 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        return self.fn(*args, **kwargs)  # type: ignore[operator]


def test_names_times_name_constraints_stop_at_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    subtrees = [f"zone{i}.example.net" for i in range(300)] + ["example.com"]
    root = make_root("Many Subtrees Root", permitted=subtrees)
    inter = make_intermediate(root)
    leaf = make_leaf(inter, sans=[f"h{i}.example.com" for i in range(300)] + ["www.example.com"])
    checks = Counting(names._in_subtree)
    monkeypatch.setattr(names, "_in_subtree", checks)
    budget = Budget()
    report = verify_chain([leaf.cert, inter.cert], trust_anchors=[root.cert], at=NOW, budget=budget)
    assert not report.valid and F.TOO_COMPLEX in report.codes
    assert budget.spent["name-checks"] <= LIMITS["name-checks"]
    assert checks.calls <= LIMITS["name-checks"]  # without the budget: 301 x 301 = 90,601
    with pytest.raises(BadCertificate, match="too-complex"):
        verify_server_chain([leaf.cert, inter.cert], "www.example.com", TrustStore([root.cert]), NOW)


def test_many_candidate_issuers_that_sign_each_other_stop_at_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Thirty CA certificates with one name, each issued (by name) by all the others: the number of
    # paths through them is astronomical; the search examines at most the budgeted candidates.
    namesake = make_root("Loop CA")
    keys = [make_key() for _ in range(30)]
    cas = [
        make_cert("Loop CA", ca=True, key=keys[i], issuer=Issued(namesake.cert, keys[i - 1]), aki=False)
        for i in range(30)
    ]
    leaf = make_leaf(cas[0], aki=False)
    sigs = Counting(paths.signature_verifies)
    monkeypatch.setattr(paths, "signature_verifies", sigs)
    budget = Budget()
    chain = [leaf.cert, *(c.cert for c in cas[1:])]
    report = verify_chain(chain, trust_anchors=[make_root("Elsewhere").cert], at=NOW, budget=budget)
    assert not report.valid and F.TOO_COMPLEX in report.codes
    assert budget.spent["issuer-candidates"] <= LIMITS["issuer-candidates"]
    assert sigs.calls <= LIMITS["signatures"] + 2  # + the self-signature checks outside the search
    assert report.errors[0].code == F.TOO_COMPLEX  # the first error names the failure
    assert sum(f.code == F.UNUSED_CERTIFICATE for f in report.findings) <= 1


def test_a_chain_of_dozens_of_intermediates_is_too_complex_not_slow() -> None:
    root = make_root()
    issuer, chain = root, []
    for i in range(30):
        issuer = make_intermediate(issuer, f"Level {i} CA")
        chain.append(issuer.cert)
    leaf = make_leaf(issuer)
    budget = Budget()
    report = verify_chain([leaf.cert, *reversed(chain)], trust_anchors=[root.cert], at=NOW, budget=budget)
    assert not report.valid and F.TOO_COMPLEX in report.codes
    assert budget.spent["path-length"] <= LIMITS["path-length"]
    assert budget.spent["signatures"] <= LIMITS["signatures"]


def test_ninety_unused_certificates_make_one_summary_warning() -> None:
    p = standard_pki()
    strays = [make_intermediate(p.root, f"Stray {i}").cert for i in range(90)]
    budget = Budget()
    report = verify_chain(
        [p.leaf.cert, p.inter.cert, *strays], trust_anchors=[p.root.cert], at=NOW, budget=budget
    )
    assert report.valid
    (unused,) = (f for f in report.findings if f.code == F.UNUSED_CERTIFICATE)
    assert unused.message.startswith("90 certificates were presented but are not part of the path")
    assert budget.spent["signatures"] <= LIMITS["signatures"]


# --- never raises ----------------------------------------------------------------------------------------

_P = standard_pki()
_LEAF_DER = _P.leaf.cert.public_bytes(serialization.Encoding.DER)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_LEAF_DER) - 1), st.integers(1, 255)), min_size=1, max_size=3))
def test_a_corrupted_leaf_gives_a_report_or_a_certificate_error_never_an_exception(
    flips: list[tuple[int, int]],
) -> None:
    der = bytearray(_LEAF_DER)
    for index, mask in flips:
        der[index] ^= mask
    try:
        leaf = x509.load_der_x509_certificate(bytes(der))
    except (ValueError, x509.InvalidVersion):
        return  # the handshake refuses what does not even load (handshake/common.py)
    chain, anchors = [leaf, _P.inter.cert], [_P.root.cert]
    report = verify_chain(chain, server_name="www.example.com", trust_anchors=anchors, at=NOW)
    assert report.valid or report.errors
    with contextlib.suppress(CertificateError):
        verify_server_chain(chain, "www.example.com", TrustStore(anchors), NOW)


def test_a_malformed_certificate_in_a_handshake_is_bad_certificate(tmp_path: Path) -> None:

    p = standard_pki()
    broken = with_duplicate_extension(p.leaf, p.inter, x509.ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    with pytest.raises(BadCertificate, match="malformed-certificate") as info:
        WebPkiVerifier([p.root.cert]).verify_server(
            [broken.cert, p.inter.cert], "www.example.com", NOW.timestamp()
        )
    assert "twice" in str(info.value)


def test_a_malformed_certificate_from_a_server_ends_the_handshake_with_bad_certificate() -> None:

    p = standard_pki()
    leaf = make_leaf(p.inter, "localhost", sans=["localhost"])
    broken = with_duplicate_extension(leaf, p.inter, x509.ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    der = broken.cert.public_bytes(serialization.Encoding.DER)

    def swap(message: Certificate) -> Certificate:
        entries = (CertificateEntry(der), *message.certificate_list[1:])
        return Certificate(message.certificate_request_context, entries)

    config = tlslens.ServerConfig(
        certificate_chain=[leaf.cert, p.inter.cert], private_key=leaf.key, certificate_compression=()
    )
    server = TamperingServer(config, tamper=replacing(Certificate, swap))
    client = tlslens.ClientConnection(tlslens.ClientConfig(trust_anchors=[p.root.cert]), "localhost")
    with pytest.raises(BadCertificate, match="malformed-certificate") as info:
        ConnectionPair(client=client, server=server).pump()
    assert info.value.alert == AlertDescription.BAD_CERTIFICATE
    assert "twice" in str(info.value)


def test_many_duplicated_certificates_make_one_summary_warning() -> None:
    p = standard_pki()
    strays = [make_intermediate(p.root, f"Twice {i}").cert for i in range(6)]
    chain = [p.leaf.cert, p.inter.cert, *strays, *strays]
    report = verify_chain(chain, trust_anchors=[p.root.cert], at=NOW)
    assert report.valid
    assert sum(f.code == F.DUPLICATE_CERTIFICATE for f in report.findings) == 1
    assert sum(f.code == F.UNUSED_CERTIFICATE for f in report.findings) == 1


def test_tlslens_decides_only_the_gap_the_verifier_has_not_another_refusal() -> None:
    # A self-issued intermediate lets tlslens decide the path length, not what cryptography refuses
    # for another reason (here, under webpki, a critical SAN beside a subject).
    root = make_root()
    old = make_intermediate(root, "Rolled CA", path_length=0)
    rolled = make_cert("Rolled CA", issuer=old, ca=True, path_length=0, subject=old.cert.subject)
    good = make_leaf(rolled)
    chain = [good.cert, rolled.cert, old.cert]
    accepted = verify_chain(chain, trust_anchors=[root.cert], at=NOW, profile="webpki")
    assert accepted.valid and accepted.verifier_error and accepted.notes
    critical = make_leaf(rolled, san_critical=True)
    refused = verify_chain(
        [critical.cert, rolled.cert, old.cert], trust_anchors=[root.cert], at=NOW, profile="webpki"
    )
    assert not refused.valid and F.INVALID_CHAIN in refused.codes and not refused.notes
