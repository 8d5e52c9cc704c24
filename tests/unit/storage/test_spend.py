"""The spend log: idempotent batches, the rollup they keep, odd text, retention (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from switchgear.storage import Database, SpendRow
from switchgear.storage.reports import query_requests, spend_report
from switchgear.storage.spend import apply_retention, delete_spend_before, record_spend
from switchgear.storage.tables import spend_daily, spend_log

DAY = datetime(2026, 11, 4, tzinfo=UTC)


def row(i: int, **changes: object) -> SpendRow:
    values: dict[str, object] = {
        "request_id": f"req_{i:05d}",
        "created_at": DAY + timedelta(minutes=i),
        "model": "fast",
        "key_id": "k1",
        "team_id": "t1",
        "prompt_tokens": 10 + i,
        "completion_tokens": 5 + i,
        "cost_nanousd": 1_234 * i,
        **changes,
    }
    return SpendRow(**values)  # type: ignore[arg-type]


async def count(db: Database, table: sa.Table) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def day_totals(db: Database) -> tuple[int, int, int]:
    [total] = await spend_report(db, "day", DAY.date(), DAY.date())
    return total.requests, total.prompt_tokens + total.completion_tokens, total.cost_nanousd


async def test_a_batch_written_twice_is_stored_and_counted_once(db: Database) -> None:
    rows = [row(i) for i in range(50)]
    assert await record_spend(db, rows) == 50
    before = await day_totals(db)
    assert await record_spend(db, rows) == 0  # a retry after the database came back
    assert await record_spend(db, [*rows[40:], row(50), row(50)]) == 1  # only the new one, once
    assert await count(db, spend_log) == 51
    assert await day_totals(db) == (
        before[0] + 1,
        before[1] + 60 + 55,  # row 50: 60 prompt, 55 completion tokens
        before[2] + 1_234 * 50,
    )
    assert await record_spend(db, []) == 0


async def test_the_fast_and_the_idempotent_path_store_the_same_values(db: Database) -> None:
    same = {
        "created_at": DAY,
        "tags": ("b", "a", "b"),
        "end_user": "u\x00ser",
        "stream": True,
        "ttfb_ms": None,
        "duration_ms": 12.5,
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "cost_nanousd": 99,
    }
    assert await record_spend(db, [row(1, **same)]) == 1  # new rows only: the plain executemany
    assert await record_spend(db, [row(1, **same), row(2, **same)]) == 1  # a stored id: row by row
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(spend_log).order_by(spend_log.c.request_id))).all()
    assert [r.request_id for r in stored] == ["req_00001", "req_00002"]
    assert stored[0][1:] == stored[1][1:]
    assert stored[0].tags == ["b", "a"] and stored[0].end_user == "u\ufffdser" and stored[0].created_at == DAY
    assert await day_totals(db) == (2, 20, 198)


async def test_the_rollup_equals_the_rows_by_every_grouping(db: Database) -> None:
    rng = random.Random(13)
    rows = [
        row(
            i,
            created_at=DAY + timedelta(hours=rng.randint(0, 71)),
            model=rng.choice(["fast", "smart", "cheap"]),
            key_id=rng.choice(["k1", "k2", None]),
            user_id=rng.choice(["u1", None]),
            team_id=rng.choice(["t1", "t2"]),
            org_id="o1",
            tags=tuple(rng.sample(["prod", "batch", "eval"], k=rng.randint(0, 3))),
            status=rng.choice([200, 200, 429, 500]),
            cost_nanousd=rng.choice([None, rng.randint(0, 10**9)]),
        )
        for i in range(300)
    ]
    for start in range(0, 300, 70):  # in several batches, some rows twice
        await record_spend(db, rows[max(0, start - 10) : start + 70])
    first, last = DAY.date(), DAY.date() + timedelta(days=2)
    for group_by, field in (
        ("key", "key_id"),
        ("user", "user_id"),
        ("team", "team_id"),
        ("org", "org_id"),
        ("model", "model"),
    ):
        report = await spend_report(db, group_by, first, last)  # type: ignore[arg-type]
        expected: dict[object, list[int]] = {}
        for r in rows:
            sums = expected.setdefault(getattr(r, field), [0, 0, 0, 0])
            sums[0] += 1
            sums[1] += r.status >= 400
            sums[2] += r.prompt_tokens
            sums[3] += r.cost_nanousd or 0
        got = {t.group: [t.requests, t.failed_requests, t.prompt_tokens, t.cost_nanousd] for t in report}
        assert got == expected, group_by
        assert [t.cost_nanousd for t in report] == sorted((t.cost_nanousd for t in report), reverse=True)
    by_tag = {t.group: t.requests for t in await spend_report(db, "tag", first, last)}
    assert by_tag == {tag: sum(tag in r.tags for r in rows) for tag in ("prod", "batch", "eval")}
    by_day = await spend_report(db, "day", first, last)
    assert [t.group for t in by_day] == [first, first + timedelta(days=1), last]
    assert sum(t.requests for t in by_day) == 300
    # a narrower range and filters
    [one_day] = await spend_report(db, "team", first, first, team_id="t2")
    assert one_day.requests == sum(r.team_id == "t2" and r.created_at.date() == first for r in rows)
    prod = await spend_report(db, "model", first, last, tag="prod")
    assert sum(t.requests for t in prod) == by_tag["prod"]


async def test_a_report_by_tag_counts_every_tag_however_it_sorts(db: Database) -> None:
    tags = [" ", "\u200b", "A", "a", "z", "\u00e9", "0", "~", "-"]  # blank, invisible, either case
    written = [row(i, tags=(tags[i % len(tags)], tags[(i * 5) % len(tags)])) for i in range(90)]
    await record_spend(db, written)
    by_tag = {t.group: t.requests for t in await spend_report(db, "tag", DAY.date(), DAY.date())}
    assert by_tag == {tag: sum(tag in r.tags for r in written) for tag in tags}
    by_key = await spend_report(db, "key", DAY.date(), DAY.date())
    assert [(t.group, t.requests) for t in by_key] == [("k1", 90)]  # once each, not once per tag


async def test_hostile_text_is_stored_without_failing_the_batch(db: Database) -> None:
    hostile = [
        row(1, model="m" * 10_000, tags=("t" * 1_000, "t" * 1_000, "ok")),
        row(2, model="x'); DROP TABLE spend_log; --", end_user="u\x00ser", tags=("nul\x00tag",)),
        row(3, model="\u200b\u202e模型 🚀", error_type="e" * 500, provider="p" * 100, api="chat" * 10),
        row(4, request_id="r" * 500),
    ]
    assert await record_spend(db, hostile) == 4
    page = await query_requests(db, limit=10)
    stored = {r.created_at: r for r in page.rows}
    first = stored[DAY + timedelta(minutes=1)]
    assert len(first.model) == 256 and first.tags == ("t" * 256, "ok")
    second = stored[DAY + timedelta(minutes=2)]
    assert second.model == "x'); DROP TABLE spend_log; --" and second.end_user == "u\ufffdser"
    assert second.tags == ("nul\ufffdtag",)
    assert stored[DAY + timedelta(minutes=3)].model == "\u200b\u202e模型 🚀"
    assert len(stored[DAY + timedelta(minutes=4)].request_id) == 128
    assert await count(db, spend_log) == 4
    assert await record_spend(db, hostile) == 0  # the cut request id still dedupes


async def test_a_time_without_a_zone_is_refused_before_anything_is_written(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await record_spend(db, [row(1), row(2, created_at=datetime(2026, 11, 4, 12, 0))])
    assert await count(db, spend_log) == 0


async def test_negative_numbers_never_lower_spend(db: Database) -> None:
    await record_spend(db, [row(1, cost_nanousd=-500, prompt_tokens=-3, completion_tokens=-1)])
    [page_row] = (await query_requests(db)).rows
    assert (page_row.cost_nanousd, page_row.prompt_tokens, page_row.completion_tokens) == (0, 0, 0)


async def test_retention_deletes_old_raw_rows_in_batches_and_keeps_the_rollup(db: Database) -> None:
    await record_spend(db, [row(i, created_at=DAY + timedelta(hours=i)) for i in range(48)])
    totals = await spend_report(db, "day", date(2026, 11, 1), date(2026, 11, 30))
    assert await delete_spend_before(db, DAY + timedelta(hours=30), batch=7) == 30
    assert await count(db, spend_log) == 18
    assert (await query_requests(db, limit=1000)).rows[-1].created_at == DAY + timedelta(hours=30)
    assert await spend_report(db, "day", date(2026, 11, 1), date(2026, 11, 30)) == totals
    assert await count(db, spend_daily) == 2
    assert await delete_spend_before(db, DAY, batch=7) == 0
    assert await apply_retention(db, 2, now=DAY + timedelta(days=2, hours=40)) == 10
    assert await count(db, spend_log) == 8
