"""OCSP stapling against OpenSSL, with ``openssl ocsp`` as the real responder (an index file, on a port of
its own, started and stopped by each test): tlslens fetches from it and staples for ``openssl s_client
-status``; ``openssl s_server -status_url`` (which fetches from it) and ``-status_file`` staple for
tlslens's client; revoked (bad_certificate naming the reason and date), stale and must-staple cases; TLS
1.3 and TLS 1.2."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import tlslens.adapters.blocking
import tlslens.aio
from tests.cli.procs import openssl, run_tlslens, summary_lines, tlslens_server
from tests.pki.factory import DAY, NOW, Issued, make_intermediate, make_leaf, make_root
from tests.pki.ocsp_factory import ocsp_response
from tlslens import ClientConfig, ServerConfig
from tlslens.config import CertifiedKey
from tlslens.errors import BadCertificate
from tlslens.pki.ocsp_fetch import OcspRefresher

from .harness import TIMEOUT, Harness, SServer, s_client_exchange, s_server_exchange
from .ossl import OPENSSL

pytestmark = [pytest.mark.interop, pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")]

VERSIONS = [pytest.param("-tls1_3", id="tls13"), pytest.param("-tls1_2", id="tls12")]
REVOKED_AT = (NOW - 2 * DAY).replace(microsecond=0)


def _pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def _key(path: Path, issued: Issued) -> Path:
    path.write_bytes(
        issued.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def _index_line(cert: x509.Certificate, revoked: bool) -> str:
    """A line of OpenSSL's CA index (apps/lib/apps.c: status, expiry, revocation, serial, file, subject)."""
    expiry = cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    revocation = f"{REVOKED_AT:%y%m%d%H%M%SZ},keyCompromise" if revoked else ""
    subject = "".join(f"/{a.oid._name}={a.value}" for a in cert.subject)  # (the form openssl writes)
    return f"{'R' if revoked else 'V'}\t{expiry}\t{revocation}\t{cert.serial_number:X}\tunknown\t{subject}\n"


@dataclass
class Leaf:
    issued: Issued
    cert: Path  # the leaf
    key: Path
    chain: Path  # the leaf and the intermediate

    @property
    def server_args(self) -> list[str]:
        return ["-cert", str(self.cert), "-key", str(self.key), "-cert_chain", str(self.chain)]


@dataclass
class OcspPki:
    """A root, an intermediate that also signs OCSP responses, and leaves for localhost whose
    authorityInfoAccess names the responder: good, revoked, and must-staple."""

    url: str
    root: Path
    inter: Issued
    inter_pem: Path
    good: Leaf
    revoked: Leaf
    must_staple: Leaf
    directory: Path

    def responder_args(self, index: Path) -> list[str]:
        return [
            "ocsp", "-index", str(index), "-port", self.url.rsplit(":", 1)[1],
            "-rsigner", str(self.inter_pem), "-rkey", str(self.directory / "inter.key"),
            "-CA", str(self.inter_pem), "-nmin", "60", "-ignore_err",
        ]  # fmt: skip

    def trust(self) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(self.root.read_bytes())]

    def certified(self, leaf: Leaf) -> CertifiedKey:
        return CertifiedKey.from_key([leaf.issued.cert, self.inter.cert], leaf.issued.key)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ocsp_pki(tmp_path: Path) -> OcspPki:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    aia = x509.AuthorityInformationAccess(
        [x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url))]
    )
    root = make_root("OCSP Test Root")
    inter = make_intermediate(root, "OCSP Test Intermediate")
    _key(tmp_path / "inter.key", inter)
    inter_pem = _pem(tmp_path / "inter.pem", inter.cert)

    def leaf(name: str, *more: tuple[x509.ExtensionType, bool]) -> Leaf:
        issued = make_leaf(inter, "localhost", sans=["localhost"], extensions=[(aia, False), *more])
        return Leaf(
            issued,
            _pem(tmp_path / f"{name}.pem", issued.cert),
            _key(tmp_path / f"{name}.key", issued),
            _pem(tmp_path / f"{name}-chain.pem", inter.cert),
        )

    feature = x509.TLSFeature([x509.TLSFeatureType.status_request])
    pki = OcspPki(
        url,
        _pem(tmp_path / "root.pem", root.cert),
        inter,
        inter_pem,
        leaf("good"),
        leaf("revoked"),
        leaf("must-staple", (feature, False)),
        tmp_path,
    )
    index = tmp_path / "index.txt"
    index.write_text(
        _index_line(pki.good.issued.cert, False)
        + _index_line(pki.revoked.issued.cert, True)
        + _index_line(pki.must_staple.issued.cert, False)
    )
    (tmp_path / "index.txt.attr").write_text("unique_subject = no\n")  # three leaves named localhost
    return pki


def start_responder(harness: Harness, pki: OcspPki) -> None:
    """``openssl ocsp`` on the port the leaves name, once it has read its index and listens (it says so;
    a connection made only to test the port would hold its one-at-a-time loop)."""
    proc = harness.openssl(*pki.responder_args(pki.directory / "index.txt"))
    proc.wait_for(r"waiting for OCSP client connections", TIMEOUT)


def fetch_with_openssl(harness: Harness, pki: OcspPki, leaf: Leaf, out: Path) -> bytes:
    """``openssl ocsp`` as a client: the response for ``leaf``, written to ``out``."""
    proc = harness.openssl(
        "ocsp", "-issuer", str(pki.inter_pem), "-cert", str(leaf.cert), "-url", pki.url,
        "-respout", str(out), "-noverify", "-timeout", str(int(TIMEOUT)),
    )  # fmt: skip
    assert proc.wait_exit(TIMEOUT) == 0, proc.output
    return out.read_bytes()


def client_config(pki: OcspPki, version: str) -> ClientConfig:
    return ClientConfig(
        trust_anchors=pki.trust(), versions=("TLSv1.3" if version == "-tls1_3" else "TLSv1.2",)
    )


def s_server(harness: Harness, pki: OcspPki, leaf: Leaf, version: str, *args: str) -> SServer:
    """``openssl s_server`` for ``leaf``; its -CAfile holds the intermediate, where -status_url's
    callback looks up the issuer for its OCSP request."""
    proc = harness.openssl(
        "s_server", version, "-accept", "127.0.0.1:0", "-naccept", "1", *leaf.server_args,
        "-CAfile", str(pki.inter_pem), "-status_verbose", *args,
    )  # fmt: skip
    m = proc.wait_for(r"^ACCEPT \S+:(\d+)\s*$", TIMEOUT)
    return SServer(proc, int(m.group(1)), harness.tmp_path / "unused.keylog")


# --- tlslens staples, openssl s_client -status checks -------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_tlslens_fetches_from_openssl_ocsp_and_staples_for_s_client(
    harness: Harness, ocsp_pki: OcspPki, version: str
) -> None:
    start_responder(harness, ocsp_pki)
    certified = ocsp_pki.certified(ocsp_pki.good)
    lines: list[str] = []
    wait = OcspRefresher(certified, log=lines.append).refresh()
    assert certified.staple.response is not None, lines
    assert 60 <= wait <= 1800  # halfway to a nextUpdate an hour away (-nmin 60)
    assert lines[0].startswith(f"OCSP response from {ocsp_pki.url}: good")
    listener, port = harness.listen()
    client = harness.s_client(port, "-status", version=version, cafile=ocsp_pki.root)
    pump = harness.accept(listener, ServerConfig(certificates=[certified]))
    pump.handshake()
    s_client_exchange(pump, client)
    client.proc.wait_for(r"OCSP Response Status: successful \(0x0\)", TIMEOUT)
    client.proc.wait_for(r"Cert Status: good", TIMEOUT)


def test_tlslens_staples_a_revoked_response_for_s_client(harness: Harness, ocsp_pki: OcspPki) -> None:
    start_responder(harness, ocsp_pki)
    certified = ocsp_pki.certified(ocsp_pki.revoked)
    OcspRefresher(certified).refresh()
    listener, port = harness.listen()
    client = harness.s_client(port, "-status", cafile=ocsp_pki.root)
    pump = harness.accept(listener, ServerConfig(certificates=[certified]))
    pump.handshake()  # (s_client reports the status; it does not refuse on it)
    client.proc.wait_for(r"Cert Status: revoked", TIMEOUT)
    client.proc.wait_for(r"Revocation Reason: keyCompromise", TIMEOUT)


# --- openssl s_server staples, tlslens checks ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_s_server_status_url_good(harness: Harness, ocsp_pki: OcspPki, version: str) -> None:
    start_responder(harness, ocsp_pki)
    server = s_server(harness, ocsp_pki, ocsp_pki.good, version, "-status_url", ocsp_pki.url)
    pump = harness.tlslens_client(server.port, client_config(ocsp_pki, version))
    done = pump.handshake()
    assert done.ocsp is not None and done.ocsp.status == "good", done.ocsp
    assert done.ocsp.check is not None and done.ocsp.check.responder == "the issuer"
    s_server_exchange(pump, server)


@pytest.mark.parametrize("version", VERSIONS)
def test_s_server_status_file_revoked_is_bad_certificate(
    harness: Harness, ocsp_pki: OcspPki, version: str
) -> None:
    start_responder(harness, ocsp_pki)
    response = harness.tmp_path / "revoked.der"
    fetch_with_openssl(harness, ocsp_pki, ocsp_pki.revoked, response)
    server = s_server(harness, ocsp_pki, ocsp_pki.revoked, version, "-status_file", str(response))
    pump = harness.tlslens_client(server.port, client_config(ocsp_pki, version))
    with pytest.raises(BadCertificate) as info:
        pump.handshake()
    message = str(info.value)
    assert "ocsp-revoked" in message
    assert f"revoked on {REVOKED_AT:%Y-%m-%d %H:%M:%S} UTC (reason: key_compromise)" in message
    server.proc.wait_for(r"alert bad certificate|SSL alert number 42", TIMEOUT)


def test_s_server_status_file_stale_is_a_finding(harness: Harness, ocsp_pki: OcspPki) -> None:
    stale = ocsp_response(
        ocsp_pki.good.issued, ocsp_pki.inter, this_update=NOW - 3 * DAY, next_update=NOW - DAY
    )
    path = harness.tmp_path / "stale.der"
    path.write_bytes(stale)
    server = s_server(harness, ocsp_pki, ocsp_pki.good, "-tls1_3", "-status_file", str(path))
    pump = harness.tlslens_client(server.port, client_config(ocsp_pki, "-tls1_3"))
    done = pump.handshake()
    assert done.ocsp is not None and done.ocsp.status == "stale"
    assert [f.code for f in done.ocsp.findings] == ["ocsp-stale"]
    s_server_exchange(pump, server)


@pytest.mark.parametrize("version", VERSIONS)
def test_must_staple_leaf_without_a_staple_is_refused(
    harness: Harness, ocsp_pki: OcspPki, version: str
) -> None:
    server = s_server(harness, ocsp_pki, ocsp_pki.must_staple, version)  # no -status: nothing stapled
    pump = harness.tlslens_client(server.port, client_config(ocsp_pki, version))
    with pytest.raises(BadCertificate, match="must-staple-missing"):
        pump.handshake()
    server.proc.wait_for(r"alert bad certificate|SSL alert number 42", TIMEOUT)


def test_must_staple_leaf_with_s_server_stapling_is_accepted(harness: Harness, ocsp_pki: OcspPki) -> None:
    start_responder(harness, ocsp_pki)
    server = s_server(harness, ocsp_pki, ocsp_pki.must_staple, "-tls1_3", "-status_url", ocsp_pki.url)
    pump = harness.tlslens_client(server.port, client_config(ocsp_pki, "-tls1_3"))
    assert pump.handshake().ocsp.status == "good"  # type: ignore[union-attr]


def test_openssl_verifies_what_the_refresher_fetched(harness: Harness, ocsp_pki: OcspPki) -> None:
    # The response tlslens fetched is one OpenSSL itself accepts for that certificate.
    start_responder(harness, ocsp_pki)
    certified = ocsp_pki.certified(ocsp_pki.good)
    OcspRefresher(certified).refresh()
    assert certified.staple.response is not None
    respin = harness.tmp_path / "fetched.der"
    respin.write_bytes(certified.staple.response)
    proc = harness.openssl(
        "ocsp", "-respin", str(respin), "-issuer", str(ocsp_pki.inter_pem), "-cert", str(ocsp_pki.good.cert),
        "-CAfile", str(ocsp_pki.root), "-VAfile", str(ocsp_pki.inter_pem),
    )  # fmt: skip
    assert proc.wait_exit(TIMEOUT) == 0, proc.output
    assert "Response verify OK" in proc.output and ": good" in proc.output
    assert certified.staple.next_update is not None
    assert certified.staple.next_update > dt.datetime.now(dt.UTC)


# --- the command line: tlslens server --ocsp / --ocsp-fetch, the client's summary ---------------------------


def _summary(stderr: str) -> dict:
    [line, *_] = summary_lines(stderr)
    return json.loads(line.removeprefix("tlslens-summary: "))  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_server_ocsp_file_with_s_client_status(harness: Harness, ocsp_pki: OcspPki, version: str) -> None:
    start_responder(harness, ocsp_pki)
    response = fetch_with_openssl(harness, ocsp_pki, ocsp_pki.good, harness.tmp_path / "good.der")
    assert response
    chain = _pem(harness.tmp_path / "served.pem", ocsp_pki.good.issued.cert, ocsp_pki.inter.cert)
    args = ("--cert", str(chain), "--key", str(ocsp_pki.good.key), "--cafile", str(ocsp_pki.root))
    with tlslens_server(*args, "--ocsp", str(harness.tmp_path / "good.der")) as (_server, port):
        client = openssl(
            "s_client", version, "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
            "-CAfile", str(ocsp_pki.root), "-verify_return_error", "-status",
        )  # fmt: skip
        try:
            client.wait_for(r"Cert Status: good", "stdout")
            client.wait_for(r"Verify return code: 0 \(ok\)", "stdout")
        finally:
            client.kill()


def test_cli_server_warns_about_a_revoked_ocsp_file(harness: Harness, ocsp_pki: OcspPki) -> None:
    start_responder(harness, ocsp_pki)
    fetch_with_openssl(harness, ocsp_pki, ocsp_pki.revoked, harness.tmp_path / "revoked.der")
    chain = _pem(harness.tmp_path / "served.pem", ocsp_pki.revoked.issued.cert, ocsp_pki.inter.cert)
    args = ("--cert", str(chain), "--key", str(ocsp_pki.revoked.key), "--cafile", str(ocsp_pki.root))
    with tlslens_server(*args, "--ocsp", str(harness.tmp_path / "revoked.der")) as (server, _port):
        server.wait_for(r"^warning: our OCSP response: ocsp-revoked: .*revoked on .*key_compromise")


def test_cli_server_ocsp_fetch_with_s_client_status(harness: Harness, ocsp_pki: OcspPki) -> None:
    start_responder(harness, ocsp_pki)
    chain = _pem(harness.tmp_path / "served.pem", ocsp_pki.good.issued.cert, ocsp_pki.inter.cert)
    args = ("--cert", str(chain), "--key", str(ocsp_pki.good.key), "--cafile", str(ocsp_pki.root))
    with tlslens_server(*args, "--ocsp-fetch") as (server, port):
        server.wait_for(rf"^OCSP response from {ocsp_pki.url}: good .*; stapling it$")
        client = openssl(
            "s_client", "-tls1_3", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
            "-CAfile", str(ocsp_pki.root), "-status",
        )  # fmt: skip
        try:
            client.wait_for(r"Cert Status: good", "stdout")
        finally:
            client.kill()


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_client_summary_names_the_ocsp_status(harness: Harness, ocsp_pki: OcspPki, version: str) -> None:
    start_responder(harness, ocsp_pki)
    server = s_server(harness, ocsp_pki, ocsp_pki.good, version, "-status_url", ocsp_pki.url)
    flag = "--tls1_3" if version == "-tls1_3" else "--tls1_2"
    result = run_tlslens(
        "client",
        f"127.0.0.1:{server.port}",
        "--servername",
        "localhost",
        "--cafile",
        str(ocsp_pki.root),
        flag,
    )
    assert result.returncode == 0, result.stderr
    assert _summary(result.stderr)["ocsp"] == "good"


def test_cli_client_refuses_a_revoked_staple(harness: Harness, ocsp_pki: OcspPki) -> None:
    start_responder(harness, ocsp_pki)
    server = s_server(harness, ocsp_pki, ocsp_pki.revoked, "-tls1_3", "-status_url", ocsp_pki.url)
    result = run_tlslens(
        "client", f"127.0.0.1:{server.port}", "--servername", "localhost", "--cafile", str(ocsp_pki.root)
    )
    assert result.returncode == 1
    assert "ocsp-revoked" in result.stderr and "key_compromise" in result.stderr


# --- the faces start the refresher: ServerConfig(ocsp_fetch=True) -------------------------------------------


def _wait_for_staple(certified: CertifiedKey) -> bytes:
    deadline = time.monotonic() + TIMEOUT
    while certified.staple.response is None:
        assert time.monotonic() < deadline, "the refresher stapled nothing"
        time.sleep(0.02)
    return certified.staple.response


def test_blocking_face_fetches_in_the_background(harness: Harness, ocsp_pki: OcspPki) -> None:
    start_responder(harness, ocsp_pki)
    certified = ocsp_pki.certified(ocsp_pki.good)
    config = ServerConfig(certificates=[certified], ocsp_fetch=True)
    listener, port = harness.listen()
    tlslens.adapters.blocking.wrap_server_socket(listener, config)  # (starts the refresher; accepts nothing)
    _wait_for_staple(certified)
    client = harness.s_client(port, "-status", cafile=ocsp_pki.root)
    pump = harness.accept(listener, ServerConfig(certificates=[certified]))
    pump.handshake()
    client.proc.wait_for(r"Cert Status: good", TIMEOUT)


def test_asyncio_face_fetches_in_the_background(harness: Harness, ocsp_pki: OcspPki) -> None:
    start_responder(harness, ocsp_pki)
    certified = ocsp_pki.certified(ocsp_pki.good)
    config = ServerConfig(certificates=[certified], ocsp_fetch=True)

    async def serve() -> None:
        server = await tlslens.aio.start_server(lambda r, w: None, "127.0.0.1", 0, config=config)
        server.close()
        await server.wait_closed()

    asyncio.run(serve())
    assert _wait_for_staple(certified)
