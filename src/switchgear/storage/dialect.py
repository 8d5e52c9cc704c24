"""``INSERT … ON CONFLICT`` for the dialect at hand (SQLite and PostgreSQL spell it alike)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(dialect: str, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An insert with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` and ``excluded``."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
