"""The error body of the Responses API: OpenAI-shaped, with ``param`` kept."""

from __future__ import annotations

import orjson

from switchgear.core.errors import GatewayError


def error_body(exc: GatewayError) -> bytes:
    """The OpenAI-shaped client error body for ``exc`` (its status is ``exc.status``)."""
    error = {"message": exc.message, "type": exc.type, "param": exc.param, "code": exc.code}
    return orjson.dumps({"error": error})
