"""USD amounts at the admin edge: exact micro-USD or refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from switchgear.keys.grants import allows_model
from switchgear.keys.money import parse_usd, to_micro


@pytest.mark.parametrize(
    ("value", "micro"),
    [(0.1, 100_000), ("12.345678", 12_345_678), (25, 25_000_000), (0, 0), ("1e3", 1_000_000_000)],
)
def test_exact_amounts_become_micro_usd(value: object, micro: int) -> None:
    assert to_micro(parse_usd(value)) == micro


@pytest.mark.parametrize(
    "value", [-0.01, float("nan"), float("inf"), "NaN", "-Infinity", 0.1234567, 1e16, True, "ten", None, [1]]
)
def test_amounts_that_are_not_exact_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_usd(value)


def test_a_string_carries_large_amounts_exactly() -> None:
    assert parse_usd("999999999999.000001") == Decimal("999999999999.000001")
    with pytest.raises(ValueError):
        parse_usd(1e13)


@pytest.mark.parametrize(
    ("patterns", "model", "allowed"),
    [
        ([], "anything", True),
        (["gpt-4o*"], "gpt-4o-mini", True),
        (["gpt-4o*"], "gpt-4o*", True),
        (["gpt-4o*"], "gpt-*", False),
        (["fast"], "slow", False),
        (["*"], "gpt-*", True),
    ],
)
def test_models_granted_stay_within_the_allowed_patterns(
    patterns: list[str], model: str, allowed: bool
) -> None:
    assert allows_model(patterns, model) is allowed
