"""The chain corpus: healthy and broken chains, each with exactly the finding codes it must produce.

Every case is a function building a :class:`Scenario` (chain as presented, trust anchors, requested
name, purpose); chains are validated at ``factory.NOW``. ``openssl=False`` marks cases where OpenSSL has
no equivalent check (or deliberately differs), so the interop test skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.pki.factory import (
    CLIENT_AUTH,
    DAY,
    NOW,
    SERVER_AUTH,
    Issued,
    Pki,
    key_usage,
    make_intermediate,
    make_leaf,
    make_root,
    standard_pki,
    tamper_signature,
)
from tlslens.pki import ChainReport, verify_chain
from tlslens.pki.findings import (
    BAD_EXTENDED_KEY_USAGE,
    BAD_KEY_USAGE,
    DUPLICATE_CERTIFICATE,
    EXPIRED,
    EXPIRING_SOON,
    INVALID_CHAIN,
    INVALID_SIGNATURE,
    MISSING_INTERMEDIATE,
    NAME_CONSTRAINTS,
    NAME_MISMATCH,
    NOT_A_CA,
    NOT_YET_VALID,
    PATH_LENGTH_EXCEEDED,
    SELF_SIGNED,
    UNNECESSARY_ROOT,
    UNTRUSTED_ROOT,
    UNUSED_CERTIFICATE,
    WEAK_KEY,
    WEAK_SIGNATURE,
    WRONG_ORDER,
)

HOST = "www.example.com"
WARNING_ONLY = {EXPIRING_SOON, DUPLICATE_CERTIFICATE, UNNECESSARY_ROOT, UNUSED_CERTIFICATE, WRONG_ORDER}


@dataclass(frozen=True)
class Scenario:
    chain: Sequence[x509.Certificate]
    anchors: Sequence[x509.Certificate]
    server_name: str | None = HOST
    purpose: Literal["server", "client"] = "server"

    def verify(self) -> ChainReport:
        """The report on this chain at NOW."""
        return verify_chain(
            self.chain, server_name=self.server_name, trust_anchors=self.anchors, at=NOW, purpose=self.purpose
        )


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], Scenario]
    codes: frozenset[str]
    valid: bool
    openssl: bool = True
    openssl_args: tuple[str, ...] = field(default=())


HEALTHY: list[Case] = []
BROKEN: list[Case] = []


def case(
    *codes: str, valid: bool | None = None, openssl: bool = True, openssl_args: tuple[str, ...] = ()
) -> Callable[[Callable[[], Scenario]], Callable[[], Scenario]]:
    def register(fn: Callable[[], Scenario]) -> Callable[[], Scenario]:
        expected = frozenset(codes)
        ok = valid if valid is not None else expected <= WARNING_ONLY
        entry = Case(fn.__name__.replace("_", "-"), fn, expected, ok, openssl, openssl_args)
        (HEALTHY if ok else BROKEN).append(entry)
        return fn

    return register


@cache
def std() -> Pki:
    return standard_pki()


@cache
def rsa_pki() -> Pki:
    root = make_root("RSA Root CA", key_type="rsa2048")
    inter = make_intermediate(root, "RSA Intermediate CA", key_type="rsa2048")
    leaf = make_leaf(inter, key_type="rsa2048", key_slot="rsa-leaf")
    return Pki(root, inter, leaf)


def certs(*items: Issued | x509.Certificate) -> list[x509.Certificate]:
    return [i.cert if isinstance(i, Issued) else i for i in items]


def under_std(**leaf_options: object) -> Scenario:
    """A leaf with options, served with the standard intermediate, standard root trusted."""
    p = std()
    return Scenario(certs(make_leaf(p.inter, **leaf_options), p.inter), certs(p.root))


def with_root(root: Issued, *, host: str | None = HOST, **leaf_options: object) -> Scenario:
    inter = make_intermediate(root)
    return Scenario(certs(make_leaf(inter, **leaf_options), inter), certs(root), host)


def with_inter(**inter_options: object) -> Scenario:
    p = std()
    inter = make_intermediate(p.root, "Odd Intermediate CA", **inter_options)
    return Scenario(certs(make_leaf(inter), inter), certs(p.root))


# --- healthy ---------------------------------------------------------------------------------------


@case()
def ec_p256_chain() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(p.root))


@case()
def rsa_2048_chain() -> Scenario:
    p = rsa_pki()
    return Scenario(certs(p.leaf, p.inter), certs(p.root))


@case()
def p384_sha384_chain() -> Scenario:
    p = standard_pki("p384", hashes.SHA384())
    return Scenario(certs(p.leaf, p.inter), certs(p.root))


@case()
def wildcard_san_matches_one_label() -> Scenario:
    return under_std(sans=["*.example.com"])


@case()
def ipv4_san() -> Scenario:
    return Scenario(under_std(sans=["127.0.0.1"]).chain, certs(std().root), "127.0.0.1")


@case()
def ipv6_san_bracketed_host() -> Scenario:
    return Scenario(under_std(sans=["::1"]).chain, certs(std().root), "[::1]")


@case()
def two_intermediates_within_path_length() -> Scenario:
    root = make_root()
    a = make_intermediate(root, "Intermediate A", path_length=1)
    b = make_intermediate(a, "Intermediate B", path_length=0)
    return Scenario(certs(make_leaf(b), b, a), certs(root))


@case()
def leaf_issued_by_root() -> Scenario:
    p = std()
    return Scenario(certs(make_leaf(p.root)), certs(p.root))


@case()
def no_server_name_requested() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(p.root), None)


@case()
def host_case_and_trailing_dot_ignored() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(p.root), "WWW.Example.COM.")


@case()
def permitted_by_name_constraints() -> Scenario:
    return with_root(make_root("Constrained Root", permitted=["example.com"]))


@case()
def client_certificate_without_san() -> Scenario:
    p = std()
    leaf = make_leaf(p.inter, "client 42", sans=None, eku=[CLIENT_AUTH])
    return Scenario(certs(leaf, p.inter), certs(p.root), None, "client")


@case()
def ed25519_leaf() -> Scenario:
    return under_std(key_type="ed25519")


@case()
def leaf_without_eku() -> Scenario:
    return under_std(eku=None)


@case(openssl_args=("-partial_chain",))
def intermediate_as_trust_anchor() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(p.inter))


@case(UNNECESSARY_ROOT)
def root_served_with_chain() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter, p.root), certs(p.root))


@case(EXPIRING_SOON)
def leaf_expiring_in_ten_days() -> Scenario:
    return under_std(not_after=NOW + 10 * DAY)


@case(DUPLICATE_CERTIFICATE)
def intermediate_served_twice() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter, p.inter), certs(p.root))


@case(WRONG_ORDER)
def intermediates_out_of_order() -> Scenario:
    root = make_root()
    a = make_intermediate(root, "Intermediate A")
    b = make_intermediate(a, "Intermediate B")
    return Scenario(certs(make_leaf(b), a, b), certs(root))


@case(UNUSED_CERTIFICATE)
def unrelated_certificate_served() -> Scenario:
    p = std()
    stray = make_intermediate(make_root("Other Root"), "Stray Intermediate")
    return Scenario(certs(p.leaf, p.inter, stray), certs(p.root))


# --- broken: trust -----------------------------------------------------------------------------------


@case(MISSING_INTERMEDIATE)
def missing_intermediate() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf), certs(p.root))


@case(MISSING_INTERMEDIATE)
def missing_intermediate_with_aia() -> Scenario:
    p = std()
    return Scenario(certs(make_leaf(p.inter, aia_url="http://ca.example.test/inter.cer")), certs(p.root))


@case(MISSING_INTERMEDIATE)
def root_not_in_store() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(make_root("Unrelated Root")))


@case(MISSING_INTERMEDIATE, UNUSED_CERTIFICATE)
def wrong_intermediate_served() -> Scenario:
    p = std()
    other = make_intermediate(p.root, "Another Intermediate CA")
    return Scenario(certs(p.leaf, other), certs(p.root))


@case(UNTRUSTED_ROOT)
def untrusted_root_served() -> Scenario:
    root = make_root("Private Root")
    inter = make_intermediate(root)
    return Scenario(certs(make_leaf(inter), inter, root), certs(std().root))


@case(SELF_SIGNED)
def self_signed_leaf() -> Scenario:
    return Scenario(certs(make_leaf(None)), certs(std().root))


@case(INVALID_SIGNATURE)
def tampered_leaf_signature() -> Scenario:
    p = std()
    return Scenario(certs(tamper_signature(p.leaf.cert), p.inter), certs(p.root))


@case(INVALID_SIGNATURE)
def impostor_intermediate_same_name_and_key_id() -> Scenario:
    p = std()
    ski = p.inter.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    impostor = make_intermediate(p.root, ski_value=ski)  # same subject and SKI, another key
    return Scenario(certs(p.leaf, impostor), certs(p.root))


@case(WRONG_ORDER, valid=False, openssl=False)
def leaf_not_first() -> Scenario:
    p = std()
    return Scenario(certs(p.inter, p.leaf), certs(p.root))


# --- broken: time --------------------------------------------------------------------------------


@case(EXPIRED)
def expired_leaf() -> Scenario:
    return under_std(not_before=NOW - 400 * DAY, not_after=NOW - 3 * DAY)


@case(EXPIRED)
def expired_intermediate() -> Scenario:
    return with_inter(not_after=NOW - DAY)


@case(EXPIRED)
def expired_root_in_store() -> Scenario:
    return with_root(make_root("Old Root", not_after=NOW - 10 * DAY))


@case(NOT_YET_VALID)
def leaf_not_yet_valid() -> Scenario:
    return under_std(not_before=NOW + 2 * DAY)


# --- broken: names -------------------------------------------------------------------------------


@case(NAME_MISMATCH)
def name_mismatch() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(p.root), "mail.example.org")


@case(NAME_MISMATCH)
def wildcard_does_not_match_two_labels() -> Scenario:
    return Scenario(under_std(sans=["*.example.com"]).chain, certs(std().root), "a.b.example.com")


@case(NAME_MISMATCH)
def wildcard_does_not_match_apex() -> Scenario:
    return Scenario(under_std(sans=["*.example.com"]).chain, certs(std().root), "example.com")


@case(NAME_MISMATCH, openssl=False)  # OpenSSL falls back to the CN when there are no DNS SANs
def common_name_only_no_san() -> Scenario:
    return under_std(sans=None)


@case(NAME_MISMATCH)
def ip_host_not_in_dns_sans() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(p.root), "192.0.2.7")


@case(NAME_CONSTRAINTS)
def name_not_permitted_by_constraints() -> Scenario:
    root = make_root("Constrained Root", permitted=["example.com"])
    return with_root(root, host="www.evil.test", cn="www.evil.test")


@case(NAME_CONSTRAINTS)
def name_excluded_by_constraints() -> Scenario:
    name = "db.internal.example.com"
    return with_root(make_root("Constrained Root", excluded=["internal.example.com"]), host=name, cn=name)


@case(NAME_CONSTRAINTS)
def ip_not_permitted_by_constraints() -> Scenario:
    root = make_root("IP Constrained Root", permitted=["10.0.0.0/8"])
    return with_root(root, host="192.168.1.10", sans=["192.168.1.10"])


# --- broken: algorithms --------------------------------------------------------------------------


@case(WEAK_SIGNATURE)
def sha1_signed_leaf() -> Scenario:
    return under_std(hash_alg="sha1")


@case(WEAK_SIGNATURE)
def sha1_signed_intermediate() -> Scenario:
    p = rsa_pki()
    inter = make_intermediate(p.root, "RSA Intermediate CA", key=p.inter.key, hash_alg="sha1")
    return Scenario(certs(p.leaf, inter), certs(p.root))


@case(WEAK_SIGNATURE)
def md5_signed_leaf() -> Scenario:
    p = rsa_pki()
    return Scenario(certs(make_leaf(p.inter, hash_alg="md5"), p.inter), certs(p.root))


@case(WEAK_KEY)
def rsa_1024_leaf() -> Scenario:
    return under_std(key_type="rsa1024")


@case(WEAK_KEY)
def rsa_1024_intermediate() -> Scenario:
    return with_inter(key_type="rsa1024")


@case(WEAK_KEY, openssl=False)  # OpenSSL accepts any named curve
def secp256k1_leaf() -> Scenario:
    return under_std(key_type="secp256k1")


@case(WEAK_KEY, openssl=False)  # OpenSSL accepts Ed25519 CAs
def ed25519_intermediate() -> Scenario:
    return with_inter(key_type="ed25519")


# --- broken: CA and purpose constraints ----------------------------------------------------------


@case(NOT_A_CA)
def intermediate_with_ca_false() -> Scenario:
    return with_inter(ca=False)


@case(NOT_A_CA)
def intermediate_without_basic_constraints() -> Scenario:
    return with_inter(basic_constraints=False)


@case(NOT_A_CA)
def intermediate_without_key_cert_sign() -> Scenario:
    return with_inter(ku=key_usage("digital_signature", "crl_sign"))


@case(PATH_LENGTH_EXCEEDED)
def root_path_length_zero_with_intermediate() -> Scenario:
    return with_root(make_root("Strict Root", path_length=0))


@case(PATH_LENGTH_EXCEEDED)
def intermediate_path_length_zero_with_sub_ca() -> Scenario:
    root = make_root()
    a = make_intermediate(root, "Intermediate A", path_length=0)
    b = make_intermediate(a, "Intermediate B")
    return Scenario(certs(make_leaf(b), b, a), certs(root))


@case(BAD_KEY_USAGE)
def leaf_key_usage_without_digital_signature() -> Scenario:
    return under_std(ku=key_usage("content_commitment"))


@case(BAD_EXTENDED_KEY_USAGE)
def server_leaf_with_client_auth_only() -> Scenario:
    return under_std(eku=[CLIENT_AUTH])


@case(BAD_EXTENDED_KEY_USAGE)
def client_leaf_with_server_auth_only() -> Scenario:
    p = std()
    return Scenario(certs(make_leaf(p.inter, eku=[SERVER_AUTH]), p.inter), certs(p.root), None, "client")


@case(BAD_EXTENDED_KEY_USAGE)
def intermediate_restricted_to_client_auth() -> Scenario:
    return with_inter(eku=[CLIENT_AUTH])


# --- broken: several problems at once, and the verifier's own refusals -----------------------------


@case(EXPIRED, NAME_MISMATCH)
def expired_and_misnamed() -> Scenario:
    chain = under_std(not_after=NOW - DAY).chain
    return Scenario(chain, certs(std().root), "shop.example.net")


@case(SELF_SIGNED, EXPIRED)
def self_signed_and_expired() -> Scenario:
    return Scenario(certs(make_leaf(None, not_after=NOW - 5 * DAY)), certs(std().root))


@case(MISSING_INTERMEDIATE, EXPIRED)
def missing_intermediate_and_expired_leaf() -> Scenario:
    p = std()
    return Scenario(certs(make_leaf(p.inter, not_after=NOW - DAY)), certs(p.root))


@case(MISSING_INTERMEDIATE, DUPLICATE_CERTIFICATE)
def leaf_served_twice_without_intermediate() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.leaf), certs(p.root))


@case(INVALID_CHAIN, openssl=False)  # the Web PKI profile requires authorityKeyIdentifier; OpenSSL does not
def leaf_without_authority_key_identifier() -> Scenario:
    return under_std(aki=False)


ALL = HEALTHY + BROKEN
