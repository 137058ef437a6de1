"""The server side of the TLS 1.2 building blocks against a real ``openssl s_client -tls1_2``: a scripted
server (``tls12_script.serve``) signs ServerKeyExchange with each kind of key and scheme, derives the
keys, checks the client's Finished and sends its own. OpenSSL verifies our signature (it aborts with
decrypt_error otherwise), our Finished and our records, and reports the extended master secret."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crypto.tls12_script import serve
from tests.interop.ossl import OpenSSLProcess, PkiFiles
from tests.wire.openssl12 import TIMEOUT, RecordSocket, pki_files
from tlslens import keylog
from tlslens.record.deframer import Record
from tlslens.wire.enums import CipherSuite, ContentType, SignatureScheme
from tlslens.wire.suite_registry import suite_info

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(60),
]

CS, S = CipherSuite, SignatureScheme
CASES = [
    ("ecdsa-p256", CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDSA+SHA256", S.ECDSA_SECP256R1_SHA256),
    (
        "ecdsa-p384",
        CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "ECDSA+SHA256",
        S.ECDSA_SECP256R1_SHA256,
    ),
    ("rsa2048", CS.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "RSA-PSS+SHA256", S.RSA_PSS_RSAE_SHA256),
    ("rsa2048", CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "RSA+SHA256", S.RSA_PKCS1_SHA256),
    ("rsa2048", CS.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "RSA+SHA512", S.RSA_PKCS1_SHA512),
]


@pytest.fixture(scope="module")
def pkis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PkiFiles]:
    return {k: pki_files(k, tmp_path_factory.mktemp(k)) for k in ("ecdsa-p256", "ecdsa-p384", "rsa2048")}


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(TIMEOUT)
    yield sock
    sock.close()


@pytest.mark.parametrize(
    ("key_type", "suite", "sigalgs", "scheme"), CASES, ids=[f"{c[1].name}-{c[3].name}" for c in CASES]
)
def test_openssl_client_completes_a_handshake_with_our_server_blocks(
    tmp_path: Path,
    listener: socket.socket,
    pkis: dict[str, PkiFiles],
    key_type: str,
    suite: CipherSuite,
    sigalgs: str,
    scheme: SignatureScheme,
) -> None:
    pki = pkis[key_type]
    keylog_file = tmp_path / "s_client.keylog"
    client = OpenSSLProcess(
        ["s_client", "-tls1_2", "-connect", f"127.0.0.1:{listener.getsockname()[1]}",
         "-servername", "localhost", "-CAfile", str(pki.root), "-verify_hostname", "localhost",
         "-verify_return_error", "-sigalgs", sigalgs, "-cipher", suite_openssl_name(suite),
         "-keylogfile", str(keylog_file)]
    )  # fmt: skip
    try:
        conn = RecordSocket(listener.accept()[0])
        session = serve(conn, suite, pki.pki.chain, pki.pki.leaf.private_key)
        assert session.scheme == scheme
        client.wait_for(r"Extended master secret: yes", TIMEOUT)
        client.wait_for(r"Verify return code: 0 \(ok\)", TIMEOUT)
        client.wait_for(rf"Cipher is {suite_openssl_name(suite)}", TIMEOUT)
        master = session.master
        lines = keylog_file.read_text().split("\n")
        assert keylog.client_random_line(master.client_random, master.secret) in lines

        conn.sock.sendall(session.sealer.seal(ContentType.APPLICATION_DATA, b"hello from tlslens\n"))
        client.wait_for_bytes(b"hello from tlslens\n", TIMEOUT)
        client.write("ping from openssl\n")
        ctype, header, payload = conn.recv_record()
        opened = session.opener.open(Record(ctype, int.from_bytes(header[1:3], "big"), payload))
        assert opened == (ContentType.APPLICATION_DATA, b"ping from openssl\n")
        conn.close()
    finally:
        client.kill()


def suite_openssl_name(suite: CipherSuite) -> str:
    info = suite_info(suite)
    assert info is not None
    return info.openssl_name
