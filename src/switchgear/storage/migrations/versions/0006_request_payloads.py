"""Logged prompts and answers (``request_payloads``), for requests whose payloads are logged
(``observability.payloads``): kept apart from the spend log so that its rows stay small.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_payloads",
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("request", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_payloads")),
    )
    op.create_index(op.f("ix_request_payloads_created_at"), "request_payloads", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_request_payloads_created_at"), table_name="request_payloads")
    op.drop_table("request_payloads")
