"""``tlslens scan HOST[:PORT]...``: protocols, cipher suites, groups, certificates and server behaviour,
graded the SSL Labs way, with the fix for each problem.

Output: a human report (colour and progress on a terminal only), or ``--json``: one JSON object per
target per line, streamed as each target finishes (schema: docs/scan-schema.md).

Every connection of a scan goes the same way: ``--proxy URL`` (an HTTP CONNECT proxy; without it
``https_proxy`` / ``HTTPS_PROXY`` as curl reads them, unless ``NO_PROXY`` lists the host, and not with
``--starttls``) and ``--starttls PROTO`` (the protocol's plaintext dialogue first; the port defaults to
the protocol's). ``tlslens.adapters.proxy`` and ``tlslens.adapters.starttls`` speak them.

Exit status: 0 every target scanned and graded at or above ``--fail-below`` (default: no minimum);
1 a target graded below it; 2 a target could not be scanned (one line on stderr says why) or a usage
error.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tlslens.cli.catalog import STARTTLS_PORTS
from tlslens.cli.common import load_store, parse_target

if TYPE_CHECKING:
    from rich.console import Console

    from tlslens.adapters.proxy import Proxy

DEFAULT_PORT = 443
_GRADE_ORDER = ("A+", "A", "A-", "B", "C", "D", "E", "F", "T", "M")


def _grade_rank(grade: str | None) -> int:
    return _GRADE_ORDER.index(grade) if grade in _GRADE_ORDER else len(_GRADE_ORDER)


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, sep, count = value.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 1 <= int(index) <= int(count):
        raise click.BadParameter(f"{value!r} is not I/N with 1 <= I <= N (e.g. 2/8)", param_hint="--shard")
    return int(index), int(count)


def in_shard(label: str, shard: tuple[int, int] | None) -> bool:
    """Stable across machines and file orders: a hash of the target picks its shard."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(label.encode()).hexdigest(), 16) % count == index - 1


def _read_targets(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--targets") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def _proxy_option(proxy: str | None, starttls: str | None) -> Proxy | None:
    """``--proxy`` parsed ('' turns the environment's off); the environment's checked once (its use is
    per target: ``NO_PROXY``), so a bad value is one usage error rather than one per target."""
    from tlslens.adapters.proxy import parse_proxy

    try:
        if proxy is not None:
            return parse_proxy(proxy) if proxy else None
        url = os.environ.get("https_proxy") or os.environ.get("HTTPS_PROXY")
        if url and starttls is None:
            parse_proxy(url)
    except ValueError as exc:
        raise click.BadParameter(
            str(exc), param_hint="--proxy" if proxy is not None else "HTTPS_PROXY"
        ) from None
    return None


def _label(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@click.command("scan")
@click.argument("targets", nargs=-1, metavar="HOST[:PORT]...")
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read targets from FILE, one per line ('#' starts a comment).",
)
@click.option("--servername", metavar="N", help="SNI to send and the name certificates must match.")
@click.option(
    "--cafile",
    "cafiles",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Trust these CA certificates (PEM file or folder) instead of the system store; repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per target per line (JSON Lines).")
@click.option(
    "--fail-below",
    metavar="GRADE",
    type=click.Choice(_GRADE_ORDER[:8]),
    help="Exit 1 when a target grades below GRADE (T and M are below every grade).",
)
@click.option(
    "--diff",
    "diff_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Say what changed since a saved --json scan.",
)
@click.option("--shard", metavar="I/N", help="Scan only the I-th of N shares of the targets (1-based).")
@click.option(
    "--resume",
    "resume_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Skip targets already in this --json output (append the new lines to it).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds for one probe or handshake.",
)
@click.option(
    "--connections",
    type=click.IntRange(1, 64),
    default=5,
    show_default=True,
    help="Connections to one host at a time.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 4096),
    default=16,
    show_default=True,
    help="Hosts scanned at a time.",
)
@click.option(
    "--starttls",
    type=click.Choice(tuple(STARTTLS_PORTS)),
    help="Speak this protocol in plain text until it starts TLS, before every probe (the port defaults "
    "to the protocol's; no HTTP, so no HSTS).",
)
@click.option(
    "--proxy",
    metavar="URL",
    help="Reach the targets through this HTTP proxy (CONNECT), e.g. http://proxy:3128 (default: "
    "$https_proxy / $HTTPS_PROXY unless $NO_PROXY lists the host, not with --starttls; '' for none).",
)
@click.option("--no-http", is_flag=True, help="Do not send GET / (HSTS is then not tested).")
@click.option("--no-aia", is_flag=True, help="Do not download missing intermediates from AIA URLs.")
def scan(
    targets: tuple[str, ...],
    targets_file: Path | None,
    servername: str | None,
    cafiles: tuple[Path, ...],
    as_json: bool,
    fail_below: str | None,
    diff_file: Path | None,
    shard: str | None,
    resume_file: Path | None,
    timeout: float,
    connections: int,
    concurrency: int,
    starttls: str | None,
    proxy: str | None,
    no_http: bool,
    no_aia: bool,
) -> None:
    """Scan TLS servers: protocols, suites, groups, certificates, HSTS; grade them like SSL Labs."""
    from tlslens.scan.runner import ScanOptions

    texts = list(targets) + (_read_targets(targets_file) if targets_file is not None else [])
    if not texts:
        raise click.UsageError("give at least one HOST[:PORT] or --targets FILE")
    default_port = STARTTLS_PORTS[starttls] if starttls is not None else DEFAULT_PORT
    parsed = [parse_target(t, default_port) for t in texts]
    chosen_proxy = _proxy_option(proxy, starttls)
    wanted = _parse_shard(shard)
    done: set[str] = set()
    if resume_file is not None:
        from tlslens.scan.diff import load_reports

        done = set(load_reports(resume_file))
    queue = [
        (h, p)
        for h, p in dict.fromkeys(parsed)
        if in_shard(_label(h, p), wanted) and _label(h, p) not in done
    ]
    store = load_store(cafiles)
    options = ScanOptions(
        servername=servername,
        trust=store,
        timeout=timeout,
        connections=connections,
        concurrency=concurrency,
        http=not no_http,
        aia=not no_aia,
        starttls=starttls,
        proxy=chosen_proxy,
        proxy_from_environment=proxy is None,
    )
    old: dict[str, dict[str, Any]] = {}
    if diff_file is not None:
        from tlslens.scan.diff import load_reports

        old = load_reports(diff_file)
    import asyncio  # here: `tlslens scan --help` stays light

    code = asyncio.run(_run(queue, options, as_json, fail_below, old if diff_file else None))
    sys.exit(code)


async def _run(
    queue: list[tuple[str, int]],
    options: Any,
    as_json: bool,
    fail_below: str | None,
    old: dict[str, dict[str, Any]] | None,
) -> int:
    from tlslens.scan.diff import diff_reports
    from tlslens.scan.report import to_json
    from tlslens.scan.runner import scan_many

    # rich only where it shows something: the report, progress on a terminal, a target's error
    out = None if as_json else _console(stderr=False)
    err = None if as_json and not sys.stderr.isatty() else _console(stderr=True)
    code = 0
    status = None
    finished = 0
    if err is not None and err.is_terminal and queue:
        status = err.status(f"scanning {len(queue)} target(s)...")
        status.start()
    try:
        async for result in scan_many(queue, options, options.trust):
            finished += 1
            if status is not None:
                status.update(f"scanning: {finished}/{len(queue)} done, last {result.label}")
            report = to_json(result)
            changes = None
            if old is not None:
                changes = diff_reports(old.get(report["target"]), report)
                report["changes"] = changes
            if out is None:  # --json
                sys.stdout.write(json.dumps(report, separators=(",", ":")) + "\n")
                sys.stdout.flush()
            else:
                from tlslens.scan.render import render

                render(report, out, changes=changes)
            if report.get("error"):
                err = err or _console(stderr=True)
                err.print(
                    f"tlslens scan: {report['target']}: {report['error']}", highlight=False, soft_wrap=True
                )
                code = 2
            elif (
                fail_below is not None
                and _grade_rank(report["grade"]) > _grade_rank(fail_below)
                and code == 0
            ):
                code = 1
    finally:
        if status is not None:
            status.stop()
    return code


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    if stderr:
        return Console(stderr=True, highlight=False)
    return Console(soft_wrap=True, highlight=False)
