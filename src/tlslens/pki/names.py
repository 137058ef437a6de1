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

from tlslens.pki.budget import Budget

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


def _wildcard_meets_subtree(pattern: str, base: str) -> bool:
    """Can ``*.W`` match a name inside the subtree ``base`` (so an excluded subtree refuses it)?"""
    parent = pattern.lower().rstrip(".")[2:]
    base = base.lower().rstrip(".").lstrip(".")
    if not base or _in_dns_subtree(parent, base):
        return True  # every name the wildcard matches is inside the subtree
    return base.partition(".")[2] == parent  # the subtree's own name is one the wildcard matches


def _in_ip_subtree(address: object, network: object) -> bool:
    if not isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return False
    if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return False
    return address.version == network.version and address in network


def _in_directory_subtree(name: x509.Name, base: x509.Name) -> bool:
    """RFC 5280 §4.2.1.10: a directory name is inside a subtree when the subtree's RDNs start it."""
    rdns, prefix = list(name.rdns), list(base.rdns)
    return len(prefix) <= len(rdns) and rdns[: len(prefix)] == prefix


def _in_subtree(gn: x509.GeneralName, subtree: x509.GeneralName, *, excluding: bool = False) -> bool | None:
    """None when the subtree is of another type than the name."""
    if isinstance(gn, x509.DNSName) and isinstance(subtree, x509.DNSName):
        if excluding and gn.value.startswith("*."):
            return _wildcard_meets_subtree(gn.value, subtree.value)
        return _in_dns_subtree(gn.value, subtree.value)
    if isinstance(gn, x509.IPAddress) and isinstance(subtree, x509.IPAddress):
        return _in_ip_subtree(gn.value, subtree.value)
    if isinstance(gn, x509.DirectoryName) and isinstance(subtree, x509.DirectoryName):
        return _in_directory_subtree(gn.value, subtree.value)
    return None


_CONSTRAINED = (x509.DNSName, x509.IPAddress, x509.DirectoryName)


def _constrained_names(cert: x509.Certificate) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [
        gn for gn in subject_alt_names(cert) or () if isinstance(gn, _CONSTRAINED)
    ]
    if len(cert.subject):  # the subject is a directory name too (RFC 5280 §4.2.1.10)
        names.append(x509.DirectoryName(cert.subject))
    return names


def _text(gn: x509.GeneralName) -> str:
    return gn.value.rfc4514_string() if isinstance(gn, x509.DirectoryName) else str(gn.value)


def constraint_violations(
    constraints: x509.NameConstraints, cert: x509.Certificate, budget: Budget | None = None
) -> list[tuple[str, str]]:
    """Names of ``cert`` (DNS, IP and directory names, its subject included) that ``constraints``
    refuse: ``(name, "excluded" | "not permitted")``. Each name-subtree comparison is charged to
    ``budget`` (``"name-checks"``), which raises ``OutOfBudget`` when it runs out."""
    out: list[tuple[str, str]] = []
    permitted = list(constraints.permitted_subtrees or ())
    excluded = list(constraints.excluded_subtrees or ())
    for gn in _constrained_names(cert):
        same_excluded = [sub for sub in excluded if type(sub) is type(gn)]
        same_permitted = [sub for sub in permitted if type(sub) is type(gn)]
        if budget is not None and (same_excluded or same_permitted):
            budget.spend("name-checks", len(same_excluded) + len(same_permitted))
        if any(_in_subtree(gn, sub, excluding=True) for sub in same_excluded):
            out.append((_text(gn), "excluded"))
            continue
        if same_permitted and not any(_in_subtree(gn, sub) for sub in same_permitted):
            out.append((_text(gn), "not permitted"))
    return out
