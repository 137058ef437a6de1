"""RFC 8446 conformance of the handshake, one behaviour per test, each with the alert the RFC names.

Certificates with RSASSA-PSS keys (§4.2.3), Finished length (§4.4.4), legacy_version (Appendix D.5),
key shares (§4.2.8), the second ClientHello after a HelloRetryRequest (§4.1.2, §4.2.10), tickets after
resumption (§4.6.1) and the server's group choice (§4.2.8: a share the client sent is used when one fits).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TypeVar

import pytest

from tests.handshake.helpers import (
    APPLICATION_DATA,
    NOW,
    ConnectionPair,
    Tamper,
    TamperingClient,
    TamperingServer,
    assert_alert_sent,
    client_chain,
    client_config,
    client_leaf,
    of_type,
    records,
    replacing,
    server_config,
    verifier,
)
from tests.rsa_pss import needs_openssl, rsa_pss_client_leaf, rsa_pss_pki
from tlslens.config import CertifiedKey, ClientConfig, ServerConfig
from tlslens.connection import ClientConnection, ServerConnection
from tlslens.crypto.provider import DeterministicProvider
from tlslens.errors import (
    BadRecordMac,
    DecodeError,
    IllegalParameter,
    ProtocolVersionMismatch,
    RemoteProtocolError,
)
from tlslens.events import EarlyDataReceived, HandshakeCompleted, MessageReceived, SessionTicketReceived
from tlslens.record.deframer import encode_plaintext
from tlslens.session.cache import Session
from tlslens.verifier import WebPkiVerifier
from tlslens.wire.enums import AlertDescription, ExtensionType, NamedGroup, ProtocolVersion, SignatureScheme
from tlslens.wire.extensions import (
    ALPN,
    EarlyData,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareServerHello,
    Padding,
    PreSharedKeyClientHello,
    PskIdentity,
    PskKeyExchangeModes,
    RecordSizeLimit,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    UnknownExtension,
)
from tlslens.wire.hello import ClientHello, ServerHello
from tlslens.wire.messages import CertificateVerify, Finished, decode_handshake

S = SignatureScheme
G = NamedGroup
M = TypeVar("M")
A = AlertDescription
PSS_PSS = (S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384, S.RSA_PSS_PSS_SHA512)


def server_refuses(
    exc: type[RemoteProtocolError],
    tamper: Tamper | None = None,
    *,
    client: dict | None = None,
    server: dict | None = None,
) -> RemoteProtocolError:
    """A (tampering) client against a server that must raise exactly ``exc`` and queue its alert."""
    c = TamperingClient(client_config(**(client or {})), tamper=tamper)
    s = TamperingServer(server_config(**(server or {})))
    with pytest.raises(exc) as info:
        ConnectionPair(client=c, server=s).pump()
    assert type(info.value) is exc, info.value
    assert_alert_sent(s, c, exc.alert)
    return info.value


def client_refuses(
    exc: type[RemoteProtocolError],
    tamper: Tamper | None = None,
    *,
    client: dict | None = None,
    server: dict | None = None,
) -> RemoteProtocolError:
    """A client against a (tampering) server; the client must raise exactly ``exc`` and queue its alert."""
    c = TamperingClient(client_config(**(client or {})))
    s = TamperingServer(server_config(**(server or {})), tamper=tamper)
    with pytest.raises(exc) as info:
        ConnectionPair(client=c, server=s).pump()
    assert type(info.value) is exc, info.value
    assert_alert_sent(c, s, exc.alert)
    return info.value


def set_ext(message: M, cls: type, new: object | None) -> M:
    """``message`` with its extension of class ``cls`` replaced by ``new`` (None: removed)."""
    exts = (new if isinstance(e, cls) else e for e in message.extensions or ())  # type: ignore[attr-defined]
    return dataclasses.replace(message, extensions=tuple(e for e in exts if e is not None))  # type: ignore[type-var]


def traced_pair(ccfg: ClientConfig, scfg: ServerConfig, **client_kwargs: object) -> ConnectionPair:
    client = ClientConnection(ccfg, "localhost", trace=True, **client_kwargs)  # type: ignore[arg-type]
    return ConnectionPair(client=client, server=ServerConnection(scfg, trace=True))


def hellos(pair: ConnectionPair, cls: type[M]) -> list[M]:
    """The ClientHellos the server received, or the ServerHellos (and HelloRetryRequests) the client did."""
    events = pair.server_events if cls is ClientHello else pair.client_events
    return [e.message for e in of_type(events, MessageReceived) if isinstance(e.message, cls)]


def completed(events: list) -> HandshakeCompleted:
    done = of_type(events, HandshakeCompleted)
    assert len(done) == 1
    return done[0]


# --- 1. RSASSA-PSS keys sign with rsa_pss_pss_* (§4.2.3, §4.4.3) ----------------------------------------


@needs_openssl
def test_certified_key_with_rsa_pss_key_offers_rsa_pss_pss_schemes_only() -> None:
    pss = rsa_pss_pki()
    assert CertifiedKey.from_key(pss.chain, pss.private_key).schemes == PSS_PSS


def _pss_server_config(**kwargs: object) -> ServerConfig:
    pss = rsa_pss_pki()
    return ServerConfig(certificate_chain=pss.chain, private_key=pss.private_key, **kwargs)  # type: ignore[arg-type]


def _pss_client_config(**kwargs: object) -> ClientConfig:
    return ClientConfig(verifier=WebPkiVerifier([rsa_pss_pki().pki.root.certificate]), **kwargs)  # type: ignore[arg-type]


@needs_openssl
@pytest.mark.parametrize("offered", [None, (S.RSA_PSS_PSS_SHA256,), (S.RSA_PSS_PSS_SHA512,)])
def test_server_with_rsa_pss_certificate_signs_with_rsa_pss_pss(offered: tuple[S, ...] | None) -> None:
    ccfg = _pss_client_config(**({"signature_schemes": offered} if offered else {}))
    pair = ConnectionPair(ccfg, _pss_server_config()).handshake()
    expected = offered[0] if offered else S.RSA_PSS_PSS_SHA256
    assert completed(pair.client_events).signature_scheme == expected


@needs_openssl
def test_client_with_rsa_pss_certificate_signs_with_rsa_pss_pss() -> None:
    leaf = rsa_pss_client_leaf()
    ccfg = _pss_client_config(certificate_chain=leaf.chain, private_key=leaf.private_key)
    scfg = _pss_server_config(client_verifier=WebPkiVerifier([leaf.pki.root.certificate]))
    client = TamperingClient(ccfg)
    pair = ConnectionPair(client=client, server=ServerConnection(scfg)).handshake()
    assert completed(pair.server_events).peer_certificates[0] == leaf.certificate
    sent = [decode_handshake(raw) for raw, _ in client.sent]
    assert [m.algorithm for m in sent if isinstance(m, CertificateVerify)] == [S.RSA_PSS_PSS_SHA256]


# --- 2. a Finished of the wrong length is decode_error, not decrypt_error (§4.4.4, §6) ------------------

WRONG_LENGTHS: list[Callable[[bytes], bytes]] = [
    lambda v: v[:-1],
    lambda v: v + b"\x00",
    lambda v: b"",
    lambda v: v + v,
]
LENGTH_IDS = ["one_short", "one_long", "empty", "twice"]


@pytest.mark.parametrize("change", WRONG_LENGTHS, ids=LENGTH_IDS)
def test_server_refuses_client_finished_of_wrong_length(change: Callable[[bytes], bytes]) -> None:
    server_refuses(DecodeError, replacing(Finished, lambda m: Finished(change(m.verify_data))))


@pytest.mark.parametrize("change", WRONG_LENGTHS, ids=LENGTH_IDS)
def test_client_refuses_server_finished_of_wrong_length(change: Callable[[bytes], bytes]) -> None:
    client_refuses(DecodeError, replacing(Finished, lambda m: Finished(change(m.verify_data))))


# --- 4. legacy_version 0x0300 or lower is protocol_version, whatever supported_versions says (D.5) -----


@pytest.mark.parametrize("version", [0x0300, 0x0200, 0x0002, 0x0000], ids=hex)
def test_server_refuses_client_hello_with_ssl3_legacy_version(version: int) -> None:
    hook = lambda ch: dataclasses.replace(ch, legacy_version=ProtocolVersion(version))  # noqa: E731
    exc = server_refuses(ProtocolVersionMismatch, client={"client_hello_hook": hook})
    assert "0x0300" in str(exc)


@pytest.mark.parametrize("version", [0x0301, 0x0302, 0x0303], ids=hex)
def test_server_accepts_tls1x_legacy_version_with_supported_versions(version: int) -> None:
    hook = lambda ch: dataclasses.replace(ch, legacy_version=ProtocolVersion(version))  # noqa: E731
    ConnectionPair(client_config(client_hello_hook=hook), server_config()).handshake()


# --- 9. key_exchange of the wrong length, or empty, is illegal_parameter (§4.2.8, §4.2.8.2) ------------

SHARE_SIZES = {G.X25519: 32, G.X448: 56, G.SECP256R1: 65, G.SECP384R1: 97, G.SECP521R1: 133}
BAD_SHARES: dict[str, Callable[[int], bytes]] = {
    "empty": lambda n: b"",
    "one_byte": lambda n: b"\x04",
    "one_short": lambda n: b"\x04" + bytes(range(1, n - 1)),
    "one_long": lambda n: b"\x04" + bytes(i % 251 + 1 for i in range(n)),
}


def _client_share(group: NamedGroup, key_exchange: bytes) -> Callable[[ClientHello], ClientHello]:
    shares = KeyShareClientHello((KeyShareEntry(group, key_exchange),))
    return lambda ch: set_ext(ch, KeyShareClientHello, shares)


@pytest.mark.parametrize("bad", list(BAD_SHARES))
@pytest.mark.parametrize("group", list(SHARE_SIZES), ids=lambda g: g.iana_name)
def test_server_refuses_key_share_of_wrong_length(group: NamedGroup, bad: str) -> None:
    hook = _client_share(group, BAD_SHARES[bad](SHARE_SIZES[group]))
    server_refuses(IllegalParameter, client={"groups": (group,), "client_hello_hook": hook})


@pytest.mark.parametrize("bad", list(BAD_SHARES))
def test_server_refuses_bad_share_it_would_not_use(bad: str) -> None:
    """A share of the wrong length for a group we know is refused even beside a good one."""

    def hook(ch: ClientHello) -> ClientHello:
        ks = ch.extension(KeyShareClientHello)
        assert ks is not None
        broken = KeyShareEntry(G.SECP256R1, BAD_SHARES[bad](65))
        return set_ext(ch, KeyShareClientHello, KeyShareClientHello((*ks.client_shares, broken)))

    client = {"groups": (G.X25519, G.SECP256R1), "key_share_groups": (G.X25519,), "client_hello_hook": hook}
    server_refuses(IllegalParameter, client=client)


@pytest.mark.parametrize("bad", list(BAD_SHARES))
@pytest.mark.parametrize("group", list(SHARE_SIZES), ids=lambda g: g.iana_name)
def test_client_refuses_server_key_share_of_wrong_length(group: NamedGroup, bad: str) -> None:
    def tamper(sh: ServerHello) -> ServerHello:
        share = KeyShareEntry(group, BAD_SHARES[bad](SHARE_SIZES[group]))
        return set_ext(sh, KeyShareServerHello, KeyShareServerHello(share))

    client_refuses(IllegalParameter, replacing(ServerHello, tamper), client={"groups": (group,)})


# --- 5. unknown groups are ignored in key_share and supported_groups, whatever their number (§4.2.7) ---


def _with_unknown_groups(n: int, share_size: int = 1) -> Callable[[ClientHello], ClientHello]:
    """Add ``n`` groups the server does not know (GREASE-like values too) to supported_groups, each with
    a key share, before the real ones."""
    unknown = [G(0x0A0A + 0x1010 * i) if i < 16 else G(0xFE00 - i) for i in range(n)]

    def hook(ch: ClientHello) -> ClientHello:
        ks, sg = ch.extension(KeyShareClientHello), ch.extension(SupportedGroups)
        assert ks is not None and sg is not None
        extra = [KeyShareEntry(g, bytes((i % 255 + 1,)) * share_size) for i, g in enumerate(unknown)]
        groups = (*dict.fromkeys(unknown), *sg.named_group_list)
        shares = {e.group: e for e in extra}  # one share per group
        ch = set_ext(ch, SupportedGroups, SupportedGroups(groups))
        return set_ext(ch, KeyShareClientHello, KeyShareClientHello((*shares.values(), *ks.client_shares)))

    return hook


@pytest.mark.parametrize("n", [17, 200, 4000])
def test_server_ignores_any_number_of_unknown_groups_and_shares(n: int) -> None:
    pair = ConnectionPair(client_config(client_hello_hook=_with_unknown_groups(n)), server_config())
    pair.handshake()
    assert completed(pair.server_events).group == G.X25519MLKEM768  # the real share, first in our list


# --- 11. group choice: a share the client sent is used when one fits; HRR only when none does ----------


@pytest.mark.parametrize(
    ("client_groups", "shares", "server_groups", "chosen"),
    [
        # The client's share for a group we accept is used, even when we would prefer another group.
        ((G.X25519, G.SECP384R1), (G.X25519,), (G.SECP384R1, G.X25519), G.X25519),
        ((G.SECP256R1, G.X25519), (G.SECP256R1,), None, G.SECP256R1),  # default server groups
        # Among the shares sent, server preference wins.
        ((G.X25519, G.SECP256R1, G.SECP384R1), (G.X25519, G.SECP384R1), (G.SECP384R1, G.X25519), G.SECP384R1),
        ((G.SECP384R1, G.X25519), (G.SECP384R1, G.X25519), (G.X25519, G.SECP384R1), G.X25519),
    ],
    ids=["share_over_preference", "p256_share_default_server", "preference_among_shares", "ours_first"],
)
def test_server_uses_a_key_share_the_client_sent_when_one_fits(
    client_groups: tuple[NamedGroup, ...],
    shares: tuple[NamedGroup, ...],
    server_groups: tuple[NamedGroup, ...] | None,
    chosen: NamedGroup,
) -> None:
    ccfg = client_config(groups=client_groups, key_share_groups=shares)
    scfg = server_config(**({"groups": server_groups} if server_groups else {}))
    pair = traced_pair(ccfg, scfg).handshake()
    assert completed(pair.server_events).group == chosen
    assert not [m for m in hellos(pair, ServerHello) if m.is_hello_retry_request]
    assert len(hellos(pair, ClientHello)) == 1


def test_server_asks_for_a_share_only_when_none_fits() -> None:
    """No share in a group we accept: HelloRetryRequest for our first choice among the client's groups."""
    ccfg = client_config(groups=(G.X25519, G.SECP256R1, G.SECP384R1), key_share_groups=(G.X25519,))
    scfg = server_config(groups=(G.SECP384R1, G.SECP256R1))
    pair = traced_pair(ccfg, scfg).handshake()
    retries = [m for m in hellos(pair, ServerHello) if m.is_hello_retry_request]
    assert len(retries) == 1
    assert completed(pair.server_events).group == G.SECP384R1


def test_zero_rtt_with_a_p256_share_is_accepted_without_a_retry() -> None:
    """A client whose share is for a group we accept but do not prefer keeps its 0-RTT data."""
    scfg = server_config(max_early_data_size=1024)
    ccfg = client_config(groups=(G.SECP256R1, G.X25519), key_share_groups=(G.SECP256R1,))
    first = ConnectionPair(ccfg, scfg).handshake()
    (ticket, *_) = of_type(first.client_events, SessionTicketReceived)
    pair = traced_pair(ccfg, scfg, session=ticket.session, early_data=b"GET / (0-RTT)").handshake()
    assert len(hellos(pair, ClientHello)) == 1
    done = completed(pair.server_events)
    assert done.early_data_accepted and done.group == G.SECP256R1
    assert b"".join(e.data for e in of_type(pair.server_events, EarlyDataReceived)) == b"GET / (0-RTT)"


# --- 10. new tickets after a resumed handshake too (§4.6.1), within the first handshake's lifetime ------


def _tickets(events: list) -> list[Session]:
    return [e.session for e in of_type(events, SessionTicketReceived)]


def test_server_sends_tickets_after_a_resumed_handshake_and_they_resume() -> None:
    scfg = server_config(tickets=3)
    ccfg = client_config()
    first = ConnectionPair(ccfg, scfg).handshake()
    session = _tickets(first.client_events)[0]
    for _ in range(2):  # each resumption hands out tickets that resume again
        c = ClientConnection(ccfg, "localhost", session=session)
        pair = ConnectionPair(client=c, server=ServerConnection(scfg)).handshake()
        assert completed(pair.server_events).resumed
        fresh = _tickets(pair.client_events)
        assert len(fresh) == 3
        session = fresh[-1]


def test_tickets_after_resumption_keep_the_client_certificate() -> None:
    scfg = server_config(client_verifier=verifier())
    ccfg = client_config(certificate_chain=client_chain(), private_key=client_leaf().private_key)
    first = ConnectionPair(ccfg, scfg).handshake()
    chain = completed(first.server_events).peer_certificates
    session = _tickets(first.client_events)[0]
    for _ in range(2):
        c = ClientConnection(ccfg, "localhost", session=session)
        pair = ConnectionPair(client=c, server=ServerConnection(scfg)).handshake()
        done = completed(pair.server_events)
        assert done.resumed and done.peer_certificates == chain
        session = _tickets(pair.client_events)[0]


def test_tickets_after_resumption_end_when_the_first_handshake_s_would() -> None:
    """RFC 8446 §4.6.1 recommends a limit on the total lifetime of keying material from one full
    handshake: a ticket issued on a resumed connection lives no longer than the one it resumed."""
    clock = [NOW]
    provider = DeterministicProvider(seed=b"tickets", clock=lambda: clock[0])
    scfg = server_config(ticket_lifetime=3000, provider=provider)
    ccfg = client_config(provider=DeterministicProvider(seed=b"client", clock=lambda: clock[0]))
    first = ConnectionPair(ccfg, scfg).handshake()
    session = _tickets(first.client_events)[0]
    assert session.lifetime == 3000
    clock[0] = NOW + 1000
    c = ClientConnection(ccfg, "localhost", session=session)
    pair = ConnectionPair(client=c, server=ServerConnection(scfg)).handshake()
    assert completed(pair.server_events).resumed
    assert {s.lifetime for s in _tickets(pair.client_events)} == {2000}


# --- 7. after a HelloRetryRequest, skipping refused 0-RTT ends at the second ClientHello (§4.2.10) ----


def _retry_with_early_data() -> tuple[TamperingClient, TamperingServer]:
    """A resuming client that sent 0-RTT with a share the server does not accept: the server answered
    with a HelloRetryRequest (skipping the early data meanwhile) and has just taken the second
    ClientHello and sent its flight."""
    scfg = server_config(groups=(G.SECP384R1,), max_early_data_size=1024)
    ccfg = client_config(groups=(G.X25519, G.SECP384R1), key_share_groups=(G.X25519,))
    first = ConnectionPair(ccfg, scfg).handshake()
    session = _tickets(first.client_events)[0]
    c = TamperingClient(ccfg, session=session, early_data=b"GET / (0-RTT)")
    s = TamperingServer(scfg)
    s.receive_data(c.data_to_send())  # ClientHello1, CCS, 0-RTT records: skipped
    c.receive_data(s.data_to_send())  # HelloRetryRequest
    s.receive_data(c.data_to_send())  # ClientHello2; the server's flight follows
    assert s.data_to_send()
    return c, s


@pytest.mark.parametrize("size", [1, 40, 2000])
def test_record_that_does_not_open_after_the_second_client_hello_is_bad_record_mac(size: int) -> None:
    c, s = _retry_with_early_data()
    junk = encode_plaintext(APPLICATION_DATA, bytes(i % 251 for i in range(size)))
    with pytest.raises(BadRecordMac):
        s.receive_data(junk)
    assert_alert_sent(s, c, A.BAD_RECORD_MAC)


def test_early_data_record_after_the_second_client_hello_is_bad_record_mac() -> None:
    """The client's own 0-RTT record, replayed after ClientHello2: under the early key, which the server
    no longer reads."""
    c, s = _retry_with_early_data()
    early = next(r for r in records(bytes(c.wire)) if r.content_type == APPLICATION_DATA)
    with pytest.raises(BadRecordMac):
        s.receive_data(encode_plaintext(APPLICATION_DATA, early.fragment))
    assert_alert_sent(s, c, A.BAD_RECORD_MAC)


# --- 8. the second ClientHello equals the first but for what §4.1.2 allows ------------------------------
# The server is stateless across its HelloRetryRequest: the cookie carries a digest of what ClientHello1
# said that ClientHello2 must repeat, so the check holds on the same connection and on a fresh one.

RETRY_CLIENT = {"groups": (G.X25519, G.SECP384R1), "key_share_groups": (G.X25519,)}
RETRY_SERVER = {"groups": (G.SECP384R1,), "cookie_secret": b"r" * 32}  # the x25519 share does not fit


def _add(ext: object) -> Callable[[ClientHello], ClientHello]:
    return lambda ch: dataclasses.replace(ch, extensions=(*(ch.extensions or ()), ext))  # type: ignore[arg-type]


def _key_shares(*groups: NamedGroup) -> Callable[[ClientHello], ClientHello]:
    def change(ch: ClientHello) -> ClientHello:
        ks = ch.extension(KeyShareClientHello)
        assert ks is not None
        entries = {e.group: e for e in ks.client_shares}
        for g in groups:
            entries.setdefault(g, KeyShareEntry(g, bytes(range(1, SHARE_SIZES[g] + 1))))
        return set_ext(ch, KeyShareClientHello, KeyShareClientHello(tuple(entries[g] for g in groups)))

    return change


def _reorder(ch: ClientHello) -> ClientHello:
    exts = list(ch.extensions or ())
    exts[0], exts[1] = exts[1], exts[0]
    return dataclasses.replace(ch, extensions=tuple(exts))


SECOND_HELLO_CHANGES: dict[str, Callable[[ClientHello], ClientHello]] = {
    "random": lambda ch: dataclasses.replace(ch, random=bytes(32)),
    "legacy_version": lambda ch: dataclasses.replace(ch, legacy_version=ProtocolVersion.TLS1_0),
    "cipher_suites_trimmed": lambda ch: dataclasses.replace(ch, cipher_suites=ch.cipher_suites[:1]),
    "cipher_suites_reordered": lambda ch: dataclasses.replace(
        ch, cipher_suites=(ch.cipher_suites[0], *ch.cipher_suites[:0:-1])
    ),
    "supported_groups_trimmed": lambda ch: set_ext(ch, SupportedGroups, SupportedGroups((G.SECP384R1,))),
    "signature_algorithms": lambda ch: set_ext(
        ch, SignatureAlgorithms, SignatureAlgorithms((S.ECDSA_SECP256R1_SHA256, S.ED25519))
    ),
    "server_name": lambda ch: set_ext(ch, ServerName, ServerName(("other.example",))),
    "alpn_added": _add(ALPN((b"h2",))),
    "extension_added": _add(RecordSizeLimit(4096)),
    "extension_removed": lambda ch: set_ext(ch, PskKeyExchangeModes, None),
    "unknown_extension_added": _add(UnknownExtension(ExtensionType(0xFAFA), b"grease")),
    "pre_shared_key_added": _add(PreSharedKeyClientHello((PskIdentity(b"ticket", 0),), (bytes(32),))),
    "early_data_added": _add(EarlyData()),
    "two_key_shares": _key_shares(G.SECP384R1, G.X25519),
    "extensions_reordered": _reorder,
}


def _second_hello(
    tamper: Callable[[ClientHello], ClientHello] | None, *, fresh: bool, **client: object
) -> tuple[TamperingClient, TamperingServer]:
    """ClientHello1 to a server that answers with a HelloRetryRequest; the client's (tampered)
    ClientHello2 goes to that same server, or to a fresh one with the same config."""
    ccfg = client_config(**{**RETRY_CLIENT, **client})
    scfg = server_config(**RETRY_SERVER)
    c = TamperingClient(ccfg, tamper=replacing(ClientHello, tamper, nth=2) if tamper else None)
    s = TamperingServer(scfg)
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    return c, (TamperingServer(scfg) if fresh else s)


@pytest.mark.parametrize("fresh", [False, True], ids=["same_connection", "fresh_connection"])
@pytest.mark.parametrize("change", list(SECOND_HELLO_CHANGES))
def test_server_refuses_second_client_hello_that_changed(change: str, fresh: bool) -> None:
    c, s = _second_hello(SECOND_HELLO_CHANGES[change], fresh=fresh)
    with pytest.raises(IllegalParameter):
        ConnectionPair(client=c, server=s).pump()
    assert_alert_sent(s, c, A.ILLEGAL_PARAMETER)


def _padding(length: int) -> Callable[[ClientHello], ClientHello]:
    """A padding extension of ``length`` bytes, replacing the one there is (before pre_shared_key)."""

    def change(ch: ClientHello) -> ClientHello:
        exts = [e for e in ch.extensions or () if not isinstance(e, Padding)]
        at = len(exts) - (1 if exts and isinstance(exts[-1], PreSharedKeyClientHello) else 0)
        return dataclasses.replace(ch, extensions=(*exts[:at], Padding(length), *exts[at:]))

    return change


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("random", "changed random"),
        ("cipher_suites_trimmed", "changed cipher_suites"),
        ("supported_groups_trimmed", "changed supported_groups"),
        ("extension_added", "changed record_size_limit (added)"),
        ("extension_removed", "changed psk_key_exchange_modes (removed)"),
        ("extensions_reordered", "changed the order of its extensions"),
    ],
)
def test_same_connection_names_what_the_second_client_hello_changed(change: str, named: str) -> None:
    c, s = _second_hello(SECOND_HELLO_CHANGES[change], fresh=False)
    with pytest.raises(IllegalParameter, match=re.escape(named)):
        ConnectionPair(client=c, server=s).pump()


ALLOWED_CHANGES: dict[str, Callable[[ClientHello], ClientHello]] = {
    "unchanged": lambda ch: ch,
    "padding_added": _padding(100),
    "padding_resized": lambda ch: set_ext(ch, Padding, Padding(7)),
    "padding_removed": lambda ch: set_ext(ch, Padding, None),
}


@pytest.mark.parametrize("fresh", [False, True], ids=["same_connection", "fresh_connection"])
@pytest.mark.parametrize("change", list(ALLOWED_CHANGES))
def test_server_accepts_second_client_hello_with_allowed_changes(change: str, fresh: bool) -> None:
    padded = {"client_hello_hook": _padding(40)} if change != "padding_added" else {}
    c, s = _second_hello(ALLOWED_CHANGES[change], fresh=fresh, **padded)
    pair = ConnectionPair(client=c, server=s).handshake()
    assert completed(pair.server_events).group == G.SECP384R1


def _resumed_retry(
    tamper: Callable[[ClientHello], ClientHello], *, fresh: bool
) -> tuple[TamperingClient, TamperingServer]:
    scfg = server_config(**RETRY_SERVER, max_early_data_size=1024)
    ccfg = client_config(**RETRY_CLIENT)
    session = _tickets(ConnectionPair(ccfg, scfg).handshake().client_events)[0]
    tampering = replacing(ClientHello, tamper, nth=2)
    c = TamperingClient(ccfg, session=session, early_data=b"0-RTT", tamper=tampering)
    s = TamperingServer(scfg)
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    return c, (TamperingServer(scfg) if fresh else s)


@pytest.mark.parametrize("fresh", [False, True], ids=["same_connection", "fresh_connection"])
def test_server_refuses_early_data_in_second_client_hello_of_a_resumption(fresh: bool) -> None:
    c, s = _resumed_retry(_add(EarlyData()), fresh=fresh)
    with pytest.raises(IllegalParameter):
        ConnectionPair(client=c, server=s).pump()
    assert_alert_sent(s, c, A.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("fresh", [False, True], ids=["same_connection", "fresh_connection"])
def test_server_accepts_second_client_hello_that_drops_its_ticket(fresh: bool) -> None:
    """Removing pre_shared_key (a PSK incompatible with the HRR's suite, §4.1.2) is allowed: a full
    handshake."""
    c, s = _resumed_retry(lambda ch: set_ext(ch, PreSharedKeyClientHello, None), fresh=fresh)
    pair = ConnectionPair(client=c, server=s).handshake()
    assert not completed(pair.server_events).resumed


@pytest.mark.parametrize("fresh", [False, True], ids=["same_connection", "fresh_connection"])
def test_server_resumes_with_the_updated_ticket_of_the_second_client_hello(fresh: bool) -> None:
    c, s = _resumed_retry(lambda ch: ch, fresh=fresh)
    pair = ConnectionPair(client=c, server=s).handshake()
    done = completed(pair.server_events)
    assert done.resumed and not done.early_data_accepted


def test_no_tickets_when_the_resumed_ticket_is_about_to_expire() -> None:
    clock = [NOW]
    provider = DeterministicProvider(seed=b"tickets", clock=lambda: clock[0])
    scfg = server_config(ticket_lifetime=3000, provider=provider)
    ccfg = client_config(provider=DeterministicProvider(seed=b"client", clock=lambda: clock[0]))
    session = _tickets(ConnectionPair(ccfg, scfg).handshake().client_events)[0]
    clock[0] = NOW + 2999.5  # still valid, for less than a second
    c = ClientConnection(ccfg, "localhost", session=session)
    pair = ConnectionPair(client=c, server=ServerConnection(scfg)).handshake()
    assert completed(pair.server_events).resumed
    assert _tickets(pair.client_events) == []
