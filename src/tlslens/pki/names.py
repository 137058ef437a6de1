"""Names: the requested server name, hostname matching (RFC 6125) and name constraints (RFC 5280).

These are used by the diagnosis to say *why* a name does not match; the verdict itself comes from
``cryptography``'s verifier, whose rules these follow: SANs only (the subject CN is never used), one
wildcard that must be the whole left-most label and matches exactly one label.
"""

from __future__ import annotations

import functools
import ipaddress
import re

from cryptography import x509

__all__ = [
    "constraint_violations",
    "match_server_name",
    "parse_server_name",
    "san_names",
    "subject_alt_names",
]

ServerName = x509.DNSName | x509.IPAddress
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


@functools.lru_cache(maxsize=1024)  # a client asks for the same few names on every handshake
def parse_server_name(name: str) -> ServerName:
    """The name to check a server certificate against: an IP address or a DNS name.

    IP literals (``[::1]`` brackets allowed) become ``IPAddress``; other names are converted to IDNA
    A-labels, lower-cased, with one trailing dot removed. Raises ``ValueError`` for a name that cannot be
    a host name (empty, wildcards, bad characters, over-long labels).
    """
    text = name.strip()
    literal = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return x509.IPAddress(ipaddress.ip_address(literal))
    except ValueError:
        pass
    if text.endswith("."):
        text = text[:-1]
    try:
        ascii_name = text.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"{name!r} is not a valid host name ({exc})") from None
    labels = ascii_name.split(".")
    if not ascii_name or len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{name!r} is not a valid host name")
    return x509.DNSName(ascii_name)


def subject_alt_names(cert: x509.Certificate) -> list[x509.GeneralName] | None:
    """The subjectAltName entries, or None when the extension is absent."""
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return None


def san_names(cert: x509.Certificate) -> list[str]:
    """DNS names and IP addresses of the subjectAltName, as text."""
    out: list[str] = []
    for gn in subject_alt_names(cert) or ():
        if isinstance(gn, x509.DNSName | x509.IPAddress):
            out.append(str(gn.value))
    return out


def _dns_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False  # partial wildcards ("f*.example.com") are not honoured
    first, sep, rest = host.partition(".")
    return bool(first and sep) and rest == pattern[2:]


def match_server_name(name: ServerName, cert: x509.Certificate) -> bool:
    """Does ``cert``'s subjectAltName cover ``name`` (RFC 6125; IPs only match IP SANs)?"""
    sans = subject_alt_names(cert) or []
    if isinstance(name, x509.IPAddress):
        return any(isinstance(gn, x509.IPAddress) and gn.value == name.value for gn in sans)
    host = name.value.lower()
    return any(isinstance(gn, x509.DNSName) and _dns_matches(gn.value, host) for gn in sans)


def _in_dns_subtree(host: str, base: str) -> bool:
    host, base = host.lower().rstrip("."), base.lower().rstrip(".")
    if not base:
        return True
    if base.startswith("."):
        return host.endswith(base)
    return host == base or host.endswith("." + base)


def _in_ip_subtree(address: object, network: object) -> bool:
    if not isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return False
    if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return False
    return address.version == network.version and address in network


def _in_subtree(gn: x509.GeneralName, subtree: x509.GeneralName) -> bool | None:
    """None when the subtree is of another type than the name."""
    if isinstance(gn, x509.DNSName) and isinstance(subtree, x509.DNSName):
        return _in_dns_subtree(gn.value, subtree.value)
    if isinstance(gn, x509.IPAddress) and isinstance(subtree, x509.IPAddress):
        return _in_ip_subtree(gn.value, subtree.value)
    return None


def constraint_violations(constraints: x509.NameConstraints, cert: x509.Certificate) -> list[tuple[str, str]]:
    """DNS/IP names of ``cert`` that ``constraints`` refuse: ``(name, "excluded" | "not permitted")``."""
    out: list[tuple[str, str]] = []
    permitted = list(constraints.permitted_subtrees or ())
    excluded = list(constraints.excluded_subtrees or ())
    for gn in subject_alt_names(cert) or ():
        if not isinstance(gn, x509.DNSName | x509.IPAddress):
            continue
        if any(_in_subtree(gn, sub) for sub in excluded):
            out.append((str(gn.value), "excluded"))
            continue
        same_type = [sub for sub in permitted if type(sub) is type(gn)]
        if same_type and not any(_in_subtree(gn, sub) for sub in same_type):
            out.append((str(gn.value), "not permitted"))
    return out
