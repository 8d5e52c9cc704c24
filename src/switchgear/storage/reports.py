"""Reading spend: totals grouped by key, user, team, org, model, tag or day over a date range (from
the daily rollup, so a month is a few thousand rows whatever the traffic), and the request log,
page by page, newest first (from the raw rows, while retention keeps them)."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from switchgear.storage.database import Database
from switchgear.storage.rows import AttemptStep, GuardStep, Page, SpendRow, SpendTotal
from switchgear.storage.tables import spend_daily, spend_log

GroupBy = Literal["key", "user", "team", "org", "model", "tag", "day"]
GROUPS: dict[str, str] = {
    "key": "key_id",
    "user": "user_id",
    "team": "team_id",
    "org": "org_id",
    "model": "model",
    "tag": "tag",
    "day": "day",
}
_d = spend_daily.c
_s = spend_log.c


def _int(value: Any) -> int:
    return int(value or 0)  # PostgreSQL sums bigints as numeric


async def spend_report(
    db: Database,
    group_by: GroupBy,
    start: date,
    end: date,
    *,
    key_id: str | None = None,
    user_id: str | None = None,
    team_id: str | None = None,
    org_id: str | None = None,
    model: str | None = None,
    tag: str | None = None,
) -> list[SpendTotal]:
    """Totals per group for the UTC days ``start`` to ``end`` (both included), costliest first
    (by day: in day order). The filters narrow to one key, user, team, org, model or tag; a
    request with several tags counts once per tag when grouped by tag, once otherwise."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    column = _d[GROUPS[group_by]]
    cost = sa.func.sum(_d.cost_nanousd)
    query = (
        sa.select(
            column,
            sa.func.sum(_d.requests),
            sa.func.sum(_d.failed_requests),
            sa.func.sum(_d.prompt_tokens),
            sa.func.sum(_d.completion_tokens),
            cost,
        )
        .where(_d.day >= start, _d.day <= end)
        .group_by(column)
    )
    if tag is not None:
        query = query.where(_d.tag == tag)
    elif group_by == "tag":
        query = query.where(_d.tag > "")  # every tag sorts after "": a range on the report index
    else:
        query = query.where(_d.tag == "")
    for name, value in (("key_id", key_id), ("user_id", user_id), ("team_id", team_id), ("org_id", org_id)):
        if value is not None:
            query = query.where(_d[name] == value)
    if model is not None:
        query = query.where(_d.model == model)
    query = query.order_by(column) if group_by == "day" else query.order_by(cost.desc(), column)
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        SpendTotal(
            group=row[0] if row[0] != "" else None,
            requests=_int(row[1]),
            failed_requests=_int(row[2]),
            prompt_tokens=_int(row[3]),
            completion_tokens=_int(row[4]),
            cost_nanousd=_int(row[5]),
        )
        for row in rows
    ]


def _cursor(row: SpendRow) -> str:
    raw = orjson.dumps([row.created_at.isoformat(), row.request_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, request_id = orjson.loads(raw)
        at = datetime.fromisoformat(when)
        if at.tzinfo is None or not isinstance(request_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ValueError("invalid cursor") from None
    return at, request_id


def _row(row: Any) -> SpendRow:
    values = row._asdict()
    values["tags"] = tuple(values["tags"])
    values["path"] = tuple(AttemptStep(**step) for step in values["path"] or ())
    values["guardrails"] = tuple(GuardStep(**step) for step in values["guardrails"] or ())
    return SpendRow(**values)


async def query_requests(
    db: Database,
    *,
    request_id: str | None = None,
    key_id: str | None = None,
    user_id: str | None = None,
    team_id: str | None = None,
    org_id: str | None = None,
    model: str | None = None,
    status: int | None = None,
    failed: bool | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Requests matching every filter given, newest first: ``start`` included, ``end`` excluded;
    ``failed`` True: status 400 and above. Pass a page's ``next_cursor`` to read the next."""
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    query = sa.select(spend_log).order_by(_s.created_at.desc(), _s.request_id.desc()).limit(limit + 1)
    equal = {
        "request_id": request_id,
        "key_id": key_id,
        "user_id": user_id,
        "team_id": team_id,
        "org_id": org_id,
        "model": model,
        "status": status,
    }
    for name, value in equal.items():
        if value is not None:
            query = query.where(_s[name] == value)
    if failed is not None:
        query = query.where(_s.status >= 400 if failed else _s.status < 400)
    if start is not None:
        query = query.where(_s.created_at >= start)
    if end is not None:
        query = query.where(_s.created_at < end)
    if cursor is not None:
        at, last = _after(cursor)
        # the first bound is implied by the second; it lets the database seek to the cursor
        # instead of reading every newer row first
        older = sa.or_(_s.created_at < at, sa.and_(_s.created_at == at, _s.request_id < last))
        query = query.where(_s.created_at <= at, older)
    async with db.read() as conn:
        rows = [_row(r) for r in (await conn.execute(query)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_cursor=_cursor(rows[-1]) if more else None)
