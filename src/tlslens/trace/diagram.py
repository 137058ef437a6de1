"""The round-trip diagram that closes a trace, in the layout of RFC 8446 §2 and the tutorials:

      time  client                                      server
   0.31 ms  ClientHello (key share x25519)  ──────────►
   2.87 ms                                  ◄──────────  ServerHello (TLS_AES_128_GCM_SHA256, x25519)
   2.87 ms                                  ◄──────────  {EncryptedExtensions}
   ...
   4.02 ms  {Finished}                      ──────────►

drawn from the messages the connection really sent and received, with the time this side saw each.
"""

from __future__ import annotations

from tlslens.trace.tracer import DiagramRow, Role

ARROW_RIGHT = "──────────►"
ARROW_LEFT = "◄──────────"
MAX_LEFT = 36
LEGEND = "{…} handshake keys, […] application keys, (…) 0-RTT keys"


def _text(row: DiagramRow) -> str:
    return f"{row.label} ({row.detail})" if row.detail else row.label


def diagram_lines(rows: list[DiagramRow], side: Role, label: str = "") -> list[str]:
    """The diagram as plain lines (no colour); the renderers style them. ``label`` names the connection."""
    of = f" of {label}" if label and label != side else ""
    if not rows:
        return [f"Round trip{of}, as the {side} saw it: nothing was exchanged"]
    left = [len(_text(r)) for r in rows if r.sender == "client"]
    width = max([n for n in left if n <= MAX_LEFT] + [len("client")])
    lines = [
        f"Round trip{of}, as the {side} saw it ({LEGEND}):",
        f"{'time':>10}  {'client':<{width}}  {' ' * len(ARROW_RIGHT)}  server",
    ]
    for row in rows:
        when = f"{row.t * 1000:7.2f} ms"
        text = _text(row)
        if row.sender == "client":
            if len(text) > width:  # a long label gets a line of its own, the arrow on the next
                lines.append(f"{when}  {text}")
                lines.append(f"{'':>10}  {'':<{width}}  {ARROW_RIGHT}")
            else:
                lines.append(f"{when}  {text:<{width}}  {ARROW_RIGHT}")
        else:
            lines.append(f"{when}  {'':<{width}}  {ARROW_LEFT}  {text}")
    return lines


def diagram_json(rows: list[DiagramRow]) -> list[dict[str, object]]:
    return [
        {
            "t_ms": round(r.t * 1000, 3),
            "from": r.sender,
            "to": "server" if r.sender == "client" else "client",
            "message": r.label,
            "detail": r.detail,
        }
        for r in rows
    ]
