"""``tlslens server --ocsp FILE`` and ``--ocsp-fetch``: what the server staples when a client asks
(RFC 6066 status_request). A response from a file is checked against our own chain at start (a revoked,
stale or mismatched one is a warning, as ``own_chain`` does for the chain: the server still serves it);
``--ocsp-fetch`` fetches it from the leaf's responder and keeps it fresh in the background
(``tlslens.pki.ocsp_fetch``), logging each fetch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tlslens.config import ServerConfig
from tlslens.pki import TrustStore
from tlslens.pki.ocsp import ocsp_urls, staple_outcome
from tlslens.pki.ocsp_fetch import OcspRefresher

F = TypeVar("F", bound=Callable[..., Any])


def ocsp_options(fn: F) -> F:
    fn = click.option(
        "--ocsp-fetch",
        is_flag=True,
        help="Fetch the OCSP response from the leaf's responder (authorityInfoAccess) and keep it fresh.",
    )(fn)
    return click.option(
        "--ocsp",
        metavar="RESPONSE.der",
        help="Staple this DER OCSP response (as openssl s_server -status_file) when a client asks.",
    )(fn)


def start_ocsp(
    config: ServerConfig,
    ocsp: str | None,
    fetch: bool,
    store: TrustStore | None,
    log: Callable[[str], None],
) -> OcspRefresher | None:
    """Staple ``--ocsp``'s response (warning about what is wrong with it), or start ``--ocsp-fetch``."""
    if ocsp is not None and fetch:
        raise click.UsageError("--ocsp and --ocsp-fetch cannot be used together")
    if not config.certified_keys:  # a PSK-only server: no certificate, nothing to staple
        if ocsp is not None or fetch:
            raise click.UsageError("--ocsp and --ocsp-fetch need a certificate (--cert/--key)")
        return None
    certified = config.certified_keys[0]
    if ocsp is not None:
        try:
            der = Path(ocsp).read_bytes()
            certified.staple.set(der)
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {ocsp}: {exc.strerror or exc}", param_hint="--ocsp"
            ) from None
        except ValueError as exc:
            raise click.BadParameter(
                f"{ocsp} is not a DER OCSP response: {exc}", param_hint="--ocsp"
            ) from None
        issuers = store.by_subject(certified.chain[0].issuer) if store is not None else ()
        outcome = staple_outcome(certified.chain, der, issuers, dt.datetime.now(dt.UTC))
        for finding in outcome.findings:
            log(f"warning: our OCSP response: {finding.code}: {finding.message}")
            log(f"  fix: {finding.fix}")
        return None
    if not fetch:
        return None
    if not ocsp_urls(certified.chain[0]):
        raise click.BadParameter(
            "the leaf names no OCSP responder (authorityInfoAccess)", param_hint="--ocsp-fetch"
        )
    try:
        refresher = OcspRefresher(certified, log=log)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ocsp-fetch") from None
    refresher.start()
    return refresher
