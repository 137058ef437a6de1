"""OCSP responses checked (tlslens.pki.ocsp): who may sign, which certificate they answer for, when they
are fresh, what they say; must-staple (RFC 7633); the findings and their fixes; what a server staples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from tests.pki.factory import DAY, NOW, make_intermediate, make_leaf, make_root, standard_pki
from tests.pki.ocsp_factory import HOUR, must_staple_leaf, ocsp_response, responder, unsuccessful
from tlslens.pki import CODES
from tlslens.pki.ocsp import MAX_OCSP_RESPONSE, OcspStaple, check_response, must_staple, staple_outcome

PKI = standard_pki()
CHAIN = [PKI.leaf.cert, PKI.inter.cert]


def check(der: bytes, leaf: x509.Certificate = PKI.leaf.cert, at: dt.datetime = NOW) -> tuple[str, str]:
    result = check_response(der, leaf, [PKI.inter.cert], at)
    return result.status, result.message


def test_codes_are_listed() -> None:
    assert {"ocsp-revoked", "ocsp-stale", "ocsp-invalid", "must-staple-missing"} <= set(CODES)


def test_good_response_signed_by_the_issuer() -> None:
    status, message = check(ocsp_response(PKI.leaf, PKI.inter))
    assert (status, message) == ("good", "good, says the issuer")


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256(), hashes.SHA384()], ids=lambda h: h.name)
def test_cert_id_in_any_hash(algorithm: hashes.HashAlgorithm) -> None:
    assert check(ocsp_response(PKI.leaf, PKI.inter, cert_id_hash=algorithm))[0] == "good"


def test_responder_named_by_key_hash() -> None:
    assert check(ocsp_response(PKI.leaf, PKI.inter, by_key=True))[0] == "good"


def test_delegated_responder() -> None:
    delegate = responder(PKI.inter)
    result = check_response(
        ocsp_response(PKI.leaf, PKI.inter, signer=delegate), PKI.leaf.cert, [PKI.inter.cert], NOW
    )
    assert result.status == "good"
    assert result.responder == '''the delegated responder "CN=OCSP responder,O=tlslens tests"'''


def test_revoked_names_reason_and_date() -> None:
    when = (NOW - 3 * DAY).replace(microsecond=0)
    result = check_response(
        ocsp_response(PKI.leaf, PKI.inter, status="revoked", revoked_at=when),
        PKI.leaf.cert,
        [PKI.inter.cert],
        NOW,
    )
    assert result.status == "revoked"
    assert result.revocation_time == when and result.revocation_reason == "key_compromise"
    assert (
        result.message == f"revoked on {when:%Y-%m-%d %H:%M:%S} UTC (reason: key_compromise), says the issuer"
    )


def test_unknown_status() -> None:
    assert check(ocsp_response(PKI.leaf, PKI.inter, status="unknown")) == (
        "unknown",
        "the issuer does not know this certificate (status unknown)",
    )


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"this_update": NOW - 3 * DAY, "next_update": NOW - DAY}, "the OCSP response expired on"),
        ({"this_update": NOW + DAY, "next_update": NOW + 2 * DAY}, "from the future"),
        ({"this_update": NOW - 8 * DAY, "next_update": None}, "has no nextUpdate and dates from"),
    ],
    ids=["expired", "future", "old_without_next_update"],
)
def test_stale(kwargs: dict, text: str) -> None:
    status, message = check(ocsp_response(PKI.leaf, PKI.inter, **kwargs))
    assert status == "stale" and text in message


def test_within_the_skew_is_fresh() -> None:
    der = ocsp_response(PKI.leaf, PKI.inter, this_update=NOW - DAY, next_update=NOW - dt.timedelta(minutes=2))
    assert check(der)[0] == "good"


def test_revoked_wins_over_stale() -> None:  # a revocation is for ever
    der = ocsp_response(
        PKI.leaf, PKI.inter, status="revoked", this_update=NOW - 9 * DAY, next_update=NOW - 8 * DAY
    )
    assert check(der)[0] == "revoked"


def test_invalid_responses() -> None:
    other = make_leaf(PKI.inter, "other.example.com")
    stranger_ca = make_root("Stranger CA")
    outsider = responder(stranger_ca)
    not_signing = responder(PKI.inter, ocsp_signing=False)
    cases = {
        "garbage": (b"\x30\x03\x02\x01\x00", "not valid DER"),
        "unsuccessful": (unsuccessful(), "answered TRY_LATER"),
        "another_certificate": (ocsp_response(other, PKI.inter), "about another certificate (serial"),
        "another_issuer": (ocsp_response(PKI.leaf, stranger_ca), "about another certificate"),
        "unauthorised_responder": (
            ocsp_response(PKI.leaf, PKI.inter, signer=not_signing),
            "not authorised to sign OCSP (no id-kp-OCSPSigning)",
        ),
        "foreign_responder": (
            ocsp_response(PKI.leaf, PKI.inter, signer=outsider),
            "was not issued by the certificate's issuer",
        ),
        "responder_left_out": (
            ocsp_response(PKI.leaf, PKI.inter, signer=responder(PKI.inter), include_signer=False),
            "signed by neither the issuer nor a responder certificate it carries",
        ),
        "too_big": (bytes(MAX_OCSP_RESPONSE + 1), "bytes (limit"),
    }
    for name, (der, text) in cases.items():
        status, message = check(der)
        assert status == "invalid" and text in message, (name, message)


def test_signature_that_does_not_verify() -> None:
    der = bytearray(ocsp_response(PKI.leaf, PKI.inter))
    der[-5] ^= 1  # inside the signature BIT STRING
    status, message = check(bytes(der))
    assert status == "invalid" and "does not verify" in message


def test_issuer_from_the_trust_store() -> None:
    # A leaf issued straight by a root the chain leaves out: the store has the issuer.
    root = make_root("Direct Root")
    leaf = make_leaf(root, "direct.example.com")
    outcome = staple_outcome([leaf.cert], ocsp_response(leaf, root), [root.cert], NOW)
    assert outcome.status == "good" and not outcome.findings
    assert staple_outcome([leaf.cert], ocsp_response(leaf, root), [], NOW).status == "invalid"


# --- findings --------------------------------------------------------------------------------------


def test_outcome_findings() -> None:
    revoked = staple_outcome(CHAIN, ocsp_response(PKI.leaf, PKI.inter, status="revoked"), [], NOW)
    assert [(f.code, f.severity) for f in revoked.findings] == [("ocsp-revoked", "error")]
    assert (
        ": revoked on" in revoked.findings[0].message
        and "key_compromise" in revoked.findings[0].message
    )
    assert revoked.findings[0].fix.startswith("Replace the certificate")
    stale = staple_outcome(CHAIN, ocsp_response(PKI.leaf, PKI.inter, next_update=NOW - DAY), [], NOW)
    assert [(f.code, f.severity) for f in stale.findings] == [("ocsp-stale", "warning")]
    invalid = staple_outcome(CHAIN, unsuccessful(), [], NOW)
    assert [(f.code, f.severity) for f in invalid.findings] == [("ocsp-invalid", "warning")]
    assert staple_outcome(CHAIN, None, [], NOW).status == "none"
    assert not staple_outcome(CHAIN, None, [], NOW).findings


def test_must_staple() -> None:
    leaf = must_staple_leaf(PKI.inter)
    assert must_staple(leaf.cert) and not must_staple(PKI.leaf.cert)
    chain = [leaf.cert, PKI.inter.cert]
    missing = staple_outcome(chain, None, [], NOW)
    assert [(f.code, f.severity) for f in missing.findings] == [("must-staple-missing", "error")]
    assert "the server stapled none" in missing.findings[0].message
    stale = staple_outcome(chain, ocsp_response(leaf, PKI.inter, next_update=NOW - DAY), [], NOW)
    assert [f.code for f in stale.findings] == ["ocsp-stale", "must-staple-missing"]
    assert not staple_outcome(chain, ocsp_response(leaf, PKI.inter), [], NOW).findings


# --- what a server staples ----------------------------------------------------------------------------


def test_staple_holds_a_parsed_response() -> None:
    der = ocsp_response(PKI.leaf, PKI.inter, next_update=NOW + 2 * DAY)
    staple = OcspStaple(der)
    assert staple.response == der and staple.next_update == NOW + 2 * DAY
    staple.set(None)
    assert staple.response is None and staple.next_update is None
    with pytest.raises(ValueError):
        OcspStaple(b"not a response")
    with pytest.raises(ValueError):
        OcspStaple(bytes(MAX_OCSP_RESPONSE + 1))
    assert OcspStaple(unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)).next_update is None


def test_intermediate_issued_leaf_with_a_sha256_cert_id_from_a_fresh_hierarchy() -> None:
    root = make_root("R")
    inter = make_intermediate(root, "I")
    leaf = make_leaf(inter, "x.example.com")
    der = ocsp_response(leaf, inter, cert_id_hash=hashes.SHA256(), this_update=NOW - HOUR)
    assert check_response(der, leaf.cert, [inter.cert, root.cert], NOW).status == "good"


# --- tlslens verify --ocsp ----------------------------------------------------------------------------


def test_verify_command_reads_an_ocsp_response(tmp_path: Path) -> None:
    from tests.cli.procs import run_tlslens
    from tests.pki.factory import write_pem

    chain = write_pem(tmp_path / "chain.pem", [PKI.leaf, PKI.inter])
    root = write_pem(tmp_path / "root.pem", [PKI.root])
    revoked = tmp_path / "revoked.der"
    revoked.write_bytes(ocsp_response(PKI.leaf, PKI.inter, status="revoked"))
    good = tmp_path / "good.der"
    good.write_bytes(ocsp_response(PKI.leaf, PKI.inter))
    base = ("verify", str(chain), "--cafile", str(root), "--host", "www.example.com")
    result = run_tlslens(*base, "--ocsp", str(revoked))
    assert result.returncode == 1
    assert "invalid chain: ocsp-revoked" in result.stderr and "key_compromise" in result.stderr
    assert run_tlslens(*base, "--ocsp", str(good)).returncode == 0
