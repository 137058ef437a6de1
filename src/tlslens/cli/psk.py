"""``--psk-identity ID --psk HEX`` on ``tlslens client`` and ``tlslens server``: an external PSK (RFC 8446
§2.2) given on the command line, as ``openssl s_client -psk`` / ``s_server -psk`` take it (the key in
hex without 0x; the identity ``Client_identity`` unless given, OpenSSL's default on both sides). The
key must be at least 16 bytes (32 hex digits: RFC 9257 §6); the hash is SHA-256, as OpenSSL's."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from tlslens.credentials import ExternalPsk

DEFAULT_IDENTITY = "Client_identity"
"""What ``openssl s_client`` sends and ``openssl s_server`` expects when no identity is given."""

F = TypeVar("F", bound=Callable[..., object])


def psk_options(f: F) -> F:
    f = click.option(
        "--psk-identity",
        metavar="ID",
        help=f"Identity of the --psk key (default {DEFAULT_IDENTITY}, as OpenSSL's).",
    )(f)
    return click.option(
        "--psk",
        metavar="HEX",
        help="An external pre-shared key, in hex (at least 16 bytes), as openssl -psk.",
    )(f)


def external_psk(identity: str | None, key_hex: str | None) -> ExternalPsk | None:
    """The PSK the options give, or None; usage errors for a bad key."""
    from tlslens.credentials import ExternalPsk
    from tlslens.errors import ConfigurationError

    if key_hex is None:
        if identity is not None:
            raise click.BadParameter(
                "--psk-identity needs --psk (the key, in hex)", param_hint="--psk-identity"
            )
        return None
    text = key_hex.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise click.BadParameter(
            f"{key_hex!r} is not hex (as openssl -psk: no 0x)", param_hint="--psk"
        ) from None
    try:
        return ExternalPsk((identity if identity is not None else DEFAULT_IDENTITY).encode("utf-8"), key)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc).removeprefix("tls: "), param_hint="--psk") from None
