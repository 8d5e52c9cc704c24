"""The exact response cache over real sockets: the official SDKs against a gateway whose upstream is
the simulated provider (which counts what reaches it). Controls, streaming fill and replay in both
client formats, expiry, and that a hit costs nothing and makes no upstream call."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
import yaml

from switchgear.cache import ExactCache
from switchgear.simulator.server import SimulatorThread
from switchgear.stages import RequestRecord
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread, closed_port

PRICED = {"input": "1", "output": "2"}  # $ per million tokens


def cache_config(sim: SimulatorThread, **exact: Any) -> dict[str, Any]:
    config = base_config(sim)
    config["models"] += [
        {"name": "cached", "deployments": [{"provider": "sim", "model": "sim-small"}], "pricing": PRICED},
        {
            "name": "claude-cached",
            "deployments": [{"provider": "s-anthropic", "model": "claude-sim"}],
            "pricing": PRICED,
        },
        {"name": "cut", "deployments": [{"provider": "sim", "model": "sim-small;disconnect_after=2"}]},
    ]
    config["cache"] = {"exact": {"enabled": True, **exact}}
    return config


def cache_stage(gw: GatewayThread) -> ExactCache:
    found = [s for s in gw.app.runtime.engine.chain.stages if isinstance(s, ExactCache)]
    assert found
    return found[0]


def wait_stored(gw: GatewayThread, count: int, timeout: float = 5.0) -> None:
    stage = cache_stage(gw)
    deadline = time.monotonic() + timeout
    while stage.stats.stored < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} stored answers, got {stage.stats.stored}")
        time.sleep(0.01)


def record_of(gw: GatewayThread, request_id: str) -> RequestRecord:
    deadline = time.monotonic() + 5
    while True:
        for record in list(gw.settled):
            if record.request_id == request_id:
                return record
        if time.monotonic() > deadline:
            raise AssertionError(f"request {request_id} was not settled")
        time.sleep(0.01)


def question() -> list[dict[str, str]]:
    """A question no other test asks (entries outlive tests in a module's gateway)."""
    return [{"role": "user", "content": f"what is {uuid.uuid4().hex}?"}]


@pytest.fixture(scope="module")
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(cache_config(sim, max_temperature=1.0)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def oai(gw: GatewayThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
        yield client


@pytest.fixture
def claude(gw: GatewayThread) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0, timeout=10) as client:
        yield client


def upstream_calls(sim: SimulatorThread, text: str) -> int:
    return sum(text in r.body.decode("utf-8", "replace") for r in sim.requests)


def ask(oai: openai.OpenAI, messages: list[dict[str, str]], **extra: Any) -> Any:
    return oai.chat.completions.with_raw_response.create(model="cached", messages=messages, **extra)  # type: ignore[call-overload]


# hit, miss and cost ------------------------------------------------------------------------------


def test_second_identical_request_is_a_free_hit_with_no_upstream_call(
    gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI
) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    first = ask(oai, messages)
    assert first.headers["x-switchgear-cache"] == "MISS"
    miss = first.parse()
    assert miss.usage.cost > 0  # type: ignore[union-attr, attr-defined]
    wait_stored(gw, stored + 1)
    saved_before = cache_stage(gw).stats.saved_nanousd
    second = ask(oai, messages)
    hit = second.parse()
    assert second.headers["x-switchgear-cache"] == "HIT"
    assert int(second.headers["age"]) >= 0
    assert hit.choices[0].message.content == miss.choices[0].message.content
    assert hit.usage.prompt_tokens == miss.usage.prompt_tokens  # type: ignore[union-attr]
    assert hit.usage.cost == 0  # type: ignore[union-attr, attr-defined]
    assert upstream_calls(sim, messages[0]["content"]) == 1
    record = record_of(gw, second.headers["x-request-id"])
    assert record.cache == "HIT" and record.cost_nanousd == 0 and not record.attempts
    first_record = record_of(gw, first.headers["x-request-id"])
    deadline = time.monotonic() + 5
    while cache_stage(gw).stats.saved_nanousd == saved_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache_stage(gw).stats.saved_nanousd - saved_before == first_record.cost_nanousd
    status = httpx.get(gw.url + "/admin/status").json()["cache"]
    assert status["backend"] == "memory" and status["hits"] >= 1 and status["entries"] >= 1
    assert status["saved_nanousd"] >= first_record.cost_nanousd


def test_a_different_parameter_is_a_different_entry_but_a_different_user_is_not(
    gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI
) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    ask(oai, messages, max_tokens=50, user="alice")
    wait_stored(gw, stored + 1)
    assert ask(oai, messages, max_tokens=51).headers["x-switchgear-cache"] == "MISS"
    assert ask(oai, messages, max_tokens=50, user="bob").headers["x-switchgear-cache"] == "HIT"
    assert upstream_calls(sim, messages[0]["content"]) == 2


# controls ----------------------------------------------------------------------------------------


def test_no_cache_and_refresh_skip_the_lookup_and_store_the_fresh_answer(
    gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI
) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    ask(oai, messages)
    wait_stored(gw, stored + 1)
    bypass = ask(oai, messages, extra_headers={"cache-control": "no-cache"})
    assert bypass.headers["x-switchgear-cache"] == "BYPASS"
    refresh = ask(oai, messages, extra_headers={"x-switchgear-cache": "refresh"})
    assert refresh.headers["x-switchgear-cache"] == "BYPASS"
    assert upstream_calls(sim, messages[0]["content"]) == 3
    wait_stored(gw, stored + 3)
    assert ask(oai, messages).headers["x-switchgear-cache"] == "HIT"


def test_no_store_neither_reads_nor_stores(
    gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI
) -> None:
    messages = question()
    first = ask(oai, messages, extra_headers={"cache-control": "no-store"})
    assert first.headers["x-switchgear-cache"] == "BYPASS"
    record_of(gw, first.headers["x-request-id"])
    stored = cache_stage(gw).stats.stored
    time.sleep(0.2)  # settle had its chance to store it
    assert cache_stage(gw).stats.stored == stored
    assert ask(oai, messages).headers["x-switchgear-cache"] == "MISS"
    # the body form: stripped before the upstream call
    body_form = ask(oai, question(), extra_body={"cache": {"no_store": True}})
    assert body_form.headers["x-switchgear-cache"] == "BYPASS"
    assert "cache" not in sim.last().json


def test_max_age_refuses_an_older_answer(gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    ask(oai, messages)
    wait_stored(gw, stored + 1)
    time.sleep(1.1)
    old = ask(oai, messages, extra_headers={"cache-control": "max-age=1"})
    assert old.headers["x-switchgear-cache"] == "MISS"
    wait_stored(gw, stored + 2)
    young = ask(oai, messages, extra_body={"cache": {"max_age": 30}})
    assert young.headers["x-switchgear-cache"] == "HIT"
    assert upstream_calls(sim, messages[0]["content"]) == 2


def test_ttl_expiry(gw: GatewayThread, oai: openai.OpenAI) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    ask(oai, messages, extra_headers={"x-switchgear-cache-ttl": "300ms"})
    wait_stored(gw, stored + 1)
    assert ask(oai, messages).headers["x-switchgear-cache"] == "HIT"
    time.sleep(0.4)
    assert ask(oai, messages).headers["x-switchgear-cache"] == "MISS"


def test_namespaces_are_separate(gw: GatewayThread, oai: openai.OpenAI) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    ask(oai, messages, extra_headers={"x-switchgear-cache-namespace": "blue"})
    wait_stored(gw, stored + 1)
    green = ask(oai, messages, extra_body={"cache": {"namespace": "green"}})
    assert green.headers["x-switchgear-cache"] == "MISS"
    blue = ask(oai, messages, extra_body={"cache": {"namespace": "blue"}})
    assert blue.headers["x-switchgear-cache"] == "HIT"


def test_hot_requests_are_not_cached_unless_asked(gw: GatewayThread, oai: openai.OpenAI) -> None:
    messages = question()
    assert ask(oai, messages, temperature=1.5).headers["x-switchgear-cache"] == "BYPASS"
    stored = cache_stage(gw).stats.stored
    ask(oai, messages, temperature=1.5, extra_headers={"x-switchgear-cache-ttl": "60"})
    wait_stored(gw, stored + 1)
    hit = ask(oai, messages, temperature=1.5, extra_body={"cache": {"ttl": "1m"}})
    assert hit.headers["x-switchgear-cache"] == "HIT"


def test_answers_that_would_not_replay_whole_are_passed_by(gw: GatewayThread, oai: openai.OpenAI) -> None:
    messages = question()
    for _ in range(2):
        made = ask(oai, messages, logprobs=True, top_logprobs=2)
        assert made.headers["x-switchgear-cache"] == "BYPASS"


@pytest.mark.parametrize(
    ("headers", "body", "names"),
    [
        ({"x-switchgear-cache": "sometimes"}, None, "x-switchgear-cache"),
        ({"x-switchgear-cache-ttl": "soon"}, None, "x-switchgear-cache-ttl"),
        ({"cache-control": "max-age=-3"}, None, "max-age"),
        ({}, {"no_store": "yes"}, "cache.no_store"),
        ({}, {"ttl": 0}, "cache.ttl"),
        ({}, {"bogus": 1}, "cache.bogus"),
        ({}, "on", "cache"),
    ],
)
def test_unreadable_controls_are_refused_with_a_clear_error(
    oai: openai.OpenAI, headers: dict[str, str], body: Any, names: str
) -> None:
    extra = {"cache": body} if body is not None else {}
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(
            model="cached",
            messages=question(),  # type: ignore[arg-type]
            extra_headers=headers,
            extra_body=extra,
        )
    assert names in caught.value.message


# streaming ---------------------------------------------------------------------------------------


def test_openai_stream_is_stored_and_replayed_as_a_stream_with_usage_and_as_a_body(
    gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI
) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    first = list(oai.chat.completions.create(model="cached", messages=messages, stream=True))  # type: ignore[call-overload]
    text = "".join(c.choices[0].delta.content or "" for c in first if c.choices)
    assert text
    wait_stored(gw, stored + 1)
    with oai.chat.completions.with_streaming_response.create(
        model="cached",
        messages=messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    ) as raw:
        assert raw.headers["x-switchgear-cache"] == "HIT"
        chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert chunks[-1].usage.cost == 0  # type: ignore[attr-defined]
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)
    whole = ask(oai, messages)
    assert whole.headers["x-switchgear-cache"] == "HIT"
    assert whole.parse().choices[0].message.content == text
    assert upstream_calls(sim, messages[0]["content"]) == 1


def test_anthropic_answers_are_stored_and_replayed_in_both_forms(
    gw: GatewayThread, sim: SimulatorThread, claude: anthropic.Anthropic
) -> None:
    messages = question()
    stored = cache_stage(gw).stats.stored
    with claude.messages.stream(model="claude-cached", max_tokens=100, messages=messages) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        streamed = stream.get_final_message()
    assert text
    wait_stored(gw, stored + 1)
    raw = claude.messages.with_raw_response.create(model="claude-cached", max_tokens=100, messages=messages)  # type: ignore[arg-type]
    assert raw.headers["x-switchgear-cache"] == "HIT"
    whole = raw.parse()
    assert whole.content[0].text == text  # type: ignore[union-attr]
    assert whole.usage.output_tokens == streamed.usage.output_tokens
    with claude.messages.stream(model="claude-cached", max_tokens=100, messages=messages) as replay:  # type: ignore[arg-type]
        assert replay.response.headers["x-switchgear-cache"] == "HIT"
        assert "".join(replay.text_stream) == text
        assert replay.get_final_message().stop_reason == "end_turn"
    assert upstream_calls(sim, messages[0]["content"]) == 1


def test_the_body_cache_field_never_reaches_a_passthrough_upstream(
    sim: SimulatorThread, claude: anthropic.Anthropic
) -> None:
    made = claude.messages.with_raw_response.create(
        model="claude-cached",
        max_tokens=50,
        messages=question(),  # type: ignore[arg-type]
        extra_body={"cache": {"ttl": 30}},
    )
    assert made.headers["x-switchgear-cache"] == "MISS"
    assert "cache" not in sim.last().json


def test_a_cut_stream_is_never_stored(gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI) -> None:
    messages = question()
    with pytest.raises(openai.APIError):
        list(oai.chat.completions.create(model="cut", messages=messages, stream=True))  # type: ignore[call-overload]
    time.sleep(0.3)
    again = oai.chat.completions.with_raw_response.create(model="cut", messages=messages, stream=True)  # type: ignore[call-overload]
    assert again.headers["x-switchgear-cache"] == "MISS"
    with pytest.raises(openai.APIError):
        list(again.parse())
    assert upstream_calls(sim, messages[0]["content"]) == 2


def test_an_error_answer_is_never_stored(gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI) -> None:
    messages = question()
    for _ in range(2):
        with pytest.raises(openai.APIStatusError):
            oai.chat.completions.create(model="sim/sim-small;status=400", messages=messages)  # type: ignore[arg-type]
    assert upstream_calls(sim, messages[0]["content"]) == 2


def test_responses_answers_are_stored_and_replayed_in_both_forms(
    gw: GatewayThread, sim: SimulatorThread, oai: openai.OpenAI
) -> None:
    text = f"describe {uuid.uuid4().hex}"
    stored = cache_stage(gw).stats.stored
    first = oai.responses.with_raw_response.create(model="cached", input=text)
    assert first.headers["x-switchgear-cache"] == "MISS"
    answer = first.parse().output_text
    assert answer
    wait_stored(gw, stored + 1)
    with oai.responses.stream(model="cached", input=text) as stream:
        replayed = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert replayed == answer and final.status == "completed"
    assert final.usage is not None and final.usage.output_tokens > 0
    # a streamed answer stored, then served whole
    other = f"summarise {uuid.uuid4().hex}"
    with oai.responses.stream(model="cached", input=other) as stream:
        streamed = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
    wait_stored(gw, stored + 2)
    whole = oai.responses.with_raw_response.create(model="cached", input=other)
    assert whole.headers["x-switchgear-cache"] == "HIT"
    assert whole.parse().output_text == streamed
    assert upstream_calls(sim, text) == 1 and upstream_calls(sim, other) == 1


def test_stateful_responses_requests_are_passed_by(oai: openai.OpenAI) -> None:
    made = oai.responses.with_raw_response.create(
        model="cached", input="hello", include=["message.output_text.logprobs"]
    )
    assert made.headers["x-switchgear-cache"] == "BYPASS"


# backends ----------------------------------------------------------------------------------------


def test_redis_backend_is_shared_by_two_gateways(sim: SimulatorThread, redis_url: str) -> None:
    prefix = f"switchgear-test:{uuid.uuid4().hex}:"
    config = cache_config(sim, backend="redis", prefix=prefix)
    config["storage"] = {"redis_url": redis_url}
    one = GatewayThread(config).start()
    two = GatewayThread(config).start()
    try:
        messages = question()
        with openai.OpenAI(base_url=one.url + "/v1", api_key="k", max_retries=0) as a:
            first = ask(a, messages)
        assert first.headers["x-switchgear-cache"] == "MISS"
        wait_stored(one, 1)
        with openai.OpenAI(base_url=two.url + "/v1", api_key="k", max_retries=0) as b:
            second = ask(b, messages)
            assert second.headers["x-switchgear-cache"] == "HIT"
            assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
            streamed = list(b.chat.completions.create(model="cached", messages=messages, stream=True))  # type: ignore[call-overload]
            assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert upstream_calls(sim, messages[0]["content"]) == 1
        keys = redis_keys(redis_url, prefix)
        assert len(keys) == 1 and keys[0].startswith(prefix.encode())
    finally:
        one.stop()
        two.stop()


def test_redis_backend_is_shared_by_two_processes(
    sim: SimulatorThread, redis_url: str, tmp_path: Any
) -> None:
    config = cache_config(sim, backend="redis", prefix=f"switchgear-test:{uuid.uuid4().hex}:")
    config["storage"] = {"redis_url": redis_url}
    path = tmp_path / "cache.yaml"
    path.write_text(yaml.safe_dump(config))
    ports = [closed_port(), closed_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "switchgear.cli", "serve", "--config", str(path), "--port", str(port)],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_ready(f"http://127.0.0.1:{port}")
        messages = question()
        seen = []
        for attempt in range(4):  # alternate between the two processes
            url = f"http://127.0.0.1:{ports[attempt % 2]}/v1"
            with openai.OpenAI(base_url=url, api_key="k", max_retries=0) as client:
                seen.append(ask(client, messages).headers["x-switchgear-cache"])
            if attempt == 0:
                deadline = time.monotonic() + 5  # stored off the request path: wait until Redis has it
                while not redis_keys(redis_url, config["cache"]["exact"]["prefix"]):
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
        assert seen == ["MISS", "HIT", "HIT", "HIT"]
        assert upstream_calls(sim, messages[0]["content"]) == 1
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            _, err = proc.communicate(timeout=30)
            assert "Traceback" not in err


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not come up"
        time.sleep(0.1)


@pytest.mark.parametrize("redis", ["closed", "silent"])
def test_unreachable_or_silent_redis_is_a_miss_not_an_error(sim: SimulatorThread, redis: str) -> None:
    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1] if redis == "silent" else closed_port()
    config = cache_config(sim, backend="redis", timeout="200ms")
    config["storage"] = {"redis_url": f"redis://127.0.0.1:{port}/0"}
    gw = GatewayThread(config).start()
    try:
        with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
            messages = question()
            for _ in range(2):
                made = ask(client, messages)
                assert made.headers["x-switchgear-cache"] == "MISS"
                assert made.parse().choices[0].message.content
        assert upstream_calls(sim, messages[0]["content"]) == 2
    finally:
        gw.stop()
        silent.close()


def redis_keys(url: str, prefix: str) -> list[bytes]:
    from redis import Redis

    with Redis.from_url(url) as redis:
        keys: list[bytes] = list(redis.scan_iter(match=prefix + "*"))
        for key in keys:
            assert redis.pttl(key) > 0  # every entry expires
        return keys


def test_memory_backend_evicts_the_least_recently_used_within_its_bytes(sim: SimulatorThread) -> None:
    gw = GatewayThread(cache_config(sim, max_bytes="1KB")).start()
    try:
        stage = cache_stage(gw)
        with openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0) as client:
            asked = [question() for _ in range(6)]
            for i, messages in enumerate(asked):
                ask(client, messages)
                wait_stored(gw, i + 1)
            assert stage.backend.bytes <= 1000  # type: ignore[attr-defined]
            assert stage.backend.evicted > 0  # type: ignore[attr-defined]
            assert ask(client, asked[-1]).headers["x-switchgear-cache"] == "HIT"
            assert ask(client, asked[0]).headers["x-switchgear-cache"] == "MISS"
    finally:
        gw.stop()


def test_cache_off_adds_no_header(gateway: GatewayThread) -> None:
    answer = httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": "fast", "messages": question(), "cache": {"ttl": 5}},
    )
    assert answer.status_code == 200 and "x-switchgear-cache" not in answer.headers
