"""The few SSL_CTX calls Python's ``ssl`` module lacks, made through ctypes on the very libssl it is
linked with: ``ssl`` has no API for the TLS 1.3 cipher suites or the key exchange groups, and the benchmark
must pin both so that the two stacks do the same work (stack_openssl.py checks the outcome after each
handshake it prepares)."""

from __future__ import annotations

import ctypes
import ssl


class LibSsl:
    """SSL_CTX_set_ciphersuites and SSL_CTX_set1_groups_list on an ``ssl.SSLContext``."""

    SSL_CTRL_SET_GROUPS_LIST = 92

    def __init__(self) -> None:
        import _ssl

        lib = ctypes.CDLL(_ssl.__file__)  # dlsym on it also finds libssl's symbols
        lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
        lib.SSL_CTX_ctrl.restype = ctypes.c_long
        lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
        lib.SSL_CTX_get_options.restype = ctypes.c_uint64
        self.lib = lib

    def _ctx(self, context: ssl.SSLContext) -> int:
        # PySSLContext starts with PyObject_HEAD followed by the SSL_CTX pointer; check it is one.
        pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
        if not pointer or self.lib.SSL_CTX_get_options(pointer) != int(context.options):
            raise RuntimeError("cannot find the SSL_CTX behind ssl.SSLContext on this Python")
        return pointer

    def configure(self, context: ssl.SSLContext, suite: str, groups: str) -> None:
        """Offer or accept only TLS 1.3 ``suite`` and the ``groups`` (OpenSSL names, colon-separated)."""
        ctx = self._ctx(context)
        if self.lib.SSL_CTX_set_ciphersuites(ctx, suite.encode()) != 1:
            raise RuntimeError(f"OpenSSL refused cipher suite {suite}")
        if self.lib.SSL_CTX_ctrl(ctx, self.SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode()) != 1:
            raise RuntimeError(f"OpenSSL refused groups {groups}")
