"""The tables: one SQLAlchemy Core ``MetaData`` for SQLite and PostgreSQL alike.

Money is integer: limits and budget counters in micro-USD (``*_microusd``), the cost of a request
in nano-USD (``cost_nanousd``, as the settle record carries it). Times are UTC. Ids are strings.
The migrations in ``migrations/versions/`` create exactly these tables (a test compares them).

    organizations ─┬─ teams ─┬─ users          hierarchy; a key names its owners
                   │         └─ virtual_keys   (stored as a SHA-256 digest, never the key)
    end_users                                  the request's ``user`` field
    budgets, budget_reservations               spent / reserved per scope and period
    spend_log                                  one row per request (idempotent by request id)
    spend_daily                                the rollup reports read, kept current by the writer
    audit_log                                  who did what to which object
    ui_sessions                                who is signed in to the admin UI (by token digest)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

ID = 64  # length of an object id
SCOPE_ID = 256  # an end-user id may be long
MODEL = 256


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC ``datetime`` in, an aware UTC ``datetime`` out, on every dialect (SQLite keeps
    naive ISO text, which sorts in time order; PostgreSQL a ``timestamptz``)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: storage takes timezone-aware (UTC) datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _id(name: str = "id", **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(ID), **kw)


def _owner(name: str, table: str) -> sa.Column[str]:
    """A reference to an owner; deleting an owner that still owns something is refused."""
    return sa.Column(name, sa.String(ID), sa.ForeignKey(f"{table}.id"), nullable=True, index=True)


def _limits(*, parallel: bool = False) -> list[sa.Column[Any]]:
    """The limits every budgeted object carries (``None``: no limit at this level)."""
    columns: list[sa.Column[Any]] = [
        sa.Column("max_budget_microusd", sa.BigInteger, nullable=True),
        sa.Column("soft_budget_microusd", sa.BigInteger, nullable=True),
        sa.Column("budget_duration", sa.String(16), nullable=True),  # "1h", "1d", "7d", "30d", "1mo"
        sa.Column("rpm_limit", sa.Integer, nullable=True),
        sa.Column("tpm_limit", sa.BigInteger, nullable=True),
    ]
    if parallel:
        columns.append(sa.Column("max_parallel_requests", sa.Integer, nullable=True))
    return columns


def _stamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False, index=True),
    ]


def _bag(name: str) -> sa.Column[Any]:
    return sa.Column(name, JSON, nullable=False)


organizations = sa.Table(
    "organizations",
    metadata,
    _id(primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    _bag("models"),
    _bag("metadata"),
    *_limits(),
    *_stamps(),
)

teams = sa.Table(
    "teams",
    metadata,
    _id(primary_key=True),
    _owner("org_id", "organizations"),
    sa.Column("name", sa.String(256), nullable=False),
    _bag("models"),
    _bag("metadata"),
    *_limits(),
    *_stamps(),
)

users = sa.Table(
    "users",
    metadata,
    _id(primary_key=True),
    _owner("org_id", "organizations"),
    _owner("team_id", "teams"),
    sa.Column("email", sa.String(320), nullable=True, unique=True),
    sa.Column("name", sa.String(256), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),  # "member", "team_admin", "org_admin"
    _bag("metadata"),
    *_limits(),
    *_stamps(),
)

end_users = sa.Table(
    "end_users",
    metadata,
    sa.Column("id", sa.String(SCOPE_ID), primary_key=True),  # as the client sends it
    sa.Column("blocked", sa.Boolean, nullable=False),
    _bag("metadata"),
    *_limits(),
    *_stamps(),
)

virtual_keys = sa.Table(
    "virtual_keys",
    metadata,
    _id(primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex of the whole key
    sa.Column("key_prefix", sa.String(32), nullable=False),  # what a listing shows of the key
    sa.Column("name", sa.String(256), nullable=True),
    _owner("org_id", "organizations"),
    _owner("team_id", "teams"),
    _owner("user_id", "users"),
    _bag("models"),  # allow-list: names and wildcards; empty: every model its owners may use
    _bag("metadata"),
    _bag("tags"),
    *_limits(parallel=True),
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.Column("revoked_at", UtcDateTime, nullable=True),  # from then on refused (future: a grace)
    sa.Column("rotated_from", sa.String(ID), nullable=True),  # the key this one replaced
    sa.Column("rotation_grace_until", UtcDateTime, nullable=True),  # the replaced key works until then
    *_stamps(),
)

budgets = sa.Table(
    "budgets",
    metadata,
    sa.Column("scope_kind", sa.String(16), primary_key=True),  # key, user, team, org, end_user, global
    sa.Column("scope_id", sa.String(SCOPE_ID), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),  # e.g. "2026-11" ("" for no reset)
    sa.Column("spent_microusd", sa.BigInteger, nullable=False),
    sa.Column("reserved_microusd", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("spent_microusd >= 0", name="spent_not_negative"),
    sa.CheckConstraint("reserved_microusd >= 0", name="reserved_not_negative"),
)

budget_reservations = sa.Table(
    "budget_reservations",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("scopes", JSON, nullable=False),  # [[kind, id, period], ...]
    sa.Column("amount_microusd", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),  # "held", or "reaped" (expired, returned)
    sa.Column("owner", sa.String(ID), nullable=False),  # the replica that holds it
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
)

spend_log = sa.Table(
    "spend_log",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),  # when the request arrived
    sa.Column("api", sa.String(16), nullable=False),
    sa.Column("key_id", sa.String(ID), nullable=True),
    sa.Column("user_id", sa.String(ID), nullable=True),
    sa.Column("team_id", sa.String(ID), nullable=True),
    sa.Column("org_id", sa.String(ID), nullable=True),
    sa.Column("end_user", sa.String(SCOPE_ID), nullable=True),
    _bag("tags"),
    sa.Column("model", sa.String(MODEL), nullable=False),  # as the client asked for it
    sa.Column("provider", sa.String(ID), nullable=True),  # who served it (None: nobody did)
    sa.Column("deployment", sa.String(MODEL), nullable=True),  # the provider's model id
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("cached_tokens", sa.Integer, nullable=False),
    sa.Column("cache_write_tokens", sa.Integer, nullable=False),
    sa.Column("reasoning_tokens", sa.Integer, nullable=False),
    sa.Column("cost_nanousd", sa.BigInteger, nullable=True),  # None: unpriced
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("ttfb_ms", sa.Float, nullable=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("error_type", sa.String(64), nullable=True),
    sa.Column("cache", sa.String(16), nullable=True),  # "HIT", "SEMANTIC-HIT", "MISS", ...
    sa.Column("stream", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("path", JSON, nullable=True),  # [{deployment, status, ms, error}] when attempts > 1
    sa.Column("tier", sa.String(64), nullable=True),  # the tier a tiering policy chose
    sa.Column("tier_reason", sa.String(256), nullable=True),
    sa.Column("guardrails", JSON, nullable=True),  # [{name, action, direction, found, ms, score}]
    sa.Index(None, "key_id", "created_at"),
    sa.Index(None, "team_id", "created_at"),
)

# Prompts and answers of requests whose payloads are logged (observability.payloads): the texts
# as the client sent and received them, secrets masked and each cut to the configured size.
request_payloads = sa.Table(
    "request_payloads",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    sa.Column("key_id", sa.String(ID), nullable=True),
    sa.Column("request", sa.Text, nullable=True),
    sa.Column("response", sa.Text, nullable=True),  # None: no answer reached the client (a failure)
    sa.Column("truncated", sa.Boolean, nullable=False),
)

# One row per (day, key, user, team, org, model, tag); "" stands for none (NULLs would not
# collide in the unique key). Rows with tag "" count every request once; a request with tags
# also counts once in each of its tags' rows.
spend_daily = sa.Table(
    "spend_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),  # UTC day the request arrived
    sa.Column("key_id", sa.String(ID), primary_key=True),
    sa.Column("user_id", sa.String(ID), primary_key=True),
    sa.Column("team_id", sa.String(ID), primary_key=True),
    sa.Column("org_id", sa.String(ID), primary_key=True),
    sa.Column("model", sa.String(MODEL), primary_key=True),
    sa.Column("tag", sa.String(MODEL), primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("failed_requests", sa.BigInteger, nullable=False),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost_nanousd", sa.BigInteger, nullable=False),
    # SQLite: a report reads its tag ("" or the tags), days and sums from this index alone.
    # Not on PostgreSQL: it scans a month's rollup in parallel instead, and the index would keep
    # every rollup update from being a HOT update (the sums are in it), slowing the writer.
    sa.Index(
        "ix_spend_daily_report",
        "tag",
        "day",
        "key_id",
        "user_id",
        "team_id",
        "org_id",
        "model",
        "requests",
        "failed_requests",
        "prompt_tokens",
        "completion_tokens",
        "cost_nanousd",
    ).ddl_if(dialect="sqlite"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(ID), nullable=False),  # a key id, or "master"
    sa.Column("action", sa.String(32), nullable=False),  # "create", "update", "revoke", ...
    sa.Column("object_kind", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(SCOPE_ID), nullable=False),
    _bag("details"),  # the fields changed (never a key or its digest)
    sa.Index(None, "object_kind", "object_id"),
)

# The admin UI's sign-in sessions: the SHA-256 digest of the session token (the cookie holds the
# token, never stored), who signed in (an Actor's label: "master" or an admin key's id), the form
# token, and until when. Signing out deletes the row.
ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("actor", sa.String(ID), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
)
