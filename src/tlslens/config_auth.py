"""The checks ``ClientConfig`` and ``ServerConfig`` make of their authentication settings: external
PSKs and PSK key exchange modes (client), a PSK-only server, deferred client authentication and the
client CA names a server advertises."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlslens.crypto.suites import TLS13_SUITES
from tlslens.errors import ConfigurationError
from tlslens.wire.enums import ProtocolVersion, PskKeyExchangeMode

if TYPE_CHECKING:
    from tlslens.config import ClientConfig, ServerConfig

MAX_EXTERNAL_PSKS = 16
"""External PSKs a client offers at most (a server reads at most ``handshake.external_psk``'s limit)."""


def check_client_psks(config: ClientConfig) -> None:
    modes = []
    for m in config.psk_key_exchange_modes:
        try:
            mode = PskKeyExchangeMode[m.upper()] if isinstance(m, str) else PskKeyExchangeMode(m)
        except (KeyError, ValueError):
            raise ConfigurationError(f"unknown PSK key exchange mode {m!r}: psk_dhe_ke or psk_ke") from None
        if mode in modes or not mode.known:
            raise ConfigurationError(f"PSK key exchange mode {m!r} is listed twice or unknown")
        modes.append(mode)
    if not modes:
        raise ConfigurationError("at least one PSK key exchange mode is needed")
    object.__setattr__(config, "psk_key_exchange_modes", tuple(modes))
    psks = tuple(config.external_psks)
    if len(psks) > MAX_EXTERNAL_PSKS:
        raise ConfigurationError(f"{len(psks)} external PSKs: {MAX_EXTERNAL_PSKS} at most")
    if len({p.identity for p in psks}) != len(psks):
        raise ConfigurationError("two external PSKs share an identity")
    hashes_of_suites = {TLS13_SUITES[s].hash.name for s in config.tls13_suites}
    for psk in psks:
        if psk.hash_algorithm.name not in hashes_of_suites:
            raise ConfigurationError(
                f"the PSK {psk.shown} uses {psk.hash}, and no TLS 1.3 cipher suite enabled has that hash"
            )
    object.__setattr__(config, "external_psks", psks)


MAX_CLIENT_CA_NAMES_BYTES = 0xFFFF - 0x400
"""certificate_authorities must fit its 16-bit vector, with room for the rest of a CertificateRequest."""


def check_server_auth(config: ServerConfig) -> None:
    """A PSK-only server speaks TLS 1.3 only; deferred client auth and advertised CAs need a verifier."""
    if not config.certified_keys:
        if ProtocolVersion.TLS1_3 not in config.enabled_versions:
            raise ConfigurationError("a server without a certificate (PSK only) needs TLS 1.3")
        object.__setattr__(config, "_enabled_versions", (ProtocolVersion.TLS1_3,))
    if config.defer_client_auth and config.client_verifier is None:
        raise ConfigurationError("defer_client_auth needs a client_verifier to check the certificate with")
    names: tuple[bytes, ...] = ()
    if config.advertise_client_cas:
        store = getattr(config.client_verifier, "store", None)
        anchors = getattr(store, "certificates", None)
        if anchors is None:
            raise ConfigurationError(
                "advertise_client_cas needs a client_verifier with trust anchors (a WebPkiVerifier)"
            )
        names = tuple(dict.fromkeys(c.subject.public_bytes() for c in anchors))
        size = sum(2 + len(n) for n in names)
        if size > MAX_CLIENT_CA_NAMES_BYTES:
            raise ConfigurationError(
                f"the client CAs' names take {size} bytes, more than certificate_authorities holds:"
                " trust fewer CAs for client certificates"
            )
    object.__setattr__(config, "_client_ca_names", names)
