"""``/metrics`` after a scripted load: the official SDK against the simulated providers over real
sockets, then a Prometheus scrape whose values are checked exactly."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from switchgear.simulator.server import SimulatorThread
from switchgear.stages import RequestRecord, Stage
from tests.conftest import base_config
from tests.fakes.gateway import GatewayThread

SCRIPTED = "sim-small;prompt_tokens=10;completion_tokens=5"
DEPLOYMENT = f"sim/{SCRIPTED}"
MESSAGES: Any = [{"role": "user", "content": "hi"}]
MASTER = "sk-master-metrics-0123456789"


def metrics_config(sim: SimulatorThread, **observability: Any) -> dict[str, Any]:
    config = base_config(sim)
    config["models"] = [
        *config["models"],
        {
            "name": "m1",
            "deployments": [{"provider": "sim", "model": SCRIPTED}],
            "pricing": {"input": "1", "output": "2"},  # 10 * $1/M + 5 * $2/M = $0.00002 a request
        },
    ]
    if observability:
        config["observability"] = observability
    return config


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    answer = httpx.get(url + "/metrics", headers=headers, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def wait_for(url: str, name: str, expected: float, **labels: str) -> Samples:
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(url)
        if value(samples, name, **labels) >= expected or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


@pytest.fixture()
def gw(sim: SimulatorThread) -> Iterator[GatewayThread]:
    gateway = GatewayThread(metrics_config(sim)).start()
    yield gateway
    gateway.stop()


def load(url: str) -> None:
    """3 answers and 1 stream of m1, 2 requests that fail over twice, 1 that fails on every
    deployment, 1 for a model nobody serves."""
    with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
        for _ in range(3):
            client.chat.completions.create(model="m1", messages=MESSAGES)
        stream = client.chat.completions.create(
            model="m1", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert list(stream)
        for _ in range(2):
            client.chat.completions.create(model="ha", messages=MESSAGES)
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model="all-down", messages=MESSAGES)
        assert failed.value.status_code == 503
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="no-such-model", messages=MESSAGES)


def test_the_scrape_after_a_scripted_load_counts_exactly(gw: GatewayThread) -> None:
    load(gw.url)
    s = wait_for(gw.url, "switchgear_requests_total", 8)
    ok = {"api": "chat", "model": "m1", "provider": "sim", "deployment": DEPLOYMENT, "status_class": "2xx"}
    assert value(s, "switchgear_requests_total", **ok) == 4
    assert value(s, "switchgear_requests_total") == 8
    assert value(s, "switchgear_requests_total", model="ha", provider="sim2", status_class="2xx") == 2
    assert value(s, "switchgear_requests_total", model="all-down", status_class="5xx") == 1
    assert value(s, "switchgear_requests_total", model="no-such-model", provider="", status_class="4xx") == 1
    # tokens and cost: the scripted usage, the stream's included
    m1 = {"model": "m1", "provider": "sim", "deployment": DEPLOYMENT}
    assert value(s, "switchgear_tokens_total", direction="input", **m1) == 40
    assert value(s, "switchgear_tokens_total", direction="output", **m1) == 20
    assert value(s, "switchgear_cost_usd_total", **m1) == pytest.approx(0.00008)
    # latency for every request of m1; time to first token for its stream only
    assert value(s, "switchgear_request_duration_seconds_count", api="chat", **m1) == 4
    assert value(s, "switchgear_request_duration_seconds_bucket", le="+Inf", **m1) == 4
    assert value(s, "switchgear_time_to_first_token_seconds_count", **m1) == 1
    assert value(s, "switchgear_gateway_overhead_seconds_count", api="chat") == 8
    # fail-over: down (unreachable) -> flaky (503) -> sim2, twice; all-down fails on both
    assert value(s, "switchgear_fallbacks_total", model="ha") == 4
    assert value(s, "switchgear_fallbacks_total", model="all-down") == 1
    down = value(s, "switchgear_upstream_attempts_total", deployment="down/sim-small")
    assert down == value(s, "switchgear_upstream_attempts_total", outcome="upstream_unreachable") - 1 == 2
    assert (
        value(s, "switchgear_upstream_attempts_total", deployment="flaky/sim-small", outcome="overloaded")
        == 2
    )
    assert value(s, "switchgear_upstream_attempts_total", deployment="sim2/sim-large", outcome="ok") == 2
    assert value(s, "switchgear_upstream_attempt_duration_seconds_count", provider="sim2") == 2
    # errors by type
    assert value(s, "switchgear_request_errors_total", model="all-down", error_type="overloaded") == 1
    assert (
        value(s, "switchgear_request_errors_total", model="no-such-model", error_type="model_not_found") == 1
    )
    assert value(s, "switchgear_request_errors_total") == 2
    assert value(s, "switchgear_rejections_total") == 0  # no limits configured
    # gauges: nothing in flight once answered, settle queues drained, the version
    assert value(s, "switchgear_in_flight_requests") == 0
    assert value(s, "switchgear_settle_queue_depth", consumer="access_log") == 0
    assert value(s, "switchgear_settle_dropped_total") == 0
    assert value(s, "switchgear_build_info") == 1


def test_the_summary_agrees_with_the_scrape(gw: GatewayThread) -> None:
    load(gw.url)
    wait_for(gw.url, "switchgear_requests_total", 8)
    summary = httpx.get(gw.url + "/metrics/summary", timeout=5).json()
    totals = summary["totals"]
    assert totals["requests"] == 8 and totals["errors"] == 2 and totals["in_flight"] == 0
    assert totals["by_status_class"] == {"2xx": 6, "4xx": 1, "5xx": 1}
    assert totals["input_tokens"] >= 40 and totals["fallbacks"] == 5
    assert totals["p50_ms"] > 0 and totals["p95_ms"] >= totals["p50_ms"]
    row = next(r for r in summary["models"] if r["model"] == "m1")
    assert row == row | {"provider": "sim", "deployment": DEPLOYMENT, "requests": 4, "errors": 0}
    assert row["input_tokens"] == 40 and row["output_tokens"] == 20
    assert row["cost_usd"] == pytest.approx(0.00008)
    assert row["ttft_p50_ms"] is not None and row["p50_ms"] is not None
    errors = {(e["model"], e["error_type"]): e["count"] for e in summary["errors"]}
    assert errors == {("all-down", "overloaded"): 1, ("no-such-model", "model_not_found"): 1}
    assert {q["consumer"] for q in summary["settle_queues"]} >= {"access_log", "metrics"}


def test_key_and_team_labels_are_off_by_default_and_bounded_when_on(sim: SimulatorThread) -> None:
    config = metrics_config(sim, metrics={"labels": {"key": True}, "max_label_values": 2})
    gateway = GatewayThread(config).start()
    try:
        with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
            for model in ("m1", "fast", "priced", "ha"):
                client.chat.completions.create(model=model, messages=MESSAGES)
        s = wait_for(gateway.url, "switchgear_requests_total", 4)
        assert value(s, "switchgear_requests_total", key="") == 4  # no virtual key: an empty label
        models = {dict(labels)["model"] for (name, labels) in s if name == "switchgear_requests_total"}
        assert models == {"m1", "fast", "other"}  # two distinct values, then "other"
        assert value(s, "switchgear_requests_total", model="other") == 2
    finally:
        gateway.stop()
    plain = scrape_text_of(metrics_config(sim), sim)
    assert 'key="' not in plain and 'team="' not in plain


def scrape_text_of(config: dict[str, Any], sim: SimulatorThread) -> str:
    gateway = GatewayThread(config).start()
    try:
        with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
            client.chat.completions.create(model="m1", messages=MESSAGES)
        wait_for(gateway.url, "switchgear_requests_total", 1)
        return httpx.get(gateway.url + "/metrics", timeout=5).text
    finally:
        gateway.stop()


def test_metrics_can_require_the_master_key(sim: SimulatorThread) -> None:
    config = metrics_config(sim, metrics={"require_key": True})
    config["server"] = {"master_key": MASTER}
    config["governance"] = {"enabled": False}
    gateway = GatewayThread(config).start()
    try:
        for path in ("/metrics", "/metrics/summary"):
            missing = httpx.get(gateway.url + path, timeout=5)
            assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
            wrong = httpx.get(gateway.url + path, headers={"authorization": "Bearer nope"}, timeout=5)
            assert wrong.status_code == 401
            good = httpx.get(gateway.url + path, headers={"authorization": f"Bearer {MASTER}"}, timeout=5)
            assert good.status_code == 200
        assert MASTER not in good.text
        post = httpx.post(gateway.url + "/metrics", headers={"authorization": f"Bearer {MASTER}"}, timeout=5)
        assert post.status_code == 405 and post.headers["allow"] == "GET"
    finally:
        gateway.stop()


def test_metrics_off_means_no_route_and_no_stage(sim: SimulatorThread) -> None:
    gateway = GatewayThread(metrics_config(sim, metrics={"enabled": False})).start()
    try:
        answer = httpx.get(gateway.url + "/metrics", timeout=5)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "route_not_found"
        assert "metrics" not in [s.name for s in gateway.app.runtime.engine.chain.stages]
    finally:
        gateway.stop()


def test_the_observability_settings_are_checked(sim: SimulatorThread) -> None:
    from switchgear.config import ConfigError, parse_settings
    from switchgear.providers import PROVIDER_SETTINGS

    def parse(config: dict[str, Any]) -> None:
        parse_settings(config, {}, PROVIDER_SETTINGS)

    with pytest.raises(ConfigError, match=r"observability.metrics.require_key: .* needs server.master_key"):
        parse(metrics_config(sim, metrics={"require_key": True}))
    with pytest.raises(ConfigError, match=r"observability.metrics.labels.tenant"):
        parse(metrics_config(sim, metrics={"labels": {"tenant": True}}))
    with pytest.raises(ConfigError, match=r"observability.tracing.sample_ratio"):
        parse(metrics_config(sim, tracing={"sample_ratio": 1.5}))
    with pytest.raises(ConfigError, match=r"observability.tracing.endpoint"):
        parse(metrics_config(sim, tracing={"endpoint": "collector:4318"}))


def test_rejections_and_key_labels_with_governance(sim: SimulatorThread, tmp_path: Any) -> None:
    config = metrics_config(sim, metrics={"labels": {"key": True, "team": True}})
    config["server"] = {"master_key": MASTER}
    config["storage"] = {"database_url": f"sqlite:///{tmp_path / 'gateway.db'}"}
    gateway = GatewayThread(config).start()
    admin = {"authorization": f"Bearer {MASTER}"}
    try:
        made = {}
        for name, limits in (("limited", {"rpm_limit": 1}), ("poor", {"max_budget": "0.001"})):
            answer = httpx.post(
                gateway.url + "/admin/keys", json={"name": name, **limits}, headers=admin, timeout=5
            )
            assert answer.status_code == 201, answer.text
            made[name] = answer.json()
        for name, expected in (("limited", [200, 429, 429]), ("poor", [429])):
            with openai.OpenAI(
                base_url=gateway.url + "/v1", api_key=made[name]["key"], max_retries=0, timeout=10
            ) as client:
                for status in expected:
                    try:
                        client.chat.completions.create(model="m1", messages=MESSAGES)
                        assert status == 200
                    except openai.RateLimitError as exc:
                        assert status == 429, exc
        s = wait_for(gateway.url, "switchgear_requests_total", 4)
    finally:
        gateway.stop()
    assert value(s, "switchgear_rejections_total", reason="rate_limit") == 2
    assert value(s, "switchgear_rejections_total", reason="budget") == 1
    limited, poor = made["limited"]["id"], made["poor"]["id"]
    assert value(s, "switchgear_requests_total", key=limited, team="", status_class="2xx") == 1
    assert value(s, "switchgear_requests_total", key=limited, status_class="4xx") == 2
    assert value(s, "switchgear_requests_total", key=poor, status_class="4xx") == 1
    assert value(s, "switchgear_tokens_total", key=limited, direction="input") == 10
    assert value(s, "switchgear_cost_usd_total", key=limited) == pytest.approx(0.00002)
    assert value(s, "switchgear_request_errors_total", error_type="budget_exceeded") == 1
    # the spend log's backlog and drops are series of their own
    assert ("switchgear_spend_log_pending_rows", frozenset()) in s
    assert value(s, "switchgear_spend_log_dropped_rows_total") == 0
    assert ("switchgear_settle_queue_depth", frozenset({("consumer", "spend_log")})) in s


def test_requests_in_flight_are_counted_while_they_wait(sim: SimulatorThread) -> None:
    config = metrics_config(sim)
    config["upstream"] = {"timeouts": {"first_byte": "10s"}}
    config["models"].append(
        {"name": "slow", "deployments": [{"provider": "sim", "model": "sim-small;latency_ms=3000"}]}
    )
    gateway = GatewayThread(config).start()
    try:
        with ThreadPoolExecutor(3) as pool:
            waiting = [
                pool.submit(
                    httpx.post,
                    gateway.url + "/v1/chat/completions",
                    json={"model": "slow", "messages": MESSAGES},
                    timeout=10,
                )
                for _ in range(3)
            ]
            seen = 0.0
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline and seen < 3:
                seen = value(scrape(gateway.url), "switchgear_in_flight_requests")
                time.sleep(0.05)
            assert seen == 3
            assert [f.result().status_code for f in waiting] == [200] * 3
        after = wait_for(gateway.url, "switchgear_requests_total", 3)
        assert value(after, "switchgear_in_flight_requests") == 0
    finally:
        gateway.stop()


class Stuck(Stage):
    """A settle consumer that hangs on its first batch until released (a dead database, say)."""

    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()

    async def settle(self, records: Sequence[RequestRecord]) -> None:
        while not self.release.is_set():
            await asyncio.sleep(0.01)


def test_a_full_settle_queue_shows_its_depth_and_drops(sim: SimulatorThread) -> None:
    config = metrics_config(sim)
    config["server"] = {"settle": {"queue_size": 2, "batch_size": 1}}
    stuck = Stuck()
    gateway = GatewayThread(config, stages=[stuck]).start()
    try:
        with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
            for _ in range(5):  # the 1st is being settled, the 2nd and 3rd wait, the 4th and 5th drop
                client.chat.completions.create(model="m1", messages=MESSAGES)
        s = wait_for(gateway.url, "switchgear_requests_total", 5)
        assert value(s, "switchgear_settle_queue_depth", consumer="stuck") == 2
        assert value(s, "switchgear_settle_dropped_total", consumer="stuck") == 2
        assert value(s, "switchgear_settle_dropped_total", consumer="metrics") == 0
        stuck.release.set()
        deadline = time.monotonic() + 5
        while value(s, "switchgear_settle_queue_depth", consumer="stuck") and time.monotonic() < deadline:
            s = scrape(gateway.url)
        assert value(s, "switchgear_settle_queue_depth", consumer="stuck") == 0
        assert value(s, "switchgear_settle_dropped_total", consumer="stuck") == 2  # counted once
    finally:
        stuck.release.set()
        gateway.stop()


def test_cache_lookups_and_savings(sim: SimulatorThread) -> None:
    config = metrics_config(sim)
    config["cache"] = {"exact": {"enabled": True}}
    gateway = GatewayThread(config).start()
    try:
        with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
            results = []
            for _ in range(3):  # stored by the first, answered from the cache twice
                raw = client.chat.completions.with_raw_response.create(model="m1", messages=MESSAGES)
                results.append(raw.headers["x-switchgear-cache"])
                gateway.wait_settled(len(results))  # stored (off the request path) before the next
                time.sleep(0.2)
            assert results == ["MISS", "HIT", "HIT"]
        s = wait_for(gateway.url, "switchgear_requests_total", 3)
        summary = httpx.get(gateway.url + "/metrics/summary", timeout=5).json()
    finally:
        gateway.stop()
    assert value(s, "switchgear_cache_lookups_total", model="m1", result="MISS") == 1
    assert value(s, "switchgear_cache_lookups_total", model="m1", result="HIT") == 2
    assert value(s, "switchgear_cache_savings_usd_total", model="m1") == pytest.approx(2 * 0.00002)
    assert value(s, "switchgear_cost_usd_total", model="m1") == pytest.approx(0.00002)  # hits are free
    assert summary["totals"]["cache"] == {"lookups": {"HIT": 2, "MISS": 1}, "saved_usd": 0.00004}


def test_deployment_health_and_breaker_openings(sim: SimulatorThread) -> None:
    """A deployment that refuses connections: its breaker opens after 5 failures in a row and the
    scrape says so (state, times opened); the healthy one stays closed."""
    gateway = GatewayThread(metrics_config(sim)).start()
    try:
        with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
            for _ in range(8):  # "ha": the down deployment first, then a fallback that answers
                client.chat.completions.create(model="ha", messages=[{"role": "user", "content": "hi"}])
        opened = "switchgear_circuit_breaker_opened_total"
        samples = wait_for(gateway.url, opened, 1, deployment="down/sim-small")
    finally:
        gateway.stop()
    assert value(samples, "switchgear_circuit_breaker_opened_total", deployment="down/sim-small") == 1
    assert value(samples, "switchgear_deployment_state", deployment="down/sim-small", state="open") == 1
    assert value(samples, "switchgear_deployment_state", deployment="down/sim-small", state="closed") == 0
    served = [d for d in ("flaky/sim-small", "sim2/sim-large") if value(
        samples, "switchgear_deployment_state", deployment=d, state="closed") == 1]  # fmt: skip
    assert served, "the deployment that answered is closed"
    assert value(samples, "switchgear_deployment_in_flight", deployment="down/sim-small") == 0
