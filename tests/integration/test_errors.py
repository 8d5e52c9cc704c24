"""Bad input and upstream faults: clear OpenAI-shaped errors, the right status, nothing hangs."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "hello there"}]


def post(
    gateway: GatewayThread, body: bytes | dict[str, Any], path: str = "/v1/chat/completions", **headers: str
) -> httpx.Response:
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return httpx.post(gateway.url + path, content=content, headers=headers, timeout=10)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body["error"]) >= {"message", "type", "param", "code"}, body
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("body", "status", "param", "needle"),
    [
        (b"{not json", 400, None, "not valid JSON"),
        (b"[1, 2]", 400, None, "JSON object"),
        ({"messages": MESSAGES}, 400, "model", "model"),
        ({"model": "fast"}, 400, "messages", "messages"),
        ({"model": "fast", "messages": "hi"}, 400, "messages", "array"),
        ({"model": "fast", "messages": [{"role": "robot", "content": "x"}]}, 400, "messages[0].role", "role"),
        ({"model": "fast", "messages": MESSAGES, "temperature": "hot"}, 400, "temperature", "number"),
        ({"model": "fast", "messages": MESSAGES, "stream": "yes"}, 400, "stream", "boolean"),
        ({"model": "fast", "messages": MESSAGES, "n": 0}, 400, "n", "between"),
        ({"model": "fast", "messages": MESSAGES, "max_tokens": True}, 400, "max_tokens", "integer"),
        (
            {"model": "fast", "messages": MESSAGES, "api_base": "http://169.254.169.254"},
            400,
            "api_base",
            "configuration",
        ),
        ({"model": "nope", "messages": MESSAGES}, 404, "model", "GET /v1/models"),
        ({"model": "nosuchprovider/x", "messages": MESSAGES}, 404, "model", "does not exist"),
    ],
)
def test_client_mistakes_get_a_clear_4xx_and_no_upstream_call(
    gateway: GatewayThread, sim: SimulatorThread, body: Any, status: int, param: str | None, needle: str
) -> None:
    sim.clear()
    response = post(gateway, body)
    assert response.status_code == status
    error = error_of(response)
    assert error["param"] == param
    assert needle in error["message"]
    assert sim.requests == []


def test_embeddings_and_completions_checks(gateway: GatewayThread) -> None:
    assert error_of(post(gateway, {"model": "embed"}, "/v1/embeddings"))["param"] == "input"
    assert error_of(post(gateway, {"model": "fast"}, "/v1/completions"))["param"] == "prompt"


def test_oversized_body_is_refused_before_reading(make_gateway: Any, sim: SimulatorThread) -> None:
    gateway = make_gateway(max_body_size="2KB")
    sim.clear()
    big = {"model": "fast", "messages": [{"role": "user", "content": "x" * 5000}]}
    response = post(gateway, big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"
    assert sim.requests == []


def test_unknown_route_and_wrong_method(gateway: GatewayThread) -> None:
    response = httpx.get(gateway.url + "/v1/nothing-here")
    assert response.status_code == 404 and error_of(response)["code"] == "route_not_found"
    response = httpx.get(gateway.url + "/v1/chat/completions")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_wrong_method_on_one_model_is_405(gateway: GatewayThread) -> None:
    response = httpx.post(gateway.url + "/v1/models/fast")
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert error_of(response)["code"] == "method_not_allowed"


def test_upstream_rate_limit_is_passed_on_with_retry_after(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="sim/sim-small;status=429;retry_after=7", messages=MESSAGES)
    error = caught.value
    assert error.response.headers["retry-after"] == "7"
    assert "'sim'" in error.message
    assert error.body["metadata"]["provider"] == "sim"  # type: ignore[index]


def test_upstream_bad_request_message_is_passed_on(client: openai.OpenAI) -> None:
    model = (
        "sim/sim-small;status=400;error_message=maximum context length exceeded;"
        "error_code=context_length_exceeded"
    )
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=model, messages=MESSAGES)
    assert "maximum context length exceeded" in caught.value.message
    assert caught.value.code == "context_length_exceeded"


def test_upstream_server_error_is_masked_as_502(client: openai.OpenAI) -> None:
    model = "sim/sim-small;status=500;error_message=internal stack trace at db.host.internal"
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=model, messages=MESSAGES)
    assert caught.value.status_code == 502
    assert "db.host.internal" not in caught.value.message
    assert "HTTP 500" in caught.value.message


@pytest.mark.parametrize(
    ("model", "status", "needle"),
    [
        ("down/m", 502, "cannot connect"),
        ("sim/sim-small;latency_ms=5000", 504, "timed out"),
        ("sim/sim-small;malformed_after=0", 502, "not JSON"),
        ("sim/sim-small;disconnect_after=0", 502, "closed the connection"),
        ("sim/sim-small;status=502;error_body=<html>bad gateway</html>", 502, "HTTP 502"),
    ],
)
def test_unreachable_slow_or_garbage_upstreams(
    gateway: GatewayThread, model: str, status: int, needle: str
) -> None:
    started = time.monotonic()
    response = post(gateway, {"model": model, "messages": MESSAGES})
    assert response.status_code == status, response.text
    assert needle in error_of(response)["message"]
    assert time.monotonic() - started < 4.5  # first_byte is 3 s in the test configuration


def test_failover_to_the_next_deployment(client: openai.OpenAI, sim: SimulatorThread) -> None:
    raw = client.chat.completions.with_raw_response.create(model="ha", messages=MESSAGES)
    assert raw.headers["x-switchgear-provider"] == "sim2"
    assert raw.headers["x-switchgear-attempts"] == "3"  # down (refused) -> flaky (503) -> sim2
    assert raw.parse().choices[0].message.content


def test_every_deployment_failing_reports_all_attempts(gateway: GatewayThread) -> None:
    response = post(gateway, {"model": "all-down", "messages": MESSAGES})
    assert response.status_code == 503
    error = error_of(response)
    assert error["metadata"]["previous_errors"][0]["provider"] == "down"
    assert response.headers["retry-after"] == "1"


def test_fallback_models_from_the_request(client: openai.OpenAI, sim: SimulatorThread) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="down/x", messages=MESSAGES, extra_body={"models": ["fast"]}
    )
    assert raw.headers["x-switchgear-provider"] == "sim"
    assert "models" not in sim.last().json  # the gateway's own control is not forwarded


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("sim/sim-small;malformed_after=3;gap_ms=30", "malformed"),
        ("sim/sim-small;disconnect_after=3;gap_ms=30", "closed the connection"),
        ("sim/sim-small;stall_after=3", "timed out between stream chunks"),
    ],
)
def test_mid_stream_faults_end_with_an_in_band_error(client: openai.OpenAI, model: str, needle: str) -> None:
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(model=model, messages=MESSAGES, stream=True):
            received.append(chunk)
    assert received  # the first chunks reached the client before the fault
    assert needle in str(caught.value.message) or needle in str(caught.value.body)


def test_stream_that_fails_before_its_first_event_fails_over(
    client: openai.OpenAI, sim: SimulatorThread
) -> None:
    sim.clear()
    stream = client.chat.completions.create(
        model="sim/sim-small;disconnect_after=0",
        messages=MESSAGES,
        stream=True,
        extra_body={"models": ["fast"]},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("Hello!")
    assert len(sim.requests) == 2
