"""Tool-call ids across the Bedrock boundary: unchanged when valid, else reversibly encoded."""

from __future__ import annotations

import re

import pytest

from switchgear.providers.bedrock.toolids import from_bedrock, to_bedrock

BEDROCK_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@pytest.mark.parametrize(
    "call_id",
    ["call_abc123", "toolu_01A09q90qw90lq917835lq9", "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "a", "-", "x" * 64],
)
def test_valid_ids_pass_unchanged(call_id: str) -> None:
    assert to_bedrock(call_id) == call_id
    assert from_bedrock(call_id) == call_id


@pytest.mark.parametrize(
    "call_id",
    [
        "call.with.dots/1",
        "fc:1",
        "",
        "id with spaces",
        "Grüße",
        "sgb_looks_like_ours",
        "sgh_too",
        "a" * 44 + ".",
        "é" * 22,
    ],
)
def test_other_ids_round_trip(call_id: str) -> None:
    sent = to_bedrock(call_id)
    assert BEDROCK_ID.fullmatch(sent)
    assert sent != call_id
    assert to_bedrock(call_id) == sent  # deterministic
    assert from_bedrock(sent) == call_id


@pytest.mark.parametrize("long_id", ["call/" + "z" * 100, "x" * 65, "a" * 45 + "."])
def test_long_ids_are_hashed_deterministically(long_id: str) -> None:
    sent = to_bedrock(long_id)
    assert BEDROCK_ID.fullmatch(sent) and sent.startswith("sgh_") and len(sent) == 52
    assert to_bedrock(long_id) == sent != to_bedrock(long_id + "!")
    assert from_bedrock(sent) == sent  # not reversible; the model never echoes history ids


def test_garbage_with_our_prefix_is_left_alone() -> None:
    assert from_bedrock("sgb_!!!") == "sgb_!!!"
    assert from_bedrock("sgb_/w") == "sgb_/w"
