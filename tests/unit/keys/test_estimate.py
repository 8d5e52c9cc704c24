"""The worst case of a request: body bytes as prompt tokens, max output, highest prices."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest

from switchgear.catalog.catalog import ModelInfo, Prices
from switchgear.core.errors import ModelNotFound
from switchgear.keys.estimate import Estimator
from switchgear.providers.base import Deployment
from switchgear.stages.request import Prepared


class FakeProvider:
    name = "p"


def deployment(input_: int | None, output: int | None) -> Deployment:
    info = ModelInfo(vendor="v", id="m", prices=Prices(input_, output))
    return Deployment(provider=FakeProvider(), model="m", weight=1, info=info)  # type: ignore[arg-type]


TABLE = {
    "cheap": (deployment(1_000_000, 2_000_000),),
    "mixed": (deployment(1_000_000, 2_000_000), deployment(3_000_000, 1_000_000)),
    "unpriced": (Deployment(provider=FakeProvider(), model="x", weight=1, info=None),),  # type: ignore[arg-type]
}


def resolve(name: str) -> Sequence[Deployment]:
    if name not in TABLE:
        raise ModelNotFound(f"no {name}")
    return TABLE[name]


def prepared(body: dict[str, object], api: str = "chat", fallbacks: list[str] | None = None) -> Prepared:
    raw = orjson.dumps(body)
    return Prepared(api, body, str(body["model"]), False, False, fallbacks or [], raw)  # type: ignore[arg-type]


def test_prompt_bytes_and_max_tokens_at_the_highest_prices() -> None:
    estimator = Estimator(resolve, default_max_tokens=4096)
    request = prepared({"model": "mixed", "messages": [], "max_tokens": 100})
    size = len(request.raw or b"")
    cost, tokens = estimator.worst_case(request)
    assert tokens == size + 100
    assert cost == -(-(size * 3_000_000 + 100 * 2_000_000) // 1_000_000)  # 3 USD in, 2 USD out per Mtok


@pytest.mark.parametrize(
    ("fields", "output"),
    [
        ({}, 4096),
        ({"max_completion_tokens": 50}, 50),
        ({"max_output_tokens": 70}, 70),
        ({"max_tokens": 10, "n": 3}, 30),
        ({"max_tokens": True}, 4096),  # not a count
        ({"max_tokens": -5}, 4096),
    ],
)
def test_output_cap(fields: dict[str, object], output: int) -> None:
    estimator = Estimator(resolve, default_max_tokens=4096)
    assert estimator.output_tokens(prepared({"model": "cheap", **fields})) == output


def test_embeddings_have_no_output_and_unpriced_models_reserve_no_money() -> None:
    estimator = Estimator(resolve, default_max_tokens=4096)
    request = prepared({"model": "cheap", "input": "hello"}, api="embeddings")
    cost, tokens = estimator.worst_case(request)
    assert tokens == len(request.raw or b"")
    assert cost == tokens  # 1 micro-USD per token at 1 USD per million, rounded up
    assert estimator.worst_case(prepared({"model": "unpriced", "max_tokens": 9}))[0] == 0
    assert estimator.worst_case(prepared({"model": "nowhere", "max_tokens": 9}))[0] == 0


def test_fallback_models_raise_the_prices() -> None:
    estimator = Estimator(resolve, default_max_tokens=10)
    alone = estimator.worst_case(prepared({"model": "cheap"}))[0]
    with_fallback = estimator.worst_case(prepared({"model": "cheap"}, fallbacks=["mixed"]))[0]
    assert with_fallback > alone


def test_a_hedged_model_reserves_both_attempts() -> None:
    plain = Estimator(resolve, default_max_tokens=4096)
    hedged = Estimator(resolve, default_max_tokens=4096, hedged=frozenset({"mixed"}))
    request = prepared({"model": "mixed", "messages": [], "max_tokens": 100})
    cost, tokens = plain.worst_case(request)
    assert hedged.worst_case(request) == (2 * cost, 2 * tokens)
