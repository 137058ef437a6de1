"""The verdict on every corpus chain agrees with ``openssl verify`` on the same files.

OpenSSL runs with ``-auth_level 2`` (112-bit security: refuses SHA-1/MD5 signatures and RSA-1024, as
the Web PKI does), ``-purpose sslserver``/``sslclient`` and the requested host or IP. Broken chains
must also fail for a reason we reported: each OpenSSL error number maps to our finding codes.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pki.corpus import ALL, Case, Scenario
from tests.pki.factory import NOW, write_pem
from tlslens.pki import findings as F

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed"),
]

# OpenSSL X509_V_ERR_* numbers that each of our codes explains.
OPENSSL_ERRORS: dict[str, set[int]] = {
    F.MISSING_INTERMEDIATE: {2, 20},  # unable to get (local) issuer certificate
    F.UNTRUSTED_ROOT: {19, 20},  # self-signed certificate in chain; issuer (a namesake root) not found
    F.SELF_SIGNED: {18},  # self-signed certificate
    F.INVALID_SIGNATURE: {7},  # certificate signature failure
    F.EXPIRED: {10},
    F.NOT_YET_VALID: {9},
    F.NAME_MISMATCH: {62, 64},  # hostname / IP address mismatch
    F.NAME_CONSTRAINTS: {47, 48},  # permitted / excluded subtree violation
    F.WEAK_SIGNATURE: {68},  # CA signature digest algorithm too weak
    F.WEAK_KEY: {66, 67},  # EE / CA key too small
    F.NOT_A_CA: {24, 26, 32, 79},  # invalid CA certificate, key usage without keyCertSign
    F.PATH_LENGTH_EXCEEDED: {25},
    F.BAD_KEY_USAGE: {26},  # unsupported certificate purpose
    F.BAD_EXTENDED_KEY_USAGE: {26},
    F.EKU_ANY: {26},
    F.MALFORMED_CERTIFICATE: {34},  # unhandled critical extension
}

COMPARABLE = [c for c in ALL if c.openssl]


def openssl_verify(s: Scenario, tmp: Path, extra: tuple[str, ...] = ()) -> tuple[bool, set[int]]:
    ca = write_pem(tmp / "ca.pem", s.anchors)
    leaf = write_pem(tmp / "leaf.pem", s.chain[:1])
    cmd = ["openssl", "verify", "-no-CApath", "-no-CAstore", "-CAfile", str(ca)]
    cmd += ["-attime", str(int(NOW.timestamp())), "-auth_level", "2"]
    cmd += ["-purpose", "sslserver" if s.purpose == "server" else "sslclient", *extra]
    if len(s.chain) > 1:
        cmd += ["-untrusted", str(write_pem(tmp / "untrusted.pem", s.chain[1:]))]
    if s.server_name is not None:
        name = s.server_name.strip("[]")
        try:
            ipaddress.ip_address(name)
            cmd += ["-verify_ip", name]
        except ValueError:
            cmd += ["-verify_hostname", name.rstrip(".")]
    run = subprocess.run([*cmd, str(leaf)], capture_output=True, text=True, timeout=30)
    errors = {int(n) for n in re.findall(r"error (\d+) at", run.stdout + run.stderr)}
    return run.returncode == 0, errors


@pytest.mark.parametrize("case", COMPARABLE, ids=[c.id for c in COMPARABLE])
def test_verdict_matches_openssl_verify(case: Case, tmp_path: Path) -> None:
    s = case.build()
    report = s.verify()
    ok, errors = openssl_verify(s, tmp_path, case.openssl_args)
    assert report.valid is ok, errors
    if not ok:
        explained = set().union(*(OPENSSL_ERRORS.get(code, set()) for code in report.codes))
        assert errors and errors <= explained, (errors, sorted(report.codes))


def test_comparable_cases_cover_most_of_the_corpus() -> None:
    assert len(COMPARABLE) >= 50
