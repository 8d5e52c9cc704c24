"""What the spend log keeps of a finished request (a ``storage.SpendRow`` from its ``RequestRecord``),
and how a failed write is described in logs and counters: briefly, without a password or SQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from switchgear.core.redact import redact
from switchgear.stages.context import ANONYMOUS
from switchgear.stages.record import RequestRecord
from switchgear.storage import AttemptStep, GuardStep, SpendRow

_URL_CREDENTIALS = re.compile(r"(://)[^/\s@]*@")
_ERROR_LENGTH = 200


def refused_unauthenticated(record: RequestRecord) -> bool:
    """A request refused with 401 before it was known who sent it (no key, an unknown, revoked or
    expired one) and before any upstream attempt. It is not written: a caller without a valid key
    must not be able to add rows to the database (BAD-INPUTS row A1)."""
    return record.status == 401 and not record.attempts and record.principal == ANONYMOUS


def spend_row(record: RequestRecord) -> SpendRow:
    """The spend-log row of one finished request, whoever sent it (no key: the key columns are NULL)."""
    principal = record.principal
    usage = record.usage
    return SpendRow(
        request_id=record.request_id,
        created_at=datetime.fromtimestamp(record.started_at, UTC),
        model=record.model,
        api=record.api,
        key_id=principal.key_id,
        user_id=principal.user_id,
        team_id=principal.team_id,
        org_id=principal.org_id,
        end_user=record.end_user,
        tags=record.tags,
        provider=record.provider,
        deployment=record.served_model,
        prompt_tokens=usage.prompt_tokens if usage is not None else 0,
        completion_tokens=usage.completion_tokens if usage is not None else 0,
        cached_tokens=usage.cached_tokens if usage is not None else 0,
        cache_write_tokens=usage.cache_write_tokens if usage is not None else 0,
        reasoning_tokens=usage.reasoning_tokens if usage is not None else 0,
        cost_nanousd=record.cost_nanousd,
        duration_ms=record.duration_ms,
        ttfb_ms=record.ttfb_ms,
        status=record.status,
        error_type=record.error_type,
        cache=record.cache,
        stream=record.stream,
        attempts=len(record.attempts),
        path=_path(record) if len(record.attempts) > 1 else (),
        tier=record.tier,
        tier_reason=record.tier_reason,
        guardrails=_guards(record) if record.guards else (),
    )


def _guards(record: RequestRecord) -> tuple[GuardStep, ...]:
    return tuple(
        GuardStep(
            name=guard.name,
            action=guard.action,
            direction=guard.direction,
            found=dict(guard.found),
            ms=round(guard.ms, 3),
            score=guard.score,
        )
        for guard in record.guards
    )


def _path(record: RequestRecord) -> tuple[AttemptStep, ...]:
    return tuple(
        AttemptStep(
            deployment=attempt.deployment.label,
            status=attempt.status,
            ms=round(attempt.latency_ms, 3),
            error=(attempt.error.code or attempt.error.type) if attempt.error is not None else None,
        )
        for attempt in record.attempts
    )


def describe_error(exc: BaseException) -> str:
    """One short line naming what went wrong: the driver's own error when there is one (not the SQL
    statement and its parameters SQLAlchemy adds), credentials in URLs and key-like text masked."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    line = text[0] if text else ""
    name = type(cause).__name__
    if isinstance(exc, TimeoutError) and not line:
        line = "no answer in time"
    line = redact(_URL_CREDENTIALS.sub(r"\1***@", line))
    if len(line) > _ERROR_LENGTH:
        line = line[: _ERROR_LENGTH - 1] + "…"
    return f"{name}: {line}" if line else name
