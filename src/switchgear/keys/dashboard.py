"""The overview dashboard's numbers, within the caller's tenancy: requests, errors and spend per day,
the top models and keys (all from the daily rollup, so the cost does not grow with traffic), and
latency percentiles of the newest requests (a bounded sample of the raw log: the rollup holds no
latency)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from switchgear.core.errors import InvalidRequest
from switchgear.keys.admin_base import AdminContext
from switchgear.keys.admin_reports import ReportAdmin
from switchgear.keys.money import nano_to_usd
from switchgear.keys.tenancy import Actor
from switchgear.keys.views import SpendGroup
from switchgear.storage.latency import latency_sample

LATENCY_SAMPLE = 10_000  # newest requests the percentiles are taken over
TOP = 5
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class Percentiles:
    p50: float | None
    p90: float | None
    p99: float | None

    @classmethod
    def of(cls, values: list[float]) -> Percentiles:
        ordered = sorted(values)

        def rank(q: float) -> float | None:  # nearest rank
            return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else None

        return cls(rank(0.50), rank(0.90), rank(0.99))


@dataclass(frozen=True, slots=True)
class Dashboard:
    start: date
    end: date
    days: list[SpendGroup]  # one per day of the range, zeros included, oldest first
    requests: int
    failed_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanousd: int
    top_models: list[SpendGroup]
    top_keys: list[SpendGroup]
    latency: Percentiles  # whole request, ms
    ttfb: Percentiles  # time to first byte, ms
    latency_sampled: int  # how many of the newest requests the percentiles cover
    latency_since: datetime | None

    @property
    def error_rate(self) -> float:
        return self.failed_requests / self.requests if self.requests else 0.0

    @property
    def spend(self) -> str:
        return f"{nano_to_usd(self.cost_nanousd):.4f}"


def _zero(day: date) -> SpendGroup:
    return SpendGroup(
        group=day.isoformat(),
        requests=0,
        failed_requests=0,
        prompt_tokens=0,
        completion_tokens=0,
        spend=nano_to_usd(0),
        cost_nanousd=0,
    )


class DashboardAdmin:
    def __init__(self, ctx: AdminContext, reports: ReportAdmin) -> None:
        self._ctx = ctx
        self._reports = reports

    async def overview(self, actor: Actor, days: int = 14) -> Dashboard:
        """The last ``days`` UTC days, today included."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidRequest(f"days must be between 1 and {MAX_DAYS}", param="days")
        end = self._ctx.clock().astimezone(UTC).date()
        start = end - timedelta(days=days - 1)
        # four independent reads, side by side (each its own connection; PostgreSQL and SQLite's
        # WAL both serve them at once)
        per_day, by_model, by_key, sample = await asyncio.gather(
            self._reports.spend(actor, "day", start, end),
            self._reports.spend(actor, "model", start, end),
            self._reports.spend(actor, "key", start, end),
            latency_sample(
                self._ctx.db,
                datetime.combine(start, time(), UTC),
                datetime.combine(end + timedelta(days=1), time(), UTC),
                limit=LATENCY_SAMPLE,
                team_id=actor.team_id if actor.role == "team_admin" else None,
                org_id=actor.org_id if actor.role == "org_admin" else None,
            ),
        )
        seen = {g.group: g for g in per_day.data}
        series = [
            seen.get(day.isoformat()) or _zero(day) for day in (start + timedelta(d) for d in range(days))
        ]
        return Dashboard(
            start=start,
            end=end,
            days=series,
            requests=sum(g.requests for g in series),
            failed_requests=sum(g.failed_requests for g in series),
            prompt_tokens=sum(g.prompt_tokens for g in series),
            completion_tokens=sum(g.completion_tokens for g in series),
            cost_nanousd=sum(g.cost_nanousd for g in series),
            top_models=by_model.data[:TOP],
            top_keys=by_key.data[:TOP],
            latency=Percentiles.of(sample.duration_ms),
            ttfb=Percentiles.of(sample.ttfb_ms),
            latency_sampled=len(sample.duration_ms),
            latency_since=sample.oldest,
        )
