"""The record layer: deframing, record protection (AEAD), handshake-message reassembly, size limits."""
