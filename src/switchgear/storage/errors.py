"""What storage functions raise, beyond the driver's own errors (a database that is down).

StorageError
├── NotFound          no such object (or it is not the caller's: the same answer)
├── Conflict          a unique value is taken (a key digest, an email), or the object is in use
└── BudgetExceeded    a reservation would take a scope past its limit; nothing was reserved
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of the errors storage raises on purpose."""


class Unavailable(StorageError):
    """The database could not be reached or opened; the message names it (never its password)."""


class NotFound(StorageError):
    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id!r} not found")
        self.kind = kind
        self.object_id = object_id


class Conflict(StorageError):
    """The change would break a uniqueness or reference rule; nothing was changed."""


class BudgetExceeded(StorageError):
    """The first scope (in key → user → team → org → end_user → global order) that refused."""

    def __init__(
        self, kind: str, scope_id: str, *, period: str, limit: int, spent: int, reserved: int
    ) -> None:
        super().__init__(
            f"{kind} {scope_id!r} budget exceeded: limit {limit} micro-USD, "
            f"spent {spent}, reserved {reserved} (period {period or 'none'})"
        )
        self.kind = kind
        self.scope_id = scope_id
        self.period = period
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
