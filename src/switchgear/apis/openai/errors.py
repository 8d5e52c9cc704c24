"""The OpenAI-shaped error body (``{"error": {...}}``) of the OpenAI client APIs."""

from __future__ import annotations

import orjson

from switchgear.core.errors import GatewayError, openai_error


def error_body(exc: GatewayError) -> bytes:
    """The client-format error body for ``exc`` (its status is ``exc.status``)."""
    return orjson.dumps(openai_error(exc))
