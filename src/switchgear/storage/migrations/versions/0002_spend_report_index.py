"""Spend reports at scale, on SQLite: an index on the daily rollup that holds every column a
report reads, led by tag and day, so a month's report reads only its own rows, from the index
alone. PostgreSQL does without: it scans a month's rollup in parallel, and the index (the sums are
in it) would keep every rollup update from being a HOT update, slowing the spend-log writer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_spend_daily_report"
COLUMNS = [
    "tag", "day", "key_id", "user_id", "team_id", "org_id", "model",
    "requests", "failed_requests", "prompt_tokens", "completion_tokens", "cost_nanousd",
]  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(op.f(NAME), "spend_daily", COLUMNS, unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(op.f(NAME), table_name="spend_daily")
