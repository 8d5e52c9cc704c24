"""Server handlers driven directly through ASGI callables (no socket)."""

from __future__ import annotations

import signal
from typing import Any

from switchgear.config import parse_settings
from switchgear.server import build_app
from switchgear.server.drain import DrainingServer
from switchgear.server.limits import ConnectionGate, ConnectionLimits, protocol_class
from switchgear.server.run import uvicorn_config

CONFIG: dict[str, Any] = {
    "providers": {"sim": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "k"}},
    "models": [{"name": "fast", "deployments": [{"provider": "sim", "model": "sim-small"}]}],
}


async def test_count_tokens_client_gone_while_reading_the_body_is_not_an_error() -> None:
    app = build_app(parse_settings(CONFIG, {}))
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'{"model":', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/messages/count_tokens", "headers": []}
    await app(scope, receive, send)  # must not raise (uvicorn would log a traceback)
    assert sent == []


def test_worker_ignores_the_terminal_sigint_after_the_supervisors_sigterm() -> None:
    app, gate = build_app(parse_settings(CONFIG, {})), ConnectionGate()
    protocol = protocol_class(ConnectionLimits(65536, 10.0, 100), gate)
    server = DrainingServer(uvicorn_config(app, "warning", protocol), app, gate, drain_timeout=5.0)
    server.ignore_sigint = True
    server.handle_exit(signal.SIGTERM, None)
    server.handle_exit(signal.SIGINT, None)  # Ctrl-C reaches the whole process group
    assert server.should_exit
    assert not server.force_exit  # open requests still drain


def test_a_single_process_server_forces_the_exit_on_a_second_ctrl_c() -> None:
    app, gate = build_app(parse_settings(CONFIG, {})), ConnectionGate()
    protocol = protocol_class(ConnectionLimits(65536, 10.0, 100), gate)
    server = DrainingServer(uvicorn_config(app, "warning", protocol), app, gate, drain_timeout=5.0)
    server.handle_exit(signal.SIGINT, None)
    assert server.should_exit and not server.force_exit
    server.handle_exit(signal.SIGINT, None)
    assert server.force_exit
