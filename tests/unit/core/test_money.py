"""Money as clients see it: exact USD decimals from nano-USD, and ``usage.cost`` added to JSON."""

from __future__ import annotations

import json

import orjson
import pytest

from switchgear.core.jsoncodec import dumps
from switchgear.core.money import Usd, insert_cost, json_default, usd_text
from switchgear.core.usage import Usage, with_cost


@pytest.mark.parametrize(
    ("nanousd", "text"),
    [
        (0, "0"),
        (1, "0.000000001"),
        (123_000, "0.000123"),
        (24_680, "0.00002468"),  # 2.468e-05 as a float
        (150, "0.00000015"),
        (1_000_000_000, "1"),
        (12_500_000_000, "12.5"),
        (10**21 + 7, "1000000000000.000000007"),
    ],
)
def test_usd_text_is_the_exact_decimal(nanousd: int, text: str) -> None:
    assert usd_text(nanousd) == text
    assert json.loads(orjson.dumps({"c": Usd(nanousd)}, default=json_default)) == {"c": json.loads(text)}


def test_usd_is_written_as_a_bare_number_by_both_encoders() -> None:
    assert dumps({"usage": {"cost": Usd(123_000)}}) == b'{"usage":{"cost":0.000123}}'
    huge = 2**70  # beyond 64 bits: the standard library's encoder writes it, and the amount too
    assert dumps({"n": huge, "usage": {"cost": Usd(150)}, "t": "x"}) == (
        b'{"n":' + str(huge).encode() + b',"usage":{"cost":0.00000015},"t":"x"}'
    )
    with pytest.raises(TypeError):
        json_default(object())


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"id":1,"usage":{"prompt_tokens":3}}', b'{"id":1,"usage":{"cost":0.5,"prompt_tokens":3}}'),
        (b'{"usage" : {}}', b'{"usage" : {"cost":0.5}}'),
        (b'{"usage":\n  {\n  }\n}', b'{"usage":\n  {"cost":0.5\n  }\n}'),
        (b'{"a":{"usage":{"x":1}}}', b'{"a":{"usage":{"cost":0.5,"x":1}}}'),  # the caller knows where it is
        (b'{"t":"say \\"usage\\": {","usage":{}}', b'{"t":"say \\"usage\\": {","usage":{"cost":0.5}}'),
    ],
)
def test_insert_cost_in_the_bytes(payload: bytes, expected: bytes) -> None:
    assert insert_cost(payload, "0.5") == expected
    json.loads(expected)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"usage":{"prompt_tokens":3},"tool":{"usage":{"n":1}}}',  # two usage keys
        b'{"text":"x \\"usage","usage":{"n":1}}',  # a string ending in "usage, and the key
        b'{"text":"x \\"usage"}',  # only inside a string
        b'{"usage":{"n":1,"cost":0.1}}',  # a cost already there (OpenRouter): replaced, not duplicated
        b'{"usage":null}',
        b'{"usage":"text"}',
        b'{"note":"usage"}',
    ],
)
def test_insert_cost_refuses_what_the_bytes_cannot_say(payload: bytes) -> None:
    assert insert_cost(payload, "0.5") is None


def test_with_cost_reencodes_when_the_bytes_cannot_say() -> None:
    two = b'{"usage":{"prompt_tokens":3},"content":[{"input":{"usage":{"n":1}}}]}'
    assert json.loads(with_cost(two, ("usage",), 500_000_000)) == {
        "usage": {"prompt_tokens": 3, "cost": 0.5},
        "content": [{"input": {"usage": {"n": 1}}}],
    }
    upstream_cost = b'{"usage":{"n":1,"cost":9.99}}'
    assert with_cost(upstream_cost, ("usage",), 123_000) == b'{"usage":{"n":1,"cost":0.000123}}'
    nested = b'{"type":"response.completed","response":{"usage":{"n":1},"echo":"\\"usage\\":"}}'
    assert json.loads(with_cost(nested, ("response", "usage"), 1))["response"]["usage"] == {
        "n": 1,
        "cost": 1e-9,
    }
    assert b'"cost":0.000000001' in with_cost(nested, ("response", "usage"), 1)
    absent = b'{"usage":null,"x":{"usage":{"a":1},"usage2":{"usage":2}}}'
    assert with_cost(absent, ("usage",), 1) == absent  # nothing to add to: the document as it was


def test_with_cost_keeps_big_integers_exact() -> None:
    huge = str(2**80).encode()
    payload = b'{"usage":{"n":1},"input":{"usage":' + huge + b"}}"
    out = with_cost(payload, ("usage",), 42)
    assert out == b'{"usage":{"n":1,"cost":0.000000042},"input":{"usage":' + huge + b"}}"


def test_to_openai_writes_the_cost_only_when_priced() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=5)
    assert "cost" not in usage.to_openai()
    assert dumps(usage.to_openai(2_500)).endswith(b',"cost":0.0000025}')
