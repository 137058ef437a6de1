"""tlslens scan against sslyze on six local servers: wall time side by side, and the findings compared.

    python bench/scan_bench.py [--rounds 3] [--sslyze PATH] [--json]

Starts six servers on 127.0.0.1 (stopped by PID at the end), each with a throwaway chain for localhost:

1. ``openssl s_server`` TLS 1.3 only (ECDSA)
2. ``openssl s_server`` TLS 1.2 only (ECDSA)
3. ``openssl s_server`` TLS 1.0-1.2 with CBC suites (RSA, @SECLEVEL=0)
4. ``openssl s_server`` TLS 1.2, DHE with a 1024-bit group (RSA)
5. nginx, TLS 1.2 + 1.3, ECDHE AEAD suites, HSTS (ECDSA)
6. ``tlslens server --www`` (TLS 1.3)

Then, ``--rounds`` times each, in alternation: ``tlslens scan`` of all six in one invocation (``--json``),
``sslyze`` of all six in one invocation with its default scan commands (``--json_out``), and ``sslyze``
restricted to the checks ``tlslens scan`` also makes (suites of every protocol, curves, certificate,
compression, fallback, renegotiation, resumption, early data, EMS, HTTP headers); and ``tlslens scan``
of server 5 alone (the "one local server" figure). Every figure is wall-clock time of the whole command,
process start included, after one warm-up run of each (so both tools run from compiled bytecode).

Findings compared per server: protocols, accepted cipher suites per protocol, and the elliptic curves
sslyze tests (sslyze does not test FFDHE or hybrid post-quantum groups; tlslens does, and they are left
out of the comparison); then server behaviour where both tools say yes or no: TLS 1.2 resumption by
session ID and by ticket (tlslens over TLS 1.2 handshakes of its own engine, sslyze over OpenSSL's),
extended master secret, secure renegotiation, TLS_FALLBACK_SCSV and the HSTS header.

sslyze is not a dependency of tlslens: install it in a virtual environment of its
own (its nassl pins an older ``cryptography``), e.g. ``python -m venv .venv-sslyze &&
.venv-sslyze/bin/pip install sslyze``; this script looks for ``.venv-sslyze/bin/sslyze``, then ``sslyze``
on PATH, or takes ``--sslyze PATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tlslens.certgen import make_ca, make_leaf

ROOT = Path(__file__).resolve().parents[1]
OPENSSL = shutil.which("openssl")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PEM = serialization.Encoding.PEM
SSLYZE_SAME_CHECKS = [
    "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", "--elliptic_curves", "--certinfo",
    "--compression", "--fallback", "--reneg", "--resum", "--early_data", "--ems", "--http_headers",
]  # fmt: skip
"""sslyze's scan commands for what tlslens scan also checks (its default set adds ROBOT, Heartbleed and
the OpenSSL CCS injection test, and a check against Mozilla's intermediate profile)."""
CURVE_NAMES = {"prime256v1": "secp256r1", "X25519": "x25519", "X448": "x448"}
COMPARED_GROUPS = {"x25519", "x448", "secp256r1", "secp384r1", "secp521r1", "secp224r1", "secp192r1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def write_pki(d: Path) -> dict[str, Path]:
    root = make_ca("bench root")
    inter = make_ca("bench intermediate", issuer=root)
    files = {"root": d / "root.pem", "inter": d / "inter.pem"}
    files["root"].write_bytes(root.certificate.public_bytes(PEM))
    files["inter"].write_bytes(inter.certificate.public_bytes(PEM))
    for kind, key_type in (("ec", "ecdsa-p256"), ("rsa", "rsa2048")):
        leaf = make_leaf(inter, ("localhost", "127.0.0.1"), key_type=key_type, days=30)
        files[f"{kind}-cert"] = d / f"{kind}.pem"
        files[f"{kind}-chain"] = d / f"{kind}-chain.pem"
        files[f"{kind}-key"] = d / f"{kind}.key"
        files[f"{kind}-cert"].write_bytes(leaf.certificate.public_bytes(PEM))
        files[f"{kind}-chain"].write_bytes(
            leaf.certificate.public_bytes(PEM) + inter.certificate.public_bytes(PEM)
        )
        files[f"{kind}-key"].write_bytes(
            leaf.private_key.private_bytes(
                PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return files


@contextlib.contextmanager
def servers(d: Path, f: dict[str, Path]) -> Iterator[dict[str, int]]:
    assert OPENSSL is not None, "openssl is needed"
    procs: list[subprocess.Popen[bytes]] = []
    ports: dict[str, int] = {}
    quiet: dict[str, Any] = {
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "stdin": subprocess.PIPE,
    }

    def s_server(name: str, kind: str, *args: str) -> None:
        port = free_port()
        cert = [
            "-cert",
            str(f[f"{kind}-cert"]),
            "-key",
            str(f[f"{kind}-key"]),
            "-cert_chain",
            str(f["inter"]),
        ]
        cmd = [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", *cert, "-www", "-quiet", *args]
        procs.append(subprocess.Popen(cmd, **quiet))
        wait_listening(port, procs[-1])
        ports[name] = port

    try:
        s_server("openssl-tls13", "ec", "-tls1_3")
        s_server("openssl-tls12", "ec", "-tls1_2")
        legacy = "ECDHE-RSA-AES128-SHA:AES128-SHA:AES256-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
        s_server("openssl-legacy", "rsa", "-no_tls1_3", "-cipher", legacy)
        dh = d / "dh1024.pem"
        subprocess.run([OPENSSL, "dhparam", "-out", str(dh), "1024"], check=True, capture_output=True)
        dhe = "DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
        s_server("openssl-dhe1024", "rsa", "-tls1_2", "-dhparam", str(dh), "-cipher", dhe)
        port = free_port()
        prefix = d / "nginx"
        (prefix / "logs").mkdir(parents=True)
        (prefix / "nginx.conf").write_text(
            f"daemon off; master_process on; worker_processes 2; pid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/logs/error.log warn; events {{ worker_connections 512; }}\n"
            f"http {{ access_log off; client_body_temp_path {prefix}/body;\n"
            f"  server {{ listen 127.0.0.1:{port} ssl http2; server_name localhost;\n"
            f"    ssl_certificate {f['ec-chain']}; ssl_certificate_key {f['ec-key']};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers on;\n"
            "    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
            "ECDHE-ECDSA-CHACHA20-POLY1305;\n"
            '    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;\n'
            '    location / { return 200 "hello\\n"; } } }\n'
        )
        procs.append(subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], **quiet))
        wait_listening(port, procs[-1])
        ports["nginx"] = port
        port = free_port()
        cmd = [sys.executable, "-m", "tlslens", "server", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--cert", str(f["ec-chain"]), "--key", str(f["ec-key"]), "--www"]
        procs.append(subprocess.Popen(cmd, **quiet))
        wait_listening(port, procs[-1])
        ports["tlslens-server"] = port
        yield ports
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGQUIT if proc.args[0] == NGINX else signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("PYTHONDONTWRITEBYTECODE", None)  # both tools run from compiled bytecode, as when installed
    return e


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=600)
    return time.perf_counter() - start, result


def tlslens_cmd(targets: list[str], f: dict[str, Path]) -> list[str]:
    args = ["scan", *targets, "--servername", "localhost", "--cafile", str(f["root"]), "--json"]
    return [sys.executable, "-m", "tlslens", *args]


def sslyze_cmd(sslyze: str, targets: list[str], f: dict[str, Path], out: Path, same: bool) -> list[str]:
    cmd = [
        sslyze,
        *targets,
        "--sni",
        "localhost",
        "--certinfo_ca_file",
        str(f["root"]),
        "--json_out",
        str(out),
    ]
    # Without scan commands sslyze runs its whole default set (and checks Mozilla's intermediate profile);
    # with them, only those.
    return (
        [*cmd, "--quiet", "--mozilla_config", "disable", *SSLYZE_SAME_CHECKS] if same else [*cmd, "--quiet"]
    )


def tlslens_view(report: dict[str, Any]) -> dict[str, Any]:
    groups: set[str] = set()
    for entry in report.get("groups", {}).values():
        groups |= set(entry["groups"])
    server = report["server"]
    hsts = report["hsts"]
    return {
        "protocols": sorted(p for p, on in report["protocols"].items() if on),
        "suites": {p: sorted(s["name"] for s in e["suites"]) for p, e in report["cipher_suites"].items()},
        "curves": sorted(groups & COMPARED_GROUPS),
        "behaviour": {
            "resumption by session ID": server["resumption"]["tls12_resumed_by_session_id"],
            "resumption by ticket": server["resumption"]["tls12_resumed_by_ticket"],
            "extended master secret": server["extended_master_secret"],
            "secure renegotiation": server["secure_renegotiation"],
            "TLS_FALLBACK_SCSV": server["fallback_scsv"],
            "HSTS header": (hsts["header"] is not None) if hsts["tested"] else None,
        },
        "grade": report["grade"],
        "findings": sorted(f["code"] for f in report["findings"]),
    }


_SSLYZE_PROTOCOLS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}


def sslyze_view(result: dict[str, Any]) -> dict[str, Any]:
    scan = result.get("scan_result") or {}
    suites: dict[str, list[str]] = {}
    for key, label in _SSLYZE_PROTOCOLS.items():
        accepted = ((scan.get(key) or {}).get("result") or {}).get("accepted_cipher_suites") or []
        if accepted:
            suites[label] = sorted(a["cipher_suite"]["name"] for a in accepted)
    curves = ((scan.get("elliptic_curves") or {}).get("result") or {}).get("supported_curves") or []
    names = {CURVE_NAMES.get(c["name"], c["name"]) for c in curves}

    def result(key: str) -> dict[str, Any]:
        return (scan.get(key) or {}).get("result") or {}

    resum = result("session_resumption")
    headers = result("http_headers")
    return {
        "protocols": sorted(suites),
        "suites": suites,
        "curves": sorted(names & COMPARED_GROUPS),
        "behaviour": {
            "resumption by session ID": _RESUMED.get(resum.get("session_id_resumption_result")),
            "resumption by ticket": _RESUMED.get(resum.get("tls_ticket_resumption_result")),
            "extended master secret": result("tls_extended_master_secret").get("supports_ems_extension"),
            "secure renegotiation": result("session_renegotiation").get("supports_secure_renegotiation"),
            "TLS_FALLBACK_SCSV": result("tls_fallback_scsv").get("supports_fallback_scsv"),
            "HSTS header": (headers.get("strict_transport_security_header") is not None)
            if headers and not headers.get("http_error_trace")
            else None,
        },
    }


_RESUMED = {"FULLY_SUPPORTED": True, "PARTIALLY_SUPPORTED": True, "NOT_SUPPORTED": False}
"""sslyze's resumption verdicts (5 attempts each) as yes / no; its others (the server is TLS 1.3-only,
no ticket assigned, ...) are not compared."""


def compare(name: str, ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    out = []
    for key in ("protocols", "curves"):
        if ours[key] != theirs[key]:
            out.append(f"{name}: {key} differ: tlslens {ours[key]}, sslyze {theirs[key]}")
    for proto in sorted(set(ours["suites"]) | set(theirs["suites"])):
        a, b = set(ours["suites"].get(proto, [])), set(theirs["suites"].get(proto, []))
        if a != b:
            out.append(f"{name}: {proto} suites: only tlslens {sorted(a - b)}, only sslyze {sorted(b - a)}")
    for what, mine in ours["behaviour"].items():
        other = theirs["behaviour"].get(what)
        if mine is not None and other is not None and mine != other:
            out.append(f"{name}: {what}: tlslens {_yes(mine)}, sslyze {_yes(other)}")
    return out


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def behaviour_compared(ours: dict[str, Any], theirs: dict[str, Any]) -> int:
    """How many behaviour facts both tools gave an answer for."""
    return sum(
        1 for k, v in ours["behaviour"].items() if v is not None and theirs["behaviour"].get(k) is not None
    )


def find_sslyze(given: str | None) -> str | None:
    if given:
        return given
    local = ROOT / ".venv-sslyze" / "bin" / "sslyze"
    return str(local) if local.exists() else shutil.which("sslyze")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sslyze")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    sslyze = find_sslyze(args.sslyze)
    with tempfile.TemporaryDirectory(prefix="tlslens-scan-bench-") as tmp:
        d = Path(tmp)
        f = write_pki(d)
        with servers(d, f) as ports:
            names = list(ports)
            targets = [f"127.0.0.1:{ports[n]}" for n in names]
            runs: dict[str, list[float]] = {
                "tlslens, 6 servers": [],
                "tlslens, 1 server (nginx)": [],
                "  of which the scan itself": [],
                "  start and scanner import": [],
            }
            if sslyze:
                runs["sslyze, 6 servers (default scan)"] = []
                runs["sslyze, 6 servers (same checks)"] = []
            one = [f"127.0.0.1:{ports['nginx']}"]
            timed(tlslens_cmd(targets, f))  # warm-up: compile, caches
            if sslyze:
                timed(sslyze_cmd(sslyze, targets, f, d / "warm.json", same=True))
            reports: list[dict[str, Any]] = []
            sslyze_json: dict[str, Any] = {}
            for _ in range(args.rounds):
                seconds, result = timed(tlslens_cmd(targets, f))
                runs["tlslens, 6 servers"].append(seconds)
                reports = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
                seconds, single = timed(tlslens_cmd(one, f))
                runs["tlslens, 1 server (nginx)"].append(seconds)
                runs["  of which the scan itself"].append(json.loads(single.stdout)["elapsed_s"])
                runs["  start and scanner import"].append(
                    timed([sys.executable, "-c", "import tlslens.scan.runner"])[0]
                )
                if sslyze:
                    out = d / "sslyze.json"
                    runs["sslyze, 6 servers (default scan)"].append(
                        timed(sslyze_cmd(sslyze, targets, f, out, False))[0]
                    )
                    runs["sslyze, 6 servers (same checks)"].append(
                        timed(sslyze_cmd(sslyze, targets, f, out, True))[0]
                    )
                    # Compared: the run of the same checks (its default scan leaves out resumption and
                    # the HTTP headers).
                    sslyze_json = json.loads(out.read_text())
    by_target = {r["target"]: r for r in reports}
    ours = {n: tlslens_view(by_target[t]) for n, t in zip(names, targets, strict=True)}
    theirs: dict[str, dict[str, Any]] = {}
    for result in sslyze_json.get("server_scan_results", []):
        port = result["server_location"]["port"]
        name = next(n for n in names if ports[n] == port)
        theirs[name] = sslyze_view(result)
    differences = [d for n in names if n in theirs for d in compare(n, ours[n], theirs[n])]
    figures = {k: {"best_s": min(v), "median_s": statistics.median(v), "runs": v} for k, v in runs.items()}
    internal = {r["target"]: r["elapsed_s"] for r in reports}
    if args.json:
        print(
            json.dumps(
                {
                    "figures": figures,
                    "tlslens": ours,
                    "sslyze": theirs,
                    "differences": differences,
                    "tlslens_elapsed_s": internal,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"tlslens scan vs {'sslyze' if sslyze else '(sslyze not found)'}, {args.rounds} rounds, "
        f"{os.cpu_count()} CPUs; wall time of the whole command, process start included\n"
    )
    for key, fig in figures.items():
        print(f"  {key:<36} best {fig['best_s']:6.2f} s   median {fig['median_s']:6.2f} s")
    if sslyze:
        for which in ("default scan", "same checks"):
            ratio = (
                figures["tlslens, 6 servers"]["median_s"]
                / figures[f"sslyze, 6 servers ({which})"]["median_s"]
            )
            print(f"  tlslens / sslyze ({which}): {ratio:.2f} (target < 0.5)")
    print("\nper server (tlslens grade, probes' scan time inside the process):")
    for n, t in zip(names, targets, strict=True):
        r = by_target[t]
        codes = ", ".join(dict.fromkeys(ours[n]["findings"]))
        print(f"  {n:<16} {r['grade']:<3} {r['elapsed_s']:.3f} s  {r['probes']} probes  findings: {codes}")
    print(
        "\nfindings compared with sslyze (protocols, suites per protocol, elliptic curves, and "
        f"{sum(behaviour_compared(ours[n], theirs[n]) for n in theirs)} behaviour facts both answered):"
    )
    if not sslyze:
        print("  sslyze not found")
    elif differences:
        for line in differences:
            print(f"  {line}")
    else:
        print("  identical on all six servers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
