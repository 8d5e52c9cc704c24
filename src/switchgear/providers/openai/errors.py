"""OpenAI-family error answers as gateway errors (``map_error``), from the error shapes
OpenAI-compatible servers use. Upstream 5xx messages are masked; 4xx messages are kept,
redacted and bounded.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from switchgear.core.errors import UpstreamError, UpstreamStatusError
from switchgear.core.redact import redact

MAX_MESSAGE = 1000


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamError:
    """An upstream HTTP error answer as a gateway error."""
    message, type_, code, param = error_fields(body)
    if status >= 500 or not message:
        # Provider-internal details stay in the logs; the client learns who failed and how.
        text = f"provider {provider!r} failed with HTTP {status}"
    else:
        text = f"provider {provider!r}: {redact(message)[:MAX_MESSAGE]}"
    return UpstreamStatusError(
        status,
        text,
        provider=provider,
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
        return body[:MAX_MESSAGE].decode("utf-8", "replace").strip(), None, None, None
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
