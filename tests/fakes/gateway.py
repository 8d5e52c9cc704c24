"""An in-process gateway on a real socket: uvicorn in a background thread, built from settings.

Tests talk to it with the official SDKs over HTTP like any client would, and may also look at its
runtime (for example, attach a settle hook to see the usage the gateway recorded).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn

from switchgear.config import Settings, parse_settings
from switchgear.providers import PROVIDER_SETTINGS
from switchgear.server import App, build_app
from switchgear.server.asgi import Receive, Scope, Send
from switchgear.server.run import bind
from switchgear.stages import RequestRecord, Stage


class Recorder(Stage):
    """A settle consumer that keeps every record (tests read them)."""

    name = "recorder"

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        self.records.extend(records)


class GatewayThread:
    def __init__(
        self,
        config: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
        stages: Sequence[Stage] = (),
        *,
        port: int = 0,
    ) -> None:
        self.settings: Settings = parse_settings(_settle_at_once(config), environ or {}, PROVIDER_SETTINGS)
        self.recorder = Recorder()
        self.app: App = build_app(self.settings, [*stages, self.recorder])
        self.settled = self.recorder.records
        self.received = 0  # HTTP requests that reached the gateway
        self._sock: socket.socket = bind("127.0.0.1", port)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config_ = uvicorn.Config(
            self._counting,
            interface="asgi3",
            loop="asyncio",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            log_config=None,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config_)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    async def _counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.received += 1
        await self.app(scope, receive, send)

    def start(self) -> GatewayThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def wait_settled(self, count: int = 1, timeout: float = 5.0) -> list[RequestRecord]:
        deadline = time.monotonic() + timeout
        while len(self.settled) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} settled requests, got {len(self.settled)}")
            time.sleep(0.01)
        return self.settled


def _settle_at_once(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with ``server.settle.linger: 0`` unless it sets one: tests read a request's record
    right after the previous test's, so a record must not wait for company (the default lingers
    5 ms to batch; ``tests/unit/engine/test_settle_linger.py`` checks that)."""
    server = dict(config.get("server") or {})
    settle = dict(server.get("settle") or {})
    settle.setdefault("linger", "0s")
    server["settle"] = settle
    return {**config, "server": server}


def closed_port() -> int:
    """A local port with nothing listening on it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
