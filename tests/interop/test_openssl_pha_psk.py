"""Post-handshake client authentication and external PSKs against OpenSSL 3.0, both ways, on 127.0.0.1.

- tlslens client (offering post_handshake_auth: it has a certificate) against ``openssl s_server``,
  whose stdin command ``c`` sends a post-handshake CertificateRequest and checks the answer under
  ``-CAfile`` (``-verify_return_error``: a chain it refuses ends the connection);
- tlslens server asking ``openssl s_client -enable_pha`` after the handshake;
- ``openssl s_server -nocert -psk_identity ID -psk HEX`` with a tlslens client, and a PSK-only tlslens
  server with ``openssl s_client -psk``: the key logs agree, which proves the binder ("ext binder") and
  the PSK-keyed schedule; a wrong key fails on the binder: decrypt_error from tlslens, illegal_parameter
  from OpenSSL 3.0 (which names the binder in its error).
"""

from __future__ import annotations

import shutil

import pytest

from tlslens import ConnectionClosed, FatalAlert
from tlslens.config import ServerConfig
from tlslens.credentials import ExternalPsk, psk_table
from tlslens.errors import DecryptError
from tlslens.events import ClientCertificateRefused, ClientCertificateVerified, MessageSent
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import AlertDescription
from tlslens.wire.messages import Certificate, Finished

from .harness import (
    TIMEOUT,
    Harness,
    openssl_error_alert,
    read_keylog_file,
    s_client_exchange,
    s_server_exchange,
)
from .pump import Pump

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
    pytest.mark.timeout(30),
]

KEY = bytes(range(32))
IDENTITY = "tlslens-psk"
PSK = ExternalPsk(IDENTITY.encode(), KEY)


def answered(pump: Pump, n: int) -> None:
    """Wait until our client has sent its ``n``-th Finished (the handshake's is the first)."""
    pump.until(lambda: len(pump.messages(MessageSent, Finished)) >= n, what=f"Finished #{n}")


# --- tlslens client, openssl s_server ------------------------------------------------------------------


@pytest.mark.parametrize("verify", [False, True], ids=["c_command_only", "verify_in_the_handshake_too"])
def test_client_answers_s_server_post_handshake_request(harness: Harness, verify: bool) -> None:
    pki = harness.pki()
    client_files = pki.client()
    args = ["-CAfile", str(pki.root), "-verify_return_error"] + (["-verify", "1"] if verify else [])
    server = harness.s_server(*args)
    config = harness.client_config(
        certificate_chain=client_files.chain, private_key=client_files.issued.private_key
    )
    pump = harness.tlslens_client(server.port, config)
    pump.handshake()
    s_server_exchange(pump, server, "1")
    server.proc.write("c\n")  # SSL_verify_client_post_handshake: a CertificateRequest now
    answered(pump, 2)  # (the handshake's Finished is the first, with or without a certificate in it)
    sent = pump.messages(MessageSent, Certificate)
    assert sent[-1].certificate_request_context  # OpenSSL's context, echoed
    assert sent[-1].certificate_list
    s_server_exchange(pump, server, "2")  # s_server took the answer and goes on
    tail = server.proc.output[server.proc.output.index("ping1 from tlslens") :]
    assert "depth=0 O = tlslens throwaway, CN = tlslens client" in tail
    assert "verify return:1" in tail and "verify error" not in tail
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)


def test_s_server_refuses_a_client_certificate_it_does_not_trust(harness: Harness) -> None:
    other = harness.pki("ed25519")  # s_server trusts only this other root
    server = harness.s_server("-CAfile", str(other.root), "-verify_return_error")
    client_files = harness.pki().client()
    config = harness.client_config(
        certificate_chain=client_files.chain, private_key=client_files.issued.private_key
    )
    pump = harness.tlslens_client(server.port, config)
    pump.handshake()
    s_server_exchange(pump, server)
    server.proc.write("c\n")
    with pytest.raises(FatalAlert) as info:
        pump.until(lambda: False, what="s_server's alert")
    assert info.value.description == AlertDescription.UNKNOWN_CA


# --- tlslens server, openssl s_client -enable_pha --------------------------------------------------------


def test_server_asks_s_client_after_the_handshake(harness: Harness) -> None:
    pki = harness.pki()
    client_files = pki.client()
    config = harness.server_config(
        client_verifier=WebPkiVerifier([pki.pki.root.certificate]), defer_client_auth=True
    )
    listener, port = harness.listen()
    client = harness.s_client(port, "-enable_pha", *client_files.args)
    pump = harness.accept(listener, config)
    done = pump.handshake()
    assert done.post_handshake_auth and done.peer_certificates == ()
    s_client_exchange(pump, client, "1")
    contexts = [pump.conn.request_client_certificate() for _ in range(2)]  # type: ignore[union-attr]
    pump.flush()
    pump.until(
        lambda: len([e for e in pump.events if isinstance(e, ClientCertificateVerified)]) == 2, what="answers"
    )
    verified = [e for e in pump.events if isinstance(e, ClientCertificateVerified)]
    assert [v.context for v in verified] == contexts
    assert verified[0].certificates[0] == client_files.issued.certificate
    s_client_exchange(pump, client, "2")
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)


def test_s_client_without_a_certificate_answers_with_none(harness: Harness) -> None:
    pki = harness.pki()
    config = harness.server_config(
        client_verifier=WebPkiVerifier([pki.pki.root.certificate]), defer_client_auth=True
    )
    listener, port = harness.listen()
    client = harness.s_client(port, "-enable_pha")
    pump = harness.accept(listener, config)
    pump.handshake()
    s_client_exchange(pump, client)
    context = pump.conn.request_client_certificate()  # type: ignore[union-attr]
    pump.flush()
    pump.until(lambda: any(isinstance(e, ClientCertificateRefused) for e in pump.events), what="the answer")
    (refused,) = [e for e in pump.events if isinstance(e, ClientCertificateRefused)]
    assert refused.context == context and refused.reason == "the client sent no certificate"
    s_client_exchange(pump, client, "again")  # the connection goes on


# --- external PSKs ------------------------------------------------------------------------------------------


def psk_s_server(harness: Harness, key: bytes = KEY):  # type: ignore[no-untyped-def]
    keylog = harness.tmp_path / "s_server.keylog"
    proc = harness.openssl(
        "s_server", "-tls1_3", "-accept", "127.0.0.1:0", "-naccept", "1", "-nocert",
        "-psk_identity", IDENTITY, "-psk", key.hex(), "-keylogfile", str(keylog),
    )  # fmt: skip
    port = int(proc.wait_for(r"^ACCEPT \S+:(\d+)\s*$", TIMEOUT).group(1))
    return proc, port, keylog


def test_client_with_psk_against_s_server_nocert(harness: Harness) -> None:
    proc, port, keylog = psk_s_server(harness)
    pump = harness.tlslens_client(port, harness.client_config(external_psks=[PSK]))
    done = pump.handshake()
    assert done.psk_identity == IDENTITY.encode() and done.peer_certificates == ()
    pump.send(b"ping over psk\n")
    proc.wait_for("^ping over psk$", TIMEOUT)
    proc.write("pong over psk\n")
    pump.read_until(b"pong over psk\n")
    assert harness.tlslens_keylog == read_keylog_file(keylog)  # the same secrets, from the same PSK
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)


def test_client_with_the_wrong_key_is_refused_by_s_server_on_the_binder(harness: Harness) -> None:
    """OpenSSL 3.0 checks the binder ("binder does not verify") and answers illegal_parameter (its
    tls_psk_do_binder; tlslens answers decrypt_error, below)."""
    proc, port, _keylog = psk_s_server(harness)
    wrong = ExternalPsk(IDENTITY.encode(), bytes(32))
    pump = harness.tlslens_client(port, harness.client_config(external_psks=[wrong]))
    with pytest.raises(FatalAlert) as info:
        pump.handshake()
    assert info.value.description == AlertDescription.ILLEGAL_PARAMETER
    proc.wait_for(r"tls_psk_do_binder:binder does not verify", TIMEOUT)


def psk_only_server(harness: Harness, **kwargs: object) -> ServerConfig:
    return ServerConfig(psk_lookup=psk_table([PSK]), keylog=harness.keylog, **kwargs)  # type: ignore[arg-type]


def test_psk_only_server_with_s_client_psk(harness: Harness) -> None:
    listener, port = harness.listen()
    client = harness.s_client(port, "-psk_identity", IDENTITY, "-psk", KEY.hex())
    pump = harness.accept(listener, psk_only_server(harness))
    done = pump.handshake()
    assert done.psk_identity == IDENTITY.encode()
    s_client_exchange(pump, client)
    assert harness.tlslens_keylog == read_keylog_file(client.keylog)
    pump.close()
    assert pump.wait_closed() == ConnectionClosed(clean=True)


def test_s_client_with_the_wrong_key_gets_decrypt_error(harness: Harness) -> None:
    listener, port = harness.listen()
    client = harness.s_client(port, "-psk_identity", IDENTITY, "-psk", bytes(32).hex())
    pump = harness.accept(listener, psk_only_server(harness))
    with pytest.raises(DecryptError, match="binder"):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 51", TIMEOUT)
    assert openssl_error_alert(client.proc.output) == "decrypt error"


def test_s_client_with_an_unknown_identity_gets_unknown_psk_identity(harness: Harness) -> None:
    listener, port = harness.listen()
    client = harness.s_client(port, "-psk_identity", "somebody", "-psk", KEY.hex())
    pump = harness.accept(listener, psk_only_server(harness))
    with pytest.raises(Exception, match="no PSK the server knows"):
        pump.handshake()
    client.proc.wait_for(r"SSL alert number 115", TIMEOUT)
