"""The command line as a user runs it: ``verify`` from stdin and with ``--untrusted`` (as ``openssl verify
-untrusted``), and ``--profile`` on ``verify``, ``certs`` and ``client`` (a live server on loopback)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.pki.factory import Issued, make_cert, make_intermediate, make_leaf, make_root, write_pem
from tests.pki.test_certs_cli import _config, serving

OPENSSL = shutil.which("openssl")


def tlslens(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlslens", *map(str, args)],
        input=stdin.decode() if stdin is not None else None,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Pki:
    def __init__(self, d: Path) -> None:
        self.dir = d
        self.root = make_root()
        self.inter = make_intermediate(self.root)
        self.leaf = make_leaf(self.inter, "localhost", sans=["localhost"])
        self.bare = make_leaf(self.inter, "localhost", sans=["localhost"], eku=None)  # no EKU
        write_pem(d / "root.pem", [self.root])
        write_pem(d / "inter.pem", [self.inter])
        write_pem(d / "leaf.pem", [self.leaf])
        write_pem(d / "chain.pem", [self.leaf, self.inter])
        write_pem(d / "bare-chain.pem", [self.bare, self.inter])

    def path(self, name: str) -> Path:
        return self.dir / name


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("profiles"))


# --- tlslens verify: stdin, --untrusted, --profile -----------------------------------------------------


def test_verify_reads_the_chain_from_stdin(pki: Pki) -> None:
    run = tlslens(
        "verify",
        "-",
        "--cafile",
        pki.path("root.pem"),
        "--host",
        "localhost",
        stdin=pki.path("chain.pem").read_bytes(),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "✓ VALID" in run.stdout and "CN=Test Intermediate CA" in run.stdout
    empty = tlslens("verify", "-", "--cafile", pki.path("root.pem"), stdin=b"not a certificate\n")
    assert empty.returncode == 2 and "stdin" in empty.stderr and "no PEM certificate" in empty.stderr


def test_verify_untrusted_supplies_intermediates_as_openssl_verify_does(pki: Pki) -> None:
    alone = tlslens("verify", pki.path("leaf.pem"), "--cafile", pki.path("root.pem"))
    assert alone.returncode == 1 and "missing-intermediate" in alone.stdout
    run = tlslens(
        "verify",
        pki.path("leaf.pem"),
        "--cafile",
        pki.path("root.pem"),
        "--untrusted",
        pki.path("inter.pem"),
        "--json",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["valid"] and len(report["path"]) == 3
    assert report["findings"] == []  # an --untrusted certificate is not "served": no order/unused finding
    if OPENSSL is not None:  # the same files, the same verdict from OpenSSL
        ossl = subprocess.run(
            [
                OPENSSL,
                "verify",
                "-CAfile",
                pki.path("root.pem"),
                "-untrusted",
                pki.path("inter.pem"),
                pki.path("leaf.pem"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ossl.returncode == 0, ossl.stdout + ossl.stderr
    bad = tlslens("verify", pki.path("leaf.pem"), "--untrusted", pki.path("missing.pem"))
    assert bad.returncode == 2 and "--untrusted" in bad.stderr


def test_verify_names_the_profile_and_profile_changes_the_verdict(pki: Pki) -> None:
    soft = tlslens("verify", pki.path("bare-chain.pem"), "--cafile", pki.path("root.pem"))
    assert soft.returncode == 0, soft.stdout
    assert "profile: rfc5280 (your own trust anchors are used" in soft.stdout
    assert "eku-missing" in soft.stdout and "warning" in soft.stdout
    hard = tlslens(
        "verify", pki.path("bare-chain.pem"), "--cafile", pki.path("root.pem"), "--profile", "webpki"
    )
    assert hard.returncode == 1
    assert "profile: webpki (chosen explicitly)" in hard.stdout
    assert "tlslens verify: invalid chain: eku-missing" in hard.stderr
    bad = tlslens("verify", pki.path("chain.pem"), "--profile", "strict")
    assert bad.returncode == 2 and "--profile" in bad.stderr


def test_verify_says_trusted_directly_for_a_self_signed_anchor(tmp_path: Path) -> None:
    ss = make_cert("localhost", ca=True, ku=None, eku=None, sans=["localhost"])
    pem = write_pem(tmp_path / "self.pem", [ss])
    run = tlslens("verify", pem, "--cafile", pem, "--host", "localhost")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "[leaf, trusted directly]" in run.stdout
        and "note: The leaf is itself in the trust store" in run.stdout
    )


# --- --profile on certs and client, against a live server ------------------------------------------------


def _served(pki: Pki, leaf: Issued) -> Any:
    return serving(_config([leaf, pki.inter], leaf))


def test_certs_profile_judges_the_presented_chain(pki: Pki) -> None:
    with _served(pki, pki.bare) as server:
        soft = tlslens(
            "certs", f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", pki.path("root.pem")
        )
    assert soft.returncode == 0, soft.stdout + soft.stderr
    with _served(pki, pki.bare) as server:
        hard = tlslens(
            "certs",
            f"127.0.0.1:{server.port}",
            "--servername",
            "localhost",
            "--cafile",
            pki.path("root.pem"),
            "--profile",
            "webpki",
        )
    assert hard.returncode == 1 and "eku-missing" in hard.stderr


def test_client_profile_judges_the_servers_chain(pki: Pki) -> None:
    with _served(pki, pki.bare) as server:
        ok = tlslens(
            "client",
            f"127.0.0.1:{server.port}",
            "--servername",
            "localhost",
            "--cafile",
            pki.path("root.pem"),
        )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with _served(pki, pki.bare) as server:
        refused = tlslens(
            "client",
            f"127.0.0.1:{server.port}",
            "--servername",
            "localhost",
            "--cafile",
            pki.path("root.pem"),
            "--profile",
            "webpki",
        )
    assert refused.returncode == 1 and "eku-missing" in refused.stderr
