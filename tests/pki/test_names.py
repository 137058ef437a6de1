"""Server names (parsing, RFC 6125 matching) and name constraints (RFC 5280)."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509

from tests.pki.factory import make_cert, make_root
from tlslens.pki.names import constraint_violations, match_server_name, parse_server_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("www.example.com", x509.DNSName("www.example.com")),
        ("WWW.Example.COM.", x509.DNSName("www.example.com")),
        ("bücher.example", x509.DNSName("xn--bcher-kva.example")),
        ("127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
        ("::1", x509.IPAddress(ipaddress.ip_address("::1"))),
        ("[2001:db8::1]", x509.IPAddress(ipaddress.ip_address("2001:db8::1"))),
        ("_service.example", x509.DNSName("_service.example")),
    ],
    ids=["plain", "case-and-dot", "idna", "ipv4", "ipv6", "ipv6-brackets", "underscore"],
)
def test_parse_server_name(given: str, expected: x509.GeneralName) -> None:
    assert parse_server_name(given) == expected


@pytest.mark.parametrize(
    "bad", ["", ".", "bad name", "*.example.com", "a..b", "-lead.example", "x" * 64 + ".example"]
)
def test_parse_server_name_refuses_non_host_names(bad: str) -> None:
    with pytest.raises(ValueError, match="not a valid host name"):
        parse_server_name(bad)


@pytest.mark.parametrize(
    ("sans", "host", "matches"),
    [
        (["www.example.com"], "www.example.com", True),
        (["WWW.EXAMPLE.COM"], "www.example.com", True),
        (["*.example.com"], "www.example.com", True),
        (["*.example.com"], "example.com", False),
        (["*.example.com"], "a.b.example.com", False),
        (["f*.example.com"], "foo.example.com", False),
        (["www.example.com"], "example.com", False),
        (["127.0.0.1"], "127.0.0.1", True),
        (["127.0.0.1"], "127.0.0.2", False),
        (["www.example.com"], "127.0.0.1", False),
        (["::1"], "[::1]", True),
    ],
    ids=[
        "exact",
        "san-case",
        "wildcard",
        "wildcard-not-apex",
        "wildcard-one-label",
        "partial-wildcard-refused",
        "no-suffix-match",
        "ip",
        "other-ip",
        "ip-never-matches-dns",
        "ipv6",
    ],
)
def test_match_server_name_rfc6125(sans: list[str], host: str, matches: bool) -> None:
    cert = make_cert("leaf", issuer=make_root(), sans=sans)
    assert match_server_name(parse_server_name(host), cert.cert) is matches


def test_common_name_is_never_used() -> None:
    cert = make_cert("www.example.com", issuer=make_root(), sans=["other.example.com"])
    assert not match_server_name(parse_server_name("www.example.com"), cert.cert)


@pytest.mark.parametrize(
    ("permitted", "excluded", "sans", "expected"),
    [
        (["example.com"], None, ["www.example.com", "example.com"], []),
        (["example.com"], None, ["www.example.org"], [("www.example.org", "not permitted")]),
        (["example.com"], None, ["badexample.com"], [("badexample.com", "not permitted")]),
        ([".example.com"], None, ["example.com"], [("example.com", "not permitted")]),
        (None, ["corp.example.com"], ["db.corp.example.com"], [("db.corp.example.com", "excluded")]),
        (["10.0.0.0/8"], None, ["10.1.2.3", "192.168.0.1"], [("192.168.0.1", "not permitted")]),
        (["10.0.0.0/8"], None, ["www.example.com"], []),  # no DNS constraint: DNS names are free
        (["2001:db8::/32"], None, ["10.0.0.1"], [("10.0.0.1", "not permitted")]),
    ],
    ids=[
        "permitted",
        "not-permitted",
        "label-boundary",
        "leading-dot",
        "excluded",
        "ip",
        "other-type",
        "ip-versions",
    ],
)
def test_constraint_violations(
    permitted: list[str] | None, excluded: list[str] | None, sans: list[str], expected: list[tuple[str, str]]
) -> None:
    ca = make_root(permitted=permitted, excluded=excluded)
    nc = ca.cert.extensions.get_extension_for_class(x509.NameConstraints).value
    leaf = make_cert("leaf", issuer=ca, sans=sans)
    assert constraint_violations(nc, leaf.cert) == expected
