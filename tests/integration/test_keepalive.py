"""SSE keep-alive comments while a slow model has not begun its stream (off unless configured)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from switchgear.stages import RequestContext, Stage
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "hi"}]


class LateBug(Stage):
    """A stage that fails unexpectedly after keep-alive comments have committed the response."""

    name = "late_bug"

    async def admit(self, ctx: RequestContext) -> None:
        if "late-bug" in ctx.tags:
            await asyncio.sleep(0.4)
            raise RuntimeError("a bug in a stage")


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    config = base_config(sim)
    config["models"].append(
        {
            "name": "slow-kept",
            "deployments": [{"provider": "sim", "model": "sim-small;latency_ms=700"}],
            "stream_keepalive": "150ms",
        }
    )
    config["models"].append(
        {
            "name": "slow-failing",
            "deployments": [{"provider": "sim", "model": "sim-small;latency_ms=500;status=503"}],
            "stream_keepalive": "150ms",
        }
    )
    config["models"].append(
        {
            "name": "slow-failover",
            "deployments": [
                {"provider": "sim", "model": "sim-small;latency_ms=400;status=503", "weight": 1},
                {"provider": "sim2", "model": "sim-large", "weight": 0},
            ],
            "stream_keepalive": "150ms",
        }
    )
    gateway = GatewayThread(config, stages=[LateBug()]).start()
    yield gateway
    gateway.stop()


def lines(gw: GatewayThread, model: str, tags: str = "") -> list[str]:
    body = {"model": model, "messages": MESSAGES, "stream": True}
    headers = {"x-switchgear-tags": tags} if tags else {}
    url = gw.url + "/v1/chat/completions"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        return [line for line in response.iter_lines() if line]


def test_comments_flow_until_the_stream_begins(gw: GatewayThread) -> None:
    got = lines(gw, "slow-kept")
    comments = [line for line in got if line.startswith(":")]
    assert len(comments) >= 3 and got[: len(comments)] == comments  # before any event
    assert got[-1] == "data: [DONE]"
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:  # SDKs skip comments
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(model="slow-kept", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
            if c.choices
        )
    assert text.startswith("Hello!")


def test_a_failure_after_a_comment_is_an_in_band_error(gw: GatewayThread) -> None:
    got = lines(gw, "slow-failing")
    assert got[0].startswith(":")
    assert '"error"' in got[-2] and got[-1] == "data: [DONE]"
    with (
        openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client,
        pytest.raises(openai.APIError),
    ):
        list(client.chat.completions.create(model="slow-failing", messages=MESSAGES, stream=True))  # type: ignore[arg-type]


def test_fail_over_still_happens_while_comments_flow(gw: GatewayThread) -> None:
    got = lines(gw, "slow-failover")
    assert got[0].startswith(":")
    assert any('"sim-large"' in line for line in got) and got[-1] == "data: [DONE]"


def test_off_by_default(gateway: GatewayThread) -> None:
    got = lines(gateway, "sim/sim-small;latency_ms=400")
    assert not any(line.startswith(":") for line in got)


def test_an_unexpected_failure_after_a_comment_ends_the_stream_well_formed(gw: GatewayThread) -> None:
    got = lines(gw, "slow-kept", tags="late-bug")
    assert got[0].startswith(":")
    assert "internal error" in got[-2] and got[-1] == "data: [DONE]"
    assert lines(gw, "slow-kept")[-1] == "data: [DONE]"  # the worker goes on
