"""Raw ASGI plumbing for the hot path: typed aliases, body reading, responses, disconnect watch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from switchgear.core.errors import GatewayError, RequestTooLarge
from switchgear.server.errors import error_headers, openai_error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON = b"application/json"
SSE = b"text/event-stream"


class ClientGone(Exception):
    """The client disconnected before its request body was read."""


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


_LIMIT = "the gateway's limit (server.max_body_size)"


async def read_body(receive: Receive, limit: int, content_length: bytes | None) -> bytes:
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            declared = -1
        if declared > limit:
            raise RequestTooLarge(f"request body of {declared} bytes exceeds {_LIMIT} of {limit} bytes")
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        if len(body) > limit:
            raise RequestTooLarge(f"request body exceeds {_LIMIT} of {limit} bytes")
        return body
    parts = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"request body exceeds {_LIMIT} of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def respond(send: Send, status: int, body: bytes, headers: Headers, content_type: bytes = JSON) -> None:
    headers.append((b"content-type", content_type))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, status: int, value: Any, headers: Headers) -> None:
    await respond(send, status, orjson.dumps(value), headers)


async def respond_error(send: Send, exc: GatewayError, headers: Headers) -> None:
    headers.extend(error_headers(exc))
    await respond(send, exc.status, openai_error_body(exc), headers)


class DisconnectWatch:
    """Cancels the request's task when its client disconnects.

    Watching costs a task, so it starts only once the request has run for ``delay`` seconds:
    quick requests never pay for it, and a disconnect is still noticed well within a second.
    """

    __slots__ = ("_loop", "_receive", "_task", "_timer", "_watcher", "disconnected", "finished")

    def __init__(self, receive: Receive, delay: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._receive = receive
        self._task = asyncio.current_task()
        self._watcher: asyncio.Task[None] | None = None
        self.disconnected = False
        self.finished = False
        self._timer = self._loop.call_later(delay, self._start)

    def _start(self) -> None:
        if not self.finished:
            self._watcher = self._loop.create_task(self._watch())

    async def _watch(self) -> None:
        message = await self._receive()
        if message["type"] == "http.disconnect" and not self.finished and self._task is not None:
            self.disconnected = True
            self._task.cancel()

    def close(self) -> None:
        self.finished = True
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()
