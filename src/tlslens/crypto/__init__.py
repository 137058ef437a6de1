"""Cryptography for TLS 1.3 on the ``cryptography`` package only; no primitive is written here.

- ``suites``: the five TLS 1.3 cipher suites (hash, AEAD factory, key/IV lengths, usage limits).
- ``groups``: key exchange (x25519, x448, secp256r1/384/521, X25519MLKEM768) with peer-share checks.
- ``signatures``: CertificateVerify and certificate signature schemes; the ``Signer`` seam.
- ``key_schedule``: HKDF-Expand-Label, Derive-Secret, EarlySecret -> HandshakeSecret -> MasterSecret,
  Finished, binders, traffic keys, KeyUpdate, resumption PSK, exporters (RFC 8446 §7).
- ``transcript``: the running transcript hash, buffered until the suite is known, HRR message_hash.
- ``provider``: randomness, ephemeral keys and the clock, injectable (``DeterministicProvider`` replays).
"""
