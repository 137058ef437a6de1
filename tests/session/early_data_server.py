"""A tlslens server in a process of its own, fed one captured 0-RTT flight (run by
test_replay_across_processes.py).

    python early_data_server.py KEY_FILE sqlite|redis LOCATION PREFIX FLIGHT_FILE

Builds a ServerConfig on the shared ticket key file (``TicketKeyRing.from_file``) and a shared
anti-replay store (``SqliteReplayStore(LOCATION)`` or ``RedisReplayStore(LOCATION, prefix=PREFIX)``),
prints ``ready``, waits for a line on stdin (so several servers can be released together), feeds the
bytes of FLIGHT_FILE to a fresh ServerConnection and prints one JSON object: the early data it
received (hex), whether it resumed, and its resumption decisions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tlslens import ServerConfig, ServerConnection
from tlslens.certgen import make_pki
from tlslens.events import DecisionMade, EarlyDataReceived
from tlslens.session import RedisReplayStore, ReplayStore, SqliteReplayStore, TicketKeyRing


def main() -> None:
    key_file, backend, location, prefix, flight_file = sys.argv[1:6]
    store: ReplayStore
    if backend == "sqlite":
        store = SqliteReplayStore(location, timeout=10.0)
    else:
        store = RedisReplayStore(location, prefix=prefix, timeout=5.0)
    pki = make_pki(("localhost",))  # resumption presents no certificate; a server needs one anyway
    config = ServerConfig(
        certificate_chain=pki.chain,
        private_key=pki.leaf.private_key,
        ticket_keys=TicketKeyRing.from_file(key_file, create=False),
        replay_store=store,
        max_early_data_size=4096,
        ticket_lifetime=3600,
    )
    print("ready", flush=True)
    sys.stdin.readline()
    events = ServerConnection(config, trace=True).receive_data(Path(flight_file).read_bytes())
    decisions = [e.text for e in events if isinstance(e, DecisionMade) and e.topic == "resumption"]
    result = {
        "early_data": b"".join(e.data for e in events if isinstance(e, EarlyDataReceived)).hex(),
        "resumed": any(d.startswith("resuming with") for d in decisions),
        "decisions": decisions,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
