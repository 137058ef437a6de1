"""ClientConnection / ServerConnection: the sans-I/O facade (bytes in, events out, bytes to send).

    conn.receive_data(bytes) -> list[Event]    b"" means the transport reached EOF
    conn.send_data(bytes)                      application data (after the handshake)
    conn.update_keys(request_peer=False)       KeyUpdate
    conn.export_keying_material(label, ...)    RFC 8446 §7.5 exporter (after the handshake)
    conn.close()                               close_notify (our side only: TLS 1.3 half-close)
    server.request_client_certificate()        post-handshake CertificateRequest (TLS 1.3)
    conn.data_to_send() -> bytes               what to write to the transport
    conn.pending_events() -> list[Event]       events queued outside receive_data (trace of our sends)
    conn.our_state / conn.their_state          ConnectionState of each direction (lifecycle.py)
    conn.handshake_complete, conn.closed

A connection is its lifecycle and the glue between three parts: the inbound path
(``record/inbound.py``: records routed by content type, flood limits, the 0-RTT gate), the ``Output``
(``output.py``: everything that leaves, and what the state machines act on) and the current handshake
state (``handshake/``), to which it hands each handshake message. Tracing only adds events to that one
path. ``receive_data`` raises ``RemoteProtocolError`` subclasses (their alert already queued) and
``FatalAlert``; whatever it raises, the connection has failed, and ``exc.events`` holds what the call
reported before the failure. Caller misuse is a ``LocalProtocolError`` naming it.
"""

from __future__ import annotations

import contextlib

from tlslens.config import ClientConfig, ServerConfig
from tlslens.errors import FatalAlert, LocalProtocolError, RemoteProtocolError, TLSError, UnexpectedMessage
from tlslens.events import Event, MessageReceived
from tlslens.handshake.common import State
from tlslens.handshake.common12 import Tls12State
from tlslens.handshake.traffic import ClientTraffic, ServerTraffic
from tlslens.handshake.traffic12 import ClientTraffic12, ServerTraffic12
from tlslens.lifecycle import ConnectionState, Lifecycle
from tlslens.output import Output
from tlslens.record.inbound import CHANGE_CIPHER_SPEC, MAX_KEY_UPDATES_WITHOUT_DATA, Inbound
from tlslens.record.layer import RecordLayer
from tlslens.record.protection import MAX_CONSECUTIVE_EMPTY_RECORDS
from tlslens.session.cache import Session
from tlslens.wire.enums import AlertDescription, AlertLevel, ProtocolVersion
from tlslens.wire.hello import ClientHello
from tlslens.wire.messages import CertificateRequest, KeyUpdate
from tlslens.wire.messages12 import ChangeCipherSpec, HelloRequest

_HANDSHAKING = ConnectionState.HANDSHAKING
_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED


class _Connection:
    """What both roles share: the lifecycle, the inbound path, the Output, and the current state."""

    _state: State
    _output_type: type[Output] = Output  # (tests substitute a subclass that tampers with what is sent)

    def __init__(self, config: ClientConfig | ServerConfig, *, server: bool, trace: bool) -> None:
        self._life = Lifecycle()
        self._records = RecordLayer()
        self._inbound = Inbound(self._records, self._life, [], trace=trace)
        self._out = self._output_type(self._records, self._inbound, self._life, config.keylog, server=server)

    # --- lifecycle ----------------------------------------------------------------------------------

    @property
    def our_state(self) -> ConnectionState:
        """What we may still send: HANDSHAKING, OPEN (application data), CLOSED, FAILED."""
        return self._life.ours

    @property
    def their_state(self) -> ConnectionState:
        """What the peer may still send."""
        return self._life.theirs

    @property
    def handshake_complete(self) -> bool:
        return self._life.handshake_done

    @property
    def closed(self) -> bool:
        """True once both directions are closed, or the connection failed."""
        life = self._life
        return life.failure is not None or (life.ours is _CLOSED and life.theirs is _CLOSED)

    # --- receiving ----------------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Process bytes from the peer (b"" = EOF) and return what happened since the last call.

        With ``trace=True`` that includes the trace of what we sent meanwhile (the ClientHello queued by
        the constructor, records sealed by send_data...); ``pending_events()`` takes those without
        waiting for peer bytes."""
        life = self._life
        if life.failure is not None:
            raise LocalProtocolError(f"the connection has already failed ({life.failure})")
        events = self._out.events  # what was queued since the last call comes first
        try:
            if not data:
                self._inbound.eof()
            elif life.theirs is not _CLOSED:  # RFC 8446 §6.1: data after close_notify is ignored
                for fragment in self._inbound.feed(data):
                    if isinstance(fragment, ChangeCipherSpec):
                        self._change_cipher_spec()
                    else:
                        self._handshake_data(fragment)
            if self._records.pending_handshake:
                self._out.flush()
        except BaseException as exc:  # h11's rule: whatever escapes, the connection has failed
            self._fail(exc)
            if isinstance(exc, TLSError):
                exc.events = events
            raise
        finally:
            self._take_events()
        return events

    def _handshake_data(self, fragment: bytes) -> None:
        """Whole handshake messages to the state machine, one at a time. Each message's header is
        judged by the state that will read it (its ``accepts``: type and size), before its body is kept
        beyond the record that brought the header."""
        records = self._records
        out = self._out
        reassembler = records.reassembler
        reassembler.add(fragment)
        while (raw := reassembler.next_message()) is not None:
            message = out.decode(raw)  # (read each time: a ServerHello may switch to TLS 1.2's forms)
            if out.tracing:
                out.events.append(MessageReceived(message, raw))
            if isinstance(message, KeyUpdate | HelloRequest) or (
                isinstance(message, ClientHello | CertificateRequest) and self._life.handshake_done
            ):
                self._inbound.count_key_update()  # (post-handshake messages without data: a flood limit)
            # (RFC 8446 §5.1: a message that changes the read key must end its record; set_read_key
            # checks that nothing of the record is left when the state changes keys.)
            state = self._state = self._state.handle(message, raw, out)
            reassembler.expect(state.accepts)

    def _change_cipher_spec(self) -> None:
        """TLS 1.2: ChangeCipherSpec is part of the handshake; only some states take it."""
        out = self._out
        if out.tracing:
            out.events.append(MessageReceived(CHANGE_CIPHER_SPEC, b"\x01"))
        state = self._state
        if not isinstance(state, Tls12State):  # (the inbound path yields it only in TLS 1.2)
            raise UnexpectedMessage("change_cipher_spec outside a TLS 1.2 handshake")
        state = self._state = state.handle_change_cipher_spec(out)
        self._records.reassembler.expect(state.accepts)

    # --- sending ------------------------------------------------------------------------------------

    def send_data(self, data: bytes | bytearray | memoryview) -> None:
        """Queue application data (split into records as needed)."""
        if self._life.ours is not _OPEN:
            self._check_can_send("application data")
        out, records = self._out, self._records
        if records.write_needs_key_update and out.version != ProtocolVersion.TLS1_2:
            out.send_key_update(request_peer=False)  # RFC 8446 §5.5: well before the AEAD's limit
        if data:
            if out.tracing:
                out.seal_application_data(data)  # (and its RecordSent event)
            else:
                records.seal_application_data(data)

    def update_keys(self, request_peer: bool = False) -> None:
        """Send KeyUpdate and switch to the next write key (RFC 8446 §4.6.3); with ``request_peer`` the
        peer is asked to update its keys too."""
        self._check_can_send("a KeyUpdate")
        if self._out.version == ProtocolVersion.TLS1_2:
            raise LocalProtocolError("TLS 1.2 has no KeyUpdate (and tlslens refuses renegotiation)")
        self._out.send_key_update(request_peer)
        self._out.flush()

    def close(self) -> None:
        """Send close_notify: we will send nothing more. The peer may still send until it closes too."""
        life = self._life
        if life.ours is _CLOSED or life.failure is not None:
            return
        self._out.send_alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)
        life.close_ours()

    def data_to_send(self) -> bytes:
        records = self._records
        if records.pending_handshake:
            self._out.flush()
        return records.take_output()

    def pending_events(self) -> list[Event]:
        """Events queued outside receive_data (trace of what we sent); clears them."""
        self._out.flush()
        return self._take_events()

    def export_keying_material(
        self, label: bytes | str, context: bytes | None = None, length: int = 32
    ) -> bytes:
        """Keying material (RFC 5705; TLS 1.3's exporter of RFC 8446 §7.5), e.g. for channel binding:
        both ends of one connection get the same bytes, nobody else can. ``context=None`` is "no
        context", which TLS 1.2 tells from an empty one (TLS 1.3 does not). A TLS 1.2 session without
        the extended master secret exports nothing (RFC 7627 §5.4)."""
        state = self._state
        if not isinstance(state, ClientTraffic | ServerTraffic | ClientTraffic12 | ServerTraffic12):
            raise LocalProtocolError("keying material can only be exported after the handshake")
        raw_label = label.encode("ascii") if isinstance(label, str) else label
        return state.export_keying_material(raw_label, context, length)

    # --- internals ----------------------------------------------------------------------------------

    def _check_can_send(self, what: str) -> None:
        ours = self._life.ours
        if ours is _OPEN:
            return
        if ours is _HANDSHAKING:
            raise LocalProtocolError(f"{what} can only be sent after the handshake")
        if ours is _CLOSED:
            raise LocalProtocolError(f"{what} cannot be sent: we closed the connection (close_notify)")
        raise LocalProtocolError(f"{what} cannot be sent: the connection has failed ({self._life.failure})")

    def _take_events(self) -> list[Event]:
        """The events so far; the inbound path and the Output go on with a fresh list."""
        events = self._out.events
        self._out.events = self._inbound.events = []
        return events

    def _fail(self, exc: BaseException) -> None:
        """Fail both directions; tell the peer why unless it told us (FatalAlert) or we had closed."""
        life = self._life
        could_send = life.ours is not _CLOSED
        life.fail(exc)
        if not could_send or isinstance(exc, FatalAlert) or not isinstance(exc, Exception):
            return
        alert = exc.alert if isinstance(exc, RemoteProtocolError) else AlertDescription.INTERNAL_ERROR
        self._records.discard_handshake()
        with contextlib.suppress(LocalProtocolError):  # an exhausted write key can send nothing more
            self._out.send_alert(AlertLevel.FATAL, alert)


class ClientConnection(_Connection):
    """The client side of one TLS connection. The ClientHello is queued at once."""

    def __init__(
        self,
        config: ClientConfig,
        server_name: str | None = None,
        *,
        session: Session | None = None,
        early_data: bytes | None = None,
        trace: bool = False,
    ) -> None:
        """``session`` resumes an earlier connection (else one from ``config.session_cache`` is used);
        ``early_data`` is sent as 0-RTT with the ClientHello (it needs a session that allows it, and
        ``HandshakeCompleted.early_data_accepted`` says whether the server took it)."""
        from tlslens.handshake.client13 import start_client

        super().__init__(config, server=False, trace=trace)
        self.config = config
        self.server_name = server_name
        self._records.plaintext_version = 0x0301  # RFC 8446 §5.1: the initial ClientHello's record
        self._state = start_client(config, server_name, self._out, session=session, early_data=early_data)
        self._records.reassembler.expect(self._state.accepts)
        self._out.flush()


class ServerConnection(_Connection):
    """The server side of one TLS connection; it waits for a ClientHello."""

    def __init__(self, config: ServerConfig, *, trace: bool = False) -> None:
        from tlslens.handshake.server13 import start_server

        super().__init__(config, server=True, trace=trace)
        self.config = config
        self._state = start_server(config)
        self._records.reassembler.expect(self._state.accepts)

    def request_client_certificate(self) -> bytes:
        """Ask the client for a certificate now, after a TLS 1.3 handshake (RFC 8446 §4.6.2), and
        return the certificate_request_context that names this request (unique on the connection).
        The answer arrives as ``ClientCertificateVerified`` or ``ClientCertificateRefused`` with that
        context. The client must have offered post_handshake_auth (``HandshakeCompleted.
        post_handshake_auth``), and ``config.client_verifier`` checks the chain."""
        self._check_can_send("a CertificateRequest")
        if self._life.theirs is _CLOSED:
            raise LocalProtocolError("the client closed its side (close_notify): it can no longer answer")
        state = self._state
        if not isinstance(state, ServerTraffic):
            raise LocalProtocolError("post-handshake authentication is a TLS 1.3 feature")
        context = state.request_client_certificate(self._out)
        self._records.reassembler.expect(state.accepts)
        self._out.flush()
        return context


__all__ = [
    "MAX_CONSECUTIVE_EMPTY_RECORDS",
    "MAX_KEY_UPDATES_WITHOUT_DATA",
    "ClientConnection",
    "ConnectionState",
    "ServerConnection",
]
