#!/usr/bin/env python3
"""Record-layer bulk throughput: tlslens vs the bare ``cryptography`` AEAD, same record sizes.

For each suite and record size (MB/s of application data, 1 MB = 10^6 bytes):
  raw       AEAD encrypt + decrypt of the inner plaintext with the ``cryptography`` object alone
  tlslens   RecordSealer.seal, then Deframer.feed of that record and RecordOpener.open
  ratio     tlslens / raw
  seal +us  time per record above a raw encrypt (nonce, header, inner plaintext, output)
  open +us  time per record above a raw decrypt (deframing, nonce, AAD, padding/type strip)
About 5 seconds in total.

Run: python bench/record_bulk.py [--seconds-per-row 0.3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from tlslens.crypto.suites import TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, Tls13Suite
from tlslens.record import Deframer, RecordOpener, RecordSealer

BATCH = 64  # records per timed step


def _seconds_per_record(step: Callable[[], None], seconds: float) -> float:
    """Run ``step`` (BATCH records) repeatedly for about ``seconds``; return the best seconds per record.

    The minimum over many short batches is what the code costs; averages mostly measure other processes.
    """
    step()  # warm up
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        step()
        now = time.perf_counter()
        best = min(best, now - start)
        if now >= deadline:
            return best / BATCH


def measure(suite: Tls13Suite, size: int, seconds: float) -> dict[str, float]:
    key, iv = os.urandom(suite.key_len), os.urandom(suite.iv_len)
    data = os.urandom(size)
    aead = suite.aead(key)
    inner = data + b"\x17"
    aad = b"\x17\x03\x03" + (len(inner) + suite.tag_len).to_bytes(2, "big")
    iv_int = int.from_bytes(iv, "big")
    sealer = RecordSealer(suite, key, iv)
    wire = [sealer.seal(23, data) for _ in range(BATCH)]  # distinct records, as on a real connection
    ciphertexts = [w[5:] for w in wire]

    def raw_seal() -> None:
        for seq in range(BATCH):
            aead.encrypt((iv_int ^ seq).to_bytes(12, "big"), inner, aad)

    def raw_open() -> None:
        for seq, ciphertext in enumerate(ciphertexts):
            aead.decrypt((iv_int ^ seq).to_bytes(12, "big"), ciphertext, aad)

    def seal() -> None:
        sealer = RecordSealer(suite, key, iv)  # one per batch: keeps the sequence number small
        for _ in range(BATCH):
            sealer.seal(23, data)

    def open_() -> None:
        opener, deframer = RecordOpener(suite, key, iv), Deframer()
        open_record, feed = opener.open, deframer.feed
        for chunk in wire:
            for record in feed(chunk):
                open_record(record)

    return {
        "raw_seal": _seconds_per_record(raw_seal, seconds),
        "raw_open": _seconds_per_record(raw_open, seconds),
        "seal": _seconds_per_record(seal, seconds),
        "open": _seconds_per_record(open_, seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds-per-row", type=float, default=0.3)
    args = parser.parse_args()
    columns = ("raw MB/s", "tlslens MB/s", "ratio", "seal +us", "open +us")
    print(f"{'suite':30} {'size':>6} " + " ".join(f"{c:>12}" for c in columns))
    for suite in (TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256):
        for size in (16384, 1024):
            t = measure(suite, size, args.seconds_per_row)
            raw = size / (t["raw_seal"] + t["raw_open"])
            ours = size / (t["seal"] + t["open"])
            print(
                f"{suite.name:30} {size:>6} {raw / 1e6:12.0f} {ours / 1e6:12.0f} {ours / raw:12.2f}"
                f" {(t['seal'] - t['raw_seal']) * 1e6:12.2f} {(t['open'] - t['raw_open']) * 1e6:12.2f}"
            )


if __name__ == "__main__":
    main()
