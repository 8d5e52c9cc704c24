"""The one usage rule: counts read the same whatever parsed them, parts bounded by their whole,
and a provider's usage object restated with the recorded numbers (only the counts it holds)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from switchgear.core.jsoncodec import loads_exact
from switchgear.core.usage import MAX_PLAUSIBLE_TOKENS, Usage, restate, restate_json, whole


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (12.0, 12),
        (1e20, 10**20),
        (-3.0, -3),
        (12.5, None),
        ("12", None),
        (True, None),
        (None, None),
    ],
)
def test_whole_numbers(value: object, expected: int | None) -> None:
    assert whole(value) == expected


@pytest.mark.parametrize(
    ("value", "count", "suspicious"),
    [
        (None, 0, False),
        (7, 7, False),
        (7.0, 7, False),  # a whole number written as a float is that number
        (MAX_PLAUSIBLE_TOKENS, MAX_PLAUSIBLE_TOKENS, False),
        (MAX_PLAUSIBLE_TOKENS + 1, MAX_PLAUSIBLE_TOKENS, True),
        (10**20, MAX_PLAUSIBLE_TOKENS, True),
        (1e20, MAX_PLAUSIBLE_TOKENS, True),  # what orjson makes of 10**20: capped too, not 0
        (-5, 0, True),
        (-1e20, 0, True),
        (7.5, 0, True),
        ("7", 0, True),
        (False, 0, True),
        ([7], 0, True),
    ],
)
def test_count(value: object, count: int, suspicious: bool) -> None:
    usage = Usage()
    assert (usage.count(value), usage.suspicious) == (count, suspicious)


@pytest.mark.parametrize(
    "number", ["100000000000000000000", "-100000000000000000000", "18446744073709551616"]
)
def test_fast_and_exact_parsers_read_the_same_usage(number: str) -> None:
    """Streams are parsed by orjson (beyond 64 bits: a float), answers often exactly (an int):
    the usage they report must be the same numbers."""
    raw = f'{{"prompt_tokens": 5, "completion_tokens": {number}}}'.encode()
    fast, exact = Usage.from_openai(orjson.loads(raw)), Usage.from_openai(loads_exact(raw))
    assert fast == exact
    assert fast.suspicious


def test_bound_cuts_parts_larger_than_their_whole() -> None:
    usage = Usage(
        prompt_tokens=10, completion_tokens=4, cached_tokens=8, cache_write_tokens=5, reasoning_tokens=9
    )
    usage.bound()
    assert (usage.cached_tokens, usage.cache_write_tokens, usage.reasoning_tokens) == (8, 2, 4)
    assert usage.suspicious
    sane = Usage(
        prompt_tokens=10, completion_tokens=4, cached_tokens=6, cache_write_tokens=4, reasoning_tokens=4
    )
    assert not sane.bound().suspicious
    assert sane == Usage(
        prompt_tokens=10, completion_tokens=4, cached_tokens=6, cache_write_tokens=4, reasoning_tokens=4
    )


def test_from_openai_bounds_the_cached_count() -> None:
    usage = Usage.from_openai(
        {"prompt_tokens": 5, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 9}}
    )
    assert (usage.prompt_tokens, usage.cached_tokens, usage.suspicious) == (5, 5, True)


RAW: dict[str, Any] = {
    "prompt_tokens": -5,
    "completion_tokens": 10**12,
    "total_tokens": 10**12 - 5,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 3},
    "completion_tokens_details": None,
    "cost": 0.25,  # a vendor's own field: kept
}


def test_restate_sets_the_counts_the_object_holds_and_keeps_the_rest() -> None:
    usage = Usage.from_openai(RAW)
    before = json.dumps(RAW)
    out = restate(RAW, usage.openai_counts())
    assert out == {
        "prompt_tokens": 0,
        "completion_tokens": MAX_PLAUSIBLE_TOKENS,
        "total_tokens": MAX_PLAUSIBLE_TOKENS,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 3},
        "completion_tokens_details": None,  # null stays null, nothing is added
        "cost": 0.25,
    }
    assert json.dumps(RAW) == before  # the provider's object is not modified


def test_restate_json_rewrites_only_what_changes() -> None:
    counts = Usage(prompt_tokens=0, completion_tokens=MAX_PLAUSIBLE_TOKENS).openai_counts()
    event = b'{"id":"c1","choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":100000000000000000000}}'
    restated = restate_json(event, ("usage",), counts)
    assert restated is not None
    assert orjson.loads(restated) == {
        "id": "c1",
        "choices": [],
        "usage": {"prompt_tokens": 0, "completion_tokens": MAX_PLAUSIBLE_TOKENS},
    }
    same = b'{"usage":{"prompt_tokens":0,"completion_tokens":100000000}}'
    assert restate_json(same, ("usage",), counts) is None
    assert restate_json(b'{"usage":null}', ("usage",), counts) is None
    assert restate_json(
        b'{"response":{"usage":{"input_tokens":-1}}}', ("response", "usage"), {("input_tokens",): 0}
    ) == (b'{"response":{"usage":{"input_tokens":0}}}')


def test_restate_json_keeps_big_integers_elsewhere_exact() -> None:
    answer = b'{"tool_input":{"n":123456789012345678901234567890},"usage":{"prompt_tokens":-1}}'
    restated = restate_json(answer, ("usage",), {("prompt_tokens",): 0})
    assert restated is not None and b"123456789012345678901234567890" in restated
