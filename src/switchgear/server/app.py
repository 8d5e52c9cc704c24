"""The ASGI application: a path table dispatching straight to raw handlers, and the lifespan.

Hot routes are plain ASGI callables chosen by one dict lookup: no framework, no middleware on
the request path. Every route answers with and without the ``/v1`` prefix.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable, Sequence

from switchgear.config.model import Settings
from switchgear.core.errors import GatewayError, MethodNotAllowed, NotFound
from switchgear.engine.build import Runtime, build_runtime
from switchgear.observability.redaction import install_log_redaction
from switchgear.server import handlers
from switchgear.server.admin import build_admin
from switchgear.server.asgi import Receive, Scope, Send, respond_error
from switchgear.server.ops import Operations
from switchgear.stages.base import Stage

log = logging.getLogger("switchgear.server")
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class App:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ready = False
        self._unredact_logs: Callable[[], None] | None = None
        rt = runtime

        def api(name: str) -> Handler:
            async def handle(scope: Scope, receive: Receive, send: Send) -> None:
                await handlers.api(rt, name, scope, receive, send)

            return handle

        async def count_tokens(scope: Scope, receive: Receive, send: Send) -> None:
            await handlers.count_tokens(rt, scope, receive, send)

        paths = {
            "chat": "/chat/completions",
            "completions": "/completions",
            "embeddings": "/embeddings",
            "messages": "/messages",
            "responses": "/responses",
        }
        self._post: dict[str, Handler] = {paths[name]: api(name) for name in runtime.engine.codecs}
        if "messages" in runtime.engine.codecs:
            self._post["/messages/count_tokens"] = count_tokens
        self._get: dict[str, Handler] = {
            "/models": self._models,
            "/health/live": self._live,
            "/health/ready": self._ready,
            "/health": self._live,
        }
        self.operations = Operations({"/admin": build_admin(runtime)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith("/v1/"):
                path = path[3:]
            if len(path) > 1 and path.endswith("/"):
                path = path[:-1]
            method = scope["method"]
            table = self._post if method == "POST" else self._get if method in ("GET", "HEAD") else None
            handler = table.get(path) if table is not None else None
            if handler is not None:
                await handler(scope, receive, send)
            elif method in ("GET", "HEAD") and path.startswith("/models/"):
                await handlers.models(self.runtime, scope, receive, send, path[len("/models/") :])
            else:
                await self._elsewhere(scope, receive, send, path)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _models(self, scope: Scope, receive: Receive, send: Send) -> None:
        await handlers.models(self.runtime, scope, receive, send, None)

    async def _live(self, scope: Scope, receive: Receive, send: Send) -> None:
        await handlers.health(None, send)

    async def _ready(self, scope: Scope, receive: Receive, send: Send) -> None:
        await handlers.health(self.ready, send)

    async def _elsewhere(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Not a hot route: an operations route (by its full path, never ``/v1``-stripped), or 404/405."""
        mounted = self.operations.find(scope["path"])
        if mounted is not None:
            await mounted(scope, receive, send)
        else:
            await self._not_found(scope, send, path)

    async def _not_found(self, scope: Scope, send: Send, path: str) -> None:
        error: GatewayError
        if path in self._post or path in self._get or path.startswith("/models/"):
            allowed = "POST" if path in self._post else "GET"
            error = MethodNotAllowed(f"{scope['method']} is not allowed on {scope['path']}; use {allowed}")
            error.headers = (("allow", allowed),)
        else:
            error = NotFound(f"no route {scope['method']} {scope['path']}", code="route_not_found")
        await respond_error(send, error, [])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._unredact_logs = install_log_redaction(self.runtime.redactor)
                try:
                    await self.runtime.client.start()
                    await self.runtime.engine.chain.start()
                except Exception as exc:  # a failed start must stop the server, with the reason
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                # Everything built so far lives as long as the process: keep it out of the cyclic
                # collector's full passes, which would otherwise walk it and stall requests.
                gc.collect()
                gc.freeze()
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                await self.runtime.engine.chain.close()
                await self.runtime.client.close()
                if self._unredact_logs is not None:
                    self._unredact_logs()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_app(settings: Settings, extra_stages: Sequence[Stage] = ()) -> App:
    return App(build_runtime(settings, extra_stages))
