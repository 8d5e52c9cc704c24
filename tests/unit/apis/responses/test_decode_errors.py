"""Every 400 of ResponsesCodec.decode: server-side state, built-in tools, malformed values.

Each case asserts the exact ``param`` and a piece of the message a user would read."""

from __future__ import annotations

from typing import Any

import pytest

from switchgear.apis.responses.codec import ResponsesCodec
from switchgear.apis.responses.decode import STATELESS
from switchgear.core.errors import InvalidRequest

CODEC = ResponsesCodec()


def user(*parts: Any) -> dict[str, Any]:
    return {"model": "m", "input": [{"role": "user", "content": list(parts)}]}


def item(entry: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "input": [{"role": "user", "content": "hi"}, entry]}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "input": "hi", **fields}


FN = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}

CASES: list[tuple[str, Any, str | None, str]] = [
    # server-side state
    ("previous_response_id", body(previous_response_id="resp_123"), "previous_response_id", STATELESS),
    ("conversation_id", body(conversation="conv_123"), "conversation", STATELESS),
    ("conversation_object", body(conversation={"id": "conv_123"}), "conversation", STATELESS),
    ("prompt_template", body(prompt={"id": "pmpt_1", "variables": {}}), "prompt", "stored prompt template"),
    ("item_reference", item({"type": "item_reference", "id": "msg_1"}), "input[1]", STATELESS),
    (
        "image_file_id",
        user({"type": "input_image", "file_id": "file-1", "detail": "auto"}),
        "input[0].content[0].file_id",
        "file stored at OpenAI",
    ),
    ("background", body(background=True), "background", "stateless"),
    # built-in tools
    ("web_search_tool", body(tools=[FN, {"type": "web_search"}]), "tools[1].type", "'web_search'"),
    (
        "file_search_tool",
        body(tools=[{"type": "file_search", "vector_store_ids": ["vs_1"]}]),
        "tools[0].type",
        "'file_search'",
    ),
    (
        "computer_use_tool",
        body(tools=[{"type": "computer_use_preview", "display_width": 1024}]),
        "tools[0].type",
        "'computer_use_preview'",
    ),
    (
        "code_interpreter_tool",
        body(tools=[{"type": "code_interpreter"}]),
        "tools[0].type",
        "function tools only",
    ),
    (
        "hosted_tool_choice",
        body(tools=[FN], tool_choice={"type": "web_search_preview"}),
        "tool_choice.type",
        "'web_search_preview'",
    ),
    (
        "hosted_call_item",
        item({"type": "web_search_call", "id": "ws_1", "status": "completed"}),
        "input[1].type",
        "'web_search_call'",
    ),
    (
        "computer_call_output",
        item({"type": "computer_call_output", "call_id": "c", "output": {}}),
        "input[1].type",
        "'computer_call_output'",
    ),
    # the request itself
    ("not_an_object", ["model", "m"], None, "JSON object"),
    ("missing_model", {"input": "hi"}, "model", "model"),
    ("empty_model", {"model": "", "input": "hi"}, "model", "non-empty string"),
    ("missing_input", {"model": "m"}, "input", "missing required parameter 'input'"),
    ("input_number", {"model": "m", "input": 3}, "input", "got an integer"),
    ("item_not_object", {"model": "m", "input": ["hi"]}, "input[0]", "must be an object"),
    (
        "instructions_list",
        body(instructions=[{"role": "system", "content": "x"}]),
        "instructions",
        "a string",
    ),
    # messages and parts
    ("role_tool", {"model": "m", "input": [{"role": "tool", "content": "x"}]}, "input[0].role", "got 'tool'"),
    (
        "content_number",
        {"model": "m", "input": [{"role": "user", "content": 1}]},
        "input[0].content",
        "string or an array",
    ),
    ("part_not_object", user("hi"), "input[0].content[0]", "must be an object"),
    (
        "audio_part",
        user({"type": "input_audio", "input_audio": {}}),
        "input[0].content[0].type",
        "'input_audio'",
    ),
    (
        "file_part",
        user({"type": "input_file", "file_data": "data:application/pdf;base64,AA=="}),
        "input[0].content[0]",
        "file inputs",
    ),
    ("text_not_string", user({"type": "input_text", "text": 5}), "input[0].content[0].text", "a string"),
    (
        "image_ftp",
        user({"type": "input_image", "image_url": "ftp://x/y.png"}),
        "input[0].content[0].image_url",
        "data URL or an http(s) URL",
    ),
    (
        "image_missing_url",
        user({"type": "input_image", "detail": "auto"}),
        "input[0].content[0].image_url",
        "data URL",
    ),
    (
        "image_not_base64",
        user({"type": "input_image", "image_url": "data:image/png,rawbytes"}),
        "input[0].content[0].image_url",
        "base64",
    ),
    (
        "image_detail",
        user({"type": "input_image", "image_url": "https://x/y.png", "detail": "ultra"}),
        "input[0].content[0].detail",
        "got 'ultra'",
    ),
    (
        "image_in_system",
        {
            "model": "m",
            "input": [
                {"role": "system", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}
            ],
        },
        "input[0].content[0]",
        "user messages only",
    ),
    (
        "refusal_from_user",
        user({"type": "refusal", "refusal": "no"}),
        "input[0].content[0].type",
        "'refusal'",
    ),
    # function calls and outputs
    (
        "call_bad_json",
        item({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{oops"}),
        "input[1].arguments",
        "not valid JSON",
    ),
    (
        "call_without_call_id",
        item({"type": "function_call", "name": "f", "arguments": "{}"}),
        "input[1].call_id",
        "got null",
    ),
    (
        "call_without_name",
        item({"type": "function_call", "call_id": "c", "arguments": "{}"}),
        "input[1].name",
        "got null",
    ),
    (
        "call_arguments_object",
        item({"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}),
        "input[1].arguments",
        "string of JSON",
    ),
    (
        "output_without_call_id",
        item({"type": "function_call_output", "output": "x"}),
        "input[1].call_id",
        "got null",
    ),
    (
        "output_number",
        item({"type": "function_call_output", "call_id": "c", "output": 4}),
        "input[1].output",
        "string or an array",
    ),
    (
        "output_image",
        item(
            {
                "type": "function_call_output",
                "call_id": "c",
                "output": [{"type": "input_image", "image_url": "https://x/y.png"}],
            }
        ),
        "input[1].output[0]",
        "text parts only",
    ),
    (
        "reasoning_bad_summary",
        item({"type": "reasoning", "id": "r", "summary": [{"type": "output_text", "text": "x"}]}),
        "input[1].summary[0]",
        "summary_text",
    ),
    (
        "reasoning_summary_object",
        item({"type": "reasoning", "id": "r", "summary": {"text": "x"}}),
        "input[1].summary",
        "an array",
    ),
    (
        "reasoning_encrypted_number",
        item({"type": "reasoning", "id": "r", "summary": [], "encrypted_content": 7}),
        "input[1].encrypted_content",
        "a string",
    ),
    # tools and settings
    ("tools_object", body(tools={"type": "function"}), "tools", "an array"),
    ("tool_without_name", body(tools=[{"type": "function", "parameters": {}}]), "tools[0].name", "non-empty"),
    (
        "tool_parameters_list",
        body(tools=[{"type": "function", "name": "f", "parameters": []}]),
        "tools[0].parameters",
        "JSON schema",
    ),
    (
        "tool_strict_string",
        body(tools=[{"type": "function", "name": "f", "strict": "yes"}]),
        "tools[0].strict",
        "a boolean",
    ),
    ("tool_choice_word", body(tool_choice="sometimes"), "tool_choice", "got 'sometimes'"),
    ("tool_choice_number", body(tool_choice=1), "tool_choice", "a string or an object"),
    (
        "tool_choice_no_name",
        body(tools=[FN], tool_choice={"type": "function"}),
        "tool_choice.name",
        "non-empty",
    ),
    (
        "allowed_tools_mode",
        body(tools=[FN], tool_choice={"type": "allowed_tools", "mode": "none", "tools": []}),
        "tool_choice.mode",
        "got 'none'",
    ),
    (
        "allowed_tools_hosted",
        body(
            tools=[FN],
            tool_choice={"type": "allowed_tools", "mode": "auto", "tools": [{"type": "file_search"}]},
        ),
        "tool_choice.tools[0]",
        "function tool",
    ),
    ("max_output_tokens_zero", body(max_output_tokens=0), "max_output_tokens", "at least 1"),
    ("max_output_tokens_string", body(max_output_tokens="100"), "max_output_tokens", "an integer"),
    ("max_output_tokens_float", body(max_output_tokens=10.5), "max_output_tokens", "got a number"),
    ("temperature_high", body(temperature=3), "temperature", "between 0 and 2"),
    ("temperature_string", body(temperature="hot"), "temperature", "a number"),
    ("temperature_bool", body(temperature=True), "temperature", "got a boolean"),
    ("top_p_high", body(top_p=1.5), "top_p", "between 0 and 1"),
    ("stream_string", body(stream="yes"), "stream", "a boolean"),
    ("parallel_string", body(parallel_tool_calls="true"), "parallel_tool_calls", "a boolean"),
    ("metadata_list", body(metadata=["a"]), "metadata", "an object"),
    ("user_number", body(user=42), "user", "a string"),
    ("safety_identifier_number", body(safety_identifier=42), "safety_identifier", "a string"),
    ("text_string", body(text="json"), "text", "an object"),
    ("text_format_xml", body(text={"format": {"type": "xml"}}), "text.format.type", "got 'xml'"),
    (
        "json_schema_no_name",
        body(text={"format": {"type": "json_schema", "schema": {}}}),
        "text.format.name",
        "non-empty",
    ),
    (
        "json_schema_no_schema",
        body(text={"format": {"type": "json_schema", "name": "s"}}),
        "text.format.schema",
        "JSON schema",
    ),
    ("reasoning_effort", body(reasoning={"effort": "extreme"}), "reasoning.effort", "got 'extreme'"),
    ("reasoning_summary", body(reasoning={"summary": "long"}), "reasoning.summary", "got 'long'"),
    ("reasoning_string", body(reasoning="high"), "reasoning", "an object"),
]


@pytest.mark.parametrize(("body_", "param", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_request(body_: Any, param: str | None, needle: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        CODEC.decode(body_, {})
    assert caught.value.param == param
    assert needle in caught.value.message
    assert caught.value.status == 400
    assert caught.value.type == "invalid_request_error"


def test_stateless_message_names_the_fix() -> None:
    with pytest.raises(InvalidRequest) as caught:
        CODEC.decode(body(previous_response_id="resp_1"), {})
    assert caught.value.message == (
        "'previous_response_id' refers to a previous response; switchgear's /v1/responses is stateless: "
        "send the whole conversation in `input`"
    )
