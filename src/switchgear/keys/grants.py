"""What an org or team admin may hand out: never more than what it administers holds.

A scoped admin's *ceiling* is its team (for a team admin) and its organization. Every limit it sets
on a key, user or team must be within each ceiling's limit where that has one, and every model it
allows must be one the ceiling allows (a wildcard only when the ceiling has that same wildcard, or
allows every model). Leaving a limit unset is always allowed: the ceiling's own limit still applies
to every request. The master key has no ceiling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from switchgear.core.errors import PermissionDenied
from switchgear.keys.money import micro_to_usd
from switchgear.keys.tenancy import Actor
from switchgear.storage import Database, Organization, Team
from switchgear.storage.hierarchy import get_org, get_team

Ceiling = Organization | Team
_LIMITS = {
    "max_budget": "max_budget_microusd",
    "soft_budget": "max_budget_microusd",
    "rpm_limit": "rpm_limit",
    "tpm_limit": "tpm_limit",
}
_WILDCARD = frozenset("*?[")


async def ceilings(db: Database, actor: Actor) -> list[Ceiling]:
    """The objects whose limits bound what ``actor`` grants (none for the master key)."""
    found: list[Ceiling] = []
    if actor.team_id is not None:
        found.append(await get_team(db, actor.team_id))
    if actor.org_id is not None and not actor.is_master:
        found.append(await get_org(db, actor.org_id))
    return found


def _kind(ceiling: Ceiling) -> str:
    return "team" if isinstance(ceiling, Team) else "organization"


def allows_model(patterns: Sequence[str], model: str) -> bool:
    if not patterns or "*" in patterns or model in patterns:
        return True
    if _WILDCARD & set(model):
        return False
    return any(fnmatchcase(model, pattern) for pattern in patterns)


def check_grant(given: Mapping[str, Any], bounds: Sequence[Ceiling]) -> None:
    """Refuse (403, naming the field) a limit or model beyond any ceiling."""
    for ceiling in bounds:
        for name, column in _LIMITS.items():
            value = given.get(name)
            bound = getattr(ceiling.limits, column)
            if value is None or bound is None:
                continue
            shown = micro_to_usd(bound) if column.endswith("_microusd") else bound
            if (Decimal(value) if column.endswith("_microusd") else value) > (shown or 0):
                raise PermissionDenied(
                    f"{name} {value} is more than your {_kind(ceiling)}'s limit of {shown}", param=name
                )
        for model in given.get("models") or ():
            if not allows_model(ceiling.models, model):
                raise PermissionDenied(
                    f"model {model!r} is not allowed to your {_kind(ceiling)}", param="models"
                )


def refuse_self_grant(given: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    """An admin changing what it administers, or its own user or key, may change ``allowed`` only."""
    extra = sorted(set(given) - allowed)
    if extra:
        raise PermissionDenied(f"you cannot change {extra[0]} of {what}", param=extra[0])
