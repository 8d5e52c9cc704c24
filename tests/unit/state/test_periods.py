"""Budget periods: ids and ends in Python, and the same ids from the Lua the Redis backend runs."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import pytest

from switchgear.state.periods import MONTH, Period, period_at
from switchgear.state.redis_scripts import lua_source
from tests.fakes.state import redis_state

# Around month, year and leap-day boundaries, the epoch, and far out.
MOMENTS = [
    0,
    86_399,
    calendar.timegm((2024, 2, 29, 23, 59, 59)),
    calendar.timegm((2024, 3, 1, 0, 0, 0)),
    calendar.timegm((2025, 12, 31, 23, 59, 59)),
    calendar.timegm((2026, 1, 1, 0, 0, 0)),
    calendar.timegm((2100, 2, 28, 12, 0, 0)),
    calendar.timegm((2000, 2, 29, 0, 0, 0)),
    *range(1_700_000_000, 1_800_000_000, 7_654_321),
]
PERIODS = [Period.parse(name) for name in ("1h", "1d", "7d", "30d", "month")] + [Period("fixed", 2)]


def test_names() -> None:
    assert Period.parse("1h") == Period("fixed", 3600)
    assert Period.parse("30d").seconds == 2_592_000
    assert Period.parse("month") == Period(MONTH)
    with pytest.raises(ValueError, match="1h, 1d, 7d, 30d or month"):
        Period.parse("2w")
    with pytest.raises(ValueError):
        Period("fixed", 0)


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_calendar_month_is_the_utc_month(moment: int) -> None:
    period_id, end = Period(MONTH).at(moment)
    when = datetime.fromtimestamp(moment, UTC)
    assert period_id == f"{when.year:04d}{when.month:02d}"
    next_month = datetime(when.year + when.month // 12, when.month % 12 + 1, 1, tzinfo=UTC)
    assert end == int(next_month.timestamp())


def test_fixed_periods_count_from_the_epoch() -> None:
    day = Period.parse("1d")
    assert day.at(calendar.timegm((2026, 1, 1, 0, 0, 0))) == ("20454", 20455 * 86_400)
    assert day.at(calendar.timegm((2026, 1, 1, 23, 59, 59)))[0] == "20454"
    assert period_at(None, 123) == ("all", None)


async def test_the_lua_periods_agree_with_python(redis_url: str) -> None:
    script = lua_source("common") + "\nlocal id, e = period_at(ARGV[1], tonumber(ARGV[2]))\nreturn {id, e}"
    async with redis_state(redis_url) as state:
        for period in PERIODS:
            for moment in MOMENTS:
                reply = await state.client.eval(script, 0, period.code, moment)  # type: ignore[misc]
                assert (reply[0], reply[1]) == period.at(moment), (period, moment)
        assert await state.client.eval(script, 0, "", 5) == ["all", -1]  # type: ignore[misc]
