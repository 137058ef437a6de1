"""The handshake trace: engine trace events rendered as text, JSON lines and a round-trip diagram.

    conn = ClientConnection(config, "example.com", trace=True)
    tracer = Tracer(TextSink(sys.stderr), role="client")
    tracer.feed(conn.pending_events())        # the ClientHello
    ...
    tracer.feed(conn.receive_data(data))      # every list of events the connection returns
    tracer.finish()                           # the diagram

The engine only produces events; everything printed is decided here.
"""

from __future__ import annotations

from tlslens.trace.describe import describe_message, message_title
from tlslens.trace.diagram import diagram_lines
from tlslens.trace.render import JsonSink, TextOut, TextSink, field_lines
from tlslens.trace.tracer import DiagramRow, Role, Sink, TraceEntry, Tracer

FORMATS = ("text", "json")


def make_sink(trace_format: str, stream: TextOut, *, colour: bool | None = None) -> Sink:
    """``text`` (colour only on a terminal unless ``colour`` says otherwise) or ``json`` lines."""
    if trace_format == "json":
        return JsonSink(stream)
    if trace_format == "text":
        return TextSink(stream, colour=colour)
    raise ValueError(f"unknown trace format {trace_format!r}; choose one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "DiagramRow",
    "JsonSink",
    "Role",
    "Sink",
    "TextOut",
    "TextSink",
    "TraceEntry",
    "Tracer",
    "describe_message",
    "diagram_lines",
    "field_lines",
    "make_sink",
    "message_title",
]
