from __future__ import annotations

import subprocess
import sys


def test_version_lists_suites_and_groups() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tlslens", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert "TLS_AES_128_GCM_SHA256" in out
    assert "TLS_AES_128_CCM_8_SHA256" in out
    assert "X25519MLKEM768" in out and "x25519" in out and "secp384r1" in out
