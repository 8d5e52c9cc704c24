"""The durable store, and the only package that speaks SQL: tables, typed query functions and
migrations, on SQLite (a file, the default) or PostgreSQL (several replicas).

    database.py   Database: the async engine, where the file is, how transactions begin
    tables.py     the tables (SQLAlchemy Core); migrations/ creates them (Alembic)
    rows.py       the typed values going in and out (no SQLAlchemy type leaves this package)
    hierarchy.py  organizations, teams, users, end-users
    keys.py       virtual keys (stored as a digest), by id and by digest; revoke, rotate
    budgets.py    atomic multi-scope reserve, settle, release, reaper
    spend.py      the spend log (idempotent batches) and its daily rollup; retention
    reports.py    spend totals by key / user / team / org / model / tag / day; the request log
    audit.py      who did what to which object
    sessions.py   the admin UI's sign-in sessions
    latency.py    latency of the newest requests (the dashboard's percentiles)
    migrate.py    upgrade / downgrade / current revision
"""

from switchgear.storage.database import Database, data_dir, database_url
from switchgear.storage.errors import BudgetExceeded, Conflict, NotFound, StorageError, Unavailable
from switchgear.storage.rows import (
    AttemptStep,
    AuditEntry,
    BudgetCounter,
    EndUser,
    GuardStep,
    Limits,
    Organization,
    Page,
    Payload,
    Scope,
    SpendRow,
    SpendTotal,
    Team,
    User,
    VirtualKey,
)

__all__ = [
    "AttemptStep",
    "AuditEntry",
    "BudgetCounter",
    "BudgetExceeded",
    "Conflict",
    "Database",
    "EndUser",
    "GuardStep",
    "Limits",
    "NotFound",
    "Organization",
    "Page",
    "Payload",
    "Scope",
    "SpendRow",
    "SpendTotal",
    "StorageError",
    "Team",
    "Unavailable",
    "User",
    "VirtualKey",
    "data_dir",
    "database_url",
]
