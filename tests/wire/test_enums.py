"""Open IANA enums: unknown values survive as pseudo-members; names for people and for the CLI."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlslens.wire import open_enum
from tlslens.wire.enums import (
    CipherSuite,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    is_grease,
)


def test_unknown_value_becomes_a_pseudo_member_equal_by_value() -> None:
    grease = ExtensionType(0x3A3A)
    assert grease == 0x3A3A and grease == ExtensionType(0x3A3A)
    assert grease.name == "UNKNOWN_0x3a3a" and str(grease) == "UNKNOWN_0x3a3a"
    assert not grease.known
    assert ExtensionType.KEY_SHARE.known and str(ExtensionType.KEY_SHARE) == "KEY_SHARE"


@pytest.mark.parametrize("value", [-1, "x", 1.5])
def test_values_that_are_not_wire_integers_are_rejected(value: object) -> None:
    with pytest.raises(ValueError):
        NamedGroup(value)


def test_human_and_iana_names() -> None:
    assert ProtocolVersion.TLS1_3.label == "TLSv1.3"
    assert ProtocolVersion.SSL3.label == "SSLv3"
    assert ProtocolVersion(0x7F1C).label == "UNKNOWN_0x7f1c"
    assert NamedGroup.X25519.iana_name == "x25519"
    assert NamedGroup.X25519MLKEM768.iana_name == "X25519MLKEM768"
    assert SignatureScheme.RSA_PSS_RSAE_SHA256.iana_name == "rsa_pss_rsae_sha256"
    assert CipherSuite.TLS_AES_128_GCM_SHA256.is_tls13
    assert not CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.is_tls13


def test_grease_values_are_recognised() -> None:
    assert all(is_grease(v) for v in range(0x0A0A, 0x10000, 0x1010))
    assert not is_grease(0x0A1A) and not is_grease(0x1301)


@given(st.lists(st.integers(0, 0xFFFF), max_size=40))
def test_tuple_of_is_the_enum_called_on_each_value(values: list[int]) -> None:
    decoded = SignatureScheme.tuple_of(values)
    assert decoded == tuple(map(SignatureScheme, values))
    assert [d.name for d in decoded] == [SignatureScheme(v).name for v in values]
    assert all(type(d) is SignatureScheme for d in decoded)


def test_pseudo_members_kept_for_reuse_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(open_enum, "_PSEUDO_MEMBERS", {})
    monkeypatch.setattr(open_enum, "_MAX_PSEUDO_MEMBERS", 3)
    values = [0xFE00 + i for i in range(10)]  # unassigned code points
    first = NamedGroup.tuple_of(values)
    again = NamedGroup.tuple_of(values)
    assert first == again and [g.name for g in again] == [f"UNKNOWN_0x{v:04x}" for v in values]
    assert len(open_enum._PSEUDO_MEMBERS) == 3
