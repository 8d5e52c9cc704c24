"""Budget periods: which period a moment falls in, its id and its end.

A period is either a fixed length in whole seconds counted from the Unix epoch (``1h``, ``1d``,
``7d``, ``30d``: a day starts at 00:00 UTC, a week on Thursday 00:00 UTC, as 1970-01-01 did) or the
calendar month in UTC. The period id is part of every budget counter's key, so a reset is a new key:
it happens exactly once however many processes see the boundary. The Redis backend computes the
same ids inside its Lua scripts (``lua/periods.lua``); the tests hold the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

MONTH = "month"
_NAMED = {"1h": 3600, "1d": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}


@dataclass(frozen=True, slots=True)
class Period:
    """``Period(seconds=3600)`` or ``Period(MONTH)``; build from a name with ``Period.parse``."""

    kind: str = "fixed"  # "fixed" or "month"
    seconds: int = 0

    def __post_init__(self) -> None:
        if self.kind == MONTH:
            if self.seconds:
                raise ValueError("a calendar month has no fixed length")
        elif self.kind == "fixed":
            if isinstance(self.seconds, bool) or not isinstance(self.seconds, int) or self.seconds < 1:
                raise ValueError(f"a period is a whole number of seconds >= 1, got {self.seconds!r}")
        else:
            raise ValueError(f"unknown period kind {self.kind!r}")

    @classmethod
    def parse(cls, name: str) -> Period:
        """``1h``, ``1d``, ``7d``, ``30d`` or ``month`` (calendar month, UTC)."""
        if name == MONTH:
            return cls(MONTH)
        if name in _NAMED:
            return cls("fixed", _NAMED[name])
        raise ValueError(f"unknown budget duration {name!r}: use 1h, 1d, 7d, 30d or month")

    @property
    def code(self) -> str:
        """How the Lua scripts are told the period: ``"m"`` or the length in seconds."""
        return "m" if self.kind == MONTH else str(self.seconds)

    def at(self, now_s: int) -> tuple[str, int]:
        """The id of the period holding ``now_s`` (whole seconds, UTC) and its end in seconds."""
        if self.kind == MONTH:
            year, month = _civil_month(now_s // 86_400)
            next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
            end = _days_from_civil(next_year, next_month, 1) * 86_400
            return f"{year:04d}{month:02d}", end
        index = now_s // self.seconds
        return str(index), (index + 1) * self.seconds


FOREVER_ID = "all"


def period_at(period: Period | None, now_s: int) -> tuple[str, int | None]:
    """Like ``Period.at``; no period is one period forever (id ``all``, no end)."""
    if period is None:
        return FOREVER_ID, None
    return period.at(now_s)


def _civil_month(days: int) -> tuple[int, int]:
    """Year and month of a day number (days since 1970-01-01), H. Hinnant's civil_from_days."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month


def _days_from_civil(year: int, month: int, day: int) -> int:
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468
