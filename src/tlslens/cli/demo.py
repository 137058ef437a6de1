"""``tlslens demo``: a whole TLS 1.3 handshake on loopback (``--tls1_2``: TLS 1.2), explained.

It makes a throwaway CA and a chain for ``localhost`` in a temporary folder (written as PEM files, and
read back the way ``tlslens server`` reads them), starts a ``tlslens server --www`` in this process on
a free 127.0.0.1 port, connects a client that trusts only that CA, sends an HTTP GET and prints the
decoded trace (the client's view, with the server's decisions), the reply and the round-trip diagram.
Nothing leaves the machine and the folder is removed at the end.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization

from tlslens.certgen import make_pki
from tlslens.cli.client_io import BytesSource
from tlslens.cli.client_run import ClientRun
from tlslens.cli.common import colour_wanted, format_address, load_trust_anchors
from tlslens.cli.failure import SessionFailed
from tlslens.cli.listener import Listener
from tlslens.cli.server import build_server_config
from tlslens.cli.server_session import ServerSettings
from tlslens.config import ClientConfig
from tlslens.trace import TextSink, Tracer

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: tlslens-demo\r\nAccept: */*\r\n\r\n"


def write_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway root → intermediate → leaf for localhost and 127.0.0.1, as PEM files in ``folder``:
    the CA certificate, the chain a server presents (leaf first) and the leaf's private key."""
    pki = make_pki(("localhost", "127.0.0.1"))
    pem = serialization.Encoding.PEM
    ca, chain, key = folder / "ca.pem", folder / "chain.pem", folder / "key.pem"
    ca.write_bytes(pki.root.certificate.public_bytes(pem))
    chain.write_bytes(b"".join(c.public_bytes(pem) for c in pki.chain))
    key.write_bytes(
        pki.leaf.private_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key.chmod(0o600)
    return ca, chain, key


async def run_demo(folder: Path, out: TextSink, versions: tuple[str, ...] = ("TLSv1.3", "TLSv1.2")) -> int:
    say = out.line
    ca, chain, key = write_pki(folder)
    say(f"A throwaway CA issued a certificate for localhost (PEM files in {folder}, removed at exit).")
    server_log: list[str] = []
    settings = ServerSettings(
        build_server_config(
            cert=str(chain),
            key=str(key),
            ciphers=None,
            groups=None,
            alpn="http/1.1",
            verify_client=None,
            keylog=None,
        ),
        www=True,
        make_tracer=lambda label: Tracer(out, "server", label="server", kinds=frozenset({"decision"})),
        log=server_log.append,
    )
    listener = Listener(settings)
    host, port = await listener.start("127.0.0.1", 0)
    say(f"Server: tlslens server --www, listening on {format_address(host, port)} (in this process).")
    offers = " and ".join(versions)
    say(f"Client: trusts only the throwaway CA, offers {offers} and ALPN http/1.1, sends one HTTP GET.")
    say("")
    config = ClientConfig(
        trust_anchors=load_trust_anchors(str(ca), "ca.pem"), alpn_protocols=["http/1.1"], versions=versions
    )
    tracer = Tracer(out, "client", label="client")
    reply = bytearray()
    run = ClientRun("127.0.0.1", port, config, "localhost", tracer, on_data=reply.extend)
    failure: SessionFailed | None = None
    try:
        await run.run(BytesSource(REQUEST))
    except SessionFailed as exc:
        failure = exc
    finally:
        await listener.stop()
    say("")
    say("Reply from the server:")
    for line in reply.decode("utf-8", "replace").splitlines():
        say("  " + line)
    run.watch.finish()
    say("")
    for line in server_log:
        if not line.startswith(("listening", "stopped")):
            say(f"Server log: {line}")
    if failure is not None:
        say(f"error: {failure.reason}")
        for line in failure.details:
            say(line)
        return 1
    return 0


@click.command("demo")
@click.option("--tls1_2", "tls1_2", is_flag=True, help="The client offers only TLS 1.2: a TLS 1.2 handshake.")
def demo(tls1_2: bool) -> None:
    """Run a server and client on loopback and show the handshake, decoded and explained."""
    versions = ("TLSv1.2",) if tls1_2 else ("TLSv1.3", "TLSv1.2")
    with tempfile.TemporaryDirectory(prefix="tlslens-demo-") as tmp:
        sink = TextSink(sys.stdout, colour=colour_wanted(sys.stdout))
        code = asyncio.run(run_demo(Path(tmp), sink, versions))
    sys.exit(code)
