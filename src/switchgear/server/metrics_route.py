"""``GET /metrics`` (Prometheus text format) and ``GET /metrics/summary`` (the same series
summarized as JSON, for ``switchgear status`` and the admin UI).

With ``observability.metrics.require_key`` both take the master key (``Authorization: Bearer``
or ``x-api-key``); a virtual key is refused. Without it they answer anyone who can reach the
gateway (they hold counts and names of models and providers, never a key or a prompt).
"""

from __future__ import annotations

import asyncio

from switchgear.core.errors import GatewayError, MethodNotAllowed, NotFound, PermissionDenied
from switchgear.engine.build import Runtime
from switchgear.observability.metrics import Metrics
from switchgear.observability.summary import summarize
from switchgear.server.asgi import Receive, Scope, Send, header, respond, respond_error, respond_json


class MetricsRoute:
    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.require_key = metrics.settings.require_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"].rstrip("/")
        try:
            if scope["method"] not in ("GET", "HEAD"):
                error = MethodNotAllowed(f"{scope['method']} is not allowed on {scope['path']}; use GET")
                error.headers = (("allow", "GET"),)
                raise error
            if self.require_key:
                self._check_key(scope)
            self.metrics.refresh()  # this worker's gauges, read on the loop that owns them
            if path == "/metrics":
                # collecting reads every worker's files in multi-process mode: off the event loop
                body, content_type = await asyncio.to_thread(self.metrics.exposition)
                await respond(send, 200, body, [], content_type.encode())
            elif path == "/metrics/summary":
                summary = await asyncio.to_thread(lambda: summarize(self.metrics.collect_registry()))
                await respond_json(send, 200, summary, [])
            else:
                raise NotFound(f"no route GET {scope['path']}", code="route_not_found")
        except GatewayError as exc:
            await respond_error(send, exc, [])

    def _check_key(self, scope: Scope) -> None:
        principal = self.runtime.auth.authenticate(
            header(scope, b"authorization"), header(scope, b"x-api-key")
        )
        if not principal.is_admin:
            raise PermissionDenied("the metrics need the master key")
