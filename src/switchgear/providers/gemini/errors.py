"""Google API errors (``{"error": {"code", "message", "status", "details"}}``) as gateway errors.

The canonical gRPC ``status`` decides the class where it is known (it is more precise than the
HTTP status: an invalid API key is a 400 ``INVALID_ARGUMENT`` whose details say
``API_KEY_INVALID``, which the client should see as an authentication failure). 4xx messages are
kept, prefixed with the provider's name (Google echoes ``key=`` URLs: the engine redacts every
error that leaves it); 5xx messages are masked. A ``RetryInfo`` detail supplies ``Retry-After``
when the header is absent. Used for HTTP error answers and for in-band stream errors alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from switchgear.core.errors import UpstreamStatusError
from switchgear.providers.errors import body_text, status_error

# Google canonical status -> the HTTP status it stands for (WIRE-FORMATS 4.5).
_STATUS: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 500,  # 499 is the client closing; here the upstream gave up: a failure to fail over from
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_AUTH_REASONS = frozenset(
    {"API_KEY_INVALID", "API_KEY_EXPIRED", "ACCESS_TOKEN_EXPIRED", "ACCESS_TOKEN_TYPE_UNSUPPORTED"}
)
_CONTEXT_TOO_LONG = re.compile(
    r"exceeds the maximum number of tokens|input token count .* exceeds", re.IGNORECASE
)
_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamStatusError:
    """The gateway error for a Google error answer (``status`` < 400: an in-band error, read ``code``)."""
    error = _error_object(body)
    message = (_text(error.get("message")) or "").strip()
    if not error and status >= 400:
        message = body_text(body)
    google_status = _text(error.get("status"))
    raw_details = error.get("details")
    details = [d for d in raw_details if isinstance(d, dict)] if isinstance(raw_details, list) else []
    if status < 400:
        code = error.get("code")
        status = code if isinstance(code, int) and not isinstance(code, bool) and code >= 400 else 500
    effective = _STATUS.get(google_status or "", status)
    if any(d.get("reason") in _AUTH_REASONS for d in details):
        effective = 401
    upstream_code = (
        "context_length_exceeded" if effective == 400 and _CONTEXT_TOO_LONG.search(message) else None
    )
    what = f"HTTP {status} ({google_status})" if google_status else f"HTTP {status}"
    return status_error(
        effective,
        message,
        provider,
        masked=f"failed with {what}",
        upstream_type=google_status,
        upstream_code=upstream_code,
        retry_after=headers.get("retry-after") or _retry_delay(details),
    )


def _error_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if isinstance(data, list) and data and isinstance(data[0], dict):  # streamed without alt=sse
        data = data[0]
    if not isinstance(data, dict):
        return {}
    error = data.get("error")
    return error if isinstance(error, dict) else {}


def _retry_delay(details: list[dict[str, Any]]) -> str | None:
    """Whole seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "37.5s"``)."""
    for detail in details:
        delay = detail.get("retryDelay")
        if isinstance(delay, str):
            match = _SECONDS.match(delay)
            if match:
                return str(math.ceil(float(match.group(1))))
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
