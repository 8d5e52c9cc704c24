"""Bedrock errors as gateway errors, by exception name (HTTP answers and in-stream exceptions).

The name comes from the ``x-amzn-ErrorType`` header (cut at the first ``:``), else the body's
``__type`` (after any ``#``) or ``code``; in a stream from ``:exception-type`` (lowerCamel, e.g.
``throttlingException``) or ``:error-code``. The name decides the class, not the HTTP status:
``ServiceQuotaExceededException`` arrives as HTTP 400 and means 429; ``ModelErrorException`` is
424 and means an upstream failure. The upstream's own status is kept on the error. Messages of
5xx-class errors are masked (the client learns who failed and how); 4xx messages are kept and
cut, with the provider named (the engine redacts every error that leaves it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from switchgear.core.errors import UpstreamStatusError
from switchgear.providers.errors import body_text, status_error

# exception name -> the HTTP status whose gateway class it belongs to
_STATUS_OF: dict[str, int] = {
    "ValidationException": 400,
    "ConflictException": 400,
    "UnrecognizedClientException": 401,
    "InvalidSignatureException": 401,
    "IncompleteSignatureException": 401,
    "MissingAuthenticationTokenException": 401,
    "ExpiredTokenException": 401,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 504,  # Bedrock answers 408: a timeout, 5xx-class for the client
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ModelErrorException": 500,
    "ModelStreamErrorException": 500,
    "ServiceUnavailableException": 503,
}
_TOO_LONG = ("too long", "too many input tokens", "context window", "context length", "maximum context")


def map_error(status: int, headers: Mapping[str, str], body: bytes, provider: str) -> UpstreamStatusError:
    """An HTTP error answer from Bedrock as a gateway error."""
    lowered = {k.lower(): v for k, v in headers.items()}
    parsed = _json(body)
    data = parsed or {}
    name = lowered.get("x-amzn-errortype", "").split(":", 1)[0].strip()
    if not name:
        raw = data.get("__type") or data.get("code") or data.get("Code")
        name = raw.rsplit("#", 1)[-1] if isinstance(raw, str) else ""
    message = data.get("message") or data.get("Message")
    if not isinstance(message, str):
        message = "" if parsed is not None else body_text(body)
    return make_error(name or None, message, provider, status=status, retry_after=lowered.get("retry-after"))


def error_from_stream(name: str, payload: bytes, provider: str) -> UpstreamStatusError:
    """An in-stream ``exception`` (lowerCamel name) or ``error`` message as a gateway error."""
    data = _json(payload) or {}
    message = data.get("message") or data.get("Message")
    name = name[:1].upper() + name[1:]
    return make_error(name or None, message if isinstance(message, str) else "", provider, status=None)


def make_error(
    name: str | None,
    message: str,
    provider: str,
    *,
    status: int | None,
    retry_after: str | None = None,
) -> UpstreamStatusError:
    """The gateway error for Bedrock exception ``name`` (HTTP ``status`` when it came in one)."""
    mapped = _STATUS_OF.get(name or "", status if status is not None else 500)
    code = None
    if name == "ValidationException" and any(marker in message.lower() for marker in _TOO_LONG):
        code = "context_length_exceeded"
    what = f"HTTP {status}" if status is not None else "an in-stream error"
    error = status_error(
        mapped,
        message,
        provider,
        masked=f"failed with {what}" + (f" ({name})" if name else ""),
        upstream_type=name,
        upstream_code=code,
        retry_after=retry_after,
    )
    if status is not None and status != mapped:
        error.upstream_status = status  # what Bedrock answered, not the class it was mapped by
        error.metadata["provider_code"] = status
    return error


def _json(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; ``{}`` for other JSON, None when it is not JSON at all."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else {}
