"""The simulator's HTTP server: app factory, routes, request recording and ways to run it.

:func:`create_app` builds the aiohttp application — every wire-family route under both ``/`` and
``/v1``, ``GET /health``, and the ``/_sim/requests`` control endpoints — around a middleware that
records each request (see :mod:`.recording`), stamps an ``x-request-id`` on every response,
turns handler rejections and unknown URLs into OpenAI-shaped errors, and notices client
disconnects. :class:`Simulator` runs it in the current event loop (for async tests),
:class:`SimulatorThread` in a background thread with its own loop (for sync tests and fixtures),
and :func:`run` blocks serving it for ``switchgear simulate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import orjson
from aiohttp import web

from switchgear.simulator import (
    anthropic_wire,
    bedrock_invoke,
    bedrock_wire,
    cohere_wire,
    gemini_wire,
    openai_chat,
    openai_responses,
    openai_wire,
)
from switchgear.simulator.delivery import (
    RECORD_KEY,
    STATE_KEY,
    Reject,
    json_response,
    request_key,
    state_of,
)
from switchgear.simulator.recording import RecordedRequest, SimState

__all__ = ["RecordedRequest", "Simulator", "SimulatorThread", "create_app", "run"]

REQUEST_ID_KEY = request_key("switchgear_sim_request_id", str)
MAX_BODY_BYTES = 64 * 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _headers(request: web.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        name = key.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _record(request: web.Request, body: bytes) -> RecordedRequest:
    try:
        parsed: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=request.query_string,
        headers=_headers(request),
        body=body,
        json=parsed,
        received_at=time.monotonic(),
        request_id=str(request[REQUEST_ID_KEY]),
    )


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    message = f"Invalid URL ({request.method} {request.path})" if exc.status == 404 else exc.reason
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    return json_response({"error": error}, status=exc.status)


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[REQUEST_ID_KEY] = "req_" + uuid.uuid4().hex
    if request.path.startswith("/_sim/"):
        return await handler(request)
    state = state_of(request)
    record = _record(request, await request.read())
    state.records.append(record)
    request[RECORD_KEY] = record
    task = asyncio.current_task()
    if task is not None:
        state.tasks.add(task)
    try:
        response = await handler(request)
    except Reject as exc:
        response = exc.response
    except web.HTTPException as exc:
        response = _http_error(request, exc)
    except asyncio.CancelledError:
        if not state.stopping:
            record.mark_cancelled()
        raise
    finally:
        if task is not None:
            state.tasks.discard(task)
    record.status = response.status
    record.mark_completed()
    return response


async def _stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("x-request-id", str(request.get(REQUEST_ID_KEY) or uuid.uuid4().hex))


async def _health(request: web.Request) -> web.StreamResponse:
    return json_response({"status": "ok"})


async def _list_requests(request: web.Request) -> web.StreamResponse:
    return json_response([record.to_json() for record in state_of(request).records])


async def _clear_requests(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    cleared = len(state.records)
    state.clear()
    return json_response({"cleared": cleared})


def create_app(state: SimState | None = None) -> web.Application:
    """The simulator app: routes under ``/``, ``/v1`` and Azure's deployment paths, health, control."""
    app = web.Application(middlewares=[_middleware], client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state if state is not None else SimState()
    app.on_response_prepare.append(_stamp_request_id)
    for prefix in ("", "/v1"):
        app.router.add_post(f"{prefix}/chat/completions", openai_chat.chat_completions)
        app.router.add_post(f"{prefix}/completions", openai_chat.completions)
        app.router.add_post(f"{prefix}/embeddings", openai_wire.embeddings)
        app.router.add_get(f"{prefix}/models", openai_wire.list_models)
        app.router.add_get(f"{prefix}/models/{{model_id}}", openai_wire.retrieve_model)
    # Azure OpenAI's deployment URLs (``?api-version=`` is recorded, not checked).
    azure = "/openai/deployments/{deployment}"
    app.router.add_post(f"{azure}/chat/completions", openai_chat.chat_completions)
    app.router.add_post(f"{azure}/completions", openai_chat.completions)
    app.router.add_post(f"{azure}/embeddings", openai_wire.embeddings)
    anthropic_wire.register(app)
    gemini_wire.register(app)
    bedrock_wire.register(app)
    bedrock_invoke.register(app)
    cohere_wire.register(app)
    openai_responses.register(app)
    app.router.add_get("/health", _health)
    app.router.add_get("/_sim/requests", _list_requests)
    app.router.add_delete("/_sim/requests", _clear_requests)
    return app


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Simulator:
    """A simulated provider server running in the current event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.state = SimState()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` (append ``/v1`` for an OpenAI SDK ``base_url``)."""
        return f"http://{_url_host(self.host)}:{self.port}"

    async def start(self) -> None:
        """Bind and serve; afterwards :attr:`port` and :attr:`base_url` are valid."""
        self.state.stopping = False
        runner = web.AppRunner(
            create_app(self.state), handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Cancel in-flight (e.g. stalled) responses and close the server."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.state.stopping = True
        tasks = [task for task in self.state.tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the recorded requests, oldest first."""
        return list(self.state.records)

    def clear(self) -> None:
        """Forget recorded requests and reset the ``fail_times`` counters."""
        self.state.clear()

    def last(self) -> RecordedRequest:
        """The most recent recorded request (``IndexError`` when there is none)."""
        if not self.state.records:
            raise IndexError("the simulator has not recorded any request yet")
        return self.state.records[-1]

    async def wait_for(
        self, predicate: Callable[[RecordedRequest], bool], within: float = 5.0
    ) -> RecordedRequest:
        """Poll until some recorded request satisfies ``predicate`` (``TimeoutError`` otherwise)."""
        deadline = time.monotonic() + within
        while True:
            for record in list(self.state.records):
                if predicate(record):
                    return record
            if time.monotonic() >= deadline:
                raise TimeoutError("no recorded request satisfied the predicate")
            await asyncio.sleep(0.01)


class SimulatorThread:
    """A :class:`Simulator` served from a background thread with its own event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = Simulator(host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread and block until the server is bound."""
        ready = threading.Event()
        errors: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.simulator.start())
            except BaseException as exc:
                errors.append(exc)
            ready.set()
            if not errors:
                loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=main, name="switchgear-simulator", daemon=True)
        self._thread.start()
        ready.wait(10.0)
        if errors:
            self._thread.join(5.0)
            self._loop = self._thread = None
            raise errors[0]

    def stop(self) -> None:
        """Stop the server and join the thread."""
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.simulator.stop(), loop).result(10.0)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10.0)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return self.simulator.base_url

    @property
    def port(self) -> int:
        """The bound port."""
        return self.simulator.port

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the recorded requests, oldest first."""
        return self.simulator.requests

    def clear(self) -> None:
        """Forget recorded requests and reset the ``fail_times`` counters."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.simulator.clear)
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self._loop).result(5.0)
        else:
            self.simulator.clear()

    def last(self) -> RecordedRequest:
        """The most recent recorded request (``IndexError`` when there is none)."""
        return self.simulator.last()

    def wait_for(self, predicate: Callable[[RecordedRequest], bool], timeout: float = 5.0) -> RecordedRequest:
        """Block until some recorded request satisfies ``predicate`` (``TimeoutError`` otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.simulator.requests:
                if predicate(record):
                    return record
            if time.monotonic() >= deadline:
                raise TimeoutError("no recorded request satisfied the predicate")
            time.sleep(0.01)


async def _serve(host: str, port: int) -> None:
    simulator = Simulator(host, port)
    await simulator.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stopped.set)
    print(simulator.base_url, flush=True)
    print(
        f"switchgear simulator listening; OpenAI base URL: {simulator.base_url}/v1 (Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        await stopped.wait()
    finally:
        await simulator.stop()


def run(host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until SIGINT/SIGTERM (used by ``switchgear simulate``); prints the base URL first."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(host, port))
