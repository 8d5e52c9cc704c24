"""The Responses API's event framing and its error events.

Both sides that write a ``/v1/responses`` stream need them: the client-facing Responses encoder
(``apis.responses``) and the OpenAI family's Responses passthrough relay, which ends a cut
upstream stream with the same ``error`` / ``response.failed`` events.
"""

from __future__ import annotations

from typing import Any

from switchgear.core.errors import GatewayError
from switchgear.core.jsoncodec import dumps


def sse(type_: str, sequence: int, fields: dict[str, Any]) -> bytes:
    payload = dumps({"type": type_, "sequence_number": sequence, **fields})
    return b"event: " + type_.encode() + b"\ndata: " + payload + b"\n\n"


def error_events(exc: GatewayError, sequence: int, response: dict[str, Any] | None) -> bytes:
    """An ``error`` event, then ``response.failed`` (when the response is known) with it as ``error``.

    ``response.error.code`` is an enum in the SDK types: ``rate_limit_exceeded`` or ``server_error``.
    """
    nested = {"type": exc.type, "code": exc.code, "message": exc.message, "param": exc.param}
    flat = {"code": exc.code or exc.type, "message": exc.message, "param": exc.param, "error": nested}
    out = sse("error", sequence, flat)
    if response is not None:
        code = "rate_limit_exceeded" if exc.status == 429 else "server_error"
        failed = {**response, "status": "failed", "error": {"code": code, "message": exc.message}}
        out += sse("response.failed", sequence + 1, {"response": {**failed, "incomplete_details": None}})
    return out
