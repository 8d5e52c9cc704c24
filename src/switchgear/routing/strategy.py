"""Routing strategies: which of a pool's usable deployments to try first, and the order after it.

Each strategy orders the indices of the usable deployments of one pool (the breaker and cool-down
filter came first, ``pool.Pool.order``); the first is where the request goes, the rest is its
fail-over order. The config names them (``models[].routing``):

``weighted``    random in proportion to ``weight`` (sampling without replacement); weight 0 is a
                pure fallback, tried after every weighted one. The default.
``latency``     power of two choices: two deployments at random, the one with the lower decaying
                average latency (time to first event for streams) times one plus its in-flight
                count goes first; one without a sample yet counts as fastest (it gets measured).
                Two picks within ``routing.latency_buffer`` (20 %) of each other are equally fast
                (either goes first, at random). A small share of requests
                (``routing.latency_explore``, 5 %) goes to the slower pick, which keeps measuring
                it: a deployment that recovers wins traffic back.
``cost``        cheapest by price (input + output per million tokens); unpriced ones last.
``least-busy``  fewest requests in flight; ties at random.
``usage``       most ``rpm`` / ``tpm`` headroom this minute first; one at its limit is skipped.
``ordered``     the configured order: a priority list.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from switchgear.providers.base import Deployment

if TYPE_CHECKING:
    from switchgear.routing.health import Health

_UNPRICED = float("inf")


class Strategy(Protocol):
    def order(
        self,
        deployments: Sequence[Deployment],
        health: Sequence[Health],
        usable: list[int],
        now: float,
        stream: bool,
    ) -> list[int]: ...


class Weighted:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def order(
        self,
        deployments: Sequence[Deployment],
        health: Sequence[Health],
        usable: list[int],
        now: float,
        stream: bool,
    ) -> list[int]:
        if len(usable) <= 1:
            return usable
        rng = self._rng.random
        # Efraimidis-Spirakis: sorting by u^(1/w) is weighted sampling without replacement
        keyed = sorted(
            ((rng() ** (1.0 / deployments[i].weight), i) for i in usable if deployments[i].weight > 0),
            reverse=True,
        )
        ordered = [i for _, i in keyed]
        spare = [i for i in usable if deployments[i].weight <= 0]
        return ordered + spare


class Latency:
    def __init__(self, rng: random.Random | None = None, explore: float = 0.05, buffer: float = 0.2) -> None:
        self._rng = rng or random.Random()
        self._explore = explore
        self._tie = 1 + buffer

    def order(
        self,
        deployments: Sequence[Deployment],
        health: Sequence[Health],
        usable: list[int],
        now: float,
        stream: bool,
    ) -> list[int]:
        n = len(usable)
        if n <= 1:
            return usable
        # latency x (1 + in flight), for all at once (no key function called per element)
        if stream:
            scores = [h.ttft_ms * (1 + h.in_flight) for h in health]
        else:
            scores = [h.latency_ms * (1 + h.in_flight) for h in health]
        rng = self._rng
        x = int(rng.random() * n)  # two distinct picks at random, in random order: a tie keeps a
        y = int(rng.random() * (n - 1))
        a, b = usable[x], usable[y + 1 if y >= x else y]
        if scores[a] > scores[b] * self._tie:  # b is clearly faster (within the buffer: a tie)
            a, b = b, a
        first = b if self._explore and rng.random() < self._explore else a
        rest = sorted(usable, key=scores.__getitem__)
        rest.remove(first)
        return [first, *rest]


class Cost:
    def order(
        self,
        deployments: Sequence[Deployment],
        health: Sequence[Health],
        usable: list[int],
        now: float,
        stream: bool,
    ) -> list[int]:
        return sorted(usable, key=lambda i: _price(deployments[i]))


class LeastBusy:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def order(
        self,
        deployments: Sequence[Deployment],
        health: Sequence[Health],
        usable: list[int],
        now: float,
        stream: bool,
    ) -> list[int]:
        if len(usable) <= 1:
            return usable
        shuffled = self._rng.sample(usable, len(usable))  # ties at random
        return sorted(shuffled, key=lambda i: health[i].in_flight)


class Usage:
    def order(
        self,
        deployments: Sequence[Deployment],
        health: Sequence[Health],
        usable: list[int],
        now: float,
        stream: bool,
    ) -> list[int]:
        def headroom(i: int) -> float:
            d, h = deployments[i], health[i]
            return min(h.rpm_headroom(d.rpm, now), h.tpm_headroom(d.tpm, now))

        free = [i for i in usable if headroom(i) > 0]
        return sorted(free, key=headroom, reverse=True)


class Ordered:
    def order(
        self,
        deployments: Sequence[Deployment],
        health: Sequence[Health],
        usable: list[int],
        now: float,
        stream: bool,
    ) -> list[int]:
        return usable


def _price(deployment: Deployment) -> float:
    info = deployment.info
    if info is None or info.prices.input is None or info.prices.output is None:
        return _UNPRICED
    return float(info.prices.input + info.prices.output)


def strategy(
    name: str, rng: random.Random | None = None, explore: float = 0.05, buffer: float = 0.2
) -> Strategy:
    """The strategy a model's ``routing:`` names (``explore``, ``buffer``: see ``Latency``)."""
    made: Strategy
    if name == "latency":
        made = Latency(rng, explore, buffer)
    elif name == "cost":
        made = Cost()
    elif name == "least-busy":
        made = LeastBusy(rng)
    elif name == "usage":
        made = Usage()
    elif name == "ordered":
        made = Ordered()
    else:
        made = Weighted(rng)
    return made
