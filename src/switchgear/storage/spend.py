"""The spend log: batches of finished requests written once each, with the daily rollup kept
current in the same transaction, and the retention of raw rows.

``record_spend`` is idempotent by request id: a batch written again (a retry after the database
came back) inserts nothing twice (``INSERT … ON CONFLICT DO NOTHING … RETURNING request_id``), and
only the rows actually inserted are added to ``spend_daily``. So the rollup always equals the sum
of the rows ever written, however often a batch is retried. A batch of new rows, the usual case,
takes a plain ``executemany`` first (``spend_insert.py``); a stored id sends it the idempotent way.

Text from requests (the model a client asked for, its end-user id, tags) is stored as given,
cut to its column's length and with NUL characters replaced (PostgreSQL refuses them): one odd
request never makes a whole batch fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from switchgear.storage.database import Database
from switchgear.storage.dialect import insert
from switchgear.storage.rows import AttemptStep, GuardStep, SpendRow
from switchgear.storage.spend_insert import SpendInsert
from switchgear.storage.tables import spend_daily, spend_log

_ROLLUP_KEY = ("day", "key_id", "user_id", "team_id", "org_id", "model", "tag")
_ROLLUP_SUMS = ("requests", "failed_requests", "prompt_tokens", "completion_tokens", "cost_nanousd")
_LENGTHS = {
    column.name: column.type.length
    for column in spend_log.c
    if isinstance(column.type, sa.String) and column.type.length
}
_TAG_LENGTH = 256  # spend_daily.tag
_FAST: dict[str, SpendInsert] = {}  # by dialect name


def _text(value: str, length: int | None) -> str:
    value = value.replace("\x00", "\ufffd")
    return value[:length] if length else value


def _fit(value: str | None, length: int) -> str | None:
    """The value as stored: NULs replaced, cut to the column (most values need neither)."""
    if value is None or (len(value) <= length and "\x00" not in value):
        return value
    return _text(value, length)


_L = _LENGTHS


def _values(row: SpendRow) -> dict[str, Any]:
    if row.created_at.tzinfo is None:
        raise ValueError(f"request {row.request_id!r}: created_at must be timezone-aware (UTC)")
    cost = row.cost_nanousd
    return {
        "request_id": _fit(row.request_id, _L["request_id"]),
        "created_at": row.created_at,
        "api": _fit(row.api, _L["api"]),
        "key_id": _fit(row.key_id, _L["key_id"]),
        "user_id": _fit(row.user_id, _L["user_id"]),
        "team_id": _fit(row.team_id, _L["team_id"]),
        "org_id": _fit(row.org_id, _L["org_id"]),
        "end_user": _fit(row.end_user, _L["end_user"]),
        "model": _fit(row.model, _L["model"]),
        "provider": _fit(row.provider, _L["provider"]),
        "deployment": _fit(row.deployment, _L["deployment"]),
        "error_type": _fit(row.error_type, _L["error_type"]),
        "cache": _fit(row.cache, _L["cache"]),
        "tags": _tags(row.tags) if row.tags else [],
        "prompt_tokens": max(0, row.prompt_tokens),
        "completion_tokens": max(0, row.completion_tokens),
        "cached_tokens": max(0, row.cached_tokens),
        "cache_write_tokens": max(0, row.cache_write_tokens),
        "reasoning_tokens": max(0, row.reasoning_tokens),
        "cost_nanousd": None if cost is None else max(0, cost),
        "duration_ms": row.duration_ms,
        "ttfb_ms": row.ttfb_ms,
        "status": row.status,
        "stream": row.stream,
        "attempts": row.attempts,
        "path": [_step(step) for step in row.path] if row.path else None,
        "tier": _fit(row.tier, _L["tier"]),
        "tier_reason": _fit(row.tier_reason, _L["tier_reason"]),
        "guardrails": [_guard(step) for step in row.guardrails] if row.guardrails else None,
    }


def _guard(step: GuardStep) -> dict[str, Any]:
    return {
        "name": _fit(step.name, 128),
        "action": step.action,
        "direction": step.direction,
        "found": {_text(kind, 64): count for kind, count in step.found.items()},
        "ms": step.ms,
        "score": step.score,
    }


def _step(step: AttemptStep) -> dict[str, Any]:
    error = _fit(step.error, 64)
    return {"deployment": _fit(step.deployment, 320), "status": step.status, "ms": step.ms, "error": error}


def _tags(tags: Iterable[str]) -> list[str]:
    """Distinct tags in their order, each cut to the rollup's column length."""
    return list(dict.fromkeys(_text(tag, _TAG_LENGTH) for tag in tags))


@dataclass(slots=True)
class _Sums:
    requests: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_nanousd: int = 0

    def add(self, values: dict[str, Any]) -> None:
        self.requests += 1
        self.failed_requests += values["status"] >= 400
        self.prompt_tokens += values["prompt_tokens"]
        self.completion_tokens += values["completion_tokens"]
        self.cost_nanousd += values["cost_nanousd"] or 0


def _rollup(inserted: Iterable[dict[str, Any]]) -> dict[tuple[Any, ...], _Sums]:
    """The rollup rows' increments: each request once under tag "", and once under each tag."""
    sums: dict[tuple[Any, ...], _Sums] = {}
    for values in inserted:
        day = rollup_day(values["created_at"])
        owners = (values["key_id"], values["user_id"], values["team_id"], values["org_id"])
        base = (day, *(owner or "" for owner in owners), values["model"])
        for tag in ("", *values["tags"]):
            sums.setdefault((*base, tag), _Sums()).add(values)
    return sums


async def record_spend(db: Database, rows: Sequence[SpendRow]) -> int:
    """Write the rows not written before and add them to the daily rollup, in one transaction;
    return how many were new. A row whose request id is already stored is skipped."""
    batch: dict[str, dict[str, Any]] = {}
    for row in rows:
        values = _values(row)
        batch.setdefault(values["request_id"], values)  # the first of a duplicate wins
    if not batch:
        return 0
    fast = _FAST.get(db.dialect)
    if fast is None:
        fast = _FAST[db.dialect] = SpendInsert(db.engine.dialect)
    try:
        async with db.write() as conn:  # in request id order, as below: no deadlock between writers
            await fast.run(conn, [batch[request_id] for request_id in sorted(batch)])
            await conn.execute(_upsert_rollup(db.dialect), _rollup_rows(_rollup(batch.values())))
        return len(batch)
    except sa.exc.IntegrityError:
        pass  # a request id stored before (a retried batch whose first commit landed): row by row
    statement = (
        insert(db.dialect, spend_log)
        .on_conflict_do_nothing(index_elements=[spend_log.c.request_id])
        .returning(spend_log.c.request_id)
    )
    async with db.write() as conn:
        # in request id order: concurrent writers of overlapping batches take the row locks in
        # the same order (PostgreSQL would otherwise deadlock two of them)
        result = await conn.execute(statement, [batch[request_id] for request_id in sorted(batch)])
        inserted = set(result.scalars().all())
        sums = _rollup(batch[request_id] for request_id in inserted)
        if sums:
            await conn.execute(_upsert_rollup(db.dialect), _rollup_rows(sums))
    return len(inserted)


def _upsert_rollup(dialect: str) -> Any:
    statement = insert(dialect, spend_daily)
    table = spend_daily.c
    return statement.on_conflict_do_update(
        index_elements=[table[name] for name in _ROLLUP_KEY],
        set_={name: table[name] + statement.excluded[name] for name in _ROLLUP_SUMS},
    )


def _rollup_rows(sums: dict[tuple[Any, ...], _Sums]) -> list[dict[str, Any]]:
    """In key order: concurrent writers lock the rollup rows in the same order (no deadlock)."""
    rows = []
    for key in sorted(sums):
        row = dict(zip(_ROLLUP_KEY, key, strict=True))
        total = sums[key]
        row.update((name, getattr(total, name)) for name in _ROLLUP_SUMS)
        rows.append(row)
    return rows


async def delete_spend_before(db: Database, cutoff: datetime, *, batch: int = 5000) -> int:
    """Delete raw spend-log rows of requests that arrived before ``cutoff``, ``batch`` rows per
    transaction (no long lock); the daily rollup keeps their totals. Returns how many went."""
    deleted = 0
    while True:
        old = sa.select(spend_log.c.request_id).where(spend_log.c.created_at < cutoff).limit(batch)
        async with db.write() as conn:
            result = await conn.execute(sa.delete(spend_log).where(spend_log.c.request_id.in_(old)))
        count = result.rowcount or 0
        deleted += count
        if count < batch:
            return deleted


async def apply_retention(db: Database, days: int, *, now: datetime | None = None) -> int:
    """Delete raw spend-log rows older than ``days`` days (``storage.spend_log_retention_days``)."""
    if days < 1:
        raise ValueError("retention is at least one day")
    return await delete_spend_before(db, (now or datetime.now(UTC)) - timedelta(days=days))


def rollup_day(when: datetime) -> date:
    """The rollup day of a request that arrived at ``when`` (its UTC date)."""
    return when.astimezone(UTC).date()
