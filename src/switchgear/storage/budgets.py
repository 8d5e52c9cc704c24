"""Budget counters in SQL: reserve across every scope at once, then settle or release.

A reservation is one transaction that, scope by scope in a fixed order (key → user → team → org →
end_user → global, so two transactions never wait on each other in a cycle), runs one statement::

    INSERT INTO budgets (…, spent = 0, reserved = :e) ON CONFLICT (scope) DO UPDATE
        SET reserved = reserved + :e WHERE spent + reserved + :e <= :limit
        RETURNING spent, reserved

A counter comes into being atomically (the first request for a new end-user cannot race another
one into two rows), and the check and the increment are one statement under the row's lock. No row
back means the scope refused: the transaction rolls back (nothing stays reserved anywhere) and
``BudgetExceeded`` names the scope. The reservation itself is a row (scopes, amount, expiry), so:

- ``settle(id, actual)``: in one transaction, per scope ``reserved -= amount; spent += actual``,
  and the reservation row goes. A second settle of the same id does nothing (idempotent).
- ``release(id)`` is a settle with actual 0 (an error before anything was generated).
- ``reap_expired(now)`` returns expired reservations (a worker that died) and marks them reaped;
  a settle that comes after the reaper adds the spend without releasing twice.

Limits are not stored here: they come with each call (``Scope.limit``, micro-USD) from the
configuration the caller holds, so a changed limit applies from the next request on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from switchgear.storage.database import Database
from switchgear.storage.dialect import insert
from switchgear.storage.errors import BudgetExceeded, Conflict
from switchgear.storage.rows import SCOPE_ORDER, BudgetCounter, Scope, utcnow
from switchgear.storage.tables import budget_reservations, budgets

_b = budgets.c
_r = budget_reservations.c


class _Refused(Exception):
    def __init__(self, scope: Scope) -> None:
        self.scope = scope


def _where(kind: str, scope_id: str, period: str) -> sa.ColumnElement[bool]:
    return sa.and_(_b.scope_kind == kind, _b.scope_id == scope_id, _b.period == period)


def _ordered(scopes: Sequence[Scope]) -> list[Scope]:
    unique = {(s.kind, s.id, s.period): s for s in scopes}
    if len(unique) != len(scopes):
        raise ValueError("a scope appears twice in one reservation")
    return sorted(unique.values(), key=lambda s: s.order)


def _reserve_statement(dialect: str, *, limited: bool) -> Any:
    """The per-scope reserve: built once per dialect, run with bound values."""
    statement = insert(dialect, budgets).values(
        scope_kind=sa.bindparam("kind"),
        scope_id=sa.bindparam("id"),
        period=sa.bindparam("period"),
        spent_microusd=0,
        reserved_microusd=sa.bindparam("amount", type_=sa.BigInteger),
        updated_at=sa.bindparam("now"),
    )
    excluded = statement.excluded
    total = _b.spent_microusd + _b.reserved_microusd + excluded.reserved_microusd
    return statement.on_conflict_do_update(
        index_elements=[_b.scope_kind, _b.scope_id, _b.period],
        set_={
            "reserved_microusd": _b.reserved_microusd + excluded.reserved_microusd,
            "updated_at": excluded.updated_at,
        },
        where=total <= sa.bindparam("limit", type_=sa.BigInteger) if limited else None,
    ).returning(_b.spent_microusd)


def _apply_statement(dialect: str) -> Any:
    """The per-scope settle: ``reserved -= release`` (never below 0), ``spent += spend``."""
    statement = insert(dialect, budgets).values(
        scope_kind=sa.bindparam("kind"),
        scope_id=sa.bindparam("id"),
        period=sa.bindparam("period"),
        spent_microusd=sa.bindparam("spend", type_=sa.BigInteger),
        reserved_microusd=0,
        updated_at=sa.bindparam("now"),
    )
    left = _b.reserved_microusd - sa.bindparam("release", type_=sa.BigInteger)
    return statement.on_conflict_do_update(
        index_elements=[_b.scope_kind, _b.scope_id, _b.period],
        set_={
            "reserved_microusd": sa.case((left < 0, 0), else_=left),
            "spent_microusd": _b.spent_microusd + statement.excluded.spent_microusd,
            "updated_at": statement.excluded.updated_at,
        },
    )


_RESERVE = {
    (dialect, limited): _reserve_statement(dialect, limited=limited)
    for dialect in ("sqlite", "postgresql")
    for limited in (False, True)
}
_APPLY = {dialect: _apply_statement(dialect) for dialect in ("sqlite", "postgresql")}


async def _reserve_one(conn: AsyncConnection, dialect: str, scope: Scope, amount: int, now: datetime) -> None:
    values: dict[str, Any] = {
        "kind": scope.kind,
        "id": scope.id,
        "period": scope.period,
        "amount": amount,
        "now": now,
    }
    if scope.limit is not None:
        if amount > scope.limit:  # a new row holds exactly ``amount``: refused before any write
            raise _Refused(scope)
        values["limit"] = scope.limit
    statement = _RESERVE[dialect, scope.limit is not None]
    if (await conn.execute(statement, values)).one_or_none() is None:
        raise _Refused(scope)


async def reserve(
    db: Database,
    reservation_id: str,
    scopes: Sequence[Scope],
    amount_microusd: int,
    *,
    ttl: timedelta,
    owner: str = "",
    now: datetime | None = None,
) -> None:
    """Reserve ``amount_microusd`` in every scope, or in none (``BudgetExceeded`` names the first
    scope that refused). The reservation expires after ``ttl`` (the request's deadline and a margin)."""
    if amount_microusd < 0:
        raise ValueError("a reservation cannot be negative")
    now = now or utcnow()
    ordered = _ordered(scopes)
    try:
        async with db.write() as conn:
            for scope in ordered:
                await _reserve_one(conn, db.dialect, scope, amount_microusd, now)
            await conn.execute(
                budget_reservations.insert().values(
                    id=reservation_id,
                    scopes=[[s.kind, s.id, s.period] for s in ordered],
                    amount_microusd=amount_microusd,
                    state="held",
                    owner=owner,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
    except IntegrityError:
        raise Conflict(f"reservation {reservation_id!r} exists already") from None
    except _Refused as refused:
        scope = refused.scope
        counter = await get_counter(db, scope.kind, scope.id, scope.period)
        raise BudgetExceeded(
            scope.kind,
            scope.id,
            period=scope.period,
            limit=scope.limit or 0,
            spent=counter.spent_microusd if counter else 0,
            reserved=counter.reserved_microusd if counter else 0,
        ) from None


async def _apply(
    conn: AsyncConnection,
    dialect: str,
    scopes: list[list[str]],
    *,
    release: int,
    spend: int,
    now: datetime,
) -> None:
    """``reserved -= release; spent += spend`` in each scope, in the fixed order."""
    for kind, scope_id, period in sorted(scopes, key=lambda s: (SCOPE_ORDER[s[0]], s[1], s[2])):
        values = {
            "kind": kind,
            "id": scope_id,
            "period": period,
            "release": release,
            "spend": spend,
            "now": now,
        }
        await conn.execute(_APPLY[dialect], values)


async def settle(
    db: Database, reservation_id: str, actual_microusd: int, *, now: datetime | None = None
) -> bool:
    """Turn a reservation into spend: ``actual_microusd`` lands in the reservation's scopes and
    periods, and what was reserved is returned. False when there was nothing to settle (already
    settled, or never reserved); after the reaper, the spend is added and nothing released."""
    if actual_microusd < 0:
        raise ValueError("spend cannot be negative")
    now = now or utcnow()
    async with db.write() as conn:
        deleted = sa.delete(budget_reservations).where(_r.id == reservation_id)
        returning = deleted.returning(_r.scopes, _r.amount_microusd, _r.state)
        row = (await conn.execute(returning)).one_or_none()
        if row is None:
            return False
        release = row.amount_microusd if row.state == "held" else 0
        await _apply(conn, db.dialect, row.scopes, release=release, spend=actual_microusd, now=now)
    return True


async def release(db: Database, reservation_id: str, *, now: datetime | None = None) -> bool:
    """Give a reservation back unspent (the request failed before anything was generated)."""
    return await settle(db, reservation_id, 0, now=now)


async def reap_expired(
    db: Database,
    *,
    now: datetime | None = None,
    batch: int = 500,
    forget_after: timedelta = timedelta(days=1),
) -> int:
    """Return the reservations whose expiry has passed (their worker died or lost them) and count
    them; reaped ones older than ``forget_after`` are deleted (a settle can no longer come)."""
    now = now or utcnow()
    reaped = 0
    async with db.read() as conn:
        expired = (await conn.execute(_expired_ids(now, batch))).scalars().all()
    for reservation_id in expired:
        async with db.write() as conn:
            marked = (
                budget_reservations.update()
                .where(_r.id == reservation_id, _r.state == "held")
                .values(state="reaped")
                .returning(_r.scopes, _r.amount_microusd)
            )
            row = (await conn.execute(marked)).one_or_none()
            if row is not None:
                await _apply(conn, db.dialect, row.scopes, release=row.amount_microusd, spend=0, now=now)
                reaped += 1
    async with db.write() as conn:
        forgotten = sa.delete(budget_reservations).where(
            _r.state == "reaped", _r.expires_at < now - forget_after
        )
        await conn.execute(forgotten)
    return reaped


def _expired_ids(now: datetime, batch: int) -> sa.Select[Any]:
    query = sa.select(_r.id).where(_r.state == "held", _r.expires_at < now)
    return query.order_by(_r.expires_at).limit(batch)


async def get_counter(db: Database, kind: str, scope_id: str, period: str = "") -> BudgetCounter | None:
    async with db.read() as conn:
        row = (await conn.execute(sa.select(budgets).where(_where(kind, scope_id, period)))).one_or_none()
    if row is None:
        return None
    return BudgetCounter(row.scope_kind, row.scope_id, row.period, row.spent_microusd, row.reserved_microusd)


async def list_counters(db: Database, kind: str, scope_id: str) -> list[BudgetCounter]:
    """Every period's counter of one scope, oldest period first."""
    query = sa.select(budgets).where(_b.scope_kind == kind, _b.scope_id == scope_id).order_by(_b.period)
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        BudgetCounter(r.scope_kind, r.scope_id, r.period, r.spent_microusd, r.reserved_microusd) for r in rows
    ]


async def add_spend(
    db: Database, amounts: Sequence[tuple[str, str, str, int]], *, now: datetime | None = None
) -> None:
    """Add settled spend to counters, ``(kind, scope id, period, micro-USD)`` each, in one transaction
    (the gateway's durable record of what its state backend settled; nothing is reserved here)."""
    if not amounts:
        return
    if any(amount < 0 for *_scope, amount in amounts):
        raise ValueError("spend cannot be negative")
    now = now or utcnow()
    ordered = sorted(amounts, key=lambda a: (SCOPE_ORDER[a[0]], a[1], a[2]))
    async with db.write() as conn:
        for kind, scope_id, period, amount in ordered:
            values = {
                "kind": kind,
                "id": scope_id,
                "period": period,
                "release": 0,
                "spend": amount,
                "now": now,
            }
            await conn.execute(_APPLY[db.dialect], values)


async def counters_in_periods(db: Database, periods: Sequence[str]) -> list[BudgetCounter]:
    """Every scope's counter of the given periods (the current ones, to seed the state backend)."""
    if not periods:
        return []
    query = sa.select(budgets).where(_b.period.in_(sorted(set(periods))))
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        BudgetCounter(r.scope_kind, r.scope_id, r.period, r.spent_microusd, r.reserved_microusd) for r in rows
    ]
