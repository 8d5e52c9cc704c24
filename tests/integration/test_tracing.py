"""OpenTelemetry traces as a tracing backend receives them: the gateway exports over OTLP/HTTP to a
receiver on a real socket, which decodes the protobuf; the spans' attributes, parents and times
are checked, and the sampling decision follows the client's ``traceparent``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from switchgear.observability.trace_context import parse_traceparent
from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread
from tests.fakes.otlp import OtlpReceiver, ReceivedSpan
from tests.integration.test_metrics import SCRIPTED, metrics_config

SERVER, CLIENT = 2, 3  # the protobuf's SpanKind values
ERROR = 2
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
MESSAGES: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture()
def receiver() -> Iterator[OtlpReceiver]:
    collector = OtlpReceiver().start()
    yield collector
    collector.stop()


def traced_gateway(sim: SimulatorThread, receiver: OtlpReceiver, ratio: float) -> GatewayThread:
    tracing = {
        "enabled": True,
        "endpoint": receiver.url,
        "sample_ratio": ratio,
        "service_name": "gw-under-test",
        "headers": {"x-backend-key": "backend-secret"},
    }
    return GatewayThread(metrics_config(sim, tracing=tracing)).start()


def request(url: str, model: str, traceparent: str | None = None, stream: bool = False) -> str:
    headers = {"traceparent": traceparent} if traceparent else {}
    with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=10) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=MESSAGES, extra_headers=headers, stream=stream
        )
        if stream:
            list(raw.parse())
        return raw.headers["x-request-id"]


def by_request(spans: list[ReceivedSpan], request_id: str) -> tuple[ReceivedSpan, list[ReceivedSpan]]:
    root = next(s for s in spans if s.attributes.get("switchgear.request_id") == request_id)
    children = sorted((s for s in spans if s.parent_span_id == root.span_id), key=lambda s: s.start_ns)
    return root, children


def test_a_sampled_traceparent_is_continued_and_attempts_are_its_children(
    sim: SimulatorThread, receiver: OtlpReceiver
) -> None:
    gateway = traced_gateway(sim, receiver, ratio=0.0)  # only what the client's trace context samples
    sim.clear()
    try:
        sampled = request(gateway.url, "m1", f"00-{TRACE}-{PARENT}-01")
        failover = request(gateway.url, "ha", f"00-{'a' * 32}-{'b' * 16}-01")
        request(gateway.url, "m1", f"00-{'c' * 32}-{'d' * 16}-00")  # the client says: not sampled
        request(gateway.url, "m1")  # no trace context, ratio 0
        request(gateway.url, "m1", "garbage")  # invalid: as if absent
        client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="k", max_retries=0)
        with client, pytest.raises(openai.BadRequestError):  # refused before the body was understood
            client.chat.completions.create(
                model="m1",
                messages=[{"role": "nobody"}],  # type: ignore[list-item]
                extra_headers={"traceparent": f"00-{'e' * 32}-{'f' * 16}-01"},
            )
        gateway.wait_settled(6)
    finally:
        gateway.stop()  # the tracing stage flushes its exporter on shutdown
    upstream_contexts = [r.headers["traceparent"] for r in sim.requests if "traceparent" in r.headers]
    spans = receiver.spans
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}
    assert receiver.headers[0]["x-backend-key"] == "backend-secret"
    assert {s.trace_id for s in spans} == {TRACE, "a" * 32, "e" * 32}  # nothing of the unsampled ones
    refused = next(s for s in spans if s.trace_id == "e" * 32)
    assert refused.parent_span_id == "f" * 16 and refused.status_code == ERROR
    assert refused.attributes["http.response.status_code"] == 400

    root, attempts = by_request(spans, sampled)
    assert root.trace_id == TRACE and root.parent_span_id == PARENT and root.kind == SERVER
    assert root.name == "chat m1"
    assert root.resource["service.name"] == "gw-under-test"
    a = root.attributes
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.system"] == "openai"
    assert a["gen_ai.request.model"] == "m1" and a["gen_ai.response.model"] == SCRIPTED
    assert a["gen_ai.usage.input_tokens"] == 10 and a["gen_ai.usage.output_tokens"] == 5
    assert a["http.response.status_code"] == 200 and a["switchgear.attempts"] == 1
    assert a["switchgear.cost_usd"] == pytest.approx(0.00002)
    assert [s.name for s in attempts] == [f"chat {SCRIPTED}"]
    attempt = attempts[0]
    assert attempt.kind == CLIENT and attempt.trace_id == TRACE
    assert attempt.attributes["switchgear.deployment"] == f"sim/{SCRIPTED}"
    assert attempt.attributes["http.response.status_code"] == 200
    assert root.start_ns <= attempt.start_ns < attempt.end_ns <= root.end_ns
    # the provider was sent the attempt span's context: its own spans would join the trace there
    assert f"00-{TRACE}-{attempt.span_id}-01" in upstream_contexts

    root, attempts = by_request(spans, failover)
    assert root.parent_span_id == "b" * 16 and root.status_code != ERROR
    assert [s.attributes["switchgear.deployment"] for s in attempts] == [
        "down/sim-small",
        "flaky/sim-small",
        "sim2/sim-large",
    ]
    assert [s.attributes.get("error.type") for s in attempts] == ["upstream_unreachable", "overloaded", None]
    assert [s.status_code == ERROR for s in attempts] == [True, True, False]
    assert attempts[1].attributes["http.response.status_code"] == 503
    assert "http.response.status_code" not in attempts[0].attributes  # no HTTP answer at all
    assert attempts[0].end_ns <= attempts[1].start_ns and attempts[1].end_ns <= attempts[2].start_ns
    for attempt in attempts[1:]:  # the first one never reached anybody
        assert f"00-{'a' * 32}-{attempt.span_id}-01" in upstream_contexts
    assert len(upstream_contexts) == 3  # m1 once, flaky and sim2: nothing for untraced requests


def test_without_a_traceparent_the_ratio_decides_and_failures_are_errors(
    sim: SimulatorThread, receiver: OtlpReceiver
) -> None:
    gateway = traced_gateway(sim, receiver, ratio=1.0)
    sim.clear()
    try:
        streamed = request(gateway.url, "m1", stream=True)
        with pytest.raises(openai.APIStatusError):
            request(gateway.url, "all-down")
        gateway.wait_settled(2)
    finally:
        gateway.stop()
    spans = receiver.spans
    roots = [s for s in spans if s.kind == SERVER]
    assert len(roots) == 2 and all(s.parent_span_id == "" for s in roots)
    root, attempts = by_request(spans, streamed)
    sent = [r.headers["traceparent"] for r in sim.requests if "traceparent" in r.headers]
    assert f"00-{root.trace_id}-{attempts[0].span_id}-01" in sent  # a new trace, continued upstream
    assert root.attributes["switchgear.stream"] is True
    assert root.attributes["switchgear.time_to_first_token_ms"] > 0
    assert root.attributes["gen_ai.usage.output_tokens"] == 5 and len(attempts) == 1
    failed = next(s for s in roots if s.attributes["gen_ai.request.model"] == "all-down")
    assert failed.status_code == ERROR and failed.attributes["error.type"] == "overloaded"
    assert failed.attributes["http.response.status_code"] == 503
    assert "gen_ai.response.model" not in failed.attributes


def test_traceparent_parsing() -> None:
    assert parse_traceparent(f"00-{TRACE}-{PARENT}-01") == (int(TRACE, 16), int(PARENT, 16), 1)
    assert parse_traceparent(f"00-{TRACE.upper()}-{PARENT}-00") == (int(TRACE, 16), int(PARENT, 16), 0)
    assert parse_traceparent(f"01-{TRACE}-{PARENT}-01-future") is not None  # a later version may add fields
    for bad in (
        None,
        "",
        "garbage",
        f"00-{'0' * 32}-{PARENT}-01",  # an all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{PARENT}-01",  # version ff is invalid
        f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE[:-1]}-{PARENT}-01",
    ):
        assert parse_traceparent(bad) is None, bad
