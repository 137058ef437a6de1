"""STARTTLS: the plaintext dialogue a protocol runs before TLS on the same connection, as
``openssl s_client -starttls`` speaks it, on asyncio streams.

    reader, writer = await connect("mail.example.com", 25, starttls="smtp")  # TCP, EHLO, STARTTLS
    reader, writer = await tlslens.aio.start_tls(reader, writer, config=config, server_name=name)

``starttls(protocol, reader, writer, server_name=...)`` runs one dialogue on a connected pair and returns
once the server said to start TLS; ``connect`` opens the TCP path first (directly or through an HTTP
CONNECT proxy, ``tlslens.adapters.proxy``). Every line sent and received goes to ``on_line`` (for a
trace). A server that does not offer STARTTLS, refuses it, closes, or does not speak the protocol
raises ``StartTLSError`` saying so in one line. Each dialogue reads at most ``MAX_BYTES``; bound the
whole with a timeout.

Protocols (and their default ports): smtp (RFC 3207, 25), imap (RFC 9051 §6.2.1, 143), pop3
(RFC 2595, 110), ftp (RFC 4217, 21), xmpp (RFC 6120 §5, 5222), postgres (SSLRequest, 5432), ldap
(RFC 4511 §4.14, 389), nntp (RFC 4642, 119), sieve (RFC 5804, 4190).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from tlslens.adapters.proxy import LineHook, Proxy, open_tunnel

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

__all__ = ["DEFAULT_PORTS", "PROTOCOLS", "StartTLSError", "connect", "starttls"]

DEFAULT_PORTS = {
    "smtp": 25,
    "imap": 143,
    "pop3": 110,
    "ftp": 21,
    "xmpp": 5222,
    "postgres": 5432,
    "ldap": 389,
    "nntp": 119,
    "sieve": 4190,
}
PROTOCOLS = tuple(DEFAULT_PORTS)

MAX_BYTES = 64 * 1024
"""What one dialogue reads from the server at most (greetings, capability lists)."""


class StartTLSError(Exception):
    """The plaintext dialogue before TLS failed; ``str(exc)`` says why in one line."""


class _Lines:
    """Line-based dialogue: CRLF lines, traced, bounded."""

    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hook: LineHook):
        self.name = name
        self.reader = reader
        self.writer = writer
        self.hook = hook
        self.read = 0

    def fail(self, reason: str) -> StartTLSError:
        return StartTLSError(f"{self.name}: {reason}")

    async def line(self) -> str:
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            raise self.fail("the server closed the connection before TLS started") from None
        except asyncio.LimitOverrunError:
            raise self.fail("the server sent a line longer than we accept") from None
        self.read += len(raw)
        if self.read > MAX_BYTES:
            raise self.fail(f"the server sent more than {MAX_BYTES} bytes before TLS started")
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        self.hook("received", text)
        return text

    def send(self, text: str) -> None:
        self.writer.write(text.encode("utf-8") + b"\r\n")
        self.hook("sent", text)

    async def reply(self) -> tuple[int, list[str]]:
        """An SMTP/FTP/NNTP reply: ``NNN-text`` lines, then ``NNN text``. (FTP also allows lines
        without a code inside a multi-line reply.)"""
        first = await self.line()
        match = re.match(r"(\d{3})([ -]|$)", first)
        if match is None:
            raise self.fail(f"the server does not speak {self.name.upper()}: {first[:80]!r}")
        code, lines = match.group(1), [first]
        if match.group(2) == "-":
            while True:
                line = await self.line()
                lines.append(line)
                if line.startswith(code + " ") or line == code:
                    break
        return int(code), lines


async def _smtp(d: _Lines, server_name: str) -> None:
    code, lines = await d.reply()
    if code != 220:
        raise d.fail(f"the server's greeting is not 220: {lines[0][:80]!r}")
    sockname = d.writer.get_extra_info("sockname")
    host = sockname[0] if isinstance(sockname, tuple) else "127.0.0.1"
    d.send(f"EHLO [IPv6:{host}]" if ":" in host else f"EHLO [{host}]")  # RFC 5321 §4.1.3 address literal
    code, lines = await d.reply()
    if code != 250:
        raise d.fail(f"the server refused EHLO: {lines[-1][:80]}")
    keywords = [line[4:].split()[0].upper() for line in lines[1:] if line[4:].split()]
    if "STARTTLS" not in keywords:
        listed = ", ".join(keywords) or "nothing"
        raise d.fail(f"the server does not offer STARTTLS (its EHLO reply lists: {listed})")
    d.send("STARTTLS")
    code, lines = await d.reply()
    if code != 220:
        raise d.fail(f"the server refused STARTTLS: {lines[-1][:80]}")


async def _ftp(d: _Lines, server_name: str) -> None:
    code, lines = await d.reply()
    if code != 220:
        raise d.fail(f"the server's greeting is not 220: {lines[0][:80]!r}")
    d.send("AUTH TLS")
    code, lines = await d.reply()
    if code != 234:
        raise d.fail(f"the server refused AUTH TLS: {lines[-1][:80]}")


async def _nntp(d: _Lines, server_name: str) -> None:
    code, lines = await d.reply()
    if code not in (200, 201):
        raise d.fail(f"the server's greeting is not 200 or 201: {lines[0][:80]!r}")
    d.send("STARTTLS")
    code, lines = await d.reply()
    if code != 382:
        raise d.fail(f"the server refused STARTTLS: {lines[-1][:80]}")


async def _pop3(d: _Lines, server_name: str) -> None:
    greeting = await d.line()
    if not greeting.startswith("+OK"):
        raise d.fail(f"the server's greeting is not +OK: {greeting[:80]!r}")
    d.send("STLS")
    answer = await d.line()
    if not answer.startswith("+OK"):
        raise d.fail(f"the server refused STLS: {answer[:80]}")


async def _imap(d: _Lines, server_name: str) -> None:
    greeting = await d.line()
    if not greeting.upper().startswith("* OK"):
        raise d.fail(f"the server's greeting is not '* OK': {greeting[:80]!r}")
    d.send("a001 CAPABILITY")
    capabilities: list[str] = []
    while True:
        line = await d.line()
        if line.upper().startswith("* CAPABILITY"):
            capabilities += line.upper().split()[2:]
        elif line.lower().startswith("a001 "):
            if not line[5:].upper().startswith("OK"):
                raise d.fail(f"the server refused CAPABILITY: {line[:80]}")
            break
    if "STARTTLS" not in capabilities:
        raise d.fail(f"the server does not offer STARTTLS (capabilities: {' '.join(capabilities) or 'none'})")
    d.send("a002 STARTTLS")
    while True:
        line = await d.line()
        if line.lower().startswith("a002 "):
            if not line[5:].upper().startswith("OK"):
                raise d.fail(f"the server refused STARTTLS: {line[:80]}")
            return


async def _sieve(d: _Lines, server_name: str) -> None:
    capabilities: list[str] = []
    while True:  # the greeting is the capability list, ended by OK
        line = await d.line()
        if line.upper().startswith(("OK", "NO", "BYE")):
            break
        match = re.match(r'"([^"]*)"', line)
        if match is None:
            raise d.fail(f"the server does not speak ManageSieve: {line[:80]!r}")
        capabilities.append(match.group(1).upper())
    if not line.upper().startswith("OK"):
        raise d.fail(f"the server refused the session: {line[:80]}")
    if "STARTTLS" not in capabilities:
        raise d.fail(
            f"the server does not offer STARTTLS (capabilities: {', '.join(capabilities) or 'none'})"
        )
    d.send("STARTTLS")
    answer = await d.line()
    if not answer.upper().startswith("OK"):
        raise d.fail(f"the server refused STARTTLS: {answer[:80]}")


SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
"""PostgreSQL's SSLRequest: length 8, the code 1234 5679."""


async def _postgres(d: _Lines, server_name: str) -> None:
    d.writer.write(SSL_REQUEST)
    d.hook("sent", "SSLRequest")
    try:
        answer = await d.reader.readexactly(1)
    except asyncio.IncompleteReadError:
        raise d.fail("the server closed the connection before TLS started") from None
    if answer == b"S":
        d.hook("received", "S (go ahead with TLS)")
        return
    if answer == b"N":
        d.hook("received", "N (no TLS)")
        raise d.fail("the server does not accept TLS (it answered N to SSLRequest)")
    raise d.fail(f"the server does not speak the PostgreSQL protocol (it answered {answer!r} to SSLRequest)")


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
LDAP_START_TLS = (
    b"\x30"
    + bytes([5 + 2 + len(STARTTLS_OID)])  # LDAPMessage SEQUENCE
    + b"\x02\x01\x01"  # messageID 1
    + b"\x77"
    + bytes([2 + len(STARTTLS_OID)])  # [APPLICATION 23] ExtendedRequest
    + b"\x80"
    + bytes([len(STARTTLS_OID)])
    + STARTTLS_OID  # requestName [0]
)
_LDAP_RESULTS = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    52: "unavailable",
    53: "unwillingToPerform",
}


def _ber(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One BER element at ``pos``: (tag, contents, position after it). Raises ValueError."""
    if pos + 2 > len(data):
        raise ValueError("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if not 0 < count <= 3 or pos + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > len(data):
        raise ValueError("truncated")
    return tag, data[pos : pos + length], pos + length


async def _ldap(d: _Lines, server_name: str) -> None:
    d.writer.write(LDAP_START_TLS)
    d.hook("sent", f"ExtendedRequest StartTLS ({STARTTLS_OID.decode()})")
    try:
        head = await d.reader.readexactly(2)
        if head[0] != 0x30:
            raise d.fail(f"the server does not speak LDAP (it answered {head!r})")
        extra, length = b"", head[1]
        if head[1] & 0x80:
            count = head[1] & 0x7F
            if not 0 < count <= 3:
                raise d.fail("the server's answer has a length we do not accept")
            extra = await d.reader.readexactly(count)
            length = int.from_bytes(extra, "big")
        if length > MAX_BYTES:
            raise d.fail("the server's answer is too long for a StartTLS response")
        message = head + extra + await d.reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise d.fail("the server closed the connection before TLS started") from None
    try:
        _tag, body, _ = _ber(message, 0)
        _tag, _message_id, pos = _ber(body, 0)
        tag, response, _ = _ber(body, pos)
        if tag != 0x78:  # [APPLICATION 24] ExtendedResponse
            raise ValueError("not an ExtendedResponse")
        tag, code, pos = _ber(response, 0)
        _tag, _matched, pos = _ber(response, pos)
        _tag, diagnostic, pos = _ber(response, pos)
    except ValueError as exc:
        raise d.fail(f"the server's answer is not an LDAP ExtendedResponse ({exc})") from None
    result = int.from_bytes(code, "big")
    name = _LDAP_RESULTS.get(result, "")
    text = diagnostic.decode("utf-8", "replace")
    d.hook(
        "received", f"ExtendedResponse resultCode {result} {name}".rstrip() + (f": {text}" if text else "")
    )
    if tag != 0x0A or result != 0:
        raise d.fail(
            f"the server refused StartTLS: resultCode {result} {name}".rstrip()
            + (f" ({text})" if text else "")
        )


_STREAMS = "http://etherx.jabber.org/streams"
_TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"


async def _xmpp(d: _Lines, server_name: str) -> None:
    # (here, not at the top: xml.sax imports urllib.request, http.client and email, which nothing else
    # on a scanner's start needs)
    import xml.etree.ElementTree as ET
    from xml.sax.saxutils import quoteattr

    header = (
        f"<?xml version='1.0'?><stream:stream to={quoteattr(server_name)} xmlns='jabber:client'"
        f" xmlns:stream='{_STREAMS}' version='1.0'>"
    )
    d.writer.write(header.encode())
    d.hook("sent", header)
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("end",))

    async def element(*names: str) -> ET.Element:
        """Read until one of ``names`` (a child of the stream) has ended."""
        while True:
            for pair in parser.read_events():
                elem = cast(ET.Element, cast(tuple[str, object], pair)[1])
                if elem.tag in names:
                    return elem
                if elem.tag == f"{{{_STREAMS}}}error":
                    reason = " ".join(child.tag.split("}")[-1] for child in elem) or "stream error"
                    raise d.fail(f"the server ended the stream: {reason}")
            chunk = await d.reader.read(4096)
            if not chunk:
                raise d.fail("the server closed the connection before TLS started")
            d.read += len(chunk)
            if d.read > MAX_BYTES:
                raise d.fail(f"the server sent more than {MAX_BYTES} bytes before TLS started")
            d.hook("received", chunk.decode("utf-8", "replace"))
            try:
                parser.feed(chunk)
            except ET.ParseError as exc:
                raise d.fail(f"the server does not speak XMPP ({exc})") from None

    features = await element(f"{{{_STREAMS}}}features")
    if features.find(f"{{{_TLS_NS}}}starttls") is None:
        offered = ", ".join(child.tag.split("}")[-1] for child in features) or "nothing"
        raise d.fail(f"the server does not offer STARTTLS (its features: {offered})")
    request = f"<starttls xmlns='{_TLS_NS}'/>"
    d.writer.write(request.encode())
    d.hook("sent", request)
    answer = await element(f"{{{_TLS_NS}}}proceed", f"{{{_TLS_NS}}}failure")
    if answer.tag.endswith("failure"):
        raise d.fail("the server refused STARTTLS (<failure/>)")


_DIALOGUES: dict[str, Callable[[_Lines, str], Awaitable[None]]] = {
    "smtp": _smtp,
    "imap": _imap,
    "pop3": _pop3,
    "ftp": _ftp,
    "xmpp": _xmpp,
    "postgres": _postgres,
    "ldap": _ldap,
    "nntp": _nntp,
    "sieve": _sieve,
}


async def starttls(
    protocol: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    server_name: str,
    on_line: LineHook | None = None,
) -> None:
    """Run ``protocol``'s dialogue up to "start TLS now"; the pair is then ready for
    ``tlslens.aio.start_tls``. ``server_name`` is the name XMPP's stream header addresses."""
    dialogue = _DIALOGUES.get(protocol)
    if dialogue is None:
        raise ValueError(f"unknown STARTTLS protocol {protocol!r}; one of {', '.join(PROTOCOLS)}")
    await dialogue(_Lines(protocol, reader, writer, on_line or (lambda d, t: None)), server_name)
    await writer.drain()


async def connect(
    host: str,
    port: int,
    *,
    starttls: str | None = None,
    proxy: Proxy | None = None,
    server_name: str | None = None,
    on_line: LineHook | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The plaintext path to a TLS server: TCP to ``host:port`` (through ``proxy``'s CONNECT tunnel
    when given), then the ``starttls`` dialogue when given. ``OSError`` when the connection cannot
    be made, ``ProxyError`` or ``StartTLSError`` when a dialogue fails; bound it with a timeout."""
    if proxy is not None:
        reader, writer = await open_tunnel(proxy, host, port, on_line=on_line)
    else:
        reader, writer = await asyncio.open_connection(host, port)
    if starttls is not None:
        try:
            await _starttls(starttls, reader, writer, server_name=server_name or host, on_line=on_line)
        except BaseException:
            writer.close()
            raise
    return reader, writer


_starttls = starttls
