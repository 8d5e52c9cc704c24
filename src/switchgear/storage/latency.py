"""Latency of recent requests, for the dashboard's percentiles: the newest requests in a time range,
read backwards along the ``created_at`` index (or the key/team index when filtered) and stopped at a
bound, so the cost is the same with a thousand logged requests or a hundred million.

The daily rollup holds no latency, so the percentiles come from this bounded sample of raw rows;
the caller says how many it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from switchgear.storage.database import Database
from switchgear.storage.tables import spend_log

_s = spend_log.c


@dataclass(frozen=True, slots=True)
class LatencySample:
    """Durations (whole request) and times to first byte, in ms, of the newest requests; ``ttfb_ms``
    holds only the requests that recorded one."""

    duration_ms: list[float]
    ttfb_ms: list[float]
    oldest: datetime | None  # when the oldest request of the sample arrived


async def latency_sample(
    db: Database,
    start: datetime,
    end: datetime,
    *,
    limit: int = 10_000,
    team_id: str | None = None,
    org_id: str | None = None,
) -> LatencySample:
    """At most ``limit`` of the newest requests that arrived in [``start``, ``end``)."""
    if not 1 <= limit <= 100_000:
        raise ValueError("limit must be between 1 and 100000")
    query = (
        sa.select(_s.duration_ms, _s.ttfb_ms, _s.created_at)
        .where(_s.created_at >= start, _s.created_at < end)
        .order_by(_s.created_at.desc())
        .limit(limit)
    )
    if team_id is not None:
        query = query.where(_s.team_id == team_id)
    if org_id is not None:
        query = query.where(_s.org_id == org_id)
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return LatencySample(
        duration_ms=[float(r[0]) for r in rows],
        ttfb_ms=[float(r[1]) for r in rows if r[1] is not None],
        oldest=rows[-1][2] if rows else None,
    )
