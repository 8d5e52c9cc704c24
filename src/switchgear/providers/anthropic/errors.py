"""Anthropic error bodies as gateway errors: an HTTP error answer (``map_error``), a 200 that
carries ``{"type":"error"}`` or an in-band stream ``error`` event (``in_band_error``)
(WIRE-FORMATS §3.5, §8.e). Upstream 5xx messages are masked; 4xx messages are kept and
bounded (the engine redacts every error that leaves it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from switchgear.core.errors import UpstreamStatusError
from switchgear.providers.errors import body_text, status_error

# Anthropic error type -> the HTTP status it comes with (for errors that arrive without one).
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TOO_LONG = ("prompt is too long", "exceed context limit")


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamStatusError:
    """An HTTP error answer (``{"type":"error","error":{type, message}}`` or anything else)."""
    type_, message = _error_fields(body)
    return status_error(
        status,
        message,
        provider,
        masked=f"failed with HTTP {status}" + (f" ({type_})" if type_ else ""),
        upstream_type=type_,
        upstream_code=_code(status, message),
        retry_after=_retry_after(headers),
    )


def in_band_error(error: Any, provider: str) -> UpstreamStatusError:
    """The ``error`` object of a 200 answer or a stream ``error`` event, mapped by its type."""
    type_, message = _fields(error)
    status = ERROR_STATUS.get(type_ or "", 500)
    return status_error(
        status,
        message,
        provider,
        masked="failed mid-answer" + (f" ({type_})" if type_ else ""),
        upstream_type=type_,
        upstream_code=_code(status, message),
    )


def _error_fields(body: bytes) -> tuple[str | None, str]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, body_text(body)
    if not isinstance(data, dict):
        return None, ""
    return _fields(data.get("error", data))


def _fields(error: Any) -> tuple[str | None, str]:
    """(type when it looks like one, message) of an Anthropic error object."""
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, ""
    type_ = error.get("type")
    message = error.get("message")
    if not isinstance(message, str):
        message = "" if message is None else orjson.dumps(message).decode()
    return (type_ if isinstance(type_, str) and _TYPE_NAME.fullmatch(type_) else None), message


def _code(status: int, message: str) -> str | None:
    lowered = message.lower()
    if status == 400 and any(marker in lowered for marker in _TOO_LONG):
        return "context_length_exceeded"
    return None


def _retry_after(headers: Mapping[str, str]) -> str | None:
    value = headers.get("retry-after")
    if value:
        return value
    millis = headers.get("retry-after-ms")
    try:
        return str(max(1, math.ceil(float(millis) / 1000))) if millis else None
    except (ValueError, OverflowError):
        return None
