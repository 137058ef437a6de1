"""Cryptography for TLS 1.3 and TLS 1.2 on the ``cryptography`` package only; no primitive is written here.

- ``suites``: the five TLS 1.3 cipher suites (hash, AEAD factory, key/IV lengths, usage limits).
- ``suites12``: the six TLS 1.2 ECDHE AEAD suites (PRF hash, key/IV lengths, nonce layout, limits).
- ``groups``: key exchange (x25519, x448, secp256r1/384/521, X25519MLKEM768) with peer-share checks.
- ``ecdhe12``: TLS 1.2 ECDHE on those key shares, and the ServerKeyExchange signature.
- ``signatures``: CertificateVerify, ServerKeyExchange and certificate signature schemes, per version;
  the ``Signer`` seam.
- ``key_schedule``: HKDF-Expand-Label, Derive-Secret, EarlySecret -> HandshakeSecret -> MasterSecret,
  Finished, binders, traffic keys, KeyUpdate, resumption PSK, exporters (RFC 8446 §7).
- ``key_schedule12``: the TLS 1.2 PRF, (extended) master secret, key block, Finished, RFC 5705 exporters.
- ``transcript``: the running transcript hash, buffered until the suite is known, HRR message_hash.
- ``provider``: randomness, ephemeral keys and the clock, injectable (``DeterministicProvider`` replays).
"""
