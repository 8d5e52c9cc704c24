"""The cost of planning a request over a 10-deployment pool, per strategy (issue 15: <= 50 us).

``router.plan`` is the routing work on the request path: the health filter (breaker, cool-down)
and the strategy's order over the pool. Some deployments get latency samples and in-flight counts
so that the strategies have something to compare.

usage: PYTHONPATH=src python bench/routing/pick.py [--number 20000]
"""

from __future__ import annotations

import argparse
import random
import timeit
from typing import Any

from switchgear.catalog import Catalog
from switchgear.config import parse_settings
from switchgear.providers import PROVIDER_SETTINGS, build_providers
from switchgear.routing import Router

STRATEGIES = ("weighted", "latency", "cost", "least-busy", "usage", "ordered")


def router() -> Router:
    providers = {f"p{i}": {"type": "openai", "base_url": f"http://10.0.0.{i}/v1", "api_key": "k"} for i in range(10)}
    models: list[dict[str, Any]] = [
        {
            "name": name,
            "routing": name,
            "deployments": [
                {"provider": f"p{i}", "model": "gpt-4o-mini", "weight": 1 + i % 3, "rpm": 1000, "tpm": 10**6}
                for i in range(10)
            ],
        }
        for name in STRATEGIES
    ]
    settings = parse_settings({"providers": providers, "models": models}, {}, PROVIDER_SETTINGS)
    made = Router(settings, build_providers(settings), Catalog.bundled(), random.Random(1))
    for i, deployment in enumerate(made.resolve("latency")):
        health = made.health_of(deployment)
        health.latency_ms = 100.0 + 17 * i
        health.in_flight = i % 4
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--number", type=int, default=20_000)
    number = parser.parse_args().number
    r = router()
    for name in STRATEGIES:
        best = min(timeit.repeat(lambda n=name: r.plan(n), number=number, repeat=5)) / number
        print(f"{name:<11} plan over 10 deployments: {best * 1e6:6.2f} us")


if __name__ == "__main__":
    main()
