"""The public TLS codec: enums, bounded reader/writer, handshake messages and extensions.

Pure: no crypto and no state. Import the pieces from their modules (``tlslens.wire.enums``,
``tlslens.wire.reader``, ``tlslens.wire.messages``, ``tlslens.wire.extensions``).
"""
