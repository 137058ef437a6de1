"""The public TLS codec: enums, bounded reader/writer, handshake messages, extensions and alerts.

Pure: no crypto and no state. Import the pieces from their modules:

- ``tlslens.wire.enums``: open IANA registries (unknown values and GREASE survive); ``CipherSuite``
  (every IANA value) lives in ``cipher_suites`` and the base class in ``open_enum``.
- ``tlslens.wire.suite_registry``: what each cipher suite is made of (``SUITES``, ``suite_info``,
  ``suite_by_openssl_name``; the row type and its vocabulary in ``suite_info``).
- ``tlslens.wire.reader``: ``Reader`` (bounded, every failure is ``DecodeError``) and ``Writer``.
- ``tlslens.wire.extensions``: every extension class (defined in ``ext_core`` / ``ext_addons``),
  ``EXTENSION_FORMS``, ``decode_extensions``, ``encode_extensions``.
- ``tlslens.wire.messages``: every handshake message (ClientHello/ServerHello from ``hello``,
  CertificateVerify/Finished from ``common_messages``), ``decode_handshake``, ``encode_handshake``.
- ``tlslens.wire.messages12``: the TLS 1.2 forms, which ``decode_handshake(raw, version=TLS1_2,
  key_exchange=...)`` (or ``decode_handshake12``) decodes, and ChangeCipherSpec.
- ``tlslens.wire.alert``: ``Alert``.
"""
