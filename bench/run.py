#!/usr/bin/env python3
"""tlslens against Python's ``ssl`` (OpenSSL), side by side in one run, with the ratio tlslens/OpenSSL.

Both stacks do the same work in the same process: X25519, an ECDSA P-256 leaf under an intermediate
(the client verifies the chain and the host name on both), TLS 1.3 only. ``ssl`` runs through
``SSLObject`` + ``MemoryBIO`` (both ends in memory), or through asyncio's own TLS for the server figure.

  full handshake       ClientHello to both ends complete (AES-128-GCM), handshakes/s; cold (the client
                       keeps no cache: parsed certificates, verified chains) and with the caches warm
  HRR handshake        the client's first share (P-256) is not the server's group (X25519)
  resumed handshake    a ticket from an earlier connection (psk_dhe_ke)
  bulk                 MB/s (10^6 bytes) of application data one way through a connected pair: each write
                       is sealed by one end and opened by the other, 16 KiB and 1 KiB writes, every suite
                       both stacks have (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305)
  asyncio server       loopback, N concurrent clients in the same event loop; each connection is a
                       handshake, one byte from the server, close; connections/s and handshake latency
  under load           load.py: tlslens server --www and an asyncio server on tlslens.aio, each in its own
                       process, under 200 concurrent clients in other processes (handshake, GET, close):
                       server CPU per connection and connections/s, against an asyncio server on ssl
  memory               per idle established connection, both ends (client + server objects, N pairs):
                       RSS delta and tracemalloc (which cannot see OpenSSL's C allocations: for ssl it
                       reports only the Python wrappers, so the RSS figure is the one the target uses)
  primitive floor      the ``cryptography`` calls a full handshake cannot avoid, timed alone; printed
                       as floor / tlslens full handshake
  start-up             startup.py: tlslens --version, tlslens client --help and a whole scan of one local
                       server, each against its budget (the OpenSSL column: python -c 'import ssl')

In-memory timings are the best of many short batches in CPU seconds, the two stacks' batches
interleaved: the minimum is what the code costs, averages mostly measure other processes. The asyncio
figures are wall-clock (loopback I/O in one event loop). ``ssl`` has no API for TLS 1.3 cipher suites or
groups, so they are set on its SSL_CTX through ctypes (checked after each handshake).

Run: python bench/run.py [--quick | --smoke] [--json]
     --quick about one minute, default a few minutes, --smoke one iteration of each (for the tests: a
     tlslens measurement that fails there fails the run; elsewhere its figure is n/a, the error noted)

The rows are declared in rows.py; harness.py times them (report.py prints them); each stack's side is in
stack_tlslens.py and stack_openssl.py (libssl.py: the ctypes calls ssl lacks); aio_server.py,
idle_memory.py and primitive_floor.py measure the rows that are not raced steps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import ssl
import sys
import time
from typing import Any

import cryptography
from harness import BUDGETS, measure_all
from report import as_json, render
from rows import ROWS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="about one minute")
    speed.add_argument(
        "--smoke", action="store_true", help="one iteration of each (keeps the script working)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "default"

    def progress(what: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"  measuring {what}...", file=sys.stderr, flush=True)

    header: dict[str, Any] = {
        "openssl": ssl.OPENSSL_VERSION,
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "cpus": os.cpu_count(),
        "mode": mode,
    }
    started = time.perf_counter()
    rows, extra = measure_all(ROWS, BUDGETS[mode], progress)
    header["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(as_json(rows, header, extra), indent=2))
    else:
        print(render(rows, header))
        print(f"\n({header['seconds']} s; python bench/run.py{' --' + mode if mode != 'default' else ''})")


if __name__ == "__main__":
    main()
