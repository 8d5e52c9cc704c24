"""Reading the admin UI's forms and filters: a URL-encoded body (bounded), the fields an operator
filled in turned into the admin service's inputs (empty: not given; numbers as numbers; lists
comma-separated), and validation errors as one clear message naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from switchgear.core.errors import InvalidRequest, RequestTooLarge

MAX_FORM = 65_536
M = TypeVar("M", bound=BaseModel)
NUMBERS = ("rpm_limit", "tpm_limit", "max_parallel_requests")
LISTS = ("models", "tags")
LIMITS = ("max_budget", "soft_budget", "budget_duration", "rpm_limit", "tpm_limit")


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded body (the last value of a repeated one)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise RequestTooLarge(f"a form is limited to {MAX_FORM} bytes")
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=100))
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the form could not be read") from None


def _value(name: str, text: str) -> Any:
    text = text.strip()
    if name in LISTS:
        return [part.strip() for part in text.split(",") if part.strip()]
    if name in NUMBERS:
        if not text.isdigit():
            raise InvalidRequest(f"{name}: a whole number is required", param=name)
        return int(text)
    return text


def fields(form: dict[str, str], names: tuple[str, ...], *, clear_empty: bool = False) -> dict[str, Any]:
    """The named fields that were filled in; with ``clear_empty`` an empty field is ``None`` (an
    update clears it), else it is left out."""
    given: dict[str, Any] = {}
    for name in names:
        if name not in form:
            continue
        if form[name].strip():
            given[name] = _value(name, form[name])
        elif clear_empty:
            given[name] = None
    return given


def validated(model: type[M], given: dict[str, Any]) -> M:
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or None
        message = str(first.get("msg", "invalid value"))
        raise InvalidRequest(f"{where}: {message}" if where else message, param=where) from None


def text_filter(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def day_filter(value: str | None, name: str) -> date | None:
    value = text_filter(value)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name}: a date is written YYYY-MM-DD", param=name) from None


def time_filter(value: str | None, name: str) -> datetime | None:
    """A moment from an ``<input type=datetime-local>`` (read as UTC) or ISO 8601 text."""
    value = text_filter(value)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name}: a time is written YYYY-MM-DDTHH:MM (UTC)", param=name) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def int_filter(value: str | None, name: str) -> int | None:
    value = text_filter(value)
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidRequest(f"{name}: a whole number is required", param=name)
    return int(value)
