"""The server's side of 0-RTT records (RFC 8446 §4.2.10): what the handshake decided, applied to records.

Accepted early data is taken up to the ticket's ``max_early_data_size``; refused early data is skipped
(records that do not decrypt under the handshake key, or that arrive before a second ClientHello) up
to a limit, and the first record that does decrypt ends the skipping. Both budgets are bounded, so a
peer cannot make the server skip or buffer without end.
"""

from __future__ import annotations

from tlslens.errors import UnexpectedMessage


class EarlyDataGate:
    __slots__ = ("_accept", "_skip")

    def __init__(self) -> None:
        self._accept = 0  # 0-RTT bytes we still take
        self._skip = 0  # bytes of refused 0-RTT records we may still skip

    def accept(self, limit: int) -> None:
        self._accept = limit

    def end(self) -> None:
        """EndOfEarlyData: application data before Finished is an error again."""
        self._accept = 0

    def skip(self, limit: int) -> None:
        self._skip = limit

    @property
    def skipping(self) -> bool:
        return self._skip > 0

    def stop_skipping(self) -> None:
        self._skip = 0

    def skip_record(self, length: int) -> None:
        self._skip -= length
        if self._skip < 0:
            raise UnexpectedMessage("more refused early data than the server allows")

    def take(self, length: int) -> None:
        """Application data before the handshake completed: fine within an accepted 0-RTT budget."""
        if not self._accept:
            raise UnexpectedMessage("application data before the handshake completed")
        self._accept -= length
        if self._accept < 0:
            raise UnexpectedMessage("more early data than max_early_data_size")
