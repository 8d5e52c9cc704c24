"""Token logprobs across a translation: the client's ask decoded into the canonical request, sent
upstream as OpenAI Chat's ``logprobs`` / ``top_logprobs``, read back onto the canonical choice
and written into the client's answer (and nothing of them when they were not asked for)."""

from __future__ import annotations

import json
from typing import Any

from switchgear.apis.openai.decode import decode_request
from switchgear.apis.openai.encode import encode_answer
from switchgear.config import parse_settings
from switchgear.providers import build_providers
from switchgear.providers.base import Deployment
from switchgear.providers.openai.request import request_body
from switchgear.providers.openai.response import parse_response

SETTINGS = parse_settings(
    {"providers": {"p": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "x"}}},
    {},
)
DEPLOYMENT = Deployment(provider=build_providers(SETTINGS)["p"], model="m")
MESSAGES = [{"role": "user", "content": "hi"}]
TOKENS = [
    {"token": "Hi", "logprob": -0.25, "bytes": [72, 105], "top_logprobs": [
        {"token": "Hi", "logprob": -0.25, "bytes": [72, 105]},
        {"token": "Hey", "logprob": -1.5, "bytes": [72, 101, 121]},
    ]},
    {"token": "!", "logprob": -2, "bytes": None, "top_logprobs": []},
]  # fmt: skip


def answer(logprobs: Any) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
    return json.dumps(
        {"id": "c1", "model": "m", "created": 1, "choices": [choice | {"logprobs": logprobs}]}
    ).encode()


def test_a_clients_ask_for_logprobs_goes_upstream() -> None:
    asked = decode_request({"model": "x", "messages": MESSAGES, "logprobs": True, "top_logprobs": 2}, {})
    assert (asked.logprobs, asked.top_logprobs) == (True, 2)
    body = request_body(asked, DEPLOYMENT)
    assert (body["logprobs"], body["top_logprobs"]) == (True, 2)
    plain = decode_request({"model": "x", "messages": MESSAGES}, {})
    assert "logprobs" not in request_body(plain, DEPLOYMENT) and "top_logprobs" not in request_body(
        plain, DEPLOYMENT
    )


def test_logprobs_are_read_onto_the_choice_and_written_back_as_sent() -> None:
    parsed = parse_response(answer({"content": TOKENS, "refusal": None}), DEPLOYMENT)
    tokens = parsed.choices[0].logprobs
    assert tokens is not None
    assert [(t.token, t.logprob, t.token_bytes) for t in tokens] == [
        ("Hi", -0.25, [72, 105]),
        ("!", -2.0, None),
    ]
    assert [t.token for t in tokens[0].top] == ["Hi", "Hey"]
    out = json.loads(encode_answer(parsed, "x"))
    written = [t | {"logprob": float(t["logprob"])} for t in TOKENS]
    assert out["choices"][0]["logprobs"] == {"content": written, "refusal": None}


def test_an_answer_without_logprobs_carries_none() -> None:
    for missing in (None, {}, {"content": None}):
        parsed = parse_response(answer(missing), DEPLOYMENT)
        assert parsed.choices[0].logprobs is None
        assert json.loads(encode_answer(parsed, "x"))["choices"][0]["logprobs"] is None
