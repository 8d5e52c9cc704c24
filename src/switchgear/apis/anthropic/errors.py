"""The Anthropic-shaped error body (``{"type":"error","error":{...}}``) of the Messages API."""

from __future__ import annotations

from switchgear.core.errors import GatewayError
from switchgear.core.jsoncodec import dumps


def error_body(exc: GatewayError) -> bytes:
    """The client-format error body for ``exc`` (its status is ``exc.status``)."""
    return dumps(
        {
            "type": "error",
            "error": {"type": exc.anthropic_type, "message": exc.message},
            "request_id": exc.request_id,
        }
    )
