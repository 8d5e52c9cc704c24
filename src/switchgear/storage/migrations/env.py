"""Alembic's environment: migrations run on the connection ``switchgear.storage.migrate`` hands
over (``config.attributes["connection"]``), never on one of their own."""

from __future__ import annotations

from alembic import context

from switchgear.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `switchgear db upgrade` (switchgear.storage.migrate)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
