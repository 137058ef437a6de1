"""``tlslens scan`` as a command: JSON Lines, exit codes, --fail-below, --diff, --shard, --resume, and
``tlslens server`` itself as a target."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.procs import free_port, run_tlslens, tlslens_server
from tlslens.cli.scan import in_shard

from .conftest import LeafFiles, ScanPki, requires_openssl
from .servers import openssl_server

pytestmark = [pytest.mark.interop, requires_openssl]
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def targets(ec_leaf: LeafFiles) -> Iterator[dict[str, int]]:
    with (
        tlslens_server("--cert", str(ec_leaf.chain), "--key", str(ec_leaf.key), "--www") as (_proc, tl_port),
        openssl_server(
            "-cert",
            str(ec_leaf.cert),
            "-key",
            str(ec_leaf.key),
            "-cert_chain",
            str(ec_leaf.chain),
            "-www",
            "-tls1_2",
        ) as ossl_port,
    ):
        yield {"tlslens": tl_port, "openssl12": ossl_port}


def scan(pki: ScanPki, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "no_proxy")}
    result = run_tlslens(
        "scan", "--servername", "localhost", "--cafile", str(pki.root_pem), *args, timeout=TIMEOUT, env=env
    )
    lines = (
        [json.loads(line) for line in result.stdout.splitlines() if line.strip()] if "--json" in args else []
    )
    return result.returncode, lines, result.stdout + result.stderr


def test_tlslens_server_is_graded(scan_pki: ScanPki, targets: dict[str, int]) -> None:
    code, reports, _ = scan(scan_pki, f"127.0.0.1:{targets['tlslens']}", "--json")
    assert code == 0
    [report] = reports
    assert report["schema"] == "tlslens-scan/1"
    assert report["target"] == f"127.0.0.1:{targets['tlslens']}"
    assert report["grade"] == "A-" and report["grade_if_trusted"] == "A-"
    assert {p for p, on in report["protocols"].items() if on} == {"TLSv1.3", "TLSv1.2"}
    assert set(report["groups"]["TLSv1.3"]["groups"]) >= {"X25519MLKEM768", "x25519", "secp256r1"}
    assert report["hsts"]["tested"] and report["hsts"]["http_status"] == 200
    assert report["server"]["resumption"]["tls13_resumed"] is True
    for key in (
        "grade",
        "grade_if_trusted",
        "scores",
        "protocols",
        "cipher_suites",
        "groups",
        "certificates",
        "hsts",
        "elapsed_s",
        "findings",
        "checks",
        "probes",
    ):
        assert key in report
    for f in report["findings"]:
        assert set(f) >= {"code", "severity", "title", "detail", "fix"}
        assert f["severity"] in ("critical", "high", "medium", "low", "info")
        assert f["severity"] == "info" or f["fix"]
    assert all(set(c) == {"probes", "seconds", "probe_seconds"} for c in report["checks"].values())


def test_many_targets_stream_json_lines_and_exit_2_for_an_unreachable_one(
    scan_pki: ScanPki, targets: dict[str, int]
) -> None:
    dead = free_port()
    code, reports, output = scan(
        scan_pki,
        f"127.0.0.1:{targets['tlslens']}",
        f"127.0.0.1:{targets['openssl12']}",
        f"127.0.0.1:{dead}",
        "--json",
    )
    assert code == 2
    by_target = {r["target"]: r for r in reports}
    assert set(by_target) == {f"127.0.0.1:{p}" for p in (targets["tlslens"], targets["openssl12"], dead)}
    assert by_target[f"127.0.0.1:{dead}"]["error"] == "connection refused"
    assert by_target[f"127.0.0.1:{dead}"]["grade"] is None
    assert f"tlslens scan: 127.0.0.1:{dead}: connection refused" in output


@pytest.mark.parametrize(("minimum", "expected"), [("A-", 0), ("B", 0), ("A", 1), ("A+", 1)])
def test_fail_below(scan_pki: ScanPki, targets: dict[str, int], minimum: str, expected: int) -> None:
    code, _, _ = scan(scan_pki, f"127.0.0.1:{targets['tlslens']}", "--json", "--fail-below", minimum)
    assert code == expected


def test_human_report_starts_with_the_grade(scan_pki: ScanPki, targets: dict[str, int]) -> None:
    code, _, output = scan(scan_pki, f"127.0.0.1:{targets['openssl12']}")
    assert code == 0
    first = output.splitlines()[0]
    assert first.startswith(f"127.0.0.1:{targets['openssl12']}") and "grade A-" in first
    assert "Findings (" in output and "fix: Enable TLS 1.3" in output
    assert "Cipher suites:" in output and "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" in output
    assert "\x1b[" not in output  # no colour when not on a terminal


def test_diff_against_a_saved_scan(scan_pki: ScanPki, targets: dict[str, int], tmp_path: Path) -> None:
    target = f"127.0.0.1:{targets['openssl12']}"
    _, [report], _ = scan(scan_pki, target, "--json")
    report["grade"] = "A+"
    report["protocols"]["TLSv1.1"] = True
    report["cipher_suites"]["TLSv1.2"]["suites"].append({"name": "TLS_RSA_WITH_AES_128_CBC_SHA"})
    report["certificates"][0]["chain"][0]["sha256"] = "00" * 32
    saved = tmp_path / "old.jsonl"
    saved.write_text(json.dumps(report) + "\n")
    code, [new], _ = scan(scan_pki, target, "--json", "--diff", str(saved))
    assert code == 0
    changes = new["changes"]
    assert "grade A+ → A-" in changes
    assert "protocols removed: TLSv1.1" in changes
    assert "TLSv1.2 suites removed: TLS_RSA_WITH_AES_128_CBC_SHA" in changes
    assert any(c.startswith("certificate changed") for c in changes)
    code, _, output = scan(scan_pki, target, "--diff", str(saved))
    assert "Changes since the saved scan:" in output and "grade A+ → A-" in output


def test_shards_partition_the_targets_and_resume_skips_done_ones(
    scan_pki: ScanPki, targets: dict[str, int], tmp_path: Path
) -> None:
    labels = [f"host{i}.example:443" for i in range(40)]
    shards = [[t for t in labels if in_shard(t, (i, 3))] for i in (1, 2, 3)]
    assert sorted(t for shard in shards for t in shard) == sorted(labels) and all(shards)
    listed = tmp_path / "targets.txt"
    both = [f"127.0.0.1:{targets['tlslens']}", f"127.0.0.1:{targets['openssl12']}"]
    listed.write_text("# local servers\n" + "\n".join(both) + "\n")
    _, first, _ = scan(scan_pki, "--targets", str(listed), "--json")
    assert {r["target"] for r in first} == set(both)
    done = tmp_path / "done.jsonl"
    done.write_text(json.dumps(first[0]) + "\n")
    _, rest, _ = scan(scan_pki, "--targets", str(listed), "--json", "--resume", str(done))
    assert [r["target"] for r in rest] == [first[1]["target"]]
    counts = [len(scan(scan_pki, "--targets", str(listed), "--json", "--shard", f"{i}/2")[1]) for i in (1, 2)]
    assert sum(counts) == 2


def test_usage_errors_exit_2() -> None:
    assert run_tlslens("scan").returncode == 2
    assert run_tlslens("scan", "example.com", "--shard", "3/2").returncode == 2
    assert run_tlslens("scan", "example.com:99999").returncode == 2


def test_zero_rtt_acceptance_is_found(scan_pki: ScanPki, ec_leaf: LeafFiles) -> None:
    from .conftest import codes, run_scan

    args = ("--cert", str(ec_leaf.chain), "--key", str(ec_leaf.key), "--www", "--early-data")
    with tlslens_server(*args) as (_proc, port):
        report = run_scan(port, scan_pki)
    assert report["server"]["zero_rtt"] == {"offered": True, "accepted": True}
    assert report["server"]["resumption"]["tls13_resumed"] is True
    assert "zero-rtt" in codes(report)


def test_a_server_that_does_not_speak_tls_exits_2(scan_pki: ScanPki, tmp_path: Path) -> None:
    from .servers import http_server

    with http_server(tmp_path) as port:
        code, reports, output = scan(scan_pki, f"127.0.0.1:{port}", "--json")
    assert code == 2
    assert reports[0]["error"].startswith("not TLS: the peer does not speak TLS")
    assert f"tlslens scan: 127.0.0.1:{port}: not TLS" in output


def test_a_json_scan_loads_neither_rich_nor_xml(scan_pki: ScanPki, targets: dict[str, int]) -> None:
    # (start-up counts in the scan's time: rich only where it shows something, xml only for XMPP)
    from tests.cli.test_startup_imports import modules_after

    target = f"127.0.0.1:{targets['tlslens']}"
    modules = modules_after(
        "scan", target, "--servername", "localhost", "--cafile", str(scan_pki.root_pem), "--json"
    )
    assert "tlslens.scan.runner" in modules and "tlslens.handshake.client13" in modules  # it did scan
    assert not {m for m in modules if m == "rich" or m.startswith(("rich.", "xml."))}
