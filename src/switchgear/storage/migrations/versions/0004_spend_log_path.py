"""The spend log keeps each attempt of a request that took more than one (its fallback path):
deployment, upstream status, duration and error, as JSON; NULL for requests of one attempt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:  # a nullable column: no table rewrite on either database
    op.add_column(
        "spend_log", sa.Column("path", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("spend_log") as batch:
        batch.drop_column("path")
