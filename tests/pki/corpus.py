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
    make_cert,
    make_intermediate,
    make_key,
    make_leaf,
    make_root,
    standard_pki,
    tamper_signature,
    with_duplicate_extension,
    with_serial,
)
from tests.pki.ocsp_factory import must_staple_leaf, ocsp_response
from tlslens.pki import ChainReport, verify_chain
from tlslens.pki import findings as F
from tlslens.pki.findings import (
    BAD_EXTENDED_KEY_USAGE,
    BAD_KEY_USAGE,
    BAD_SERIAL,
    DUPLICATE_CERTIFICATE,
    EXPIRED,
    EXPIRING_SOON,
    INVALID_SIGNATURE,
    MALFORMED_CERTIFICATE,
    MISSING_INTERMEDIATE,
    NAME_CONSTRAINTS,
    NAME_MISMATCH,
    NONCRITICAL_CONSTRAINTS,
    NOT_A_CA,
    NOT_YET_VALID,
    PATH_LENGTH_EXCEEDED,
    SELF_SIGNED,
    TOO_COMPLEX,
    UNNECESSARY_ROOT,
    UNTRUSTED_ROOT,
    UNUSED_CERTIFICATE,
    WEAK_KEY,
    WEAK_SIGNATURE,
    WRONG_ORDER,
)
from tlslens.pki.profile import Profile

HOST = "www.example.com"
WARNING_ONLY = {
    EXPIRING_SOON,
    DUPLICATE_CERTIFICATE,
    UNNECESSARY_ROOT,
    UNUSED_CERTIFICATE,
    WRONG_ORDER,
    # Web PKI rules are warnings under the rfc5280 profile, the default with own trust anchors.
    F.EKU_MISSING,
    F.EKU_ANY,
    F.WILDCARD_PUBLIC_SUFFIX,
    F.CN_NOT_IN_SAN,
    F.AKI_MISSING,
    F.BAD_AKI,
    F.SKI_MISSING,
    F.RSA_MODULUS,
    # A stale or invalid OCSP response is reported; the handshake goes on (as browsers do).
    F.OCSP_STALE,
    F.OCSP_INVALID,
}


@dataclass(frozen=True)
class Scenario:
    chain: Sequence[x509.Certificate]
    anchors: Sequence[x509.Certificate]
    server_name: str | None = HOST
    purpose: Literal["server", "client"] = "server"
    profile: Profile | None = None  # None: the default for own trust anchors, rfc5280
    ocsp_response: bytes | None = None  # what a server stapled (with ``stapled``), or a response to check
    stapled: bool = False

    def verify(self) -> ChainReport:
        """The report on this chain at NOW."""
        return verify_chain(
            self.chain,
            server_name=self.server_name,
            trust_anchors=self.anchors,
            at=NOW,
            purpose=self.purpose,
            profile=self.profile,
            ocsp_response=self.ocsp_response,
            stapled=self.stapled,
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
    return under_std(cn="*.example.com", sans=["*.example.com"])


@case()
def ipv4_san() -> Scenario:
    return Scenario(under_std(cn="127.0.0.1", sans=["127.0.0.1"]).chain, certs(std().root), "127.0.0.1")


@case()
def ipv6_san_bracketed_host() -> Scenario:
    return Scenario(under_std(cn="::1", sans=["::1"]).chain, certs(std().root), "[::1]")


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


@case(F.EKU_MISSING)
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
    chain = under_std(cn="*.example.com", sans=["*.example.com"]).chain
    return Scenario(chain, certs(std().root), "a.b.example.com")


@case(NAME_MISMATCH)
def wildcard_does_not_match_apex() -> Scenario:
    return Scenario(
        under_std(cn="*.example.com", sans=["*.example.com"]).chain, certs(std().root), "example.com"
    )


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
    return with_root(root, host="192.168.1.10", cn="192.168.1.10", sans=["192.168.1.10"])


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


@case(F.AKI_MISSING)  # RFC 5280 wants it from conforming CAs; relying parties (OpenSSL) do not insist
def leaf_without_authority_key_identifier() -> Scenario:
    return under_std(aki=False)


# --- profiles: the Web PKI's rules, errors under webpki and warnings under rfc5280 ----------------------

ANY_EKU = x509.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE


def webpki(s: Scenario) -> Scenario:
    return Scenario(s.chain, s.anchors, s.server_name, s.purpose, "webpki")


@case(F.EKU_MISSING, valid=False, openssl=False)  # OpenSSL reads a missing EKU as any
def webpki_leaf_without_eku() -> Scenario:
    return webpki(under_std(eku=None))


@case(F.EKU_ANY, openssl=False)  # OpenSSL refuses anyExtendedKeyUsage alone for sslserver
def leaf_with_any_eku_only() -> Scenario:
    return under_std(eku=[ANY_EKU])


@case(F.EKU_ANY, valid=False)
def webpki_leaf_with_any_eku_only() -> Scenario:
    return webpki(under_std(eku=[ANY_EKU]))


@case(F.WILDCARD_PUBLIC_SUFFIX, valid=False, openssl=False)  # OpenSSL matches *.com against example.com
def webpki_wildcard_over_public_suffix() -> Scenario:
    return webpki(Scenario(under_std(cn="*.com", sans=["*.com"]).chain, certs(std().root), "example.com"))


@case(F.WILDCARD_PUBLIC_SUFFIX, openssl=False)
def wildcard_over_private_public_suffix() -> Scenario:
    return Scenario(under_std(cn="*.github.io", sans=["*.github.io"]).chain, certs(std().root), "x.github.io")


@case(F.CN_NOT_IN_SAN, valid=False, openssl=False)
def webpki_cn_not_in_san() -> Scenario:
    return webpki(Scenario(under_std(sans=["example.com"]).chain, certs(std().root), "example.com"))


@case(F.AKI_MISSING, valid=False, openssl=False)
def webpki_leaf_without_authority_key_identifier() -> Scenario:
    return webpki(under_std(aki=False))


@case(F.AKI_MISSING)
def intermediate_without_authority_key_identifier() -> Scenario:
    return with_inter(aki=False)


@case(F.SKI_MISSING, valid=False, openssl=False)
def webpki_intermediate_without_subject_key_identifier() -> Scenario:
    return webpki(with_inter(ski=False))


@case(F.SKI_MISSING)  # system stores hold such roots: a trust anchor's lack is reported, not enforced
def webpki_trust_anchor_without_subject_key_identifier() -> Scenario:
    return webpki(with_root(make_root("No SKI Root", ski=False)))


def _root_aki(**fields: object) -> x509.AuthorityKeyIdentifier:
    values: dict[str, object] = {"authority_cert_issuer": None, "authority_cert_serial_number": None}
    values.update(fields)
    return x509.AuthorityKeyIdentifier(**values)  # type: ignore[arg-type]


@case(F.BAD_AKI, valid=False, openssl=False)
def webpki_root_aki_differs_from_ski() -> Scenario:
    aki = _root_aki(key_identifier=b"\x01" * 20)
    return webpki(with_root(make_root("Odd AKI Root", extensions=[(aki, False)])))


@case(F.BAD_AKI)
def root_aki_with_issuer_and_serial() -> Scenario:
    key = make_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    name = x509.DirectoryName(x509.Name.from_rfc4514_string("CN=Old Style Root,O=tlslens tests"))
    aki = _root_aki(key_identifier=ski, authority_cert_issuer=[name], authority_cert_serial_number=7)
    return with_root(make_root("Old Style Root", key=key, serial=7, extensions=[(aki, False)]))


@case(F.RSA_MODULUS)
def rsa_modulus_not_a_multiple_of_8() -> Scenario:
    return under_std(key_type="rsa2052")


@case(F.RSA_MODULUS, valid=False, openssl=False)
def webpki_rsa_modulus_not_a_multiple_of_8() -> Scenario:
    return webpki(under_std(key_type="rsa2052"))


# --- what RFC 5280 itself forbids: errors under both profiles ------------------------------------------


@case(BAD_SERIAL, openssl=False)  # OpenSSL accepts a zero serial
def leaf_serial_zero() -> Scenario:
    p = std()
    return Scenario(certs(with_serial(make_leaf(p.inter), p.inter, 0), p.inter), certs(p.root))


@case(BAD_SERIAL, openssl=False)
def intermediate_serial_negative() -> Scenario:
    p = std()
    inter = with_serial(make_intermediate(p.root, "Negative Serial CA"), p.root, -12345)
    return Scenario(certs(make_leaf(inter), inter), certs(p.root))


@case(NONCRITICAL_CONSTRAINTS, openssl=False)  # OpenSSL enforces them whatever their criticality
def name_constraints_not_critical() -> Scenario:
    return with_root(make_root("Loose NC Root", permitted=["example.com"], nc_critical=False))


@case(NONCRITICAL_CONSTRAINTS, openssl=False)
def policy_constraints_not_critical() -> Scenario:
    pc = x509.PolicyConstraints(require_explicit_policy=None, inhibit_policy_mapping=0)
    return with_root(make_root("Loose PC Root", extensions=[(pc, False)]))


# --- certificates that cannot be parsed or processed ---------------------------------------------------


@case(MALFORMED_CERTIFICATE, openssl=False)
def leaf_with_duplicate_extension() -> Scenario:
    p = std()
    leaf = with_duplicate_extension(make_leaf(p.inter), p.inter, x509.ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    return Scenario(certs(leaf, p.inter), certs(p.root))


@case(MALFORMED_CERTIFICATE, openssl=False)
def leaf_with_malformed_authority_information_access() -> Scenario:
    aia = x509.UnrecognizedExtension(x509.ExtensionOID.AUTHORITY_INFORMATION_ACCESS, b"malformed")
    return under_std(extensions=[(aia, False)])


@case(MALFORMED_CERTIFICATE)
def intermediate_with_unknown_critical_extension() -> Scenario:
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55738.666.1"), b"\x05\x00")
    return with_inter(extensions=[(unknown, True)])


@case(TOO_COMPLEX, openssl=False)  # OpenSSL allows far more name-constraint work
def name_constraints_times_names_beyond_the_budget() -> Scenario:
    subtrees = [f"zone{i}.example.net" for i in range(40)] + ["example.com"]
    root = make_root("Many Subtrees Root", permitted=subtrees)
    names = [f"host{i}.example.com" for i in range(40)] + [HOST]
    return with_root(root, cn=HOST, sans=names)


# --- accepted where RFC 5280 allows it ----------------------------------------------------------------


@case(F.EKU_MISSING)  # as `openssl req -x509 -addext subjectAltName=DNS:localhost` makes it
def self_signed_ca_leaf_trusted_directly() -> Scenario:
    ss = make_cert("localhost", ca=True, ku=None, eku=None, sans=["localhost"])
    return Scenario(certs(ss), certs(ss), "localhost")


@case()
def self_issued_intermediate_does_not_count_against_path_length() -> Scenario:
    root = make_root()
    old = make_intermediate(root, "Rolled CA", path_length=0)
    rolled = make_cert("Rolled CA", issuer=old, ca=True, path_length=0, subject=old.cert.subject)
    return Scenario(certs(make_leaf(rolled), rolled, old), certs(root))


@case()
def path_length_in_a_ca_leaf_is_ignored() -> Scenario:
    root = make_root()
    inter = make_intermediate(root, "Intermediate A", path_length=0)
    leaf = make_intermediate(
        inter,
        HOST,
        path_length=0,
        ku=key_usage("digital_signature", "key_cert_sign"),
        eku=[SERVER_AUTH],
        sans=[HOST],
    )
    return Scenario(certs(leaf, inter), certs(root))


@case()
def directory_name_constraint_permits_the_subject() -> Scenario:
    return with_root(make_root("DN Constrained Root", permitted=["O=tlslens tests"]))


@case(NAME_CONSTRAINTS)
def directory_name_constraint_refuses_another_subject() -> Scenario:
    return with_root(make_root("DN Constrained Root", permitted=["O=another org"]))


# --- OCSP (RFC 6960) and must-staple (RFC 7633): OpenSSL's verify does not read responses ------------


@case(openssl=False)
def good_ocsp_response() -> Scenario:
    p = std()
    return Scenario(certs(p.leaf, p.inter), certs(p.root), ocsp_response=ocsp_response(p.leaf, p.inter))


@case(F.OCSP_REVOKED, openssl=False)
def ocsp_response_says_revoked() -> Scenario:
    p = std()
    response = ocsp_response(p.leaf, p.inter, status="revoked")
    return Scenario(certs(p.leaf, p.inter), certs(p.root), ocsp_response=response, stapled=True)


@case(F.OCSP_STALE, openssl=False)
def ocsp_response_past_next_update() -> Scenario:
    p = std()
    response = ocsp_response(p.leaf, p.inter, this_update=NOW - 3 * DAY, next_update=NOW - DAY)
    return Scenario(certs(p.leaf, p.inter), certs(p.root), ocsp_response=response)


@case(F.OCSP_INVALID, openssl=False)
def ocsp_response_for_another_certificate() -> Scenario:
    p = std()
    response = ocsp_response(make_leaf(p.inter, "other.example.com"), p.inter)
    return Scenario(certs(p.leaf, p.inter), certs(p.root), ocsp_response=response)


@case(F.MUST_STAPLE_MISSING, openssl=False)
def must_staple_leaf_served_without_a_staple() -> Scenario:
    p = std()
    return Scenario(certs(must_staple_leaf(p.inter, HOST), p.inter), certs(p.root), stapled=True)


@case(openssl=False)
def must_staple_leaf_checked_without_a_server() -> Scenario:  # (no handshake: nothing was stapled)
    p = std()
    return Scenario(certs(must_staple_leaf(p.inter, HOST), p.inter), certs(p.root))


# --- the right code for the fault ---------------------------------------------------------------------


@case(UNTRUSTED_ROOT)
def leaf_issued_by_a_namesake_of_the_trusted_root() -> Scenario:
    return Scenario(certs(make_leaf(make_root())), certs(std().root))  # both roots: "Test Root CA"


@case(NAME_CONSTRAINTS, openssl=False)  # OpenSSL compares "*.example.com" with the subtree literally
def wildcard_meets_an_excluded_subtree() -> Scenario:
    root = make_root("Excluding Root", excluded=["internal.example.com"])
    return with_root(root, cn="*.example.com", sans=["*.example.com"])


@case(F.INVALID_CHAIN, F.CN_NOT_IN_SAN, openssl=False)
def webpki_critical_san_beside_a_subject() -> Scenario:
    return webpki(Scenario(under_std(sans=["example.com"], san_critical=True).chain, certs(std().root), None))


ALL = HEALTHY + BROKEN
