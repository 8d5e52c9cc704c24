"""What the simulator remembers: recorded requests and per-key failure counters.

Each request that reaches the simulator (except its own ``/_sim/`` control endpoints) becomes a
:class:`RecordedRequest` holding exactly what arrived on the wire — method, path, query string,
lower-cased headers, raw body and parsed JSON — plus what happened to the answer: the status
sent, whether the response finished, and, when the client went away early, the monotonic time at
which that was noticed (``cancelled_at``). :class:`SimState` is the per-server bag the handlers
share: the record list, the ``fail_times`` counters and the set of in-flight handler tasks that
``stop()`` cancels so stalled responses never block shutdown.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

# Values of RecordedRequest.outcome.
PENDING = "pending"
COMPLETED = "completed"
CANCELLED = "cancelled"  # the client went away before the response finished
DISCONNECTED = "disconnected"  # the script made the server drop the connection
STALLED = "stalled"  # the script made the server stop sending (and it is still stalling)


@dataclass
class RecordedRequest:
    """One request as received, and how its response ended."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any | None
    received_at: float
    request_id: str = ""
    status: int | None = None
    outcome: str = PENDING
    cancelled_at: float | None = None
    completed: bool = False

    def mark_completed(self) -> None:
        """The whole response was handed to the transport."""
        if self.outcome in (PENDING, STALLED):
            self.outcome = COMPLETED
            self.completed = True

    def mark_cancelled(self) -> None:
        """The client disconnected (or stopped reading) before the response finished."""
        if self.outcome in (PENDING, STALLED):
            self.outcome = CANCELLED
            self.cancelled_at = time.monotonic()
            self.completed = False

    def mark(self, outcome: str) -> None:
        """Record a scripted ending (``DISCONNECTED`` or ``STALLED``)."""
        if self.outcome in (PENDING, STALLED):
            self.outcome = outcome

    def to_json(self) -> dict[str, Any]:
        """The JSON shape served by ``GET /_sim/requests``."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", errors="replace"),
            "json": self.json,
            "received_at": self.received_at,
            "request_id": self.request_id,
            "status": self.status,
            "outcome": self.outcome,
            "cancelled_at": self.cancelled_at,
            "completed": self.completed,
        }


@dataclass
class SimState:
    """Mutable state shared by the handlers of one simulator instance."""

    records: list[RecordedRequest] = field(default_factory=list)
    fail_counts: dict[str, int] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    stopping: bool = False

    def clear(self) -> None:
        """Forget recorded requests and reset every ``fail_times`` counter."""
        self.records.clear()
        self.fail_counts.clear()

    def should_fail(self, key: str, times: int | None) -> bool:
        """Count one request under ``key``; true while the count is within ``times``."""
        if times is None:
            return True
        count = self.fail_counts.get(key, 0) + 1
        self.fail_counts[key] = count
        return count <= times
