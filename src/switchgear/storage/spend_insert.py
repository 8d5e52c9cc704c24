"""The spend log's fast path: a batch of new rows as one ``executemany`` of a plain ``INSERT``.

Almost every batch the writer sends holds only requests never written before. For those the
idempotent statement (``ON CONFLICT DO NOTHING … RETURNING``, which SQLAlchemy expands into
multi-row ``VALUES`` pages and whose returned ids it reads back) costs several times the insert
itself. Here the values go through the columns' own bind processors (the same conversions
SQLAlchemy applies: UTC datetimes, JSON tags, booleans) into tuples, and the driver's
``executemany`` sends them (SQLite: in its worker thread; asyncpg: one prepared statement,
pipelined). A row whose request id is stored already makes the insert fail as a whole; the caller
then rolls back and takes the idempotent path, so nothing is ever written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from switchgear.storage.tables import spend_log

_Processor = Callable[[Any], Any] | None


class SpendInsert:
    """The plain insert of ``spend_log`` rows for one dialect (built once per database)."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = spend_log.insert().compile(dialect=dialect)  # every column, the driver's placeholders
        if not compiled.positional or compiled.positiontup is None:
            raise ValueError(f"no fast spend-log insert for the {dialect.paramstyle!r} parameter style")
        self.sql = compiled.string
        names = tuple(compiled.positiontup)
        self._values = itemgetter(*names)  # a row's values in the statement's order
        processors: list[_Processor] = [
            spend_log.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        ]
        # only the columns that convert (UTC datetimes, JSON, booleans): the rest go as they are
        self._converted = tuple((i, process) for i, process in enumerate(processors) if process is not None)

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        out = []
        for values in rows:
            row = list(self._values(values))
            for i, process in self._converted:
                row[i] = process(row[i])
            out.append(tuple(row))
        return out

    async def run(self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
        await conn.exec_driver_sql(self.sql, self.parameters(rows))
