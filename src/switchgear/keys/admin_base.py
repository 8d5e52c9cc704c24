"""What every admin operation shares: the database, the change feed, the clock, how storage's
refusals become API errors, and how USD limits from a body become storage's micro-USD columns."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchgear.core.errors import InvalidRequest
from switchgear.keys.changes import Change, ChangeFeed, ChangeKind
from switchgear.keys.money import to_micro
from switchgear.keys.tenancy import Actor, not_found
from switchgear.storage import Conflict, Database, Limits
from switchgear.storage import NotFound as Missing
from switchgear.storage.rows import utcnow

LIMIT_NAMES = ("max_budget", "soft_budget", "budget_duration", "rpm_limit", "tpm_limit")
# what an admin may still change on what it administers, on its own user and on its own key
NAME_AND_METADATA = frozenset({"name", "metadata"})


def conflict(message: str) -> InvalidRequest:
    return InvalidRequest(message, status=409, code="conflict")


@contextmanager
def storage_errors() -> Iterator[None]:
    """Storage's ``NotFound`` → 404, ``Conflict`` → 409 (its message names no secret)."""
    try:
        yield
    except Missing as exc:
        raise not_found(exc.kind, exc.object_id) from None
    except Conflict as exc:
        raise conflict(str(exc)) from None


def limit_columns(given: Mapping[str, Any]) -> dict[str, Any]:
    """The storage columns of the limits in ``given`` (USD → micro-USD), only those given."""
    columns: dict[str, Any] = {}
    for name in LIMIT_NAMES:
        if name in given:
            value = given[name]
            columns[f"{name}_microusd" if name.endswith("budget") else name] = (
                to_micro(value) if name.endswith("budget") else value
            )
    if "max_parallel_requests" in given:
        columns["max_parallel_requests"] = given["max_parallel_requests"]
    return columns


def plain_changes(given: Mapping[str, Any], cleared: Mapping[str, Any]) -> dict[str, Any]:
    """``name`` and the fields in ``cleared`` as given; ``null`` for one of ``cleared`` sets its
    empty value (no models listed: every model; no tags; no metadata)."""
    changes: dict[str, Any] = {}
    for name in ("name", *cleared):
        if name in given:
            changes[name] = cleared[name] if given[name] is None and name in cleared else given[name]
    return changes


def limits_of(given: Mapping[str, Any], *, parallel: bool = False) -> Limits:
    columns = limit_columns(given)
    if not parallel:
        columns.pop("max_parallel_requests", None)
    return Limits(**columns)


def check_soft_budget(given: Mapping[str, Any], current: Limits | None = None) -> None:
    """A soft budget (the alert) above the hard one would never fire."""
    soft = to_micro(given["soft_budget"]) if "soft_budget" in given else None
    hard = to_micro(given["max_budget"]) if "max_budget" in given else None
    if current is not None:
        soft = soft if "soft_budget" in given else current.soft_budget_microusd
        hard = hard if "max_budget" in given else current.max_budget_microusd
    if soft is not None and hard is not None and soft > hard:
        raise InvalidRequest("soft_budget must not be more than max_budget", param="soft_budget")


@dataclass(slots=True)
class AdminContext:
    db: Database
    feed: ChangeFeed
    clock: Callable[[], datetime] = utcnow

    async def changed(self, kind: ChangeKind, object_id: str) -> None:
        await self.feed.publish(Change(kind, object_id))


def audit_name(actor: Actor) -> str:
    return actor.label
