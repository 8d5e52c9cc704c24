"""What the admin API and the CLI accept: the bodies that create and change keys, organizations,
teams, users and end-users (pydantic; unknown fields refused, so a ``role`` or ``spend`` smuggled
into a body is an error, never a silent write).

Money is USD (``keys.money``); limits are whole numbers; ``budget_duration`` is ``1h``, ``1d``,
``7d``, ``30d`` or ``month``. In an update, a field left out is unchanged and ``null`` clears it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from switchgear.core.units import parse_duration
from switchgear.keys.money import MAX_USD, parse_usd
from switchgear.state.periods import Period

MAX_METADATA_BYTES = 16_384
MAX_GRACE_SECONDS = 30 * 86_400


def _period(value: str) -> str:
    Period.parse(value)
    return value


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(orjson.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is limited to {MAX_METADATA_BYTES} bytes of JSON")
    return value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _seconds(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a duration is a string with a unit, e.g. '24h'")
    return parse_duration(value) if isinstance(value, str) else value


Usd = Annotated[
    Decimal,
    BeforeValidator(parse_usd),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": int(MAX_USD), "description": "USD"}),
]
Count = Annotated[int, Field(strict=True, ge=0, le=10**12)]
BudgetDuration = Annotated[
    str, AfterValidator(_period), Field(description="1h, 1d, 7d, 30d or month (calendar month, UTC)")
]
Text = Annotated[str, Field(min_length=1, max_length=256)]
ObjectId = Annotated[str, Field(min_length=1, max_length=64)]
Models = Annotated[list[Text], Field(max_length=1000)]
Tags = Annotated[list[Text], Field(max_length=64)]
Metadata = Annotated[dict[str, Any], AfterValidator(_metadata)]
When = Annotated[datetime, AfterValidator(_utc)]
Role = Literal["member", "team_admin", "org_admin"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def given(self) -> dict[str, Any]:
        """The fields the caller sent (an update changes these only)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class LimitInput(_Input):
    max_budget: Usd | None = None
    soft_budget: Usd | None = None
    budget_duration: BudgetDuration | None = None
    rpm_limit: Count | None = None
    tpm_limit: Count | None = None


class KeyInput(LimitInput):
    name: Text | None = None
    models: Models | None = None
    max_parallel_requests: Count | None = None
    org_id: ObjectId | None = None
    team_id: ObjectId | None = None
    user_id: ObjectId | None = None
    expires_at: When | None = None
    metadata: Metadata | None = None
    tags: Tags | None = None


class KeyRotate(_Input):
    grace_period: Annotated[float, BeforeValidator(_seconds), Field(ge=0, le=MAX_GRACE_SECONDS)] = 0.0


class OrgInput(LimitInput):
    name: Text | None = None
    models: Models | None = None
    metadata: Metadata | None = None


class TeamInput(OrgInput):
    org_id: ObjectId | None = None


class UserInput(LimitInput):
    name: Text | None = None
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    org_id: ObjectId | None = None
    team_id: ObjectId | None = None
    role: Role | None = None
    metadata: Metadata | None = None


class EndUserInput(LimitInput):
    id: Text | None = Field(default=None, description="the request's `user` value (create only)")
    blocked: bool | None = None
    metadata: Metadata | None = None
