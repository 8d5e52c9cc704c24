"""The public surface of the storage package, and its migrations shipped inside it."""

from __future__ import annotations

from pathlib import Path

import switchgear.storage as storage
from switchgear.storage.migrate import MIGRATIONS, head


def test_public_surface() -> None:
    assert sorted(storage.__all__) == [
        "AttemptStep", "AuditEntry", "BudgetCounter", "BudgetExceeded", "Conflict", "Database", "EndUser",
        "GuardStep", "Limits", "NotFound", "Organization", "Page", "Payload", "Scope", "SpendRow",
        "SpendTotal", "StorageError", "Team", "Unavailable", "User", "VirtualKey", "data_dir", "database_url",
    ]  # fmt: skip
    for name in storage.__all__:
        assert getattr(storage, name) is not None


def test_the_migrations_ship_in_the_package() -> None:
    assert MIGRATIONS.parent == Path(storage.__file__).parent
    assert (MIGRATIONS / "env.py").is_file() and (MIGRATIONS / "script.py.mako").is_file()
    assert head() == "0006"
