"""IANA registries used on the wire, as open enums: unknown values (GREASE included) survive decoding."""

from __future__ import annotations

from tlslens.wire.cipher_suites import CipherSuite
from tlslens.wire.open_enum import OpenIntEnum, is_grease

__all__ = [
    "AlertDescription",
    "AlertLevel",
    "CertificateCompressionAlgorithm",
    "CertificateStatusType",
    "CipherSuite",
    "ClientCertificateType",
    "CompressionMethod",
    "ContentType",
    "ECCurveType",
    "ECPointFormat",
    "ExtensionType",
    "HandshakeType",
    "HeartbeatMode",
    "KeyUpdateRequest",
    "NameType",
    "NamedGroup",
    "OpenIntEnum",
    "ProtocolVersion",
    "PskKeyExchangeMode",
    "SignatureScheme",
    "is_grease",
]


class ContentType(OpenIntEnum):
    INVALID = 0
    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23
    HEARTBEAT = 24


class HandshakeType(OpenIntEnum):
    HELLO_REQUEST = 0
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    HELLO_VERIFY_REQUEST = 3
    NEW_SESSION_TICKET = 4
    END_OF_EARLY_DATA = 5
    HELLO_RETRY_REQUEST = 6
    ENCRYPTED_EXTENSIONS = 8
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    FINISHED = 20
    CERTIFICATE_URL = 21
    CERTIFICATE_STATUS = 22
    SUPPLEMENTAL_DATA = 23
    KEY_UPDATE = 24
    COMPRESSED_CERTIFICATE = 25
    MESSAGE_HASH = 254


class ExtensionType(OpenIntEnum):
    SERVER_NAME = 0
    MAX_FRAGMENT_LENGTH = 1
    CLIENT_CERTIFICATE_URL = 2
    TRUSTED_CA_KEYS = 3
    TRUNCATED_HMAC = 4
    STATUS_REQUEST = 5
    USER_MAPPING = 6
    CLIENT_AUTHZ = 7
    SERVER_AUTHZ = 8
    CERT_TYPE = 9
    SUPPORTED_GROUPS = 10
    EC_POINT_FORMATS = 11
    SRP = 12
    SIGNATURE_ALGORITHMS = 13
    USE_SRTP = 14
    HEARTBEAT = 15
    APPLICATION_LAYER_PROTOCOL_NEGOTIATION = 16
    STATUS_REQUEST_V2 = 17
    SIGNED_CERTIFICATE_TIMESTAMP = 18
    CLIENT_CERTIFICATE_TYPE = 19
    SERVER_CERTIFICATE_TYPE = 20
    PADDING = 21
    ENCRYPT_THEN_MAC = 22
    EXTENDED_MASTER_SECRET = 23
    TOKEN_BINDING = 24
    CACHED_INFO = 25
    COMPRESS_CERTIFICATE = 27
    RECORD_SIZE_LIMIT = 28
    SESSION_TICKET = 35
    PRE_SHARED_KEY = 41
    EARLY_DATA = 42
    SUPPORTED_VERSIONS = 43
    COOKIE = 44
    PSK_KEY_EXCHANGE_MODES = 45
    CERTIFICATE_AUTHORITIES = 47
    OID_FILTERS = 48
    POST_HANDSHAKE_AUTH = 49
    SIGNATURE_ALGORITHMS_CERT = 50
    KEY_SHARE = 51
    TRANSPARENCY_INFO = 52
    CONNECTION_ID = 54
    QUIC_TRANSPORT_PARAMETERS = 57
    TICKET_REQUEST = 58
    NEXT_PROTOCOL_NEGOTIATION = 13172  # not IANA-assigned; the pre-ALPN NPN draft, still seen in scans
    APPLICATION_SETTINGS = 17513  # not IANA-assigned; ALPS, sent by Chromium
    ECH_OUTER_EXTENSIONS = 0xFD00
    ENCRYPTED_CLIENT_HELLO = 0xFE0D
    RENEGOTIATION_INFO = 0xFF01


class ProtocolVersion(OpenIntEnum):
    SSL3 = 0x0300
    TLS1_0 = 0x0301
    TLS1_1 = 0x0302
    TLS1_2 = 0x0303
    TLS1_3 = 0x0304

    @property
    def label(self) -> str:
        """The name people use: ``TLSv1.3``, ``SSLv3``."""
        return _VERSION_LABELS.get(self.value, self.name)


_VERSION_LABELS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}


class NamedGroup(OpenIntEnum):
    """IANA TLS Supported Groups (RFC 8422 §5.1.1 for the legacy curves, RFC 7919 for ffdhe*)."""

    SECT163K1 = 1
    SECT163R1 = 2
    SECT163R2 = 3
    SECT193R1 = 4
    SECT193R2 = 5
    SECT233K1 = 6
    SECT233R1 = 7
    SECT239K1 = 8
    SECT283K1 = 9
    SECT283R1 = 10
    SECT409K1 = 11
    SECT409R1 = 12
    SECT571K1 = 13
    SECT571R1 = 14
    SECP160K1 = 15
    SECP160R1 = 16
    SECP160R2 = 17
    SECP192K1 = 18
    SECP192R1 = 19
    SECP224K1 = 20
    SECP224R1 = 21
    SECP256K1 = 22
    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    BRAINPOOLP256R1 = 26
    BRAINPOOLP384R1 = 27
    BRAINPOOLP512R1 = 28
    X25519 = 29
    X448 = 30
    BRAINPOOLP256R1TLS13 = 31
    BRAINPOOLP384R1TLS13 = 32
    BRAINPOOLP512R1TLS13 = 33
    FFDHE2048 = 256
    FFDHE3072 = 257
    FFDHE4096 = 258
    FFDHE6144 = 259
    FFDHE8192 = 260
    MLKEM512 = 0x0200
    MLKEM768 = 0x0201
    MLKEM1024 = 0x0202
    SECP256R1MLKEM768 = 0x11EB
    X25519MLKEM768 = 0x11EC
    SECP384R1MLKEM1024 = 0x11ED
    X25519KYBER768DRAFT00 = 0x6399
    ARBITRARY_EXPLICIT_PRIME_CURVES = 0xFF01
    ARBITRARY_EXPLICIT_CHAR2_CURVES = 0xFF02

    @property
    def iana_name(self) -> str:
        """The IANA spelling used on the command line: ``x25519``, ``secp256r1``, ``X25519MLKEM768``."""
        return _GROUP_NAMES.get(self.value, self.name.lower())


_GROUP_NAMES = {
    0x11EB: "SecP256r1MLKEM768",
    0x11EC: "X25519MLKEM768",
    0x11ED: "SecP384r1MLKEM1024",
    0x6399: "X25519Kyber768Draft00",
    0x0200: "MLKEM512",
    0x0201: "MLKEM768",
    0x0202: "MLKEM1024",
}


class SignatureScheme(OpenIntEnum):
    RSA_PKCS1_MD5 = 0x0101
    RSA_PKCS1_SHA1 = 0x0201
    ECDSA_SHA1 = 0x0203
    RSA_PKCS1_SHA224 = 0x0301
    ECDSA_SHA224 = 0x0303
    RSA_PKCS1_SHA256 = 0x0401
    ECDSA_SECP256R1_SHA256 = 0x0403
    RSA_PKCS1_SHA384 = 0x0501
    ECDSA_SECP384R1_SHA384 = 0x0503
    RSA_PKCS1_SHA512 = 0x0601
    ECDSA_SECP521R1_SHA512 = 0x0603
    RSA_PSS_RSAE_SHA256 = 0x0804
    RSA_PSS_RSAE_SHA384 = 0x0805
    RSA_PSS_RSAE_SHA512 = 0x0806
    ED25519 = 0x0807
    ED448 = 0x0808
    RSA_PSS_PSS_SHA256 = 0x0809
    RSA_PSS_PSS_SHA384 = 0x080A
    RSA_PSS_PSS_SHA512 = 0x080B
    ECDSA_BRAINPOOLP256R1TLS13_SHA256 = 0x081A
    ECDSA_BRAINPOOLP384R1TLS13_SHA384 = 0x081B
    ECDSA_BRAINPOOLP512R1TLS13_SHA512 = 0x081C
    MLDSA44 = 0x0904
    MLDSA65 = 0x0905
    MLDSA87 = 0x0906

    @property
    def iana_name(self) -> str:
        return self.name.lower()


class AlertLevel(OpenIntEnum):
    WARNING = 1
    FATAL = 2


class AlertDescription(OpenIntEnum):
    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    BAD_RECORD_MAC = 20
    DECRYPTION_FAILED = 21
    RECORD_OVERFLOW = 22
    DECOMPRESSION_FAILURE = 30
    HANDSHAKE_FAILURE = 40
    NO_CERTIFICATE = 41
    BAD_CERTIFICATE = 42
    UNSUPPORTED_CERTIFICATE = 43
    CERTIFICATE_REVOKED = 44
    CERTIFICATE_EXPIRED = 45
    CERTIFICATE_UNKNOWN = 46
    ILLEGAL_PARAMETER = 47
    UNKNOWN_CA = 48
    ACCESS_DENIED = 49
    DECODE_ERROR = 50
    DECRYPT_ERROR = 51
    EXPORT_RESTRICTION = 60
    PROTOCOL_VERSION = 70
    INSUFFICIENT_SECURITY = 71
    INTERNAL_ERROR = 80
    INAPPROPRIATE_FALLBACK = 86
    USER_CANCELED = 90
    NO_RENEGOTIATION = 100
    MISSING_EXTENSION = 109
    UNSUPPORTED_EXTENSION = 110
    CERTIFICATE_UNOBTAINABLE = 111
    UNRECOGNIZED_NAME = 112
    BAD_CERTIFICATE_STATUS_RESPONSE = 113
    BAD_CERTIFICATE_HASH_VALUE = 114
    UNKNOWN_PSK_IDENTITY = 115
    CERTIFICATE_REQUIRED = 116
    NO_APPLICATION_PROTOCOL = 120
    ECH_REQUIRED = 121


class PskKeyExchangeMode(OpenIntEnum):
    PSK_KE = 0
    PSK_DHE_KE = 1


class CertificateCompressionAlgorithm(OpenIntEnum):
    ZLIB = 1
    BROTLI = 2
    ZSTD = 3


class CertificateStatusType(OpenIntEnum):
    OCSP = 1


class KeyUpdateRequest(OpenIntEnum):
    UPDATE_NOT_REQUESTED = 0
    UPDATE_REQUESTED = 1


class HeartbeatMode(OpenIntEnum):
    """RFC 6520 §2: the heartbeat extension's mode."""

    PEER_ALLOWED_TO_SEND = 1
    PEER_NOT_ALLOWED_TO_SEND = 2


class ClientCertificateType(OpenIntEnum):
    """RFC 5246 §7.4.4 and RFC 8422 §5.5: certificate_types of a TLS 1.2 CertificateRequest."""

    RSA_SIGN = 1
    DSS_SIGN = 2
    RSA_FIXED_DH = 3
    DSS_FIXED_DH = 4
    RSA_EPHEMERAL_DH = 5
    DSS_EPHEMERAL_DH = 6
    FORTEZZA_DMS = 20
    ECDSA_SIGN = 64
    RSA_FIXED_ECDH = 65
    ECDSA_FIXED_ECDH = 66
    GOST_SIGN256 = 67
    GOST_SIGN512 = 68


class ECCurveType(OpenIntEnum):
    """RFC 8422 §5.4: how ServerECDHParams name the curve (only named_curve is allowed today)."""

    EXPLICIT_PRIME = 1
    EXPLICIT_CHAR2 = 2
    NAMED_CURVE = 3


class ECPointFormat(OpenIntEnum):
    UNCOMPRESSED = 0
    ANSIX962_COMPRESSED_PRIME = 1
    ANSIX962_COMPRESSED_CHAR2 = 2


class CompressionMethod(OpenIntEnum):
    NULL = 0
    DEFLATE = 1


class NameType(OpenIntEnum):
    HOST_NAME = 0
