"""A separate process racing on a shared anti-replay store (run by test_replay_processes.py).

    python replay_worker.py sqlite|redis LOCATION NAMESPACE N SEED

Prints ``ready``, waits for a line on stdin (so all workers start together), then tries the keys
``replay_key(NAMESPACE + i)`` for i in 0..N-1 once each, in an order shuffled by SEED (so workers
collide on keys at unpredictable moments), and prints the accepted indices as JSON.
"""

from __future__ import annotations

import json
import random
import sys
import time

from tlslens.session.replay import RedisReplayStore, ReplayStore, SqliteReplayStore, replay_key


def main() -> None:
    backend, location, namespace, n = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
    order = list(range(n))
    random.Random(int(sys.argv[5])).shuffle(order)
    store: ReplayStore
    if backend == "sqlite":
        store = SqliteReplayStore(location, timeout=30.0)
    else:
        store = RedisReplayStore(location, prefix="tlslens-test:", timeout=5.0)
    keys = [replay_key(namespace + b"-%d" % i) for i in range(n)]
    now = time.time()
    store.check_and_remember(replay_key(namespace + b"-warm-up-" + sys.argv[5].encode()), now + 300, now)
    print("ready", flush=True)  # connected, tables made: the race below is only the checks
    sys.stdin.readline()
    now = time.time()
    accepted = [i for i in order if store.check_and_remember(keys[i], now + 300, now)]
    print(json.dumps(accepted), flush=True)


if __name__ == "__main__":
    main()
