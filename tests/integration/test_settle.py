"""Settle: exactly one record per request however it ended, off the request path, in bounded queues."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator, Sequence

import anthropic
import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from switchgear.stages import Principal, RequestContext, RequestRecord, Stage
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "hi"}]


class ActAsKey(Stage):
    """Stands in for the key stage: a request tagged ``as-key`` belongs to a virtual key."""

    name = "act_as_key"

    async def admit(self, ctx: RequestContext) -> None:
        if "as-key" in ctx.tags:
            ctx.principal = Principal(key_id="key-1", user_id="user-1", team_id="team-1", org_id="org-1")


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(base_config(sim), stages=[ActAsKey()]).start()
    yield gateway
    gateway.stop()


def records_of(gw: GatewayThread, rid: str, wait: float = 3.0) -> list[RequestRecord]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found = [r for r in gw.settled if r.request_id == rid]
        if found:
            time.sleep(0.1)  # a second record would have arrived by now
            return [r for r in gw.settled if r.request_id == rid]
        time.sleep(0.01)
    return []


def one(gw: GatewayThread, rid: str) -> RequestRecord:
    found = records_of(gw, rid)
    assert len(found) == 1, f"{len(found)} records for {rid}"
    return found[0]


def test_success_carries_principal_tags_usage_and_cost(gw: GatewayThread) -> None:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
        answer = client.chat.completions.create(
            model="priced",
            messages=MESSAGES,  # type: ignore[arg-type]
            user="end-user-7",
            metadata={"tags": "ignored-not-a-list"},
            extra_body={"tags": ["batch", "from-body", 7]},
            extra_headers={"x-request-id": "rid-success", "x-switchgear-tags": "as-key, team-a ,batch"},
        )
    record = one(gw, "rid-success")
    assert record.status == 200 and record.error_type is None and not record.in_band
    assert record.principal == Principal("key-1", "user-1", "team-1", "org-1")
    assert record.end_user == "end-user-7"
    assert record.tags == ("as-key", "team-a", "batch", "from-body")
    assert record.model == "priced" and record.provider == "sim" and record.served_model == "sim-small"
    assert answer.usage is not None and record.usage is not None
    assert record.usage.prompt_tokens == answer.usage.prompt_tokens > 0
    # 0.5 and 1.5 USD per million tokens: 500 and 1,500 nano-USD per token
    assert record.cost_nanousd == answer.usage.prompt_tokens * 500 + answer.usage.completion_tokens * 1500
    assert record.ttfb_ms is not None and 0 < record.ttfb_ms <= record.duration_ms
    assert len(record.attempts) == 1 and record.attempts[0].status == 200


def test_unpriced_models_have_no_cost_rather_than_zero(gw: GatewayThread) -> None:
    httpx.post(
        gw.url + "/v1/chat/completions",
        json={"model": "sim/unknown-model-x", "messages": MESSAGES},
        headers={"x-request-id": "rid-unpriced"},
    )
    assert one(gw, "rid-unpriced").cost_nanousd is None


@pytest.mark.parametrize(
    ("rid", "body", "status", "error_type"),
    [
        ("rid-upstream", {"model": "sim/sim-small;status=500", "messages": MESSAGES}, 502, "upstream_error"),
        ("rid-client", b"{not json", 400, "invalid_json"),
        ("rid-unknown-model", {"model": "nope", "messages": MESSAGES}, 404, "model_not_found"),
    ],
)
def test_failures_are_settled_once_with_their_status(
    gw: GatewayThread, rid: str, body: object, status: int, error_type: str
) -> None:
    content = body if isinstance(body, bytes) else None
    response = httpx.post(
        gw.url + "/v1/chat/completions",
        content=content,
        json=None if content else body,
        headers={"x-request-id": rid, "content-type": "application/json"},
    )
    assert response.status_code == status
    record = one(gw, rid)
    assert (record.status, record.error_type, record.in_band) == (status, error_type, False)


def test_cancellation_is_settled_once(gw: GatewayThread) -> None:
    body = {"model": "sim/sim-small;latency_ms=1500", "messages": MESSAGES}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            gw.url + "/v1/chat/completions", json=body, headers={"x-request-id": "rid-gone"}, timeout=0.3
        )
    record = one(gw, "rid-gone")
    assert record.cancelled and record.status == 499


def test_a_stream_cut_midway_is_an_in_band_failure(gw: GatewayThread) -> None:
    with (
        openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client,
        pytest.raises(openai.APIError),
    ):
        for _ in client.chat.completions.create(
            model="sim/sim-small;disconnect_after=3;gap_ms=20",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            extra_headers={"x-request-id": "rid-cut"},
        ):
            pass
    record = one(gw, "rid-cut")
    assert record.in_band and record.status == 502 and record.error_type == "upstream_unreachable"


def test_an_in_band_error_after_passthrough_is_not_a_success(gw: GatewayThread) -> None:
    with (
        anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0) as claude,
        pytest.raises(anthropic.APIStatusError),
        claude.messages.stream(
            model="s-anthropic/claude-sim;status=529;error_after=3",
            max_tokens=20,
            messages=MESSAGES,  # type: ignore[arg-type]
            extra_headers={"x-request-id": "rid-inband"},
        ) as stream,
    ):
        for _ in stream:
            pass
    record = one(gw, "rid-inband")
    assert record.in_band and record.status == 503 and record.error_type == "overloaded"
    assert record.provider == "s-anthropic" and record.stream


class Slow(Stage):
    name = "slow"

    def __init__(self) -> None:
        self.seen = 0

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        for _ in records:
            await asyncio.sleep(1)
            self.seen += 1


class Failing(Stage):
    name = "failing"

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        raise RuntimeError("the spend database is on fire")


def test_a_slow_or_failing_consumer_slows_and_fails_no_request(
    sim: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    slow, failing = Slow(), Failing()
    gateway = GatewayThread(base_config(sim), stages=[slow, failing]).start()
    try:
        with caplog.at_level(logging.ERROR, logger="switchgear.settle"):
            for i in range(10):
                started = time.monotonic()
                response = httpx.post(
                    gateway.url + "/v1/chat/completions", json={"model": "fast", "messages": MESSAGES}
                )
                assert response.status_code == 200
                assert time.monotonic() - started < 0.5, f"request {i} waited for the slow consumer"
            gateway.wait_settled(10)  # the other consumers got every record meanwhile
            stats = {s.consumer: s for s in gateway.app.runtime.engine.chain.stats()}
            assert slow.seen < 5 and stats["slow"].depth >= 5
            assert stats["failing"].failed == 10 and stats["failing"].delivered == 0
        assert any("failing" in r.getMessage() and r.exc_info for r in caplog.records)
    finally:
        gateway.stop()


class Gate(Stage):
    """Blocks on its first batch until released; then keeps what it gets."""

    name = "gate"

    def __init__(self) -> None:
        self.open = threading.Event()
        self.got: list[str] = []

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        while not self.open.is_set():
            await asyncio.sleep(0.01)
        self.got.extend(r.request_id for r in records)


@pytest.mark.parametrize(
    ("policy", "kept"),
    [("drop_new", ["r1", "r2", "r3", "r4"]), ("drop_old", ["r1", "r6", "r7", "r8"])],
)
def test_a_full_queue_applies_its_overflow_policy(sim: SimulatorThread, policy: str, kept: list[str]) -> None:
    gate = Gate()
    config = base_config(sim, settle={"queue_size": 3, "overflow": policy}, access_log=False)
    gateway = GatewayThread(config, stages=[gate]).start()
    try:
        for i in range(1, 9):
            httpx.post(
                gateway.url + "/v1/chat/completions",
                json={"model": "fast", "messages": MESSAGES},
                headers={"x-request-id": f"r{i}"},
            )
            time.sleep(0.02)  # the first record is taken before the rest arrive
        stats = {s.consumer: s for s in gateway.app.runtime.engine.chain.stats()}
        assert stats["gate"].dropped == 4 and stats["gate"].depth == 3
        gate.open.set()
        deadline = time.monotonic() + 3
        while len(gate.got) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gate.got == kept
    finally:
        gate.open.set()
        gateway.stop()
