"""A canary provider key that an upstream echoes (in its error message and code) reaches none of
what observability puts out: the JSON log lines, the metrics, the summary, the exported spans."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import openai
import pytest

from switchgear.observability.logs import JSONFormatter
from switchgear.simulator.server import SimulatorThread
from tests.conftest import UPSTREAM_KEY
from tests.fakes.gateway import GatewayThread
from tests.fakes.otlp import OtlpReceiver
from tests.integration.test_metrics import metrics_config, wait_for
from tests.integration.test_secrets import quote

MESSAGE = quote(f"key {UPSTREAM_KEY} is rate limited")
ECHO = f"status=429;error_message={MESSAGE};error_code={quote(UPSTREAM_KEY)}"


def test_an_echoed_provider_key_appears_in_no_log_metric_or_span(
    sim: SimulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = OtlpReceiver().start()
    config: dict[str, Any] = metrics_config(
        sim, tracing={"enabled": True, "endpoint": receiver.url}, metrics={"labels": {"key": True}}
    )
    config["server"] = {"log_format": "json"}
    config["models"].append(
        {
            "name": "leaky",
            "deployments": [
                {"provider": "sim", "model": f"sim-small;{ECHO}"},
                {"provider": "sim2", "model": "sim-large", "weight": 0},
            ],
        }
    )
    config["models"].append(  # another provider: the 429 above cools down only that deployment
        {"name": "leaky-only", "deployments": [{"provider": "sim2", "model": f"sim-small;{ECHO}"}]}
    )
    gateway = GatewayThread(config).start()
    caplog.set_level(logging.INFO)
    try:
        with openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
            served = client.chat.completions.with_raw_response.create(
                model="leaky", messages=[{"role": "user", "content": "hi"}]
            )
            assert served.headers["x-switchgear-attempts"] == "2"  # the echoing attempt failed over
            with pytest.raises(openai.APIStatusError) as failed:  # the only deployment echoes it
                client.chat.completions.create(
                    model="leaky-only", messages=[{"role": "user", "content": "hi"}]
                )
            assert failed.value.status_code == 429 and UPSTREAM_KEY not in str(failed.value.body)
        gateway.wait_settled(2)
        wait_for(gateway.url, "switchgear_requests_total", 2)
        metrics = httpx.get(gateway.url + "/metrics", timeout=5).text
        summary = httpx.get(gateway.url + "/metrics/summary", timeout=5).text
    finally:
        gateway.stop()
        receiver.stop()
    assert "switchgear_upstream_attempts_total" in metrics and UPSTREAM_KEY not in metrics
    assert UPSTREAM_KEY not in summary
    assert len(receiver.spans) == 5, [
        (s.name[:30], s.kind, s.attributes.get("error.type")) for s in receiver.spans
    ]
    for span in receiver.spans:
        assert UPSTREAM_KEY not in repr(span), span
    errors = [s for s in receiver.spans if s.attributes.get("error.type")]
    assert errors and all(s.status_message for s in errors)
    lines = [JSONFormatter().format(record) for record in caplog.records]
    access = [line for line in lines if '"logger":"switchgear.access"' in line]
    assert len(access) == 2
    for line in lines:
        assert UPSTREAM_KEY not in line, line
