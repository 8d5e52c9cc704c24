"""What the state layer refuses to be given: floats for money, negative counts, duplicate limits."""

from __future__ import annotations

import pytest

from switchgear.state import Admission, Budget, Concurrency, Period, RateLimit, Scope

KEY = Scope("key", "k1")


@pytest.mark.parametrize("amount", [1.5, -1, True, "10"])
def test_money_is_a_non_negative_integer(amount: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        Budget(KEY, amount)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative integer"):
        Admission("a", amount, 0, 1.0)  # type: ignore[arg-type]


def test_limits_are_whole_numbers() -> None:
    with pytest.raises(ValueError):
        RateLimit(KEY, "requests", 10, window_s=0)
    with pytest.raises(ValueError):
        RateLimit(KEY, "tokens", 10, window_s=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Concurrency(KEY, -1)


@pytest.mark.parametrize("bad", ["", "has space", "x" * 201, "a\nb", "é"])
def test_reservation_ids_are_plain(bad: str) -> None:
    with pytest.raises(ValueError, match="admission id"):
        Admission(bad, 1, 1, 1.0)


def test_the_same_limit_twice_is_refused() -> None:
    day = Period.parse("1d")
    with pytest.raises(ValueError, match="twice"):
        Admission("a", 1, 1, 1.0, budgets=(Budget(KEY, 5, day), Budget(KEY, 9, day)))
    with pytest.raises(ValueError, match="twice"):
        Admission("a", 1, 1, 1.0, concurrency=(Concurrency(KEY, 1), Concurrency(KEY, 2)))
    both = (Budget(KEY, 5, day), Budget(KEY, 9, Period.parse("month")))
    assert len(Admission("a", 1, 1, 1.0, budgets=both).budgets) == 2


def test_a_ttl_is_positive() -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        Admission("a", 1, 1, 0)


def test_scope_names() -> None:
    assert Scope("key", "k:1").name == "key:k:1"
    assert str(Scope("global")) == "global:"
