"""The human report: the grade and why first, then findings by severity with their fixes, then the
details (protocols, suites, groups, chains). Rendered with rich; colour only on a terminal (the
Console decides). Built from the JSON report, so both always say the same.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

__all__ = ["render"]

_GRADE_STYLE = {
    "A+": "bold green",
    "A": "bold green",
    "A-": "bold green",
    "B": "bold yellow",
    "C": "bold yellow",
}
_SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def _grade_style(grade: str | None) -> str:
    return _GRADE_STYLE.get(grade or "", "bold red")


def render(report: dict[str, Any], console: Console, *, changes: list[str] | None = None) -> None:
    """Print one target's report (``report`` is ``scan.report.to_json``'s dict)."""
    target = report["target"]
    if report.get("error"):
        console.print(Text.assemble((f"{target}: ", "bold"), ("not scanned: ", "bold red"), report["error"]))
        return
    grade = report["grade"]
    where = [report["ip"] or f"through the proxy {report.get('proxy')}"]
    if report.get("starttls"):
        where.append(f"STARTTLS {report['starttls']}")
    if report.get("server_name"):
        where.append(f"SNI {report['server_name']}")
    head = Text.assemble(
        (f"{target}", "bold"),
        (f" ({', '.join(where)})", ""),
        ("  grade ", ""),
        (grade, _grade_style(grade)),
    )
    if report["grade_if_trusted"] != grade:
        head.append(f"  (if trust issues are ignored: {report['grade_if_trusted']})")
    console.print(head)
    s = report["scores"]
    console.print(
        f"  scores: protocol {s['protocol']}, key exchange {s['key_exchange']}, cipher {s['cipher']}; "
        f"total {s['total']}   ({report['probes']} probes, {report['elapsed_s']:.2f} s)"
    )
    for reason in report["grade_reasons"]:
        console.print(f"  · {reason}")
    for step in report["improvements"]:
        console.print(
            Text.assemble(
                "  → to reach ", (step["grade"], _grade_style(step["grade"])), ": " + "; ".join(step["fixes"])
            )
        )
    if changes:
        console.print(Text("\nChanges since the saved scan:", style="bold"))
        for change in changes:
            console.print(f"  {change}")
    _findings(report["findings"], console)
    _details(report, console)
    console.print()


def _findings(findings: list[dict[str, Any]], console: Console) -> None:
    if not findings:
        console.print(Text("\nNo problems found.", style="green"))
        return
    console.print(Text(f"\nFindings ({len(findings)}):", style="bold"))
    for f in findings:
        style = _SEVERITY_STYLE[f["severity"]]
        console.print(
            Text.assemble("  ", (f"{f['severity']:<8}", style), " ", (f["code"], "bold"), f"  {f['title']}")
        )
        console.print(Text(f"      {f['detail']}"))
        if f["fix"]:
            console.print(Text(f"      fix: {f['fix']}", style="green"))


def _yes_no(value: Any) -> str:
    return {True: "yes", False: "no", None: "not tested"}.get(value, str(value))


def _details(report: dict[str, Any], console: Console) -> None:
    console.print(Text("\nProtocols:", style="bold"))
    console.print("  " + "  ".join(f"{p} {_yes_no(on)}" for p, on in report["protocols"].items()))
    console.print(Text("Cipher suites:", style="bold"))
    for version, entry in reversed(report["cipher_suites"].items()):
        order = {"server": "server order", "client": "client order", None: "one suite"}[entry["order"]]
        console.print(f"  {version} ({order}):")
        for suite in entry["suites"]:
            bits = f"{suite['bits']} bits" if "bits" in suite else ""
            fs = "" if suite.get("forward_secrecy", True) else ", no forward secrecy"
            console.print(f"    {suite['name']}  {bits}{fs}")
    if report["groups"]:
        console.print(Text("Groups:", style="bold"))
        for version, entry in report["groups"].items():
            order = {"server": "server order", "client": "client order", None: ""}[entry["order"]]
            console.print(f"  {version}: {', '.join(entry['groups'])}" + (f" ({order})" if order else ""))
    console.print(Text("Key exchange:", style="bold"))
    console.print("  " + ", ".join(k["what"] or f"{k['kind']} {k['bits']}" for k in report["key_exchange"]))
    console.print(Text("Certificates:", style="bold"))
    for cert in report["certificates"]:
        hows = "; ".join(s["how"] for s in cert["served"])
        state = "valid" if cert["valid"] else "INVALID"
        console.print(f"  {state} chain ({hows}):")
        for i, c in enumerate(cert["chain"]):
            console.print(
                f"    #{i} {c['subject']}  ({c['key']}, until {c['not_after']}, {c['days_left']} days)"
            )
        if cert["aia"]:
            a = cert["aia"]
            what = "completes the chain" if a["completes_chain"] else f"does not help ({a['error']})"
            console.print(f"    AIA {a['url']}: {', '.join(a['fetched']) or 'nothing'}: {what}")
    server = report["server"]
    console.print(Text("Server:", style="bold"))
    resumption = server["resumption"]
    protocols = report["protocols"]
    items = [
        f"ALPN {server['alpn']['selected'] or 'none'}",
        f"OCSP stapling {_yes_no(server['ocsp_stapling'])}",
    ]
    if protocols.get("TLSv1.3"):
        items += [
            f"TLS 1.3 resumption {_yes_no(resumption['tls13_resumed'])}",
            f"0-RTT {_yes_no(server['zero_rtt']['accepted'] if server['zero_rtt'] else None)}",
        ]
    if protocols.get("TLSv1.2"):
        items.append(
            f"TLS 1.2 resumption by ticket {_yes_no(resumption.get('tls12_resumed_by_ticket'))}"
            f", by session ID {_yes_no(resumption.get('tls12_resumed_by_session_id'))}"
        )
    items += [
        f"secure renegotiation {_yes_no(server['secure_renegotiation'])}",
        f"extended master secret {_yes_no(server['extended_master_secret'])}",
        f"TLS_FALLBACK_SCSV {_yes_no(server['fallback_scsv'])}",
    ]
    console.print("  " + "; ".join(items))
    hsts = report["hsts"]
    if hsts["tested"]:
        console.print(f"  HSTS: {hsts['header'] or 'none'} (GET / → HTTP {hsts['http_status']})")
    else:
        console.print(f"  HSTS: not tested ({hsts['reason']})")
    for check, why in report["not_tested"].items():
        if check not in ("hsts", "zero_rtt"):
            console.print(Text(f"  {check}: not tested ({why})", style="dim"))
