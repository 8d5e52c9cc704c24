"""Cohere error answers (``{"message": "…"}``, sometimes with an ``id``) as gateway errors.

Statuses follow WIRE-FORMATS 8.e with Cohere's own codes translated first: 498 (invalid or
expired token) is an authentication failure (401); 499 (the request was cancelled upstream) is an
upstream failure to fail over from (500). 4xx messages are kept, prefixed with the provider's
name and cut to 1000 characters (the engine redacts every error that leaves it); 5xx messages
are masked. A 400 that says the prompt has too many tokens carries the code
``context_length_exceeded``. ``Retry-After`` is passed on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from switchgear.core.errors import UpstreamStatusError
from switchgear.providers.errors import body_text, status_error

# Cohere-only statuses -> the status the gateway's table knows (core.errors maps the rest).
_STATUS: dict[int, int] = {498: 401, 499: 500}
_CONTEXT_TOO_LONG = re.compile(
    r"too many tokens|context length|context window|exceeds? the maximum .*tokens", re.IGNORECASE
)


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamStatusError:
    """The gateway error for a Cohere error answer (``status`` < 400: an in-band error, as a 500)."""
    message = _message(body)
    if message is None and status >= 400:
        message = body_text(body)
    if status < 400:
        status = 500
    effective = _STATUS.get(status, status)
    upstream_code = (
        "context_length_exceeded"
        if effective == 400 and message and _CONTEXT_TOO_LONG.search(message)
        else None
    )
    return status_error(
        effective,
        message,
        provider,
        masked=f"failed with HTTP {status}",
        upstream_type=str(status) if status in _STATUS else None,
        upstream_code=upstream_code,
        retry_after=headers.get("retry-after"),
    )


def _message(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    message = data.get("message")
    return message.strip() if isinstance(message, str) and message.strip() else None
