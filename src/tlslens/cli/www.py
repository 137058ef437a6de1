"""``tlslens server --www``: answer an HTTP/1.1 GET (parsed with h11) with a page naming what was
negotiated, as ``key: value`` lines, then ``Connection: close``.

    protocol: TLSv1.3
    cipher: TLS_AES_128_GCM_SHA256
    group: x25519
    alpn: none
    sni: localhost
    resumed: false
    early_data: false
    client_cert: none

``client_cert`` names the client certificate's subject, and says whether the server ``required`` it
(``--verify-client``) or only ``requested`` it (``--request-client-cert``): ``CN=alice (required)``,
``none (requested)``; plain ``none`` when no certificate was asked for.

With ``--pha`` (``pha=True``), ``GET /auth`` first asks the client for a certificate after the handshake
(RFC 8446 §4.6.2): ``client_certificate_page`` sends the request, waits for the answer and gives the
page, whose ``client_cert`` line names the certificate the client verifier accepted (200), or says why
there is none (403): refused, not offered (a client without a certificate, or ``openssl s_client``
without ``-enable_pha``), TLS 1.2, a client that closed its side already (at the end of its input,
without ``--ign-eof``), or no answer in time.
"""

from __future__ import annotations

import asyncio

import h11

import tlslens.aio
from tlslens.config import ServerConfig
from tlslens.credentials import shown_identity
from tlslens.errors import LocalProtocolError
from tlslens.events import ClientCertificateVerified, HandshakeCompleted
from tlslens.wire.enums import ProtocolVersion

SERVER_HEADER = b"tlslens"
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    403: b"Forbidden",
    405: b"Method Not Allowed",
    425: b"Too Early",
    431: b"Request Header Fields Too Large",
}


AUTH_PATH = "/auth"
_KEEP_OPEN = " (keep it open: tlslens client --ign-eof, openssl s_client -ign_eof)"
AUTH_TIMEOUT = 30.0
"""Seconds a client has to answer the post-handshake CertificateRequest of ``GET /auth``."""


def client_auth_mode(config: ServerConfig) -> str | None:
    """How the server asks for a client certificate in the handshake: "required", "requested", or None
    (it does not; with ``--pha`` it asks after the handshake, on ``GET /auth``)."""
    if config.client_verifier is None or config.defer_client_auth:
        return None
    return "required" if config.require_client_certificate else "requested"


def client_cert_text(completed: HandshakeCompleted, client_auth: str | None) -> str:
    """The ``client_cert`` line's value: the subject or "none", then how it was asked for."""
    chain = completed.peer_certificates
    subject = chain[0].subject.rfc4514_string() if chain else "none"
    if client_auth is None or completed.resumed:  # a resumed handshake asks for no certificate
        return subject
    return f"{subject} ({client_auth})"


KEY_UPDATE_PATH = "/keyupdate"
"""GET this and the answer comes after a KeyUpdate that asks the client to update its keys too."""


def page(
    completed: HandshakeCompleted,
    *,
    early_data: bool = False,
    client_auth: str | None = None,
    key_update: bool = False,
    client_cert: str | None = None,
) -> str:
    """The page body for one connection (``client_auth``: what ``client_auth_mode`` says;
    ``key_update``: a KeyUpdate(update_requested) went out before it; ``client_cert``: the line's
    value when it is not the handshake's, after ``GET /auth``)."""
    if client_cert is None:
        client_cert = client_cert_text(completed, client_auth)
    lines = [
        f"protocol: {completed.version.label}",
        f"cipher: {completed.cipher_suite.name}",
        f"group: {completed.group.iana_name if completed.group is not None else 'none'}",
        f"alpn: {completed.alpn_protocol or 'none'}",
        f"sni: {completed.server_name or 'none'}",
        f"resumed: {'true' if completed.resumed else 'false'}",
        f"early_data: {'true' if early_data or completed.early_data_accepted else 'false'}",
        f"client_cert: {client_cert}",
    ]
    if key_update and completed.version == ProtocolVersion.TLS1_3:
        lines.append("key_update: sent before this page, update_requested")
    elif key_update:
        lines.append(f"key_update: none, {completed.version.label} has no KeyUpdate")
    if completed.psk_identity is not None:  # authenticated by an external PSK
        lines.append(f"psk: {shown_identity(completed.psk_identity)}")
    return "\n".join(lines) + "\n"


class WwwResponder:
    """Feeds decrypted bytes to h11; once a whole request is in, ``feed`` returns the response bytes.
    After that (``done``) the server sends close_notify and closes."""

    def __init__(
        self,
        completed: HandshakeCompleted,
        *,
        early_data: bool = False,
        client_auth: str | None = None,
        pha: bool = False,
    ) -> None:
        self.completed = completed
        self.early_data = early_data  # the request (or part of it) arrived as 0-RTT data
        self.client_auth = client_auth
        self.pha = pha  # GET /auth asks for a client certificate first
        self.wants_client_certificate = False  # a GET /auth is in: client_certificate_page answers it
        self.http = h11.Connection(h11.SERVER)
        self.request: h11.Request | None = None
        self.done = False
        self.status = 0
        self.target = ""

    @property
    def key_update(self) -> bool:
        """The request answered was a GET (or HEAD) for ``/keyupdate``: send KeyUpdate(update_requested)
        before the answer (TLS 1.3; the page says when the version has none)."""
        path = self.target.partition("?")[0]
        return self.done and self.status == 200 and path == KEY_UPDATE_PATH

    def _respond(self, status: int, body: str, extra: list[tuple[bytes, bytes]] | None = None) -> bytes:
        data = body.encode("utf-8")
        headers = [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Content-Length", str(len(data)).encode()),
            (b"Connection", b"close"),
            (b"Server", SERVER_HEADER),
            *(extra or []),
        ]
        self.done = True
        self.status = status
        head_only = self.request is not None and self.request.method == b"HEAD"
        reason = _REASONS.get(status, b"")
        out = self.http.send(h11.Response(status_code=status, headers=headers, reason=reason)) or b""
        if not head_only:
            out += self.http.send(h11.Data(data=data)) or b""
        return out + (self.http.send(h11.EndOfMessage()) or b"")

    def feed(self, data: bytes) -> bytes:
        """Bytes to send back (empty while the request is incomplete)."""
        if self.done:
            return b""
        self.http.receive_data(data)
        try:
            while True:
                event = self.http.next_event()
                if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                    return b""
                if isinstance(event, h11.Request):
                    self.request = event
                    self.target = event.target.decode("ascii", "replace")
                elif isinstance(event, h11.EndOfMessage):
                    assert self.request is not None
                    if self.request.method not in (b"GET", b"HEAD"):
                        if self.early_data:  # RFC 8470: a replayable request that is not safe to replay
                            return self._respond(
                                425, "sent in 0-RTT, which may be replayed: retry after the handshake\n"
                            )
                        return self._respond(405, "only GET is answered here\n", [(b"Allow", b"GET, HEAD")])
                    if self.pha and self.target.partition("?")[0] == AUTH_PATH:
                        self.wants_client_certificate = True
                        return b""
                    body = page(
                        self.completed,
                        early_data=self.early_data,
                        client_auth=self.client_auth,
                        key_update=self.target.partition("?")[0] == KEY_UPDATE_PATH,
                    )
                    return self._respond(200, body)
        except h11.RemoteProtocolError as exc:
            if self.http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                return self._respond(exc.error_status_hint, f"bad request: {exc}\n")
            self.done = True
            return b""


async def client_certificate_page(www: WwwResponder, writer: asyncio.StreamWriter, notes: list[str]) -> bytes:
    """``GET /auth``: ask the client for a certificate after the handshake, wait for its answer, and
    respond with the page naming it (or saying why there is none); ``notes`` gets a line for the log."""
    www.wants_client_certificate = False
    status, client_cert = 403, ""
    try:
        answer = await tlslens.aio.request_client_certificate(writer, timeout=AUTH_TIMEOUT)
    except LocalProtocolError as exc:
        why = str(exc).removeprefix("tls: ")
        if "did not offer" in why:
            why = (
                "the client does not offer post-handshake authentication: it needs a certificate"
                " (tlslens client --cert/--key, openssl s_client -enable_pha -cert/-key)"
            )
        elif "closed its side" in why:
            why += _KEEP_OPEN
        client_cert = f"none; {why}"
    except TimeoutError:
        client_cert = f"none; the client did not answer within {AUTH_TIMEOUT:g} s"
    except EOFError:
        client_cert = f"none; the client closed its side (close_notify) before it answered{_KEEP_OPEN}"
    else:
        if isinstance(answer, ClientCertificateVerified):
            status = 200
            leaf = answer.certificates[0]
            client_cert = (
                f"{leaf.subject.rfc4514_string()} (verified after the handshake,"
                f" {answer.signature_scheme.iana_name}; issuer {leaf.issuer.rfc4514_string()})"
            )
        else:
            client_cert = f"none; refused: {answer.reason}"
    notes.append(f"GET {AUTH_PATH}: client_cert {client_cert}")
    return www._respond(status, page(www.completed, early_data=www.early_data, client_cert=client_cert))
