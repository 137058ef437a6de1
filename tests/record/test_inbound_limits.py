"""The inbound path against a hostile peer: what each record may carry, how large a handshake message
may be in each state, and the floods it cuts (records that carry nothing, alerts, KeyUpdates).

RFC 8446 §5.4: a protected handshake or alert record with no content is unexpected_message. §4.1.2 and
the per-state limits: before the ClientHello only a ClientHello may arrive, within the ClientHello
limit (a valid one of up to ~128 KiB is read), and every state refuses the types it does not expect at
their 4-byte header, before buffering a body.
"""

from __future__ import annotations

import pytest

from tests.handshake.helpers import (
    APPLICATION_DATA,
    ConnectionPair,
    TamperingClient,
    TamperingServer,
    assert_alert_sent,
    client_config,
    dropping,
    server_config,
)
from tlslens.errors import DecodeError, UnexpectedMessage
from tlslens.wire.enums import AlertDescription, ContentType
from tlslens.wire.messages import Finished

A = AlertDescription
HANDSHAKE = ContentType.HANDSHAKE.value
ALERT = ContentType.ALERT.value


def established() -> tuple[TamperingClient, TamperingServer, int]:
    """A pair after the handshake, and the index of the client's write key the server reads with."""
    c = TamperingClient(client_config())
    s = TamperingServer(server_config())
    ConnectionPair(client=c, server=s).handshake()
    return c, s, -1


def awaiting_client_finished() -> tuple[TamperingClient, TamperingServer, int]:
    """The server has sent its flight; the client processed it but its Finished was held back (so the
    test seals records under the client's handshake key, its first write key)."""
    c = TamperingClient(client_config(), tamper=dropping(Finished))
    s = TamperingServer(server_config())
    ConnectionPair(client=c, server=s).pump()
    assert not s.handshake_complete
    return c, s, 0


# --- conformance 3: protected handshake or alert records without content (§5.4) -----------------------

STAGES = {"during_handshake": awaiting_client_finished, "after_handshake": established}


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize(("inner_type", "padding"), [(HANDSHAKE, 0), (ALERT, 0), (ALERT, 3)])
def test_protected_record_without_content_is_unexpected_message(
    stage: str, inner_type: int, padding: int
) -> None:
    c, s, key = STAGES[stage]()
    with pytest.raises(UnexpectedMessage):
        s.receive_data(c.seal_inner(bytes((inner_type,)) + bytes(padding), key))
    assert_alert_sent(s, c, A.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("content", [b"\x01", b"\x01\x00\x00", b"\x02\x28\x00\x00"], ids=["1", "3", "4"])
def test_protected_alert_of_wrong_length_is_decode_error(content: bytes) -> None:
    c, s, _ = established()
    with pytest.raises(DecodeError):
        s.receive_data(c.seal_inner(content + bytes((ALERT,))))
    assert_alert_sent(s, c, A.DECODE_ERROR)


def test_protected_empty_application_data_is_still_fine() -> None:
    c, s, _ = established()
    assert s.receive_data(c.seal_inner(bytes((APPLICATION_DATA,)))) == []
