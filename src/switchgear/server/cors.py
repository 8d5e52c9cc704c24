"""Cross-origin access for browser clients (``server.cors``); off unless configured.

A browser asks before a cross-origin POST with an ``OPTIONS`` preflight carrying ``Origin``; it is
answered here without authentication (a preflight carries no credentials). The routes' responses
then carry ``access-control-allow-origin`` when the request's origin is allowed. With CORS off
nothing of this is on any request's path: the app wraps its handlers only when it is configured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from switchgear.config.model import CorsSettings
from switchgear.core.errors import PermissionDenied
from switchgear.server.asgi import Message, Receive, Scope, Send, header, respond_error

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

METHODS = b"GET, POST, HEAD, OPTIONS"
# Response headers a browser script may read besides the CORS-safelisted ones.
EXPOSED = (
    b"x-request-id, request-id, retry-after, x-switchgear-provider, x-switchgear-model, "
    b"x-switchgear-attempts, x-switchgear-cost, x-switchgear-guardrails-flagged, x-switchgear-tier, "
    b"x-switchgear-tier-reason"
)


class Cors:
    def __init__(self, settings: CorsSettings) -> None:
        self._any_origin = "*" in settings.allow_origins
        self._origins = frozenset(origin.encode() for origin in settings.allow_origins)
        self._any_header = "*" in settings.allow_headers
        self._headers = ", ".join(h.lower() for h in settings.allow_headers if h != "*").encode()
        self._max_age = str(int(settings.max_age)).encode()

    def _allow_origin(self, origin: bytes) -> bytes | None:
        """The ``access-control-allow-origin`` value for ``origin``, or None if not allowed."""
        if self._any_origin:
            return b"*"
        return origin if origin.lower() in self._origins else None

    def wrap(self, handler: Handler) -> Handler:
        """``handler`` whose responses carry the CORS headers when the origin is allowed."""

        async def with_cors(scope: Scope, receive: Receive, send: Send) -> None:
            await handler(scope, receive, self.sender(scope, send))

        return with_cors

    def sender(self, scope: Scope, send: Send) -> Send:
        origin = header(scope, b"origin")
        allowed = self._allow_origin(origin) if origin is not None else None
        if allowed is None:
            return send
        added = [(b"access-control-allow-origin", allowed), (b"access-control-expose-headers", EXPOSED)]
        if not self._any_origin:
            added.append((b"vary", b"origin"))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], *added]
            await send(message)

        return send_with_cors

    async def preflight(self, scope: Scope, send: Send) -> None:
        """Answer an ``OPTIONS`` request that carries ``Origin``."""
        origin = header(scope, b"origin") or b""
        allowed = self._allow_origin(origin)
        if allowed is None:
            error = PermissionDenied(
                f"origin {origin.decode('latin-1')!r} is not in server.cors.allow_origins",
                code="cors_origin_not_allowed",
            )
            await respond_error(send, error, [])
            return
        requested = header(scope, b"access-control-request-headers")
        allow_headers = requested if self._any_header and requested else self._headers
        headers = [
            (b"access-control-allow-origin", allowed),
            (b"access-control-allow-methods", METHODS),
            (b"access-control-max-age", self._max_age),
        ]
        if allow_headers:
            headers.append((b"access-control-allow-headers", allow_headers))
        if not self._any_origin or self._any_header:
            headers.append((b"vary", b"origin, access-control-request-headers"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
