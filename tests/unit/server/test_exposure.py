"""Who may start the gateway where: open relays and guessable master keys."""

from __future__ import annotations

from typing import Any

import pytest

from switchgear.config import parse_settings
from switchgear.server.exposure import assess, is_loopback, key_bits, weakness

STRONG = "3f9c0d5e8a7b41c2"  # 16 hex characters (`openssl rand -hex 8`)


def exposure(**server: Any) -> tuple[list[str], list[str]]:
    verdict = assess(parse_settings({"server": server}, {}))
    return verdict.errors, verdict.warnings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "192.168.1.4", "gateway.internal", ""])
def test_addresses_reachable_from_elsewhere(host: str) -> None:
    assert not is_loopback(host)


def test_no_key_on_loopback_is_one_warning() -> None:
    errors, warnings = exposure(host="127.0.0.1")
    assert errors == []
    assert len(warnings) == 1 and warnings[0].startswith("requests are not authenticated")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.7"])
def test_no_key_beyond_loopback_refuses_to_start(host: str) -> None:
    errors, _ = exposure(host=host)
    assert len(errors) == 1
    assert errors[0].startswith(f"refusing to serve {host}:4000 without authentication")
    assert "server.allow_unauthenticated: true" in errors[0] and "server.master_key" in errors[0]


def test_allow_unauthenticated_turns_the_refusal_into_a_warning() -> None:
    errors, warnings = exposure(host="0.0.0.0", allow_unauthenticated=True)
    assert errors == []
    assert len(warnings) == 1 and "not authenticated on 0.0.0.0:4000" in warnings[0]


@pytest.mark.parametrize(
    "key", ["changeme", "sk-12345", "sk-1234", "password", "PASSWORD", "your-master-key"]
)
def test_well_known_keys(key: str) -> None:
    assert weakness(key) == "is a well-known default"


@pytest.mark.parametrize("key", ["aaaaaaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabc", "12345678", "x7Kq2"])
def test_low_entropy_keys(key: str) -> None:
    reason = weakness(key)
    assert reason is not None and reason.startswith("is too short or too plain")


@pytest.mark.parametrize(
    "key",
    [STRONG, "sk-master-0123456789", "0c1d4e7f9a2b3c5d6e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"],
)
def test_random_looking_keys_pass(key: str) -> None:
    assert weakness(key) is None
    assert key_bits(key) >= 50


@pytest.mark.parametrize("key", ["changeme", "sk-12345"])
def test_a_weak_key_is_refused_beyond_loopback(key: str) -> None:
    errors, _ = exposure(host="0.0.0.0", master_key=key)
    assert len(errors) == 1 and errors[0].startswith("server.master_key is a well-known default")
    assert key not in errors[0]


def test_a_weak_key_is_allowed_on_loopback_with_a_warning() -> None:
    errors, warnings = exposure(host="127.0.0.1", master_key="changeme")
    assert errors == []
    assert warnings == [
        "server.master_key is a well-known default; fine on loopback only: "
        "use a random key, e.g. the output of `openssl rand -hex 32`"
    ]


def test_a_strong_key_anywhere_is_silent() -> None:
    assert exposure(host="0.0.0.0", master_key=STRONG) == ([], [])
    assert exposure(host="127.0.0.1", master_key=STRONG) == ([], [])
