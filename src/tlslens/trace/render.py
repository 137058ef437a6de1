"""Sinks that print trace entries: text (rich styling on a terminal, plain when piped) and JSON lines.

Text layout, one entry a line, decoded fields indented below it::

    [label]   1.52 ms ← ServerHello  90 bytes
                          legacy_version: TLSv1.2 (0x0303)
                          cipher_suite: TLS_AES_128_GCM_SHA256
                          extensions:
                            key_share: group: x25519, length: 32, first_bytes: 9fd7ad6dcff4298d
        1.60 ms · decision [cipher_suite] chose TLS_AES_128_GCM_SHA256: ...

JSON lines: one object per entry (``t_ms side dir kind title detail fields``, plus ``conn`` when the
tracer has a label), and one ``{"kind": "diagram", "rows": [...], "lines": [...]}`` per connection.
"""

from __future__ import annotations

import json
from typing import IO, Protocol, cast

from rich.console import Console
from rich.text import Text

from tlslens.trace.describe import Value
from tlslens.trace.diagram import diagram_json, diagram_lines
from tlslens.trace.tracer import DiagramRow, Role, TraceEntry

ARROWS = {"sent": "→", "received": "←", "local": "·"}
_ARROW_STYLE = {"sent": "cyan", "received": "magenta", "local": "dim"}
_TITLE_STYLE = {
    "message": "bold",
    "record": "dim",
    "secret": "dim",
    "decision": "yellow",
    "event": "green",
    "data": "",
    "alert": "bold red",
    "note": "blue",
}
INDENT = 2


class TextOut(Protocol):
    """Where a sink writes: any text stream (``isatty`` is used when present)."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


def _scalar(v: Value) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _is_scalar(v: Value) -> bool:
    return not isinstance(v, list | dict)


def _inline(v: Value) -> str | None:
    """A value that fits on one line, or None."""
    if _is_scalar(v):
        return _scalar(v)
    if isinstance(v, list):
        if not v:
            return "(none)"
        if all(_is_scalar(x) for x in v):
            return ", ".join(_scalar(x) for x in v)
        return None
    if isinstance(v, dict) and all(_is_scalar(x) for x in v.values()):
        return ", ".join(f"{k}: {_scalar(x)}" for k, x in v.items())
    return None


def field_lines(fields: dict[str, Value], indent: int = 0) -> list[str]:
    """Nested fields as indented ``key: value`` lines. Extension lists print as ``name: value``."""
    pad = " " * indent
    out: list[str] = []
    for key, v in fields.items():
        one = _inline(v)
        if one is not None:
            out.append(f"{pad}{key}: {one}")
            continue
        out.append(f"{pad}{key}:")
        if isinstance(v, dict):
            out += field_lines(v, indent + INDENT)
            continue
        assert isinstance(v, list)
        for item in v:
            if isinstance(item, dict) and set(item) == {"name", "value"}:  # an extension
                out += field_lines({str(item["name"]): item["value"]}, indent + INDENT)
            elif isinstance(item, dict):
                sub = field_lines(item, indent + INDENT + 2)
                out.append(pad + " " * INDENT + "- " + sub[0].lstrip())
                out += sub[1:]
            else:
                out.append(pad + " " * INDENT + "- " + (_inline(item) or json.dumps(item)))
    return out


class TextSink:
    """Readable trace lines; rich colour only when ``stream`` is a terminal (or ``colour=True``)."""

    def __init__(self, stream: TextOut, *, colour: bool | None = None) -> None:
        self.stream = stream
        if colour is None:
            isatty = getattr(stream, "isatty", None)
            colour = bool(isatty and isatty())
        self.console = (
            Console(
                file=cast(IO[str], stream),
                force_terminal=True,
                highlight=False,
                soft_wrap=True,
                markup=False,
                emoji=False,
            )
            if colour
            else None
        )

    def _write(self, line: Text) -> None:
        if self.console is not None:
            self.console.print(line)
        else:
            self.stream.write(line.plain + "\n")
            self.stream.flush()

    def line(self, text: str, style: str = "") -> None:
        """A line of the face's own (the demo's narration), styled on a terminal."""
        self._write(Text(text, style=style))

    def entry(self, entry: TraceEntry, label: str) -> None:
        prefix = f"[{label}] " if label else ""
        line = Text()
        line.append(prefix, style="dim")
        line.append(f"{entry.t * 1000:9.2f} ms ", style="dim")
        line.append(ARROWS[entry.direction] + " ", style=_ARROW_STYLE[entry.direction])
        title = f"decision [{entry.title}]" if entry.kind == "decision" else entry.title
        line.append(title, style=_TITLE_STYLE.get(entry.kind, ""))
        if entry.detail:
            line.append(
                ("  " if entry.kind != "decision" else " ") + entry.detail,
                style="yellow" if entry.kind == "decision" else "dim",
            )
        self._write(line)
        if entry.fields:
            pad = " " * (len(prefix) + 15)
            for text in field_lines(entry.fields):
                self._write(Text(pad + text))

    def diagram(self, rows: list[DiagramRow], side: Role, label: str) -> None:
        lines = diagram_lines(rows, side, label)
        self._write(Text(""))
        self._write(Text(lines[0], style="bold"))
        for text in lines[1:]:
            styled = Text(text)
            styled.highlight_regex(r"[─►◄]+", "cyan")
            self._write(styled)


class JsonSink:
    """One JSON object a line."""

    def __init__(self, stream: TextOut) -> None:
        self.stream = stream

    def _write(self, obj: dict[str, object], label: str) -> None:
        if label:
            obj["conn"] = label
        self.stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.stream.flush()

    def entry(self, entry: TraceEntry, label: str) -> None:
        obj: dict[str, object] = {
            "t_ms": round(entry.t * 1000, 3),
            "side": entry.side,
            "dir": entry.direction,
            "kind": entry.kind,
            "title": entry.title,
            "detail": entry.detail,
        }
        if entry.fields is not None:
            obj["fields"] = entry.fields
        self._write(obj, label)

    def diagram(self, rows: list[DiagramRow], side: Role, label: str) -> None:
        self._write(
            {
                "kind": "diagram",
                "side": side,
                "rows": diagram_json(rows),
                "lines": diagram_lines(rows, side, label),
            },
            label,
        )
