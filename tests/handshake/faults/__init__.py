"""Peer faults: a negative test for every raise site that peer bytes can reach in the connection seam
(``handshake/``, ``connection.py``, ``record/inbound.py``), one module per module under test.

Each case is a keyword record (``fault.Fault``: a handshake with a tampering peer; ``fault.Injected``:
crafted bytes in a given state, ``scenes.py``) that asserts the exception class, the function that
raised it (``site``) and the alert queued (``helpers.assert_alert_sent``). To add a case, add a record
to the table of the module that tests its subject; ``test_raise_sites.py`` then counts its site as
reached. Raise sites no peer bytes can reach are listed there (``UNREACHABLE``), with the reason.

    test_client13.py            ServerHello, EncryptedExtensions, Finished, order of the server's flight
    test_client_hello_retry.py  the client's side of a HelloRetryRequest
    test_client_resumption.py   the server's answer to the client's ticket and 0-RTT
    test_client_auth.py         CertificateRequest; a required client certificate
    test_peer_certificate.py    Certificate and CertificateVerify, both roles; verifier refusals
    test_server_negotiation.py  what the server refuses in a ClientHello
    test_server_hello_retry.py  the cookie and the second ClientHello
    test_server_resumption.py   the client's PSK offer and binder
    test_server13.py            the client's Finished, order of the client's flight
    test_traffic.py             post-handshake messages, tickets
    test_record_inbound.py      routing, change_cipher_spec, flood limits, 0-RTT budgets, alerts, EOF
    test_record_layer.py        framing, protection, reassembly, message decoding as a connection meets them
    test_connection.py          RFC 8446 §5.1 (no message across a key change); misuse after failure/close
    test_raise_sites.py         every raise in the seam reached by a record or listed unreachable
"""
