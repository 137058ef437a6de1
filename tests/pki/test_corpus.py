"""Every chain in the corpus produces exactly its expected finding codes and verdict."""

from __future__ import annotations

import pytest

from tests.pki.corpus import ALL, BROKEN, HEALTHY, Case
from tlslens.pki import CODES
from tlslens.pki.findings import INVALID_CHAIN


def test_corpus_is_large_enough_and_covers_every_code() -> None:
    assert len(BROKEN) >= 25
    assert len(HEALTHY) >= 10
    covered = set().union(*(c.codes for c in ALL))
    assert covered == set(CODES), set(CODES) - covered
    assert len({c.id for c in ALL}) == len(ALL)


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_chain_produces_exactly_the_expected_codes(case: Case) -> None:
    report = case.build().verify()
    assert report.codes == case.codes, [(f.code, f.message) for f in report.findings]
    assert report.valid is case.valid
    if not case.valid:
        assert report.errors
    for f in report.findings:
        assert f.code in CODES
        assert f.severity in ("error", "warning")
        assert f.message.endswith(".") and f.fix.endswith(".")
        assert f.certificate is not None


@pytest.mark.parametrize("case", HEALTHY, ids=[c.id for c in HEALTHY])
def test_healthy_chain_path_runs_from_leaf_to_a_trust_anchor(case: Case) -> None:
    s = case.build()
    report = s.verify()
    assert report.trusted
    # The verifier accepted it, or the report says why tlslens's own path validation decided.
    assert report.verifier_error is None or report.notes
    assert report.path[0] == s.chain[0]
    assert report.path[-1] in s.anchors
    assert not report.errors


@pytest.mark.parametrize("case", BROKEN, ids=[c.id for c in BROKEN])
def test_broken_chain_is_never_valid_and_explained(case: Case) -> None:
    report = case.build().verify()
    assert not report.valid
    # The verifier's own words are there when nothing else explains its refusal, and only then.
    if INVALID_CHAIN in report.codes:
        (finding,) = (f for f in report.findings if f.code == INVALID_CHAIN)
        assert report.verifier_error is not None and report.verifier_error in finding.message
