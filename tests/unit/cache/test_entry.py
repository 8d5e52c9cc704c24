from __future__ import annotations

import zlib

import orjson

from switchgear.cache.entry import Entry, dump_entry, load_entry
from switchgear.core.types import ChatResponse, Choice, Message, ReasoningPart, TextPart, ToolCall
from switchgear.core.usage import Usage


def test_round_trip_keeps_the_canonical_answer() -> None:
    response = ChatResponse(
        id="r1",
        model="m",
        created=5,
        choices=[
            Choice(
                0,
                Message(
                    "assistant",
                    [TextPart("hello", cache_control={"type": "ephemeral"})],
                    tool_calls=[ToolCall("c1", "f", '{"a": 1}')],
                    reasoning=[ReasoningPart(text="thinking", signature="sig")],
                ),
                "tool_calls",
                "tool_use",
            )
        ],
        usage=Usage(prompt_tokens=3, completion_tokens=4, reported=True),
    )
    blob = dump_entry(Entry(response, 100.5, 1234))
    loaded = load_entry(blob)
    assert loaded is not None
    assert loaded.response == response
    assert (loaded.stored_at, loaded.cost_nanousd) == (100.5, 1234)


def test_anything_else_is_not_an_entry() -> None:
    assert load_entry(b"garbage") is None
    assert load_entry(b"") is None
    assert load_entry(b"z" + zlib.compress(b"[99, 0, 0, {}]")) is None  # another version
    assert load_entry(b"j" + orjson.dumps([2, 0, 0, {"~": 99, "a": ["sh"]}])) is None  # no such class
    assert load_entry(b"j" + orjson.dumps([2, 0, 0, {"~": 1, "a": []}])) is None  # wrong fields
    assert load_entry(b"j" + orjson.dumps([2, 0, 0, {"~": 7, "a": [1]}])) is None  # not a response


def test_large_entries_are_compressed() -> None:
    text = "the same words again " * 500
    response = ChatResponse("r", "m", 0, [Choice(0, Message("assistant", [TextPart(text)]), "stop")], Usage())
    blob = dump_entry(Entry(response, 0.0, None))
    assert blob[:1] == b"z" and len(blob) < len(text) // 10
    loaded = load_entry(blob)
    assert loaded is not None and loaded.response == response
