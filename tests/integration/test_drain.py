"""SIGTERM drains the gateway: readiness fails first, open answers finish within the drain
timeout, whatever is left ends well-formed in its client's format, and the exit status tells.

The gateway runs as `switchgear serve --workers 2` in a child process; the upstream streams are
the simulator's, slowed down by the scripts in the model names.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from switchgear.server.drain import EXIT_DRAIN_CUT
from switchgear.simulator.server import SimulatorThread
from tests.conftest import base_config
from tests.fakes.served import ServedGateway

DRAIN = 4.0
SHORT = "chunks=12;gap_ms=200"  # ~2.4 s: ends within the drain
LONG = "chunks=300;gap_ms=200"  # ~60 s: still open at the drain deadline


@dataclass
class Stream:
    path: str
    model: str
    events: list[bytes] = field(default_factory=list)
    ended_at: float = 0.0
    failure: str | None = None


async def _run(client: httpx.AsyncClient, stream: Stream, first: asyncio.Event) -> None:
    text = "one two three four five six seven eight"
    body: dict[str, Any] = {"model": stream.model, "stream": True}
    if stream.path == "/v1/responses":
        body |= {"input": text, "max_output_tokens": 100}
    else:
        body |= {"messages": [{"role": "user", "content": text}], "max_tokens": 100}
    try:
        async with client.stream("POST", stream.path, json=body) as response:
            assert response.status_code == 200, await response.aread()
            buffer = b""
            async for chunk in response.aiter_bytes():
                buffer += chunk
                *complete, buffer = buffer.split(b"\n\n")
                stream.events.extend(complete)
                first.set()
            assert buffer.strip() == b"", buffer
    except (httpx.HTTPError, AssertionError) as exc:
        stream.failure = f"{type(exc).__name__}: {exc}"
    stream.ended_at = time.monotonic()


def _payloads(stream: Stream) -> list[Any]:
    """Every event's data, parsed: a stream cut mid-event or carrying garbage fails here."""
    out = []
    for event in stream.events:
        data = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
        assert len(data) == 1, event
        out.append("[DONE]" if data[0] == b"[DONE]" else orjson.loads(data[0]))
    return out


def _ended_by_the_drain(stream: Stream) -> bool:
    payloads = _payloads(stream)
    if stream.path == "/v1/responses":
        kinds = [p["type"] for p in payloads]
        return kinds[-2:] == ["error", "response.failed"] and payloads[-2]["code"] == "server_shutting_down"
    if stream.path == "/v1/messages":
        last = payloads[-1]
        return bool(last["type"] == "error" and last["error"]["type"] == "overloaded_error")
    errors = [p for p in payloads if isinstance(p, dict) and "error" in p]
    return len(errors) == 1 and errors[0]["error"]["code"] == "server_shutting_down"


def _completed(stream: Stream) -> bool:
    payloads = _payloads(stream)
    if stream.path == "/v1/responses":
        return bool(payloads[-1]["type"] == "response.completed")
    if stream.path == "/v1/messages":
        return bool(payloads[-1] == {"type": "message_stop"})
    return payloads[-1] == "[DONE]" and not any(isinstance(p, dict) and "error" in p for p in payloads)


async def _drive(gateway: ServedGateway, streams: list[Stream]) -> tuple[float, list[int]]:
    """Open every stream, SIGTERM the gateway once all are flowing, probe readiness meanwhile."""
    limits = httpx.Limits(max_connections=len(streams) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=90, limits=limits) as client:
        firsts = [asyncio.Event() for _ in streams]
        tasks = [asyncio.create_task(_run(client, s, f)) for s, f in zip(streams, firsts, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(f.wait() for f in firsts)), 30)
        sigterm_at = time.monotonic()
        gateway.signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        ready = [(await client.get("/health/ready")).status_code for _ in range(6)]
        await asyncio.gather(*tasks)
    return sigterm_at, ready


def test_sigterm_with_200_open_streams_and_two_workers(sim: SimulatorThread) -> None:
    kinds = [
        ("/v1/chat/completions", "sim/sim-small"),  # OpenAI passthrough
        ("/v1/messages", "s-anthropic/claude-sim"),  # Anthropic passthrough
        ("/v1/messages", "sim/sim-small"),  # OpenAI upstream translated to Anthropic
        ("/v1/chat/completions", "s-anthropic/claude-sim"),  # Anthropic translated to OpenAI
        ("/v1/responses", "s-anthropic/claude-sim"),  # Anthropic translated to Responses
    ]
    streams = [
        Stream(path, f"{model};{SHORT if i % 2 else LONG}")
        for i in range(200)
        for path, model in [kinds[i % len(kinds)]]
    ]
    gateway = ServedGateway(base_config(sim, drain_timeout=f"{DRAIN}s"), "--workers", "2").start()
    try:
        sigterm_at, ready = asyncio.run(_drive(gateway, streams))
        status = gateway.wait(60)
    finally:
        gateway.stop()
    log = gateway.stderr()
    assert ready == [503] * 6  # out of rotation while the listener is still open
    assert [s.failure for s in streams if s.failure] == []
    short = [s for s in streams if SHORT in s.model]
    long = [s for s in streams if LONG in s.model]
    assert all(_completed(s) for s in short)
    assert all(s.ended_at - sigterm_at < DRAIN for s in short)
    assert all(_ended_by_the_drain(s) for s in long)
    assert min(s.ended_at for s in long) - sigterm_at >= DRAIN - 0.1  # none cut before the deadline
    assert max(s.ended_at for s in long) - sigterm_at < DRAIN + 3
    assert status == EXIT_DRAIN_CUT
    assert "Traceback" not in log and "drain timeout" in log


def test_a_drain_that_finishes_in_time_exits_0(sim: SimulatorThread) -> None:
    streams = [Stream("/v1/chat/completions", f"sim/sim-small;{SHORT}") for _ in range(20)]
    gateway = ServedGateway(base_config(sim, drain_timeout=f"{DRAIN}s"), "--workers", "2").start()
    try:
        asyncio.run(_drive(gateway, streams))
        status = gateway.wait(60)
    finally:
        gateway.stop()
    assert [s.failure for s in streams if s.failure] == []
    assert all(_completed(s) for s in streams)
    assert status == 0, gateway.stderr()


def test_a_request_still_waiting_at_the_deadline_gets_a_503_in_its_format(sim: SimulatorThread) -> None:
    gateway = ServedGateway(base_config(sim, drain_timeout="1s")).start()
    try:

        async def drive() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
                body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
                calls = [
                    client.post(
                        "/v1/chat/completions", json={**body, "model": "sim/sim-small;latency_ms=8000"}
                    ),
                    client.post(
                        "/v1/messages", json={**body, "model": "s-anthropic/claude-sim;latency_ms=8000"}
                    ),
                ]
                tasks = [asyncio.create_task(call) for call in calls]
                await asyncio.sleep(0.5)
                gateway.signal(signal.SIGTERM)
                return list(await asyncio.gather(*tasks))

        chat, messages = asyncio.run(drive())
        status = gateway.wait(30)
    finally:
        gateway.stop()
    assert chat.status_code == messages.status_code == 503
    assert chat.json()["error"]["code"] == "server_shutting_down"
    assert messages.json()["type"] == "error" and messages.json()["error"]["type"] == "overloaded_error"
    assert status == EXIT_DRAIN_CUT
    assert "Traceback" not in gateway.stderr()


def test_a_stream_kept_alive_and_still_waiting_at_the_deadline_ends_in_band(sim: SimulatorThread) -> None:
    gateway = ServedGateway(base_config(sim, drain_timeout="1s", stream_keepalive="200ms")).start()
    try:

        async def drive() -> list[str]:
            body = {
                "model": "sim/sim-small;latency_ms=8000",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
            }
            async with (
                httpx.AsyncClient(base_url=gateway.url, timeout=30) as client,
                client.stream("POST", "/v1/chat/completions", json=body) as response,
            ):
                assert response.status_code == 200
                lines: list[str] = []
                async for line in response.aiter_lines():
                    if line:
                        lines.append(line)
                    if len(lines) == 2:
                        gateway.signal(signal.SIGTERM)
                return lines

        lines = asyncio.run(drive())
        status = gateway.wait(30)
    finally:
        gateway.stop()
    assert lines[0].startswith(":")  # keep-alive comments committed the status
    assert "server_shutting_down" in lines[-2] and lines[-1] == "data: [DONE]"
    assert status == EXIT_DRAIN_CUT
    assert "Traceback" not in gateway.stderr()
