"""The ASGI application: a path table dispatching straight to raw handlers, and the lifespan.

Hot routes are plain ASGI callables chosen by one dict lookup: no framework, no middleware on
the request path. Every route answers with and without the ``/v1`` prefix. CORS, when configured,
wraps the handlers in the tables once at start-up; preflights take the cold path.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable, Sequence

from switchgear.config.model import Settings
from switchgear.core.errors import GatewayError, MethodNotAllowed, NotFound, ShuttingDown
from switchgear.engine.build import Runtime, build_runtime
from switchgear.keys.admin import AdminService
from switchgear.observability.redaction import install_log_redaction
from switchgear.server import handlers
from switchgear.server.admin import build_admin
from switchgear.server.asgi import Receive, Scope, Send, header, respond, respond_error
from switchgear.server.cors import Cors
from switchgear.server.metrics_route import MetricsRoute
from switchgear.server.ops import ASGIApp, Operations, docs_redirect
from switchgear.server.streams import OpenStreams
from switchgear.server.ui_app import build_ui
from switchgear.stages.base import Stage

log = logging.getLogger("switchgear.server")
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class App:
    def __init__(self, runtime: Runtime, admin: AdminService | None = None) -> None:
        self.runtime = runtime
        self.ready = False
        self._unredact_logs: Callable[[], None] | None = None
        self.streams = OpenStreams()  # ended in-band by the drain when its deadline passes
        self.cutting = False  # set by the drain when it cancels the requests still open
        rt, streams = runtime, self.streams

        def api(name: str) -> Handler:
            async def handle(scope: Scope, receive: Receive, send: Send) -> None:
                await handlers.api(rt, name, scope, receive, send, streams=streams)

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
        if admin is None:
            admin = governance_admin(runtime)
        admin_app = build_admin(runtime, admin)
        mounts: dict[str, ASGIApp] = {"/admin": admin_app, "/docs": docs_redirect}
        mounts["/health/deployments"] = admin_app  # the admin API's route, outside /admin
        mounts["/ui"] = build_ui(runtime, admin)
        if runtime.metrics is not None:
            mounts["/metrics"] = MetricsRoute(runtime, runtime.metrics)
        self.operations = Operations(mounts)
        self._model: Handler = self._one_model
        cors = runtime.settings.server.cors
        self._cors = Cors(cors) if cors is not None else None
        if self._cors is not None:
            wrap = self._cors.wrap
            self._post = {path: wrap(handler) for path, handler in self._post.items()}
            self._get = {path: wrap(handler) for path, handler in self._get.items()}
            self._model = wrap(self._model)

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
            try:
                if handler is not None:
                    await handler(scope, receive, send)
                elif method in ("GET", "HEAD") and path.startswith("/models/"):
                    await self._model(scope, receive, send)
                else:
                    await self._elsewhere(scope, receive, send, path)
            except asyncio.CancelledError:
                if not self.cutting:
                    raise
                await self._cut(scope, send, path)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _one_model(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        model_id = path[path.index("/models/") + len("/models/") :].rstrip("/")
        await handlers.models(self.runtime, scope, receive, send, model_id)

    async def _cut(self, scope: Scope, send: Send, path: str) -> None:
        """A request still waiting for its answer when the drain deadline passed: a 503 in the
        client's format if nothing was sent yet (a stream ends in-band, see ``OpenStreams``)."""
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        error = ShuttingDown("the gateway is shutting down and could not answer in time; retry the request")
        codec = self.runtime.engine.codecs.get("messages" if path.startswith("/messages") else "chat")
        body = codec.error_body(error) if codec is not None else b""
        # If the response had already started, uvicorn refuses a new one and closes the connection.
        with contextlib.suppress(RuntimeError):
            await respond(send, error.status, body, [(b"retry-after", b"1")])

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
        if scope["method"] == "OPTIONS" and self._cors is not None and header(scope, b"origin") is not None:
            await self._cors.preflight(scope, send)
            return
        if self._cors is not None:
            send = self._cors.sender(scope, send)
        if path in self._post or path in self._get or path.startswith("/models/"):
            allowed = "POST" if path in self._post else "GET"
            hint = " (CORS preflights need server.cors)" if scope["method"] == "OPTIONS" else ""
            error = MethodNotAllowed(
                f"{scope['method']} is not allowed on {scope['path']}; use {allowed}{hint}"
            )
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
                    await self.runtime.start_credentials()
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
                await self.runtime.close_database()
                await self.runtime.close_credentials()
                await self.runtime.client.close()
                if self._unredact_logs is not None:
                    self._unredact_logs()
                await send({"type": "lifespan.shutdown.complete"})
                return


def governance_admin(runtime: Runtime) -> AdminService | None:
    """The admin API's governance service over the runtime's database and change feed (None when
    governance is off)."""
    if runtime.database is None or runtime.feed is None:
        return None
    master = runtime.settings.server.master_key
    return AdminService(
        runtime.database, runtime.feed, master_key=master.get_secret_value() if master else None
    )


def build_app(
    settings: Settings, extra_stages: Sequence[Stage] = (), admin: AdminService | None = None
) -> App:
    """The gateway; ``admin`` serves the governance routes of the admin API (by default over the
    runtime's database and change feed when governance is on)."""
    return App(build_runtime(settings, extra_stages), admin)
