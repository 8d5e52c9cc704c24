"""The initial schema: organizations, teams, users, end-users, virtual keys, budgets and their
reservations, the spend log and its daily rollup, the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
SCOPE_ID = sa.String(length=256)
NAME = sa.String(length=256)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _limits(*, parallel: bool = False) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("max_budget_microusd", sa.BigInteger(), nullable=True),
        sa.Column("soft_budget_microusd", sa.BigInteger(), nullable=True),
        sa.Column("budget_duration", sa.String(length=16), nullable=True),
        sa.Column("rpm_limit", sa.Integer(), nullable=True),
        sa.Column("tpm_limit", sa.BigInteger(), nullable=True),
    ]
    if parallel:
        columns.append(sa.Column("max_parallel_requests", sa.Integer(), nullable=True))
    return columns


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
    ]


def _owner(name: str, table: str, owner: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([name], [f"{owner}.id"], name=op.f(f"fk_{table}_{name}_{owner}"))


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("models", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        *_limits(),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    _index("organizations", "updated_at")

    op.create_table(
        "teams",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=True),
        sa.Column("name", NAME, nullable=False),
        sa.Column("models", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        *_limits(),
        *_stamps(),
        _owner("org_id", "teams", "organizations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    _index("teams", "org_id")
    _index("teams", "updated_at")

    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=True),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", NAME, nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        *_limits(),
        *_stamps(),
        _owner("org_id", "users", "organizations"),
        _owner("team_id", "users", "teams"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    _index("users", "org_id")
    _index("users", "team_id")
    _index("users", "updated_at")

    op.create_table(
        "end_users",
        sa.Column("id", SCOPE_ID, nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        *_limits(),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_end_users")),
    )
    _index("end_users", "updated_at")

    op.create_table(
        "virtual_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=32), nullable=False),
        sa.Column("name", NAME, nullable=True),
        sa.Column("org_id", ID, nullable=True),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("models", _json(), nullable=False),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("tags", _json(), nullable=False),
        *_limits(parallel=True),
        sa.Column("expires_at", _time(), nullable=True),
        sa.Column("revoked_at", _time(), nullable=True),
        sa.Column("rotated_from", ID, nullable=True),
        sa.Column("rotation_grace_until", _time(), nullable=True),
        *_stamps(),
        _owner("org_id", "virtual_keys", "organizations"),
        _owner("team_id", "virtual_keys", "teams"),
        _owner("user_id", "virtual_keys", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_virtual_keys_key_hash")),
    )
    for column in ("org_id", "team_id", "user_id", "updated_at"):
        _index("virtual_keys", column)

    op.create_table(
        "budgets",
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", SCOPE_ID, nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("spent_microusd", sa.BigInteger(), nullable=False),
        sa.Column("reserved_microusd", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.CheckConstraint("spent_microusd >= 0", name=op.f("ck_budgets_spent_not_negative")),
        sa.CheckConstraint("reserved_microusd >= 0", name=op.f("ck_budgets_reserved_not_negative")),
        sa.PrimaryKeyConstraint("scope_kind", "scope_id", "period", name=op.f("pk_budgets")),
    )

    op.create_table(
        "budget_reservations",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("scopes", _json(), nullable=False),
        sa.Column("amount_microusd", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("owner", ID, nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_reservations")),
    )
    _index("budget_reservations", "expires_at")

    op.create_table(
        "spend_log",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("key_id", ID, nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("org_id", ID, nullable=True),
        sa.Column("end_user", SCOPE_ID, nullable=True),
        sa.Column("tags", _json(), nullable=False),
        sa.Column("model", NAME, nullable=False),
        sa.Column("provider", ID, nullable=True),
        sa.Column("deployment", NAME, nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_nanousd", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("ttfb_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_type", sa.String(length=64), nullable=True),
        sa.Column("cache", sa.String(length=16), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_spend_log")),
    )
    _index("spend_log", "created_at")
    _index("spend_log", "key_id", "created_at")
    _index("spend_log", "team_id", "created_at")

    op.create_table(
        "spend_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("model", NAME, nullable=False),
        sa.Column("tag", NAME, nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("failed_requests", sa.BigInteger(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nanousd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "key_id", "user_id", "team_id", "org_id", "model", "tag", name=op.f("pk_spend_daily")
        ),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("actor", ID, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("object_kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", SCOPE_ID, nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    _index("audit_log", "at")
    _index("audit_log", "object_kind", "object_id")


def downgrade() -> None:
    for table in (
        "audit_log", "spend_daily", "spend_log", "budget_reservations", "budgets",
        "virtual_keys", "end_users", "users", "teams", "organizations",
    ):  # fmt: skip
        op.drop_table(table)
