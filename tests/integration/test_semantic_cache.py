"""The semantic cache over real sockets: the official SDKs against a gateway whose upstream is the
simulated provider, the built-in int8 embedder for real. A paraphrase of a stored question is
answered from the cache (``SEMANTIC-HIT``) whole or streamed, in both client formats, at no cost;
what differs in a number, a name, the system prompt or a parameter is not; opt-in per model and
per request; the index is kept across restarts (a file; Redis, shared by two gateways)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from switchgear.cache import ExactCache
from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread
from tests.integration.test_cache import cache_config, record_of, upstream_calls

ASKED = "How do I learn Python quickly?"
PARAPHRASE = "How can I learn Python quickly?"  # cosine 0.99 with ASKED


def semantic_config(sim: SimulatorThread, **semantic: Any) -> dict[str, Any]:
    config = cache_config(sim)
    for model in config["models"]:
        if model["name"] in ("cached", "claude-cached"):
            model["cache"] = {"semantic": {"enabled": True}}
    config["models"].append({"name": "plain", "deployments": [{"provider": "sim", "model": "sim-small"}]})
    config["cache"]["semantic"] = {"requests": True, **semantic}
    return config


def stage_of(gw: GatewayThread) -> ExactCache:
    return next(s for s in gw.app.runtime.engine.chain.stages if isinstance(s, ExactCache))


def wait_indexed(gw: GatewayThread, count: int, timeout: float = 10.0) -> None:
    stage = stage_of(gw)
    assert stage.semantic is not None
    deadline = time.monotonic() + timeout
    while len(stage.semantic.index) < count:
        assert time.monotonic() < deadline, (
            f"expected {count} semantic entries, got {len(stage.semantic.index)}"
        )
        time.sleep(0.01)


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(semantic_config(sim)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def oai(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    namespace = uuid.uuid4().hex  # each test in a space of its own (entries outlive tests)
    headers = {"x-switchgear-cache-namespace": namespace}
    with openai.OpenAI(
        base_url=gw.url + "/v1", api_key="k", max_retries=0, timeout=10, default_headers=headers
    ) as client:
        yield client


@pytest.fixture
def claude(gw: GatewayThread) -> Iterator[anthropic.Anthropic]:
    headers = {"x-switchgear-cache-namespace": uuid.uuid4().hex}
    with anthropic.Anthropic(
        base_url=gw.url, api_key="k", max_retries=0, timeout=10, default_headers=headers
    ) as client:
        yield client


def ask(client: openai.OpenAI, text: str, model: str = "cached", **extra: Any) -> Any:
    messages = [{"role": "user", "content": text}]
    return client.chat.completions.with_raw_response.create(model=model, messages=messages, **extra)  # type: ignore[call-overload]


def test_a_paraphrase_is_a_free_semantic_hit_whole_and_streamed(
    gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI
) -> None:
    before = len(stage_of(gw).semantic.index)  # type: ignore[union-attr]
    calls = upstream_calls(sim, PARAPHRASE)
    first = ask(oai, ASKED)
    assert first.headers["x-switchgear-cache"] == "MISS"
    answer = first.parse()
    wait_indexed(gw, before + 1)
    saved = stage_of(gw).stats.saved_nanousd
    second = ask(oai, PARAPHRASE)
    assert second.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
    assert float(second.headers["x-switchgear-cache-similarity"]) > 0.95
    hit = second.parse()
    assert hit.choices[0].message.content == answer.choices[0].message.content
    assert hit.usage.cost == 0  # type: ignore[union-attr, attr-defined]
    record = record_of(gw, second.headers["x-request-id"])
    assert record.cache == "SEMANTIC-HIT" and record.cost_nanousd == 0 and not record.attempts
    cost = record_of(gw, first.headers["x-request-id"]).cost_nanousd
    deadline = time.monotonic() + 5
    while stage_of(gw).stats.saved_nanousd - saved < (cost or 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stage_of(gw).stats.saved_nanousd - saved == cost  # the cost it avoided
    with oai.chat.completions.with_streaming_response.create(
        model="cached",
        messages=[{"role": "user", "content": PARAPHRASE}],
        stream=True,
        stream_options={"include_usage": True},
    ) as raw:
        assert raw.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
        chunks = list(raw.parse())
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == answer.choices[0].message.content
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.cost == 0  # type: ignore[attr-defined]
    assert upstream_calls(sim, PARAPHRASE) == calls  # never reached the provider


def test_anthropic_paraphrases_hit_streamed_and_whole(
    gw: GatewayThread, sim: SimulatorThread, claude: anthropic.Anthropic
) -> None:
    before = len(stage_of(gw).semantic.index)  # type: ignore[union-attr]
    asked = [{"role": "user", "content": "What is the capital of France?"}]
    with claude.messages.stream(model="claude-cached", max_tokens=100, messages=asked) as stream:  # type: ignore[arg-type]
        assert stream.response.headers["x-switchgear-cache"] == "MISS"
        text = "".join(stream.text_stream)
    wait_indexed(gw, before + 1)
    paraphrase = [{"role": "user", "content": "What is the capital city of France?"}]
    raw = claude.messages.with_raw_response.create(model="claude-cached", max_tokens=100, messages=paraphrase)  # type: ignore[arg-type]
    assert raw.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
    assert raw.parse().content[0].text == text  # type: ignore[union-attr]
    with claude.messages.stream(model="claude-cached", max_tokens=100, messages=paraphrase) as replay:  # type: ignore[arg-type]
        assert replay.response.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
        assert "".join(replay.text_stream) == text
        assert replay.get_final_message().stop_reason == "end_turn"
    assert upstream_calls(sim, "capital city of France") == 0


def test_other_numbers_names_prompts_and_parameters_are_misses(gw: GatewayThread, oai: openai.OpenAI) -> None:
    before = len(stage_of(gw).semantic.index)  # type: ignore[union-attr]
    ask(oai, "What were the best selling cars in 2016 in Germany?")
    ask(oai, ASKED)
    wait_indexed(gw, before + 2)
    assert (
        ask(oai, "What were the best selling cars in 2017 in Germany?").headers["x-switchgear-cache"]
        == "MISS"
    )
    assert ask(oai, "How do I learn Java quickly?").headers["x-switchgear-cache"] == "MISS"
    assert ask(oai, "Why is the sky blue?").headers["x-switchgear-cache"] == "MISS"
    assert ask(oai, PARAPHRASE, temperature=0.3).headers["x-switchgear-cache"] == "MISS"  # another parameter
    system = [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": PARAPHRASE}]
    other = oai.chat.completions.with_raw_response.create(model="cached", messages=system)  # type: ignore[arg-type]
    assert other.headers["x-switchgear-cache"] == "MISS"  # another system prompt
    assert ask(oai, PARAPHRASE).headers["x-switchgear-cache"] == "SEMANTIC-HIT"


def test_off_for_a_model_unless_the_request_asks_and_a_request_may_refuse(
    gw: GatewayThread, oai: openai.OpenAI
) -> None:
    before = len(stage_of(gw).semantic.index)  # type: ignore[union-attr]
    ask(oai, ASKED, model="plain")
    assert ask(oai, PARAPHRASE, model="plain").headers["x-switchgear-cache"] == "MISS"  # not on for "plain"
    on = {"x-switchgear-cache-semantic": "on"}
    ask(oai, "How should I cook rice?", model="plain", extra_headers=on)
    wait_indexed(gw, before + 1)
    hit = ask(oai, "How should I cook rice best?", model="plain", extra_body={"cache": {"semantic": True}})
    assert hit.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
    ask(oai, ASKED)
    wait_indexed(gw, before + 2)
    off = ask(oai, PARAPHRASE, extra_headers={"x-switchgear-cache-semantic": "off"})
    assert off.headers["x-switchgear-cache"] == "MISS"
    with pytest.raises(openai.BadRequestError, match="x-switchgear-cache-semantic"):
        ask(oai, PARAPHRASE, extra_headers={"x-switchgear-cache-semantic": "maybe"})


def test_no_store_refresh_and_ttl(gw: GatewayThread, oai: openai.OpenAI) -> None:
    stage = stage_of(gw)
    assert stage.semantic is not None
    before = len(stage.semantic.index)
    ask(oai, ASKED, extra_headers={"cache-control": "no-store"})
    time.sleep(0.3)
    assert len(stage.semantic.index) == before  # nothing stored
    ask(oai, ASKED, extra_body={"cache": {"ttl": 1}})
    wait_indexed(gw, before + 1)
    short = {"cache": {"ttl": 1}}
    refreshed = ask(oai, PARAPHRASE, extra_headers={"x-switchgear-cache": "refresh"}, extra_body=short)
    assert refreshed.headers["x-switchgear-cache"] == "BYPASS"  # no lookup: a fresh answer, stored
    wait_indexed(gw, before + 2)
    assert ask(oai, PARAPHRASE, extra_body=short).headers["x-switchgear-cache"] == "HIT"
    time.sleep(1.2)
    assert ask(oai, "How could I learn Python quickly?").headers["x-switchgear-cache"] == "MISS"  # expired


def test_the_index_is_written_on_stop_and_read_back_on_start(sim: SimulatorThread, tmp_path: Path) -> None:
    config = semantic_config(sim, path=str(tmp_path / "index.npz"))
    first = GatewayThread(config).start()
    try:
        with openai.OpenAI(base_url=first.url + "/v1", api_key="k", max_retries=0) as client:
            answer = ask(client, ASKED).parse().choices[0].message.content
        wait_indexed(first, 1)
    finally:
        first.stop()
    assert (tmp_path / "index.npz").exists()
    second = GatewayThread(config).start()
    try:
        assert len(stage_of(second).semantic.index) == 1  # type: ignore[union-attr]
        with openai.OpenAI(base_url=second.url + "/v1", api_key="k", max_retries=0) as client:
            hit = ask(client, PARAPHRASE)
            assert hit.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
            assert hit.parse().choices[0].message.content == answer
            assert ask(client, ASKED).headers["x-switchgear-cache"] == "HIT"  # its answer came back too
    finally:
        second.stop()


def test_redis_shares_semantic_entries_between_gateways_and_rebuilds_a_new_one(
    sim: SimulatorThread, redis_url: str
) -> None:
    config = semantic_config(sim)
    config["cache"]["exact"].update(backend="redis", prefix=f"switchgear-test:{uuid.uuid4().hex}:")
    config["storage"] = {"redis_url": redis_url}
    one = GatewayThread(config).start()
    two = GatewayThread(config).start()
    three = None
    calls = upstream_calls(sim, PARAPHRASE)
    try:
        with openai.OpenAI(base_url=one.url + "/v1", api_key="k", max_retries=0) as a:
            answer = ask(a, ASKED).parse().choices[0].message.content
        wait_indexed(two, 1)  # came over the stream
        with openai.OpenAI(base_url=two.url + "/v1", api_key="k", max_retries=0) as b:
            hit = ask(b, PARAPHRASE)
            assert hit.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
            assert hit.parse().choices[0].message.content == answer
        three = GatewayThread(config).start()  # starts after: reads the stream whole
        wait_indexed(three, 1)
        with openai.OpenAI(base_url=three.url + "/v1", api_key="k", max_retries=0) as c:
            streamed = list(
                c.chat.completions.create(
                    model="cached", messages=[{"role": "user", "content": PARAPHRASE}], stream=True
                )
            )  # type: ignore[call-overload]
            assert "".join(x.choices[0].delta.content or "" for x in streamed if x.choices) == answer
        assert upstream_calls(sim, PARAPHRASE) == calls
    finally:
        for gateway in (one, two, three):
            if gateway is not None:
                gateway.stop()


def test_an_embeddings_model_served_by_the_gateway_can_be_the_embedder(sim: SimulatorThread) -> None:
    config = cache_config(sim)
    config["models"].append({"name": "embedder", "deployments": [{"provider": "sim", "model": "sim-embed"}]})
    config["cache"]["semantic"] = {"enabled": True, "embedder": "embedder", "threshold": 0.99}
    gw = GatewayThread(config).start()
    try:
        with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
            ask(client, "Name a prime number.")
            wait_indexed(gw, 1)
            # the same words as text parts: another exact key, the same question
            parts = [{"role": "user", "content": [{"type": "text", "text": "Name a prime number."}]}]
            hit = client.chat.completions.with_raw_response.create(model="cached", messages=parts)  # type: ignore[arg-type]
            assert hit.headers["x-switchgear-cache"] == "SEMANTIC-HIT"
        assert any(r.path.endswith("/embeddings") for r in sim.requests)
    finally:
        gw.stop()
