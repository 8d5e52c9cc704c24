"""The request log: filters and pages, newest first (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from switchgear.storage import Database, SpendRow
from switchgear.storage.reports import query_requests, spend_report
from switchgear.storage.spend import record_spend

T0 = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)


def rows() -> list[SpendRow]:
    out = []
    for i in range(60):
        out.append(
            SpendRow(
                request_id=f"req_{i:03d}",
                created_at=T0 + timedelta(seconds=i // 2),  # pairs share a timestamp
                model="fast" if i % 3 else "smart",
                key_id=f"k{i % 2}",
                team_id="t1" if i < 40 else "t2",
                user_id="u1",
                org_id="o1",
                status=200 if i % 5 else 500,
                error_type=None if i % 5 else "upstream_error",
                cost_nanousd=i,
                duration_ms=12.5,
                ttfb_ms=3.25 if i % 2 else None,
                cache="MISS",
                stream=bool(i % 2),
                attempts=1 + (i % 5 == 0),
            )
        )
    return out


async def read_all(db: Database, **filters: object) -> list[SpendRow]:
    out: list[SpendRow] = []
    cursor = None
    while True:
        page = await query_requests(db, limit=7, cursor=cursor, **filters)  # type: ignore[arg-type]
        out.extend(page.rows)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def test_pages_walk_every_row_once_newest_first(db: Database) -> None:
    written = rows()
    await record_spend(db, written)
    seen = await read_all(db)
    assert [r.request_id for r in seen] == [
        r.request_id for r in sorted(written, key=lambda r: (r.created_at, r.request_id), reverse=True)
    ]
    assert seen[-1] == written[0]  # every field round-trips


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({"key_id": "k1"}, lambda r: r.key_id == "k1"),
        ({"team_id": "t2"}, lambda r: r.team_id == "t2"),
        ({"model": "smart"}, lambda r: r.model == "smart"),
        ({"status": 500}, lambda r: r.status == 500),
        ({"failed": True}, lambda r: r.status >= 400),
        ({"failed": False, "team_id": "t1"}, lambda r: r.status < 400 and r.team_id == "t1"),
        ({"request_id": "req_042"}, lambda r: r.request_id == "req_042"),
        ({"user_id": "u2"}, lambda r: False),
        (
            {"start": T0 + timedelta(seconds=5), "end": T0 + timedelta(seconds=10)},
            lambda r: T0 + timedelta(seconds=5) <= r.created_at < T0 + timedelta(seconds=10),
        ),
    ],
)
async def test_filters(db: Database, filters: dict[str, object], keep: object) -> None:
    written = rows()
    await record_spend(db, written)
    expected = {r.request_id for r in written if keep(r)}  # type: ignore[operator]
    got = [r.request_id for r in await read_all(db, **filters)]
    assert sorted(got) == sorted(expected) and len(got) == len(set(got))


async def test_bad_cursor_and_limit_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="cursor"):
        await query_requests(db, cursor="not-a-cursor")
    with pytest.raises(ValueError, match="cursor"):
        await query_requests(db, cursor="WyJ4IiwxXQ")  # valid base64 JSON, wrong content
    with pytest.raises(ValueError, match="limit"):
        await query_requests(db, limit=0)
    with pytest.raises(ValueError, match="group_by"):
        await spend_report(db, "week", date(2026, 1, 1), date(2026, 1, 2))  # type: ignore[arg-type]


async def test_an_empty_range_reports_nothing(db: Database) -> None:
    await record_spend(db, rows())
    assert await spend_report(db, "key", date(2026, 11, 5), date(2026, 11, 30)) == []
    assert (await query_requests(db, start=T0 + timedelta(days=1))).rows == []
