"""The change feed between whoever changes keys, budgets or the hierarchy (the admin API, the CLI)
and the in-memory directory that the request path reads.

A change names an object, never its contents: a receiver reads the object again from the database.
So a change that arrives twice, late or out of order is harmless, and a lost one is repaired by the
directory's periodic refresh (``governance.refresh_interval``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

ChangeKind = Literal["key", "user", "team", "org", "end_user", "global"]


@dataclass(frozen=True, slots=True)
class Change:
    """``Change("key", "key_123")``: read that object again (created, updated, revoked or deleted)."""

    kind: ChangeKind
    id: str = ""


class ChangeFeed(Protocol):
    async def publish(self, change: Change) -> None:
        """Apply ``change`` in this process now and tell every other process; never raises for a
        peer that cannot be told (the periodic refresh covers it)."""
