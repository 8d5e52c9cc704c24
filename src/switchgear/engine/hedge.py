"""Hedged attempts: a second attempt when the first has no first byte in time; the first answer wins.

Only before anything reached the client: an attempt "answers" when its whole answer is read
(non-streaming) or its stream's first event is in hand, and it must *claim* the request at that
moment (``Race.claim``); the other attempt, claiming later, gives way (``Lost``) before touching
the request's context, and is cancelled, which closes its upstream connection (the provider sees
the abort). The second attempt goes to the next usable candidate of the plan, or to the same
deployment when the plan has no other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from time import monotonic

from switchgear.core.errors import UpstreamError
from switchgear.engine.answers import Answer, StreamAnswer
from switchgear.providers.base import Deployment
from switchgear.routing.health import Health
from switchgear.routing.router import Router

Claim = Callable[[], bool]
Try = Callable[[Deployment, Health, int, Claim], Awaitable[Answer | StreamAnswer]]


class Lost(Exception):
    """This attempt answered after the other one had already won."""


class Race:
    __slots__ = ("won",)

    def __init__(self) -> None:
        self.won = 0

    def claimer(self, runner: int) -> Claim:
        def claim() -> bool:
            if not self.won:
                self.won = runner
            return self.won == runner

        return claim


async def hedged(
    attempt: Try,
    router: Router,
    plan: list[Deployment],
    i: int,
    *,
    first: tuple[Deployment, Health, int],
    after: float,
) -> tuple[Answer | StreamAnswer, int]:
    """The first answer of ``first`` and, after ``after`` seconds without one, of a second attempt;
    with the index of the plan's next candidate. Raises the last failure when both fail."""
    race = Race()
    deployment, health, took = first
    one = asyncio.ensure_future(attempt(deployment, health, took, race.claimer(1)))
    tasks = [one]
    try:
        done, _ = await asyncio.wait(tasks, timeout=after)
        if done:
            return one.result(), i
        second, i = _second(router, plan, i, first)
        if second is None:
            return await one, i
        tasks.append(asyncio.ensure_future(attempt(*second, race.claimer(2))))
        pending = set(tasks)
        failure: BaseException | None = None
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is None:
                    return task.result(), i
                if not isinstance(exc, Lost | UpstreamError):
                    raise exc
                if isinstance(exc, UpstreamError):
                    failure = exc
        assert failure is not None
        raise failure
    finally:
        losers = [task for task in tasks if not task.done()]
        for task in losers:
            task.cancel()
        if losers:  # each closes its upstream connection as it goes
            await asyncio.gather(*losers, return_exceptions=True)


def _second(
    router: Router, plan: list[Deployment], i: int, first: tuple[Deployment, Health, int]
) -> tuple[tuple[Deployment, Health, int] | None, int]:
    """The next candidate that may be tried now, or the first's deployment when none is left."""
    now = monotonic()
    while i < len(plan):
        deployment = plan[i]
        i += 1
        health = router.health_of(deployment)
        took = health.begin(now)
        if took:
            return (deployment, health, took), i
    deployment, health, _ = first
    took = health.begin(now)
    return ((deployment, health, took) if took else None), i
