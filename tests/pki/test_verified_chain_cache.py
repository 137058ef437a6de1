"""WebPkiVerifier remembers the chains it accepted: exact keys (the certificates, the name, the purpose),
bounded in number and time, never past a certificate's validity, never for a refused chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tlslens.pki.diagnosis as diagnosis
from tests.handshake.helpers import NOW, pki
from tlslens.errors import CertificateError
from tlslens.verifier import WebPkiVerifier


@pytest.fixture
def path_builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts the verifier's calls into the chain check (the work the cache saves)."""
    calls: list[str] = []
    server, client = diagnosis.verify_server_chain, diagnosis.verify_client_chain

    def counted_server(*args: object, **kwargs: object) -> object:
        calls.append("server")
        return server(*args, **kwargs)  # type: ignore[arg-type]

    def counted_client(*args: object, **kwargs: object) -> object:
        calls.append("client")
        return client(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(diagnosis, "verify_server_chain", counted_server)
    monkeypatch.setattr(diagnosis, "verify_client_chain", counted_client)
    yield calls


def test_an_accepted_chain_is_not_checked_again(path_builds: list[str]) -> None:
    p = pki()
    v = WebPkiVerifier([p.root.certificate])
    v.verify_server(p.chain, "localhost", NOW)
    v.verify_server(list(p.chain), "localhost", NOW + 1)  # equal certificates, another list
    assert path_builds == ["server"]


def test_the_name_and_the_purpose_are_part_of_the_key(path_builds: list[str]) -> None:
    p = pki()
    v = WebPkiVerifier([p.root.certificate])
    v.verify_server(p.chain, "localhost", NOW)
    with pytest.raises(CertificateError):
        v.verify_server(p.chain, "other.example", NOW)
    with pytest.raises(CertificateError):  # a server leaf is no client certificate
        v.verify_client(p.chain, NOW)
    assert path_builds == ["server", "server", "client"]


def test_a_refused_chain_is_checked_every_time(path_builds: list[str]) -> None:
    p = pki()
    v = WebPkiVerifier([p.root.certificate])
    for _ in range(2):
        with pytest.raises(CertificateError):
            v.verify_server(p.chain[:1], "localhost", NOW)  # the intermediate is missing
    assert path_builds == ["server", "server"]


def test_entries_end_with_their_ttl_and_with_the_certificates(path_builds: list[str]) -> None:
    p = pki()
    v = WebPkiVerifier([p.root.certificate], cache_ttl=10)
    v.verify_server(p.chain, "localhost", NOW)
    v.verify_server(p.chain, "localhost", NOW + 9)
    v.verify_server(p.chain, "localhost", NOW + 11)  # past the TTL: checked again
    assert path_builds == ["server", "server"]
    after_expiry = p.leaf.certificate.not_valid_after_utc.timestamp() + 1
    with pytest.raises(CertificateError):  # kept, but not past the leaf's notAfter
        v.verify_server(p.chain, "localhost", after_expiry)


def test_cache_size_zero_turns_it_off_and_the_size_is_bounded(path_builds: list[str]) -> None:
    p = pki()
    off = WebPkiVerifier([p.root.certificate], cache_size=0)
    off.verify_server(p.chain, "localhost", NOW)
    off.verify_server(p.chain, "localhost", NOW)
    assert path_builds == ["server", "server"]
    small = WebPkiVerifier([p.root.certificate], cache_size=1)
    small.verify_server(p.chain, "localhost", NOW)
    small.verify_server(p.chain, "127.0.0.1", NOW)  # pushes the first out
    small.verify_server(p.chain, "localhost", NOW)
    assert path_builds == ["server"] * 5
