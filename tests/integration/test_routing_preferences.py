"""OpenRouter's per-request provider preferences through the openai SDK's ``extra_body``:
``provider.order / only / ignore / allow_fallbacks / sort / max_price`` and ``:floor`` / ``:nitro``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY, base_config
from tests.fakes.gateway import GatewayThread

MESSAGES: Any = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    config = base_config(sim)
    config["providers"]["sim3"] = {
        "type": "openai",
        "base_url": sim.base_url + "/v1",
        "api_key": UPSTREAM_KEY,
    }
    config["models"] += [
        {
            "name": "multi",
            "deployments": [
                {"provider": "sim", "model": "m-a", "pricing": {"input": "1", "output": "2"}},
                {"provider": "sim2", "model": "m-b", "pricing": {"input": "0.1", "output": "0.2"}},
                {"provider": "sim3", "model": "m-c"},
            ],
        },
        {
            "name": "multi-down",
            "routing": "ordered",
            "deployments": [{"provider": "sim", "model": "md-a"}, {"provider": "down", "model": "md-b"}],
        },
        {
            "name": "speedy",
            "deployments": [
                {"provider": "sim", "model": "sp-a;latency_ms=150"},
                {"provider": "sim2", "model": "sp-b"},
            ],
        },
        {"name": "chat-sim", "deployments": [{"provider": "s-anthropic", "model": "claude-sim"}]},
    ]
    gateway = GatewayThread(config).start()
    yield gateway
    gateway.stop()


@pytest.fixture()
def client(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=10) as made:
        yield made


def served(client: openai.OpenAI, model: str = "multi", times: int = 20, **provider: Any) -> Counter[str]:
    extra = {"provider": provider} if provider else {}
    counts: Counter[str] = Counter()
    for _ in range(times):
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=MESSAGES, extra_body=extra
        )
        counts[raw.headers["x-switchgear-provider"]] += 1
    return counts


def test_without_preferences_the_weights_spread_the_load(client: openai.OpenAI) -> None:
    assert len(served(client, times=40)) == 3


def test_order_puts_providers_first(client: openai.OpenAI, sim: SimulatorThread) -> None:
    assert served(client, order=["sim3", "sim"]) == {"sim3": 20}
    assert "provider" not in sim.last().json  # the gateway's control is not forwarded


def test_only_and_ignore(client: openai.OpenAI) -> None:
    assert served(client, only=["sim2"]) == {"sim2": 20}
    assert served(client, ignore=["sim", "sim2"]) == {"sim3": 20}
    assert set(served(client, ignore=["sim3"])) <= {"sim", "sim2"}


def test_max_price_keeps_priced_deployments_under_the_cap(client: openai.OpenAI) -> None:
    assert served(client, max_price={"prompt": 0.5, "completion": 1}) == {"sim2": 20}
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="multi", messages=MESSAGES, extra_body={"provider": {"max_price": {"prompt": "0.01"}}}
        )
    assert caught.value.code == "no_provider_matches"
    assert "'multi'" in caught.value.message


def test_floor_suffix_and_sort_by_price_pick_the_cheapest(client: openai.OpenAI) -> None:
    assert served(client, model="multi:floor") == {"sim2": 20}
    assert served(client, sort="price") == {"sim2": 20}
    raw = client.chat.completions.with_raw_response.create(model="multi:floor", messages=MESSAGES)
    assert raw.headers["x-switchgear-requested-model"] == "multi"


def test_nitro_suffix_sorts_by_measured_throughput(client: openai.OpenAI) -> None:
    assert len(served(client, model="speedy", times=20)) == 2  # both measured
    assert served(client, model="speedy:nitro", times=10) == {"sim2": 10}  # the most tokens per second


def test_allow_fallbacks_false_returns_the_ordered_providers_error(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="multi-down", messages=MESSAGES, extra_body={"provider": {"order": ["down"]}}
    )
    assert raw.headers["x-switchgear-attempts"] == "2" and raw.headers["x-switchgear-provider"] == "sim"
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="multi-down",
            messages=MESSAGES,
            extra_body={"provider": {"order": ["down"], "allow_fallbacks": False}},
        )
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-switchgear-attempts"] == "1"


@pytest.mark.parametrize(
    ("provider", "status", "param"),
    [
        ({"sortt": "price"}, 400, "provider.sortt"),
        ({"sort": "cheapest"}, 400, "provider.sort"),
        ({"only": "sim"}, 400, "provider.only"),
        ({"max_price": {"prompt": -1}}, 400, "provider.max_price.prompt"),
        ({"zdr": True}, 503, "provider.zdr"),
        ({"data_collection": "deny"}, 503, "provider.data_collection"),
    ],
)
def test_bad_or_unhonourable_preferences_are_refused(
    client: openai.OpenAI, sim: SimulatorThread, provider: dict[str, Any], status: int, param: str
) -> None:
    sim.clear()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="multi", messages=MESSAGES, extra_body={"provider": provider})
    assert caught.value.status_code == status
    assert caught.value.body["param"] == param  # type: ignore[index]
    assert sim.requests == []


def test_preferences_work_on_the_messages_api(gw: GatewayThread) -> None:
    with anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model="multi",
            max_tokens=64,
            messages=MESSAGES,
            extra_body={"provider": {"only": ["sim2"]}},
        )
    assert raw.headers["x-switchgear-provider"] == "sim2"
