"""Fixtures for the scan tests: a throwaway PKI written as PEM files (root, intermediate, leaves for
localhost: good EC and RSA ones, expired, misnamed, self-signed), and ``run_scan`` to scan a port."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pki.factory import DAY, NOW, Issued, make_intermediate, make_leaf, make_root, write_key, write_pem
from tlslens.pki import TrustStore
from tlslens.scan.report import to_json
from tlslens.scan.runner import ScanOptions, scan_target

from .servers import NGINX, OPENSSL

requires_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
requires_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (Debian nginx-light)")

NAMES = ["localhost", "127.0.0.1"]


@dataclass(frozen=True)
class LeafFiles:
    cert: Path
    key: Path
    chain: Path
    """leaf + intermediate, as a server should serve it"""


@dataclass(frozen=True)
class ScanPki:
    dir: Path
    root: Issued
    inter: Issued
    root_pem: Path
    inter_pem: Path

    def leaf(self, name: str, issued: Issued) -> LeafFiles:
        cert = write_pem(self.dir / f"{name}.pem", [issued])
        key = write_key(self.dir / f"{name}.key", issued.key)
        chain = write_pem(self.dir / f"{name}-chain.pem", [issued, self.inter])
        return LeafFiles(cert, key, chain)


@pytest.fixture(scope="session")
def scan_pki(tmp_path_factory: pytest.TempPathFactory) -> ScanPki:
    d = tmp_path_factory.mktemp("scan-pki")
    root = make_root("tlslens scan test root")
    inter = make_intermediate(root, "tlslens scan test intermediate")
    return ScanPki(d, root, inter, write_pem(d / "root.pem", [root]), write_pem(d / "inter.pem", [inter]))


@pytest.fixture(scope="session")
def ec_leaf(scan_pki: ScanPki) -> LeafFiles:
    return scan_pki.leaf("ec", make_leaf(scan_pki.inter, "localhost", sans=NAMES))


@pytest.fixture(scope="session")
def rsa_leaf(scan_pki: ScanPki) -> LeafFiles:
    issued = make_leaf(scan_pki.inter, "localhost", sans=NAMES, key_type="rsa2048", key_slot="scan-rsa")
    return scan_pki.leaf("rsa", issued)


@pytest.fixture(scope="session")
def expired_leaf(scan_pki: ScanPki) -> LeafFiles:
    issued = make_leaf(
        scan_pki.inter, "localhost", sans=NAMES, not_before=NOW - 400 * DAY, not_after=NOW - 9 * DAY
    )
    return scan_pki.leaf("expired", issued)


@pytest.fixture(scope="session")
def misnamed_leaf(scan_pki: ScanPki) -> LeafFiles:
    return scan_pki.leaf("misnamed", make_leaf(scan_pki.inter, "www.example.org", sans=["www.example.org"]))


@pytest.fixture(scope="session")
def self_signed_leaf(scan_pki: ScanPki) -> LeafFiles:
    return scan_pki.leaf("selfsigned", make_leaf(None, "localhost", sans=NAMES))


def run_scan(port: int, pki: ScanPki, **options: Any) -> dict[str, Any]:
    """Scan 127.0.0.1:port for "localhost" against the test root; the JSON report."""
    opts = ScanOptions(servername="localhost", trust=TrustStore([pki.root.cert]), **options)
    result = asyncio.run(scan_target("127.0.0.1", port, opts))
    return to_json(result)


def codes(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["findings"]}
