"""The simulated OpenAI Responses API, driven by the official ``openai`` SDK over a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter

from switchgear.simulator.server import SimulatorThread
from switchgear.simulator.text import thought_text

QUESTION = "What is the capital of France?"
ECHO = "Hello! You said: What is the capital of France?"
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city"],
    },
}
WEATHER_ARGS = {"city": "sample city", "unit": "celsius", "days": 1}
TIME: dict[str, Any] = {"type": "function", "name": "get_time", "parameters": {"type": "object"}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}
EVENTS = TypeAdapter(ResponseStreamEvent)


@pytest.fixture(scope="module")
def responses_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as simulator:
        yield simulator


@pytest.fixture
def client(responses_sim: SimulatorThread) -> Iterator[openai.OpenAI]:
    responses_sim.clear()
    with openai.OpenAI(base_url=responses_sim.base_url + "/v1", api_key="sk-test", max_retries=0) as sdk:
        yield sdk


def create_raw(client: openai.OpenAI, **params: Any) -> tuple[Response, dict[str, Any]]:
    """A non-streamed response, strictly validated from the raw JSON, and that JSON."""
    raw = client.responses.with_raw_response.create(**params)
    document = json.loads(raw.content)
    return Response.model_validate(document), document


def stream_raw(client: openai.OpenAI, **params: Any) -> list[dict[str, Any]]:
    """The data of every SSE event of a streamed response, each strictly validated."""
    events: list[dict[str, Any]] = []
    name = None
    with client.responses.with_streaming_response.create(stream=True, **params) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                assert data["type"] == name
                EVENTS.validate_python(data)
                events.append(data)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A response without what differs between two answers to the same request (ids, clocks)."""
    stripped = {k: v for k, v in document.items() if k not in ("id", "created_at", "completed_at")}
    stripped["output"] = [{k: v for k, v in i.items() if k != "id"} for i in document["output"]]
    return stripped


def calls_of(response: Response) -> list[tuple[str, str, str]]:
    return [(i.call_id, i.name, i.arguments) for i in response.output if i.type == "function_call"]


# --- non-streamed answers ----------------------------------------------------------------------


def test_text_response_is_a_valid_response_object(client: openai.OpenAI) -> None:
    response, document = create_raw(client, model="sim-small", input=QUESTION)
    assert response.output_text == ECHO
    assert response.id.startswith("resp_") and len(response.id) == 53
    assert (response.object, response.status, response.model) == ("response", "completed", "sim-small")
    assert response.completed_at is not None and response.error is None
    assert response.incomplete_details is None
    message = document["output"][0]
    assert message["id"].startswith("msg_") and len(document["output"]) == 1
    assert {k: v for k, v in message.items() if k != "id"} == {
        "type": "message",
        "status": "completed",
        "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": ECHO}],
        "role": "assistant",
    }
    assert document["usage"] == {
        "input_tokens": 9,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 18,
    }
    echoed = {k: document[k] for k in ("tools", "tool_choice", "parallel_tool_calls", "text", "reasoning")}
    assert echoed == {
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "reasoning": {"effort": None, "summary": None},
    }
    assert (document["temperature"], document["top_p"], document["store"]) == (1.0, 1.0, True)


def test_instructions_input_items_and_echoed_settings(client: openai.OpenAI) -> None:
    response, document = create_raw(
        client,
        model="sim-large",
        instructions="Answer briefly.",
        input=[
            {"role": "developer", "content": "Be polite."},
            {"role": "user", "content": "An old question"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Old answer"}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": QUESTION},
                    {
                        "type": "input_image",
                        "image_url": "data:image/png;base64,iVBORw0KGgo=",
                        "detail": "low",
                    },
                ],
            },
        ],
        temperature=0.2,
        top_p=0.5,
        store=False,
        previous_response_id="resp_previous",
        metadata={"team": "sim"},
    )
    assert response.output_text == ECHO
    assert response.instructions == "Answer briefly."
    # (2 + 3) instructions + (2 + 3) + (3 + 3) + (2 + 3) + (6 + 3) items
    assert response.usage is not None and response.usage.input_tokens == 30
    echoed = {k: document[k] for k in ("temperature", "top_p", "store", "previous_response_id", "metadata")}
    assert echoed == {
        "temperature": 0.2,
        "top_p": 0.5,
        "store": False,
        "previous_response_id": "resp_previous",
        "metadata": {"team": "sim"},
    }


def test_function_tool_round_trip(client: openai.OpenAI, responses_sim: SimulatorThread) -> None:
    first, document = create_raw(
        client, model="sim-small", input=QUESTION, tools=[WEATHER], tool_choice="required"
    )
    assert first.status == "completed" and first.output_text == ""
    [call] = document["output"]
    assert call["id"].startswith("fc_") and call["call_id"].startswith("call_")
    assert (call["type"], call["status"], call["name"]) == ("function_call", "completed", "get_weather")
    assert json.loads(call["arguments"]) == WEATHER_ARGS
    assert document["tools"] == [WEATHER | {"strict": True}]
    assert document["usage"]["output_tokens"] == len(f"get_weather {call['arguments']}".split())
    history: list[Any] = [
        {"role": "user", "content": QUESTION},
        call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": '{"temp": 21}'},
    ]
    second, _ = create_raw(client, model="sim-small", input=history, tools=[WEATHER])
    assert second.output_text == ECHO and calls_of(second) == []
    assert responses_sim.last().json["input"][2]["call_id"] == call["call_id"]
    again, _ = create_raw(client, model="sim-small", input=QUESTION, tools=[WEATHER], tool_choice="required")
    assert calls_of(again) == calls_of(first)


def test_named_parallel_and_scripted_tool_calls(client: openai.OpenAI) -> None:
    named, _ = create_raw(
        client,
        model="sim-small",
        input=QUESTION,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "name": "get_time"},
    )
    assert [(name, args) for _, name, args in calls_of(named)] == [("get_time", "{}")]
    both, _ = create_raw(
        client, model="sim-small;tool_calls=get_weather,get_time", input=QUESTION, tools=[WEATHER, TIME]
    )
    assert [name for _, name, _ in calls_of(both)] == ["get_weather", "get_time"]
    assert len({call_id for call_id, _, _ in calls_of(both)}) == 2
    single, _ = create_raw(
        client,
        model="sim-small;tool_calls=get_weather,get_time",
        input=QUESTION,
        tools=[WEATHER, TIME],
        parallel_tool_calls=False,
    )
    assert [name for _, name, _ in calls_of(single)] == ["get_weather"]
    none, _ = create_raw(client, model="sim-small", input=QUESTION, tools=[WEATHER], tool_choice="none")
    assert none.output_text == ECHO


class City(BaseModel):
    city: str
    population: int


def test_structured_output_via_text_format(client: openai.OpenAI) -> None:
    fmt = {"type": "json_schema", "name": "city", "schema": SCHEMA, "strict": True}
    response, document = create_raw(client, model="sim-small", input=QUESTION, text={"format": fmt})
    assert json.loads(response.output_text) == {"city": "sample city", "population": 1}
    assert document["text"] == {"format": fmt | {"description": None}, "verbosity": "medium"}
    json_mode, _ = create_raw(
        client,
        model="sim-small",
        input=QUESTION,
        text={"format": {"type": "json_object"}, "verbosity": "low"},
    )
    assert json.loads(json_mode.output_text) == {"reply": ECHO}
    assert json_mode.text is not None and json_mode.text.verbosity == "low"
    parsed = client.responses.parse(model="sim-small", input=QUESTION, text_format=City)
    assert parsed.output_parsed == City(city="sample city", population=1)


def test_reasoning_item_and_reasoning_tokens(client: openai.OpenAI) -> None:
    thought = thought_text(QUESTION)
    response, document = create_raw(
        client,
        model="sim-small",
        input=QUESTION,
        reasoning={"effort": "high", "summary": "auto"},
        include=["reasoning.encrypted_content"],
    )
    reasoning, message = document["output"]
    assert reasoning["id"].startswith("rs_") and reasoning["type"] == "reasoning"
    assert reasoning["summary"] == [{"type": "summary_text", "text": thought}]
    assert isinstance(reasoning["encrypted_content"], str) and reasoning["encrypted_content"]
    assert message["content"][0]["text"] == ECHO
    reasoning_tokens = 4 * len(thought.split())
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == reasoning_tokens
    assert response.usage.output_tokens == 9 + reasoning_tokens
    assert document["reasoning"] == {"effort": "high", "summary": "auto"}
    quiet, document = create_raw(client, model="sim-small", input=QUESTION, reasoning={"effort": "low"})
    assert document["output"][0]["summary"] == [] and "encrypted_content" not in document["output"][0]
    assert quiet.output_text == ECHO
    off, _ = create_raw(client, model="sim-small", input=QUESTION, reasoning={"effort": "none"})
    assert [item.type for item in off.output] == ["message"]


def test_max_output_tokens_gives_incomplete(client: openai.OpenAI) -> None:
    response, document = create_raw(client, model="sim-small", input=QUESTION, max_output_tokens=4)
    assert response.status == "incomplete"
    assert document["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response.output_text == "Hello! You said: What"
    assert document["output"][0]["status"] == "incomplete" and document["completed_at"] is None
    assert response.usage is not None and response.usage.output_tokens == 4
    assert response.max_output_tokens == 4
    thought_tokens = len(thought_text(QUESTION).split())
    starved, document = create_raw(
        client,
        model="sim-small",
        input=QUESTION,
        reasoning={"effort": "low"},
        max_output_tokens=thought_tokens,
    )
    assert starved.status == "incomplete" and [i["type"] for i in document["output"]] == ["reasoning"]
    assert document["usage"]["output_tokens_details"]["reasoning_tokens"] == thought_tokens
    scripted, _ = create_raw(client, model="sim-small;finish_reason=content_filter", input=QUESTION)
    assert scripted.incomplete_details is not None and scripted.incomplete_details.reason == "content_filter"


def test_script_overrides_usage_content_and_logprobs(client: openai.OpenAI) -> None:
    response, document = create_raw(
        client,
        model="sim-small;content=Paris%3B%20France;prompt_tokens=100;completion_tokens=7;cache_read=40",
        input=QUESTION,
        include=["message.output_text.logprobs"],
        top_logprobs=2,
    )
    assert response.output_text == "Paris; France"
    assert document["usage"] == {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 0},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 107,
    }
    logprobs = document["output"][0]["content"][0]["logprobs"]
    assert [entry["token"] for entry in logprobs] == ["Paris;", " France"]
    assert [len(entry["top_logprobs"]) for entry in logprobs] == [2, 2]
    bare, document = create_raw(client, model="sim-small;usage=none", input=QUESTION)
    assert bare.usage is None and document["usage"] is None


# --- streaming ---------------------------------------------------------------------------------


def test_stream_event_sequence_and_equality_with_json(client: openai.OpenAI) -> None:
    events = stream_raw(client, model="sim-small;chunks=3", input=QUESTION)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = events[0]["response"]
    assert (created["status"], created["output"], created["usage"]) == ("in_progress", [], None)
    added = events[2]["item"]
    assert (added["status"], added["content"]) == ("in_progress", [])
    assert events[3]["part"] == {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == ECHO and len(deltas) == 3
    assert all(e["item_id"] == added["id"] for e in events[3:-2])
    assert events[-4]["text"] == ECHO
    final = events[-1]["response"]
    assert final["id"] == created["id"] and final["output"] == [events[-2]["item"]]
    _, document = create_raw(client, model="sim-small;chunks=3", input=QUESTION)
    assert comparable(final) == comparable(document)


def test_stream_of_reasoning_and_function_calls(client: openai.OpenAI) -> None:
    params: dict[str, Any] = {
        "model": "sim-small;tool_calls=get_weather,get_time",
        "input": QUESTION,
        "tools": [WEATHER, TIME],
        "reasoning": {"effort": "medium", "summary": "detailed"},
    }
    events = stream_raw(client, **params)
    kinds = [e["type"] for e in events]
    assert kinds[2:5] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
    ]
    summary = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta")
    assert summary == thought_text(QUESTION)
    opened = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert [(i["type"], i.get("arguments")) for i in opened] == [
        ("reasoning", None),
        ("function_call", ""),
        ("function_call", ""),
    ]
    for index, item in enumerate(opened[1:], start=1):
        pieces = [
            e["delta"]
            for e in events
            if e["type"] == "response.function_call_arguments.delta" and e["output_index"] == index
        ]
        done = next(
            e
            for e in events
            if e["type"] == "response.function_call_arguments.done" and e["output_index"] == index
        )
        assert "".join(pieces) == done["arguments"] and all(
            e["item_id"] == item["id"] for e in events if e.get("output_index") == index and "item_id" in e
        )
    assert kinds[-1] == "response.completed"
    response, document = create_raw(client, **params)
    assert comparable(events[-1]["response"]) == comparable(document)
    assert [name for _, name, _ in calls_of(response)] == ["get_weather", "get_time"]


def test_sdk_stream_helpers_match_the_non_streamed_response(client: openai.OpenAI) -> None:
    params: dict[str, Any] = {
        "model": "sim-small;chunks=4",
        "input": QUESTION,
        "reasoning": {"effort": "low"},
    }
    expected, _ = create_raw(client, **params)
    texts = [
        e.delta
        for e in client.responses.create(stream=True, **params)
        if e.type == "response.output_text.delta"
    ]
    assert "".join(texts) == ECHO and len(texts) == 4
    with client.responses.stream(**params) as stream:
        final = stream.get_final_response()
    assert final.output_text == expected.output_text == ECHO
    assert final.usage == expected.usage
    tool_params: dict[str, Any] = {
        "model": "sim-small",
        "input": QUESTION,
        "tools": [WEATHER],
        "tool_choice": "required",
    }
    expected_calls, _ = create_raw(client, **tool_params)
    with client.responses.stream(**tool_params) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    assert calls_of(final) == calls_of(expected_calls)
    assert "".join(deltas) == calls_of(final)[0][2]
    assert final.usage == expected_calls.usage and final.status == "completed"


def test_obfuscation_padding_and_malformed_events(client: openai.OpenAI) -> None:
    padded = stream_raw(client, model="sim-small", input=QUESTION)
    deltas = [e for e in padded if e["type"] == "response.output_text.delta"]
    assert all(len(e["delta"]) + len(e["obfuscation"]) in (16, 32) for e in deltas)
    plain = stream_raw(
        client, model="sim-small", input=QUESTION, stream_options={"include_obfuscation": False}
    )
    assert all("obfuscation" not in e for e in plain)
    with client.responses.with_streaming_response.create(
        model="sim-small;malformed_after=2", input=QUESTION, stream=True
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[4] == "data: {not json"
    assert lines[:4] == ["event: response.created", lines[1], "event: response.in_progress", lines[3]]
    assert lines[-2] == "event: response.completed"


def test_streamed_incomplete_answer(client: openai.OpenAI) -> None:
    events = stream_raw(client, model="sim-small", input=QUESTION, max_output_tokens=3)
    assert events[-1]["type"] == "response.incomplete"
    final = events[-1]["response"]
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["content"][0]["text"] == "Hello! You said:"


# --- errors and misbehaviour -------------------------------------------------------------------


def test_scripted_rate_limit_before_json_and_stream(client: openai.OpenAI) -> None:
    for stream in (False, True):
        with pytest.raises(openai.RateLimitError) as caught:
            client.responses.create(model="sim-small;status=429;retry_after=2", input=QUESTION, stream=stream)
        assert caught.value.status_code == 429 and caught.value.code == "rate_limit_exceeded"
        assert caught.value.response.headers["retry-after"] == "2"


def test_error_after_fails_the_stream_in_band(client: openai.OpenAI) -> None:
    events = stream_raw(client, model="sim-small;status=500;error_after=3", input=QUESTION)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.failed",
    ]
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="sim-small;status=500;error_after=3", input=QUESTION)
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {
        "code": "server_error",
        "message": "The server had an error while processing your request.",
    }


def test_stall_and_disconnect_mid_stream(client: openai.OpenAI, responses_sim: SimulatorThread) -> None:
    received: list[str] = []
    with pytest.raises(openai.APITimeoutError):
        stream = client.with_options(timeout=0.3).responses.create(
            model="sim-small;stall_after=3", input=QUESTION, stream=True
        )
        for event in stream:
            received.append(event.type)
    assert received == ["response.created", "response.in_progress", "response.output_item.added"]
    record = responses_sim.wait_for(lambda r: r.cancelled_at is not None)
    assert record.outcome == "cancelled" and not record.completed
    received.clear()
    with pytest.raises(openai.APIConnectionError):
        for event in client.responses.create(
            model="sim-small;disconnect_after=4", input=QUESTION, stream=True
        ):
            received.append(event.type)
    assert len(received) == 4 and "response.completed" not in received
    assert responses_sim.last().outcome == "disconnected"


def test_validation_errors_name_the_parameter(client: openai.OpenAI) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {"tools": [{"type": "function", "function": {"name": "get_weather"}}]},
            "tools[0].name",
            "Missing required parameter: 'tools[0].name'.",
        ),
        (
            {"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "hi"}]}]},
            "input[0].content[0]",
            "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]},
            "input",
            "No tool call found for function call output with call_id call_x.",
        ),
        (
            {"extra_body": {"max_tokens": 5}},
            "max_tokens",
            "Unsupported parameter: 'max_tokens'. In the Responses API, this parameter has moved to "
            "'max_output_tokens'.",
        ),
        (
            {"text": {"format": {"type": "json_schema", "schema": SCHEMA}}},
            "text.format.name",
            "Missing required parameter: 'text.format.name'.",
        ),
        (
            {"reasoning": {"effort": "huge"}},
            "reasoning.effort",
            "Invalid value: 'huge'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', "
            "'xhigh', and 'max'.",
        ),
        ({"model": "sim-small;finish_reason=weird"}, "finish_reason", ""),
    ]
    for extra, param, message in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(**({"model": "sim-small", "input": QUESTION} | extra))
        error = caught.value.body
        assert isinstance(error, dict)
        assert error["param"] == param
        assert error["type"] == "invalid_request_error"
        if message:
            assert error["message"] == message
    stateful, _ = create_raw(
        client,
        model="sim-small",
        input=[{"type": "function_call_output", "call_id": "call_x", "output": "1"}],
        previous_response_id="resp_earlier",
    )
    assert stateful.output_text == "Hello! How can I help you today?"


def test_root_path_and_recording(responses_sim: SimulatorThread) -> None:
    responses_sim.clear()
    with openai.OpenAI(base_url=responses_sim.base_url, api_key="sk-root", max_retries=0) as root:
        response = root.responses.create(
            model="sim-small;latency_ms=1",
            input=QUESTION,
            store=False,
            extra_headers={"x-sim-echo-headers": "1"},
        )
    assert response.output_text == ECHO
    assert response.model_extra is not None
    assert response.model_extra["sim_headers"]["authorization"] == "Bearer sk-root"
    record = responses_sim.last()
    assert (record.path, record.status, record.outcome) == ("/responses", 200, "completed")
    assert record.json == {"model": "sim-small;latency_ms=1", "input": QUESTION, "store": False}
    assert record.headers["authorization"] == "Bearer sk-root"
