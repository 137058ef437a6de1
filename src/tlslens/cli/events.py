"""``Watch``: the event hook the commands give ``tlslens.aio``. It feeds the tracer and keeps what a
command reports that the streams do not say (session tickets, 0-RTT bytes, whether the peer closed
with close_notify).

The trace reads in wire order and says why before what: when we close, the command calls
``closing()`` first, so "→ alert close_notify" comes before the record that carries it; when the
engine fails, the face hands over the failure's events (the last one the record of our fatal alert)
before the command learns why, so ``Watch`` holds that record back until ``failed(exc)`` has traced
the reason and the alert.
"""

from __future__ import annotations

import asyncio

from tlslens.cli.failure import plain
from tlslens.errors import RemoteProtocolError, TLSError
from tlslens.events import (
    ConnectionClosed,
    EarlyDataReceived,
    Event,
    RecordSent,
    SessionTicketReceived,
)
from tlslens.trace import Tracer
from tlslens.wire.enums import AlertDescription, ContentType


class Watch:
    """One connection's event hook (``on_event=watch``).

    Events that arrive together (one read from the network, one write) are traced together, after the
    face is done with them, as one batch with one time: the time an entry shows is when it happened
    on the wire, not when the line before it had been printed."""

    def __init__(self, tracer: Tracer | None) -> None:
        self.tracer = tracer
        self.tickets: list[object] = []
        self.early_data = 0  # bytes of 0-RTT data received
        self.closed_cleanly: bool | None = None  # set when the peer closed
        self.closing_sent = False
        self._pending: list[Event] = []
        self._held: RecordSent | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, SessionTicketReceived):
            self.tickets.append(event.session)
        elif isinstance(event, EarlyDataReceived):
            self.early_data += len(event.data)
        elif isinstance(event, ConnectionClosed):
            self.closed_cleanly = event.clean
        if self.tracer is None:
            return
        if not self._pending:
            try:
                asyncio.get_running_loop().call_soon(self._flush)
            except RuntimeError:  # no loop: trace at once
                self.tracer.feed([event])
                return
        self._pending.append(event)

    def note(self, title: str, detail: str = "") -> None:
        if self.tracer is not None:
            self._flush(release=True)
            self.tracer.note(title, detail)

    def line(self, label: str, direction: str, text: str) -> None:
        """A line of the plaintext exchange before TLS (``label``: proxy, smtp...)."""
        if self.tracer is not None:
            self._flush(release=True)
            self.tracer.note(label, text, "sent" if direction == "sent" else "received")

    def closing(self) -> None:
        """We are about to send close_notify."""
        if self.tracer is not None:
            self._flush(release=True)
            self.tracer.sent_alert(AlertDescription.CLOSE_NOTIFY)
        self.closing_sent = True

    def failed(self, exc: TLSError) -> None:
        """The engine failed with ``exc``: what failed and the alert we sent, then that alert's record."""
        if self.tracer is None:
            return
        self._flush()
        if isinstance(exc, RemoteProtocolError):
            self.tracer.note("failed", plain(exc))
            self.tracer.sent_alert(exc.alert)
        self._flush(release=True)

    def finish(self) -> None:
        """The connection is over: the round-trip diagram."""
        if self.tracer is not None:
            self._flush(release=True)
            self.tracer.finish()

    def _flush(self, release: bool = False) -> None:
        """Trace what is pending, holding back the record of a fatal alert we sent (its reason is not
        known yet) unless ``release``."""
        if self.tracer is None:
            return
        events, self._pending = self._pending, []
        batch: list[Event] = []
        for event in events:
            if self._held is not None:
                batch.append(self._held)
                self._held = None
            alert = isinstance(event, RecordSent) and event.content_type == ContentType.ALERT
            if alert and not self.closing_sent:
                self._held = event  # type: ignore[assignment]  # a RecordSent, as just checked
                continue
            batch.append(event)
        if release and self._held is not None:
            batch.append(self._held)
            self._held = None
        if batch:
            self.tracer.feed(batch)
