"""What the findings say, how a report is shaped, and how verify_chain treats its arguments."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.pki import corpus
from tests.pki.factory import DAY, NOW, make_intermediate, make_leaf, make_root, standard_pki
from tlslens.pki import Budget, TrustStore, verify_chain
from tlslens.pki import findings as F

BY_ID = {c.id: c for c in corpus.ALL}


def only(report_codes: tuple[F.Finding, ...], code: str) -> F.Finding:
    matching = [f for f in report_codes if f.code == code]
    assert len(matching) == 1, [f.code for f in report_codes]
    return matching[0]


def test_missing_intermediate_names_the_issuer_its_url_and_the_fix() -> None:
    p = standard_pki()
    leaf = make_leaf(p.inter, aia_url="http://ca.example.test/inter.cer")
    report = verify_chain([leaf.cert], trust_anchors=[p.root.cert], at=NOW)
    f = only(report.findings, F.MISSING_INTERMEDIATE)
    assert f.certificate == leaf.cert
    assert "Test Intermediate CA" in f.message and "http://ca.example.test/inter.cer" in f.message
    assert f.fix.startswith("Serve the leaf followed by its intermediates in order")
    assert report.path == (leaf.cert,) and not report.trusted


def test_expired_and_not_yet_valid_say_when() -> None:
    p = standard_pki()
    old = make_leaf(p.inter, not_after=NOW - 3 * DAY)
    f = only(verify_chain([old.cert, p.inter.cert], trust_anchors=[p.root.cert], at=NOW).findings, F.EXPIRED)
    assert (NOW - 3 * DAY).strftime("%Y-%m-%d") in f.message and "3 days ago" in f.message
    assert "leaf" in f.message and f.fix.startswith("Renew")
    early = make_leaf(p.inter, not_before=NOW + 5 * DAY)
    g = only(
        verify_chain([early.cert, p.inter.cert], trust_anchors=[p.root.cert], at=NOW).findings,
        F.NOT_YET_VALID,
    )
    assert "5 days from now" in g.message and "clock" in g.fix


def test_expiring_soon_threshold_is_configurable() -> None:
    p = standard_pki()
    leaf = make_leaf(p.inter, not_after=NOW + 10 * DAY)
    chain, anchors = [leaf.cert, p.inter.cert], [p.root.cert]
    assert verify_chain(chain, trust_anchors=anchors, at=NOW).codes == {F.EXPIRING_SOON}
    assert verify_chain(chain, trust_anchors=anchors, at=NOW, expiring_soon_days=5).codes == frozenset()
    f = only(verify_chain(chain, trust_anchors=anchors, at=NOW).findings, F.EXPIRING_SOON)
    assert f.severity == "warning" and "in 10 days" in f.message


def test_name_mismatch_lists_the_sans_and_says_the_cn_is_not_used() -> None:
    p = standard_pki()
    report = verify_chain(
        [p.leaf.cert, p.inter.cert], server_name="mail.example.org", trust_anchors=[p.root.cert], at=NOW
    )
    f = only(report.findings, F.NAME_MISMATCH)
    assert '"mail.example.org"' in f.message
    assert "www.example.com, example.com" in f.message
    assert "CN" in f.message and "not used" in f.message
    assert report.server_name == "mail.example.org"


def test_untrusted_root_and_self_signed_name_the_certificate() -> None:
    s = BY_ID["untrusted-root-served"].build()
    f = only(s.verify().findings, F.UNTRUSTED_ROOT)
    assert "Private Root" in f.message and f.certificate == s.chain[-1]
    report = s.verify()
    assert report.path == tuple(s.chain) and not report.trusted
    s = BY_ID["self-signed-leaf"].build()
    g = only(s.verify().findings, F.SELF_SIGNED)
    assert g.certificate == s.chain[0] and "self-signed" in g.message


def test_wrong_order_is_a_warning_for_intermediates_and_an_error_for_the_leaf() -> None:
    soft = only(BY_ID["intermediates-out-of-order"].build().verify().findings, F.WRONG_ORDER)
    hard = only(BY_ID["leaf-not-first"].build().verify().findings, F.WRONG_ORDER)
    assert soft.severity == "warning" and hard.severity == "error"
    assert "must come first" in hard.message


def test_invalid_chain_carries_the_verifiers_reason_beside_secondary_findings() -> None:
    # Under webpki a critical SAN beside a subject is refused by cryptography's verifier, for a reason no
    # finding of the diagnosis names: the verifier's words are reported although cn-not-in-san is there.
    report = BY_ID["webpki-critical-san-beside-a-subject"].build().verify()
    f = only(report.findings, F.INVALID_CHAIN)
    assert report.verifier_error and report.verifier_error in f.message
    assert "subjectAltName MUST NOT be critical" in f.message
    assert F.CN_NOT_IN_SAN in report.codes and not report.valid


def test_findings_list_errors_first_in_a_stable_order() -> None:
    p = standard_pki()
    leaf = make_leaf(p.inter, not_after=NOW - DAY)
    report = verify_chain(
        [leaf.cert, p.inter.cert, p.root.cert, p.inter.cert],
        server_name="other.example",
        trust_anchors=[p.root.cert],
        at=NOW,
    )
    assert [f.code for f in report.findings] == [
        F.EXPIRED,
        F.NAME_MISMATCH,
        F.DUPLICATE_CERTIFICATE,
        F.UNNECESSARY_ROOT,
    ]
    assert [f.code for f in report.errors] == [F.EXPIRED, F.NAME_MISMATCH]
    assert [f.code for f in report.warnings] == [F.DUPLICATE_CERTIFICATE, F.UNNECESSARY_ROOT]


def test_report_to_dict_is_json_ready() -> None:
    report = BY_ID["missing-intermediate"].build().verify()
    data = json.loads(json.dumps(report.to_dict()))
    assert data["valid"] is False and data["trusted"] is False
    assert data["path"] == ["CN=www.example.com,O=tlslens tests"]
    assert data["findings"][0]["code"] == F.MISSING_INTERMEDIATE
    assert set(data["findings"][0]) == {"code", "severity", "subject", "message", "fix"}


def test_naive_time_means_utc_and_default_is_now() -> None:
    p = standard_pki()
    chain, anchors = [p.leaf.cert, p.inter.cert], [p.root.cert]
    naive = verify_chain(chain, trust_anchors=anchors, at=(NOW + 400 * DAY).replace(tzinfo=None))
    assert naive.codes == {F.EXPIRED} and naive.at.tzinfo is not None
    other_zone = (NOW + 400 * DAY).astimezone(dt.timezone(dt.timedelta(hours=5)))
    assert verify_chain(chain, trust_anchors=anchors, at=other_zone).codes == {F.EXPIRED}
    now = verify_chain(chain, trust_anchors=anchors)
    assert now.valid and abs(now.at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_trust_anchors_as_store_list_or_system_default() -> None:
    p = standard_pki()
    chain = [p.leaf.cert, p.inter.cert]
    assert verify_chain(chain, trust_anchors=TrustStore([p.root.cert]), at=NOW).valid
    assert verify_chain(chain, trust_anchors=(c for c in [p.root.cert]), at=NOW).valid
    system = verify_chain(chain, at=NOW)  # our private root is not in the system store
    assert system.codes == {F.MISSING_INTERMEDIATE} and not system.valid


def test_empty_trust_store_means_nothing_is_trusted() -> None:
    p = standard_pki()
    report = verify_chain([p.leaf.cert, p.inter.cert], trust_anchors=[], at=NOW)
    assert not report.valid and report.codes == {F.MISSING_INTERMEDIATE}
    assert report.verifier_error == "the trust store is empty"


def test_caller_errors_raise() -> None:
    p = standard_pki()
    with pytest.raises(ValueError, match="empty"):
        verify_chain([], trust_anchors=[p.root.cert])
    with pytest.raises(ValueError, match="not a valid host name"):
        verify_chain([p.leaf.cert], server_name="no spaces allowed", trust_anchors=[p.root.cert])
    with pytest.raises(ValueError, match="purpose"):
        verify_chain([p.leaf.cert], trust_anchors=[p.root.cert], purpose="email")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"x509\.Certificate"):
        verify_chain([b"not a cert"], trust_anchors=[p.root.cert])  # type: ignore[list-item]


def test_path_prefers_a_trusted_route_over_a_served_untrusted_root() -> None:
    # The intermediate is cross-signed: once by a root we trust, once by a private root that is served.
    trusted, private = make_root("Trusted Root"), make_root("Private Root")
    inter_key = make_intermediate(trusted).key
    via_trusted = make_intermediate(trusted, "Shared Intermediate", key=inter_key)
    via_private = make_intermediate(private, "Shared Intermediate", key=inter_key)
    leaf = make_leaf(via_trusted)
    report = verify_chain(
        [leaf.cert, via_private.cert, private.cert, via_trusted.cert], trust_anchors=[trusted.cert], at=NOW
    )
    assert report.valid and report.path == (leaf.cert, via_trusted.cert, trusted.cert)
    assert report.codes == {F.UNUSED_CERTIFICATE}


def test_certificates_that_issue_each_other_end_the_search() -> None:
    # A and B certify each other and neither is trusted: the search must stop and say so.
    a_root, b_root = make_root("CA A"), make_root("CA B")
    a = make_intermediate(b_root, "CA A", key=a_root.key)  # A issued by B
    b = make_intermediate(a_root, "CA B", key=b_root.key)  # B issued by A
    leaf = make_leaf(a)
    report = verify_chain([leaf.cert, a.cert, b.cert], trust_anchors=[make_root("Elsewhere").cert], at=NOW)
    f = only(report.findings, F.MISSING_INTERMEDIATE)
    assert "loop" in f.message
    assert report.path == (leaf.cert, a.cert, b.cert) and not report.valid


def test_many_candidate_issuers_with_one_name_are_each_checked_once() -> None:
    root = make_root()
    decoys = [make_intermediate(make_root(f"Decoy {i}"), "Shared Name CA", aki=False) for i in range(25)]
    real = make_intermediate(root, "Shared Name CA")
    leaf = make_leaf(real, aki=False)
    chain = [leaf.cert, *(d.cert for d in decoys), real.cert]
    budget = Budget()
    report = verify_chain(chain, trust_anchors=[root.cert], at=NOW, budget=budget)
    assert report.path == (leaf.cert, real.cert, root.cert)
    assert F.UNUSED_CERTIFICATE in report.codes and F.MISSING_INTERMEDIATE not in report.codes
    assert budget.spent["signatures"] <= 26 + 2  # each candidate's signature once, then the path's links
