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


def test_version_lists_tls12_suites_and_groups_after_tls13() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tlslens", "--version"], capture_output=True, text=True, check=True
    ).stdout
    lines = out.splitlines()
    assert lines[1] == "protocol: TLSv1.3"
    assert "protocol: TLSv1.2" in lines[4:]
    tls12 = "\n".join(lines[lines.index("protocol: TLSv1.2") :])
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" in tls12
    assert "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" in tls12
    assert "X25519MLKEM768" not in tls12 and "secp384r1" in tls12
