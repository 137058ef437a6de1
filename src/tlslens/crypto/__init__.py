"""Cryptography for TLS 1.3 on the ``cryptography`` package only: suites, groups, signatures, key schedule."""
