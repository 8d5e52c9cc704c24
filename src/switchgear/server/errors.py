"""Error responses for the routes that have no codec of their own (models, health, unknown paths)."""

from __future__ import annotations

import orjson

from switchgear.core.errors import GatewayError, openai_error


def openai_error_body(exc: GatewayError) -> bytes:
    return orjson.dumps(openai_error(exc))


def error_headers(exc: GatewayError) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in exc.headers]
