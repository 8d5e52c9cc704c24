from __future__ import annotations

from typing import Any

import pytest

from switchgear.core.errors import UpstreamProtocolError
from switchgear.providers.openai.responses_answer import responses_answer


def answer(*output: dict[str, Any], status: str = "completed", **extra: Any) -> dict[str, Any]:
    usage = {"input_tokens": 5, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}}
    return {"id": "resp_1", "created_at": 9, "model": "m", "status": status, "output": list(output),
            "usage": usage, **extra}  # fmt: skip


TEXT = {"type": "message", "content": [{"type": "output_text", "text": "hi", "annotations": []}]}
CALL = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a":1}'}
THOUGHT = {"type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}], "encrypted_content": "x"}


def test_reads_text_calls_reasoning_and_usage() -> None:
    read = responses_answer(answer(THOUGHT, TEXT, CALL), "p")
    choice = read.choices[0]
    assert choice.message.text() == "hi"
    assert [(c.id, c.name, c.arguments) for c in choice.message.tool_calls] == [("c1", "f", '{"a":1}')]
    assert [(r.text, r.signature) for r in choice.message.reasoning] == [("hm", "x")]
    assert choice.finish_reason == "tool_calls"
    assert (read.usage.prompt_tokens, read.usage.completion_tokens, read.usage.reasoning_tokens) == (5, 7, 2)
    assert (read.id, read.model, read.created) == ("resp_1", "m", 9)


def test_incomplete_at_the_limit_is_length() -> None:
    read = responses_answer(
        answer(TEXT, status="incomplete", incomplete_details={"reason": "max_output_tokens"}), "p"
    )
    assert read.choices[0].finish_reason == "length"


@pytest.mark.parametrize(
    "raw",
    [
        answer({"type": "web_search_call", "id": "ws"}),
        answer(
            {"type": "message", "content": [{"type": "output_text", "text": "x", "annotations": [{"u": 1}]}]}
        ),
        answer({"type": "message", "content": [{"type": "refusal", "refusal": "no"}]}),
        answer(TEXT, status="failed"),
        answer({"type": "function_call", "name": "f"}),
        {"output": "nope"},
        [],
    ],
)
def test_anything_it_cannot_hold_is_refused(raw: Any) -> None:
    with pytest.raises(UpstreamProtocolError):
        responses_answer(raw, "p")
