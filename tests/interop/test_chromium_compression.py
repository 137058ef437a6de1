"""Certificate compression (RFC 8879) with a real peer that has it: headless Chromium, which offers
``compress_certificate`` with brotli, fetches a page from ``tlslens server --www``. tlslens compresses
its chain with brotli; Chromium must inflate it exactly, since it accepts only the leaf whose public key
hash it was given (``--ignore-certificate-errors-spki-list``: the throwaway root is not in its store)
and checks the CertificateVerify with that key. (OpenSSL 3.0 has no certificate compression.)

Skipped where ``chromium`` (Debian's package) or the brotli package is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.cli.procs import tlslens_server
from tlslens import compression
from tlslens.certgen import make_pki
from tlslens.wire.enums import CertificateCompressionAlgorithm

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)"
    ),
    pytest.mark.skipif(
        not compression.available(CertificateCompressionAlgorithm.BROTLI), reason="brotli is not installed"
    ),
]


def _spki_hash(pem: bytes) -> str:
    from cryptography import x509

    key = x509.load_pem_x509_certificate(pem).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """Chromium in a process group of its own (it starts helpers), all of it killed if it overruns."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=home,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_chromium_inflates_the_brotli_compressed_chain(tmp_path: Path) -> None:
    pki = make_pki(["localhost", "127.0.0.1"])
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in pki.chain))
    key = tmp_path / "key.pem"
    key.write_bytes(
        pki.leaf.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    leaf_pem = pki.leaf.certificate.public_bytes(serialization.Encoding.PEM)
    with tlslens_server("--cert", str(chain), "--key", str(key), "--www", "--trace") as (server, port):
        assert CHROMIUM is not None
        args = [
            CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--ignore-certificate-errors-spki-list={_spki_hash(leaf_pem)}",
            "--dump-dom", f"https://localhost:{port}/",
        ]  # fmt: skip
        page = _run(args, tmp_path)
        assert "protocol: TLSv1.3" in page.stdout, page.stderr[-2000:]
        assert "client_cert: none" in page.stdout
        # What Chromium offered, and what tlslens sent it.
        server.wait_for(r"^ +compress_certificate: brotli$")
        server.wait_for(r"→ CompressedCertificate ")
        server.wait_for(
            r"decision \[certificate_compression\] Certificate compressed with brotli: \d+ → \d+ bytes"
        )
        server.wait_for(r" ok TLSv1\.3 .* http=200")
