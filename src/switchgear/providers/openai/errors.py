"""OpenAI-family error answers as gateway errors (``map_error``), from the error shapes
OpenAI-compatible servers use. Upstream 5xx messages are masked; 4xx messages are kept and
bounded (the engine redacts every error that leaves it).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from switchgear.core.errors import UpstreamError
from switchgear.providers.errors import body_text, status_error


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamError:
    """An upstream HTTP error answer as a gateway error."""
    message, type_, code, param = error_fields(body)
    return status_error(
        status,
        message,
        provider,
        masked=f"failed with HTTP {status}",
        upstream_type=type_,
        upstream_code=code,
        param=param,
        retry_after=headers.get("retry-after"),
    )


def error_fields(body: bytes) -> tuple[str, str | None, str | None, str | None]:
    """message, type, code, param from the error shapes OpenAI-compatible servers use."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body_text(body), None, None, None
    if not isinstance(data, dict):
        return "", None, None, None
    error = data.get("error", data)
    if isinstance(error, str):
        return error, None, None, None
    if not isinstance(error, dict):
        return "", None, None, None
    message = error.get("message") or error.get("detail") or ""
    if not isinstance(message, str):
        message = orjson.dumps(message).decode()

    def text(key: str) -> str | None:
        value = error.get(key)
        return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None

    return message, text("type"), text("code"), text("param")
