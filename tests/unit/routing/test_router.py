"""The router with the bundled catalog: group and direct names, weighted order, fallbacks, prices."""

from __future__ import annotations

import random
from collections import Counter
from time import monotonic
from typing import Any

import pytest

from switchgear.catalog import Catalog, ModelInfo, Prices
from switchgear.config import ConfigError, parse_settings
from switchgear.core.errors import ModelNotFound
from switchgear.providers import build_providers
from switchgear.routing import Router
from switchgear.stages.request import Prepared

PROVIDERS: dict[str, Any] = {
    "openai": {"type": "openai", "api_key": "sk-test-1"},
    "azure": {"type": "azure", "api_key": "k", "base_url": "https://contoso.openai.azure.com"},
    "openrouter": {"type": "openrouter", "api_key": "k"},
    "local": {"type": "ollama"},
    "groq": {"type": "groq", "api_key": "k"},
}
MODELS: list[dict[str, Any]] = [
    {"name": "fast", "deployments": [{"provider": "openai", "model": "gpt-4o-mini"}]},
    {
        "name": "spread",
        "deployments": [
            {"provider": "openai", "model": "gpt-4o-mini", "weight": 6},
            {"provider": "azure", "model": "gpt-4o-mini", "weight": 3},
            {"provider": "groq", "model": "llama-3.3-70b-versatile", "weight": 1},
            {"provider": "local", "model": "llama3.2", "weight": 0},
        ],
    },
    {
        "name": "spares",
        "deployments": [
            {"provider": "local", "model": "a", "weight": 0},
            {"provider": "openai", "model": "gpt-4o", "weight": 1},
            {"provider": "local", "model": "b", "weight": 0},
            {"provider": "groq", "model": "c", "weight": 2},
        ],
    },
    {"name": "big", "deployments": [{"provider": "openai", "model": "gpt-4o"}]},
    {
        "name": "priced-local",
        "deployments": [{"provider": "local", "model": "llama3.2"}],
        "pricing": {"input": "0.15", "output": "0.6"},
        "context_window": 32000,
    },
    {
        "name": "cheaper-mini",
        "deployments": [{"provider": "openai", "model": "gpt-4o-mini"}],
        "pricing": {"input": "0.1", "cache_write": "0.000001"},
        "max_output_tokens": 4096,
    },
    {"name": "team/chat", "deployments": [{"provider": "openai", "model": "gpt-4o"}]},
]


def router(seed: int = 7, models: list[dict[str, Any]] | None = None) -> Router:
    settings = parse_settings({"providers": PROVIDERS, "models": MODELS if models is None else models}, {})
    return Router(settings, build_providers(settings), Catalog.bundled(), random.Random(seed))


def labels(deployments: Any) -> list[str]:
    return [d.label for d in deployments]


def test_group_resolution_keeps_the_configured_deployments() -> None:
    r = router()
    assert labels(r.resolve("fast")) == ["openai/gpt-4o-mini"]
    spread = r.resolve("spread")
    assert labels(spread) == [
        "openai/gpt-4o-mini",
        "azure/gpt-4o-mini",
        "groq/llama-3.3-70b-versatile",
        "local/llama3.2",
    ]
    assert [d.weight for d in spread] == [6, 3, 1, 0]
    assert r.resolve("fast") is r.resolve("fast")


def test_group_deployments_carry_catalog_info() -> None:
    info = router().resolve("fast")[0].info
    assert info is not None
    assert (info.vendor, info.id, info.context_window) == ("openai", "gpt-4o-mini", 128000)
    assert info.prices == Prices(input=150000, output=600000, cache_read=75000, cache_write=None)


def test_group_name_with_a_slash_wins_over_a_direct_name() -> None:
    assert labels(router().resolve("team/chat")) == ["openai/gpt-4o"]


@pytest.mark.parametrize(
    ("name", "provider", "model"),
    [
        ("openai/gpt-4.1-nano", "openai", "gpt-4.1-nano"),
        ("local/qwen2.5:7b", "local", "qwen2.5:7b"),
        ("openrouter/openai/gpt-4o", "openrouter", "openai/gpt-4o"),
        (
            "openrouter/meta-llama/llama-3.1-8b-instruct:free",
            "openrouter",
            "meta-llama/llama-3.1-8b-instruct:free",
        ),
    ],
)
def test_direct_provider_model_names(name: str, provider: str, model: str) -> None:
    r = router()
    (deployment,) = r.resolve(name)
    assert deployment.provider.name == provider
    assert deployment.model == model
    assert deployment.weight == 1
    assert r.resolve(name) is r.resolve(name)  # kept for repeat names


def test_direct_name_through_a_host_finds_the_owners_catalog_entry() -> None:
    (deployment,) = router().resolve("openrouter/openai/gpt-4o")
    assert deployment.info is not None
    assert (deployment.info.vendor, deployment.info.id) == ("openai", "gpt-4o")


@pytest.mark.parametrize(
    "name",
    ["nope", "anthropic/claude-3-5-sonnet", "openai/", "/gpt-4o", "", "fast/", "Fast", "OPENAI/gpt-4o"],
)
def test_unknown_names(name: str) -> None:
    with pytest.raises(ModelNotFound) as caught:
        router().resolve(name)
    error = caught.value
    assert error.param == "model"
    assert (error.status, error.code) == (404, "model_not_found")
    assert error.message.startswith(f"model {name!r} does not exist on this gateway")


def test_weights_spread_first_choices_in_proportion() -> None:
    r = router(seed=12345)
    firsts = Counter(r.plan("spread")[0].label for _ in range(10_000))
    assert set(firsts) == {"openai/gpt-4o-mini", "azure/gpt-4o-mini", "groq/llama-3.3-70b-versatile"}
    assert firsts["openai/gpt-4o-mini"] / 10_000 == pytest.approx(0.6, abs=0.05)
    assert firsts["azure/gpt-4o-mini"] / 10_000 == pytest.approx(0.3, abs=0.05)
    assert firsts["groq/llama-3.3-70b-versatile"] / 10_000 == pytest.approx(0.1, abs=0.05)


def test_second_choice_follows_weighted_sampling_without_replacement() -> None:
    r = router(seed=99)
    orders = [labels(r.plan("spread")) for _ in range(10_000)]
    after_openai = Counter(o[1] for o in orders if o[0] == "openai/gpt-4o-mini")
    total = sum(after_openai.values())
    assert after_openai["azure/gpt-4o-mini"] / total == pytest.approx(0.75, abs=0.05)  # 3 of the remaining 4


def test_weight_zero_deployments_are_always_last_in_their_order() -> None:
    r = router(seed=3)
    seen_orders = set()
    for _ in range(2_000):
        order = labels(r.plan("spares"))
        assert sorted(order[:2]) == ["groq/c", "openai/gpt-4o"]
        assert order[2:] == ["local/a", "local/b"]
        seen_orders.add(tuple(order[:2]))
        assert labels(r.plan("spread"))[-1] == "local/llama3.2"
    assert len(seen_orders) == 2  # the weighted ones do change places


def test_the_seeded_order_is_reproducible() -> None:
    a, b = router(seed=5), router(seed=5)
    orders = [labels(a.plan("spread")) for _ in range(50)]
    assert orders == [labels(b.plan("spread")) for _ in range(50)]
    assert len({tuple(o) for o in orders}) > 1


def test_plan_appends_the_fallback_models_deployments() -> None:
    plan = labels(router().plan("fast", ["spares", "big", "openrouter/openai/gpt-4o"]))
    assert plan[0] == "openai/gpt-4o-mini"
    assert sorted(plan[1:3]) == ["groq/c", "openai/gpt-4o"]
    assert plan[3:] == ["local/a", "local/b", "openai/gpt-4o", "openrouter/openai/gpt-4o"]


def test_plan_skips_the_requested_model_as_its_own_fallback() -> None:
    assert labels(router().plan("fast", ["fast", "big"])) == ["openai/gpt-4o-mini", "openai/gpt-4o"]


def test_plan_with_an_unknown_fallback_is_model_not_found() -> None:
    with pytest.raises(ModelNotFound, match="'nope'"):
        router().plan("fast", ["nope"])


def test_config_prices_are_laid_over_an_unknown_model() -> None:
    info = router().resolve("priced-local")[0].info
    assert info == ModelInfo(
        vendor="ollama", id="llama3.2", context_window=32000, prices=Prices(input=150000, output=600000)
    )


def test_config_prices_override_only_what_they_name() -> None:
    info = router().resolve("cheaper-mini")[0].info
    assert info is not None
    assert info.prices == Prices(input=100000, output=600000, cache_read=75000, cache_write=1)
    assert info.max_output_tokens == 4096
    assert info.context_window == 128000  # from the catalog
    assert info.tools and info.vision  # the rest of the catalog entry is kept


def test_config_prices_do_not_leak_into_direct_names() -> None:
    (deployment,) = router().resolve("openai/gpt-4o-mini")
    assert deployment.info is not None and deployment.info.prices.input == 150000


def test_price_finer_than_a_micro_usd_is_a_config_error() -> None:
    models = [
        {
            "name": "m",
            "deployments": [{"provider": "openai", "model": "gpt-4o"}],
            "pricing": {"input": "0.00000015"},
        }
    ]  # USD per token, mistakenly
    with pytest.raises(ConfigError, match=r"models\[0\]\.pricing\.input"):
        router(models=models)


def test_deployment_prices_override_the_models_and_the_catalogs() -> None:
    models = [
        {
            "name": "m",
            "deployments": [
                {
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "pricing": {"input": "1", "reasoning_output": "4"},
                },
                {"provider": "azure", "model": "gpt-4o-mini"},
            ],
            "pricing": {"output": "3"},
        }
    ]
    first, second = router(models=models).resolve("m")
    assert first.info is not None and second.info is not None
    assert first.info.prices == Prices(
        input=1_000_000, output=3_000_000, cache_read=75_000, reasoning_output=4_000_000
    )
    assert second.info.prices == Prices(
        input=150_000, output=3_000_000, cache_read=75_000
    )  # the model's only


def test_a_deployment_of_a_model_unknown_to_the_catalog_is_priced_by_its_config() -> None:
    models = [
        {
            "name": "m",
            "deployments": [
                {"provider": "local", "model": "in-house", "pricing": {"input": "0.2", "output": "0.4"}}
            ],
        }
    ]
    (deployment,) = router(models=models).resolve("m")
    assert deployment.info == ModelInfo(
        vendor="ollama", id="in-house", prices=Prices(input=200_000, output=400_000)
    )
    assert deployment.price is not None


STRATEGIES: list[dict[str, Any]] = [
    {
        "name": "cheap",
        "routing": "cost",
        "deployments": [
            {"provider": "openai", "model": "gpt-4o"},
            {"provider": "local", "model": "unpriced"},
            {"provider": "openai", "model": "gpt-4o-mini"},
        ],
    },
    {
        "name": "capped",
        "routing": "usage",
        "deployments": [
            {"provider": "openai", "model": "a", "rpm": 2},
            {"provider": "groq", "model": "b", "rpm": 10},
        ],
    },
    {
        "name": "priority",
        "routing": "ordered",
        "deployments": [{"provider": p, "model": "m", "weight": 0} for p in ("groq", "openai", "azure")],
        "fallbacks": ["cheap"],
    },
    {
        "name": "quick",
        "routing": "latency",
        "deployments": [{"provider": p, "model": "m"} for p in ("groq", "openai", "azure")],
    },
    {
        "name": "small",
        "context_window": 100,
        "context_window_fallbacks": ["quick"],
        "deployments": [{"provider": "openai", "model": "small"}],
    },
]


def test_cost_puts_the_cheapest_first_and_the_unpriced_last() -> None:
    r = router(models=STRATEGIES)
    assert labels(r.plan("cheap")) == ["openai/gpt-4o-mini", "openai/gpt-4o", "local/unpriced"]


def test_usage_prefers_headroom_and_skips_a_deployment_at_its_limit() -> None:
    r = router(models=STRATEGIES)
    a, _b = (r.health_of(d) for d in r.resolve("capped"))
    assert labels(r.plan("capped"))[0] == "openai/a"  # both untouched: stable order
    assert a.begin(monotonic())
    assert labels(r.plan("capped")) == ["groq/b", "openai/a"]  # a has 1/2 left, b 10/10
    assert a.begin(monotonic())
    assert labels(r.plan("capped")) == ["groq/b"]  # a is at its 2 requests a minute


def test_ordered_keeps_the_configured_order_then_the_configured_fallbacks() -> None:
    r = router(models=STRATEGIES)
    assert labels(r.plan("priority"))[:3] == ["groq/m", "openai/m", "azure/m"]
    assert labels(r.plan("priority", ["quick"]))[3] in ("groq/m", "openai/m", "azure/m")  # requested first
    assert labels(r.plan("priority"))[3] == "openai/gpt-4o-mini"  # then its own fallbacks (cheap)


def test_latency_goes_to_the_faster_of_two_and_orders_the_rest_by_speed() -> None:
    r = router(models=STRATEGIES)
    groq, openai, azure = (r.health_of(d) for d in r.resolve("quick"))
    groq.latency_ms, openai.latency_ms, azure.latency_ms = 50.0, 10.0, 30.0
    firsts = Counter(labels(r.plan("quick"))[0] for _ in range(3000))
    # two at random of three: the fastest goes first whenever drawn (2/3), but for the exploring 5 %
    assert firsts["openai/m"] / 3000 == pytest.approx(2 / 3 * 0.95, abs=0.04)  # 5 % explore
    assert firsts["groq/m"] / 3000 < 0.1
    assert labels(r.plan("quick"))[1:] in (
        ["openai/m", "azure/m"],
        ["azure/m", "groq/m"],
        ["openai/m", "groq/m"],
    )


def test_latency_within_the_buffer_is_a_tie() -> None:
    r = router(models=STRATEGIES)
    groq, openai, azure = (r.health_of(d) for d in r.resolve("quick"))
    groq.latency_ms, openai.latency_ms, azure.latency_ms = 10.0, 11.0, 11.5  # within 20 % of each other
    firsts = Counter(labels(r.plan("quick"))[0] for _ in range(3000))
    for name in ("groq/m", "openai/m", "azure/m"):  # no noise-driven winner takes all
        assert firsts[name] / 3000 == pytest.approx(1 / 3, abs=0.05), firsts


def test_an_open_deployment_is_left_out_of_the_plan() -> None:
    r = router(models=STRATEGIES)
    health = r.health_of(r.resolve("priority")[1])
    for _ in range(5):
        health.failed(monotonic())
    assert labels(r.plan("priority"))[:2] == ["groq/m", "azure/m"]
    error = r.unavailable("priority")
    assert error.status == 503 and "'priority'" in error.message


def test_a_request_too_large_for_the_context_window_starts_at_its_fallbacks() -> None:
    r = router(models=STRATEGIES)
    small = Prepared("chat", {"model": "small", "messages": [], "max_tokens": 10}, "small", False, False, [])
    assert labels(r.plan("small", request=small)) == ["openai/small"]
    big = Prepared("chat", {"model": "small", "max_tokens": 100}, "small", False, False, [])
    assert "openai/small" not in labels(r.plan("small", request=big))
    assert len(r.plan("small", request=big)) == 3


def test_fallbacks_must_name_a_model() -> None:
    models = [{**MODELS[0], "fallbacks": ["nope", "openai/gpt-4o"], "context_window_fallbacks": ["fast"]}]
    with pytest.raises(ConfigError, match=r"models\[0\]\.fallbacks\[0\]: unknown model 'nope'"):
        router(models=models)


def test_reachable_covers_the_configured_fallbacks_for_budget_reservations() -> None:
    r = router(models=STRATEGIES)
    assert labels(r.reachable("small")) == ["openai/small", "groq/m", "openai/m", "azure/m"]
    assert labels(r.reachable("cheap")) == labels(r.resolve("cheap"))


@pytest.mark.parametrize(("after", "expected"), [("p95", "p95"), ("P95", "p95"), ("800ms", 0.8), (2, 2.0)])
def test_hedge_after_is_a_duration_or_p95(after: Any, expected: Any) -> None:
    models = [{**MODELS[0], "hedge": {"after": after}}]
    assert router(models=models).pools["fast"].hedge == expected


@pytest.mark.parametrize("after", ["0s", "p99", "soon", True])
def test_a_bad_hedge_is_a_config_error(after: Any) -> None:
    with pytest.raises(ConfigError, match=r"models\[0\]\.hedge\.after"):
        router(models=[{**MODELS[0], "hedge": {"after": after}}])


def test_p95_waits_for_twenty_samples() -> None:
    r = router(models=[{**MODELS[0], "hedge": {"after": "p95"}}])
    pool = r.pools["fast"]
    for ms in range(1, 20):
        pool.health[0].succeeded(0, float(ms * 10), stream=False)
    assert pool.hedge_after(stream=False) is None
    pool.health[0].succeeded(0, 1000.0, stream=False)
    assert pool.hedge_after(stream=False) == 1.0  # 20 samples: the 95th percentile is the slowest
    assert pool.hedge_after(stream=True) is None  # streams keep their own samples
