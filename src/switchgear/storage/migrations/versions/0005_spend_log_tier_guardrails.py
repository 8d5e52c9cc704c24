"""The spend log keeps what tiering chose (the tier and why) and what each guardrail did (its
action and the entity types and counts it found, never the values), as nullable columns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:  # nullable columns: no table rewrite on either database
    op.add_column("spend_log", sa.Column("tier", sa.String(64), nullable=True))
    op.add_column("spend_log", sa.Column("tier_reason", sa.String(256), nullable=True))
    op.add_column(
        "spend_log",
        sa.Column("guardrails", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("spend_log") as batch:
        batch.drop_column("guardrails")
        batch.drop_column("tier_reason")
        batch.drop_column("tier")
