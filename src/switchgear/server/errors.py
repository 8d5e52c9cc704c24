"""The one place that turns errors into responses: OpenAI-shaped (or Anthropic-shaped) bodies."""

from __future__ import annotations

from typing import Any

import orjson

from switchgear.core.errors import GatewayError, UpstreamError


def openai_error_body(exc: GatewayError) -> bytes:
    error: dict[str, Any] = {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
    if isinstance(exc, UpstreamError) or exc.metadata:
        metadata = dict(exc.metadata)
        metadata.setdefault("error_type", exc.code or exc.type)
        if isinstance(exc, UpstreamError) and exc.provider:
            metadata["provider"] = exc.provider
        error["metadata"] = metadata
    return orjson.dumps({"error": error})


def error_headers(exc: GatewayError) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in exc.headers]
