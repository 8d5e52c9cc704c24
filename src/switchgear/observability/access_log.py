"""The access log: one line per finished request, from the settle queue (never on the request path).

Each line says what the request did — request id, API, requested and served model, provider,
status or error class, attempts, tokens, cost, the tier and its reason (tiered models), duration,
time to first byte, the virtual key id when there is one — and never a secret or a prompt. Text
lines read as ``key=value`` pairs (a value with spaces in double quotes); with
``server.log_format: json`` the same fields are JSON fields.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from switchgear.observability.logs import FIELDS
from switchgear.stages.base import Stage
from switchgear.stages.record import RequestRecord

log = logging.getLogger("switchgear.access")


def fields(record: RequestRecord) -> dict[str, Any]:
    """The access-log fields of one record (None values left out)."""
    usage = record.usage
    found: dict[str, Any] = {
        "request_id": record.request_id,
        "api": record.api,
        "model": record.model or None,
        "provider": record.provider,
        "served_model": record.served_model,
        "status": record.status,
        "error": record.error_type,
        "in_band": record.in_band or None,
        "stream": record.stream or None,
        "attempts": len(record.attempts),
        "prompt_tokens": usage.prompt_tokens if usage is not None else None,
        "completion_tokens": usage.completion_tokens if usage is not None else None,
        "cost_usd": record.cost_nanousd / 1e9 if record.cost_nanousd is not None else None,
        "cache": record.cache,
        "tier": record.tier,  # a tiered model's choice and why (docs/tiering.md)
        "tier_reason": record.tier_reason,
        "duration_ms": round(record.duration_ms, 3),
        "ttfb_ms": round(record.ttfb_ms, 3) if record.ttfb_ms is not None else None,
        "key_id": record.principal.key_id,
        "suspicious_usage": record.suspicious_usage or None,
    }
    return {k: v for k, v in found.items() if v is not None}


def _text(entry: dict[str, Any]) -> str:
    parts = [f"{entry['request_id']} {entry['api']}"]
    for name, value in entry.items():
        if name in ("request_id", "api"):
            continue
        if name == "cost_usd":
            parts.append(f"cost=${value:.9f}".rstrip("0").rstrip(".") if value else "cost=$0")
        elif name in ("duration_ms", "ttfb_ms"):
            parts.append(f"{name[:-3]}={value:.1f}ms")
        elif value is True:
            parts.append(name)
        elif isinstance(value, str) and " " in value:
            parts.append(f'{name}="{value}"')
        else:
            parts.append(f"{name}={value}")
    return " ".join(parts)


class AccessLog(Stage):
    name = "access_log"

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        for record in records:
            entry = fields(record)
            log.info(_text(entry), extra={FIELDS: entry})
