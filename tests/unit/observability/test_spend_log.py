"""The spend log's parts: the row of a record, the bounded buffer, how a failure is described, and
the stage itself on a real SQLite file and PostgreSQL database (flush interval, retention)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchgear.config import parse_settings
from switchgear.core.usage import Usage
from switchgear.observability.spend_buffer import SpendBuffer
from switchgear.observability.spend_log import Backoff, SpendLog
from switchgear.observability.spend_rows import describe_error, spend_row
from switchgear.stages import Principal, RequestRecord
from switchgear.stages.context import GuardResult
from switchgear.storage import Database, GuardStep, SpendRow
from switchgear.storage.reports import query_requests
from switchgear.storage.spend import record_spend


def record(rid: str, **changes: Any) -> RequestRecord:
    values: dict[str, Any] = {
        "request_id": rid,
        "api": "messages",
        "model": "fast",
        "provider": "sim",
        "served_model": "sim-small",
        "status": 200,
        "error_type": None,
        "error": None,
        "in_band": False,
        "cancelled": False,
        "stream": True,
        "principal": Principal("k1", "u1", "t1", "o1"),
        "end_user": "eu",
        "tags": ("a", "b"),
        "attempts": (),
        "usage": Usage(
            prompt_tokens=10, completion_tokens=4, cached_tokens=3, cache_write_tokens=2, reasoning_tokens=1
        ),
        "cost_nanousd": 12_345,
        "cache": "MISS",
        "started_at": time.time(),
        "duration_ms": 12.5,
        "ttfb_ms": 3.25,
        "overhead_ms": 0.5,
    }
    values.update(changes)
    return RequestRecord(**values)


def test_a_record_becomes_its_row() -> None:
    started = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    row = spend_row(record("r1", started_at=started.timestamp()))
    assert row == SpendRow(
        request_id="r1",
        created_at=started,
        model="fast",
        api="messages",
        key_id="k1",
        user_id="u1",
        team_id="t1",
        org_id="o1",
        end_user="eu",
        tags=("a", "b"),
        provider="sim",
        deployment="sim-small",
        prompt_tokens=10,
        completion_tokens=4,
        cached_tokens=3,
        cache_write_tokens=2,
        reasoning_tokens=1,
        cost_nanousd=12_345,
        duration_ms=12.5,
        ttfb_ms=3.25,
        status=200,
        error_type=None,
        cache="MISS",
        stream=True,
        attempts=0,
    )


def test_a_request_without_key_usage_or_provider_has_empty_columns() -> None:
    row = spend_row(
        record(
            "r2",
            principal=Principal(is_admin=True),
            usage=None,
            cost_nanousd=None,
            provider=None,
            served_model=None,
            status=401,
            error_type="invalid_api_key",
            ttfb_ms=None,
        )
    )
    assert (row.key_id, row.user_id, row.team_id, row.org_id) == (None, None, None, None)
    assert (row.prompt_tokens, row.completion_tokens, row.cost_nanousd) == (0, 0, None)
    assert (row.provider, row.deployment, row.status, row.error_type) == (None, None, 401, "invalid_api_key")


def rows(*ids: int) -> list[SpendRow]:
    return [spend_row(record(f"r{i}")) for i in ids]


def ids(batch: list[SpendRow]) -> list[str]:
    return [row.request_id for row in batch]


def test_drop_new_keeps_the_first_rows_and_counts() -> None:
    buffer = SpendBuffer(3, "drop_new")
    assert [buffer.add(row) for row in rows(0, 1, 2, 3, 4)] == [True, True, True, False, False]
    assert (len(buffer), buffer.dropped) == (3, 2)
    assert ids(buffer.take(10)) == ["r0", "r1", "r2"]


def test_drop_old_keeps_the_newest_rows_but_not_at_the_expense_of_the_batch_in_flight() -> None:
    buffer = SpendBuffer(3, "drop_old")
    for row in rows(0, 1, 2, 3):
        buffer.add(row)
    assert buffer.dropped == 1
    batch = buffer.take(2)
    assert ids(batch) == ["r1", "r2"] and len(buffer) == 3  # the batch in flight still counts
    buffer.add(rows(4)[0])
    assert ids(batch) == ["r1", "r2"] and buffer.dropped == 2  # r3 went, not the batch
    buffer.put_back(batch)
    assert ids(buffer.take(5)) == ["r1", "r2", "r4"]
    buffer.written()
    assert len(buffer) == 0


def test_a_failed_batch_goes_back_to_the_front_in_order() -> None:
    buffer = SpendBuffer(10, "drop_new")
    for row in rows(0, 1, 2, 3):
        buffer.add(row)
    batch = buffer.take(2)
    with pytest.raises(RuntimeError):
        buffer.take(1)  # one batch at a time
    buffer.add(rows(4)[0])
    buffer.put_back(batch)
    assert ids(buffer.take(10)) == ["r0", "r1", "r2", "r3", "r4"]


def test_a_failure_is_described_without_password_or_sql() -> None:
    class DriverError(Exception):
        pass

    class Wrapped(Exception):
        def __init__(self, orig: Exception) -> None:
            super().__init__(
                f"(driver) {orig}\n[SQL: INSERT INTO spend_log VALUES (?)]\n[parameters: ('x',)]"
            )
            self.orig = orig

    error = Wrapped(DriverError("could not connect to postgresql://gw:s3cret-pw@db:5432/gw\nDETAIL: refused"))
    text = describe_error(error)
    assert text == "DriverError: could not connect to postgresql://***@db:5432/gw"
    assert describe_error(TimeoutError()) == "TimeoutError: no answer in time"
    assert len(describe_error(RuntimeError("x" * 1000))) < 230


def test_backoff_doubles_up_to_its_most() -> None:
    backoff = Backoff(0.5, 4.0)
    assert 0.4 <= backoff.after(1) <= 0.6
    assert 1.6 <= backoff.after(3) <= 2.4
    assert 3.2 <= backoff.after(30) <= 4.8


async def test_rows_wait_at_most_the_flush_interval(db: Database) -> None:
    settings = parse_settings({"governance": {"spend_log": {"flush_interval": "200ms"}}}, {})
    stage = SpendLog(db, settings)
    await stage.start()
    try:
        await stage.settle([record("r-1"), record("r-2")])
        started = time.monotonic()
        while stage.written < 2:
            assert time.monotonic() - started < 2, "rows not written within the flush interval"
            await asyncio.sleep(0.02)
        assert stage.batches == 1
        page = await query_requests(db)
        assert {row.request_id for row in page.rows} == {"r-1", "r-2"}
    finally:
        await stage.close()
    assert stage.stats().buffered == 0


async def test_a_row_written_before_is_not_counted_again(db: Database) -> None:
    await record_spend(db, [spend_row(record("r-dup"))])
    stage = SpendLog(db, parse_settings({}, {}))
    await stage.start()
    await stage.settle([record("r-dup"), record("r-new")])
    await stage.close()  # flushes
    assert (stage.written, stage.batches) == (1, 1)
    page = await query_requests(db)
    assert sorted(row.request_id for row in page.rows) == ["r-dup", "r-new"]


async def test_retention_deletes_old_raw_rows_at_start(db: Database) -> None:
    old = datetime.now(UTC) - timedelta(days=10)
    await record_spend(
        db, [spend_row(record("r-old", started_at=old.timestamp())), spend_row(record("r-now"))]
    )
    settings = parse_settings({"storage": {"spend_log_retention_days": 7}}, {})
    stage = SpendLog(db, settings)
    await stage.start()
    try:
        for _ in range(200):
            page = await query_requests(db)
            if [row.request_id for row in page.rows] == ["r-now"]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the old row was not deleted")
    finally:
        await stage.close()


async def test_the_tier_and_guardrail_results_are_kept_without_values(db: Database) -> None:
    guards = (
        GuardResult("pii", "redact", "input", {"EMAIL": 2, "PHONE": 1}, 0.0123),
        GuardResult("injection", "flag", "input", {}, 0.2, score=0.91),
    )
    row = spend_row(record("r-tier", tier="strong", tier_reason="classifier 0.71 >= 0.64", guards=guards))
    assert row.tier == "strong" and row.guardrails[0] == GuardStep(
        "pii", "redact", "input", {"EMAIL": 2, "PHONE": 1}, 0.012
    )
    await record_spend(db, [row, spend_row(record("r-plain"))])
    rows = {row.request_id: row for row in (await query_requests(db)).rows}
    assert rows["r-tier"] == row
    assert (rows["r-plain"].tier, rows["r-plain"].tier_reason, rows["r-plain"].guardrails) == (None, None, ())
