"""``tlslens verify`` as a user runs it: a subprocess, exit status, readable text and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pki.factory import DAY, NOW, make_leaf, standard_pki, write_pem


def tlslens(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlslens", "verify", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("verify")
    p = standard_pki()
    expired = make_leaf(p.inter, not_before=NOW - 400 * DAY, not_after=NOW - 3 * DAY)
    aia_leaf = make_leaf(p.inter, aia_url="http://ca.example.test/inter.cer")
    cadir = d / "cadir"
    cadir.mkdir()
    write_pem(cadir / "root.pem", [p.root])
    return {
        "root": write_pem(d / "root.pem", [p.root]),
        "cadir": cadir,
        "good": write_pem(d / "good.pem", [p.leaf, p.inter]),
        "with_root": write_pem(d / "with-root.pem", [p.leaf, p.inter, p.root]),
        "leaf_only": write_pem(d / "leaf-only.pem", [aia_leaf]),
        "expired": write_pem(d / "expired.pem", [expired, p.inter]),
        "not_pem": _write(d / "notes.txt", "just some text\n"),
    }


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_valid_chain_exits_0_and_draws_the_path(files: dict[str, Path]) -> None:
    run = tlslens(files["good"], "--cafile", files["root"], "--host", "www.example.com")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "VALID" in out and "INVALID" not in out
    leaf, inter, root = (
        out.index(s) for s in ("CN=www.example.com", "CN=Test Intermediate CA", "CN=Test Root CA")
    )
    assert leaf < inter < root
    assert "[root, trusted]" in out
    assert "\x1b[" not in out  # no colour codes when piped


def test_cafile_may_be_a_folder(files: dict[str, Path]) -> None:
    assert tlslens(files["good"], "--cafile", files["cadir"]).returncode == 0


def test_warnings_are_printed_but_the_chain_is_valid(files: dict[str, Path]) -> None:
    run = tlslens(files["with_root"], "--cafile", files["root"])
    assert run.returncode == 0
    assert "unnecessary-root" in run.stdout and "Stop serving the root certificate" in run.stdout


def test_missing_intermediate_exits_1_with_message_and_fix(files: dict[str, Path]) -> None:
    run = tlslens(files["leaf_only"], "--cafile", files["root"], "--host", "www.example.com")
    assert run.returncode == 1
    assert "INVALID" in run.stdout and "missing-intermediate" in run.stdout
    assert "was neither presented nor found in the trust store" in run.stdout
    assert "http://ca.example.test/inter.cer" in run.stdout
    assert "fix: Serve the leaf followed by its intermediates in order" in run.stdout
    assert "missing-intermediate" in run.stderr  # the one-line summary


def test_expired_chain_exits_1_and_says_when(files: dict[str, Path]) -> None:
    run = tlslens(files["expired"], "--cafile", files["root"])
    assert run.returncode == 1
    assert "expired" in run.stdout and "3 days ago" in run.stdout
    assert "fix: Renew the certificate" in run.stdout


def test_at_moves_the_validation_time(files: dict[str, Path]) -> None:
    before_expiry = (NOW - 10 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert tlslens(files["expired"], "--cafile", files["root"], "--at", before_expiry).returncode == 0


def test_json_output_parses(files: dict[str, Path]) -> None:
    run = tlslens(files["leaf_only"], "--cafile", files["root"], "--json")
    assert run.returncode == 1
    data = json.loads(run.stdout)
    assert data["valid"] is False
    assert data["path"] == ["CN=www.example.com,O=tlslens tests"]
    (finding,) = data["findings"]
    assert finding["code"] == "missing-intermediate" and finding["severity"] == "error"
    assert finding["subject"] == "CN=www.example.com,O=tlslens tests"
    assert finding["message"] and finding["fix"]
    good = json.loads(tlslens(files["good"], "--cafile", files["root"], "--json").stdout)
    assert good["valid"] is True and len(good["path"]) == 3 and good["findings"] == []


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["{missing}"], "cannot read"),
        (["{not_pem}"], "no PEM certificate"),
        (["{good}", "--at", "next tuesday"], "ISO 8601"),
        (["{good}", "--cafile", "{not_pem}"], "--cafile"),
        (["{good}", "--host", "not a host"], "not a valid host name"),
        ([], "Missing argument"),
    ],
    ids=["missing-file", "not-pem", "bad-time", "bad-cafile", "bad-host", "no-argument"],
)
def test_usage_errors_exit_2(files: dict[str, Path], args: list[str], complaint: str, tmp_path: Path) -> None:
    names = {k: str(v) for k, v in files.items()} | {"missing": str(tmp_path / "absent.pem")}
    run = tlslens(*(a.format(**names) for a in args))
    assert run.returncode == 2
    assert complaint in run.stderr
