"""A replay server on a real socket for the Anthropic SDK tests: ``POST /<key>/v1/messages``
answers the bytes registered under ``key`` (SSE bodies are written one event per write)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "anthropic_inbound"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class ReplayServer:
    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str, bytes]] = {}  # key -> (status, content type, body)
        self.requests: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def serve(
        self, key: str, body: bytes, *, content_type: str = "application/json", status: int = 200
    ) -> None:
        self.answers[key] = (status, content_type, body)

    def client(self, key: str) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=f"{self.url}/{key}", api_key="sk-test", max_retries=0, timeout=10)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(await request.json())
        status, content_type, body = self.answers[request.match_info["key"]]
        if content_type != "text/event-stream":
            return web.Response(status=status, body=body, content_type=content_type)
        response = web.StreamResponse(status=status, headers={"content-type": content_type})
        await response.prepare(request)
        for event in body.split(b"\n\n")[:-1]:
            await response.write(event + b"\n\n")
        await response.write_eof()
        return response

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{key}/v1/messages", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=main, name="anthropic-replay", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the replay server did not start"

    def stop(self) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer()
    server.start()
    yield server
    server.stop()
