"""What a failed attempt allows next: the next candidate, another round over the pool, a fallback.

One ``Retries`` per request that reaches an upstream. After a failure:

- an error that is the request's fault (a plain 400, 401, 413, 422) goes straight back, except a
  context-length error (the model's ``context_window_fallbacks`` are tried) and a content-policy
  refusal (its ``content_policy_fallbacks``);
- any other failure moves on to the next candidate (another deployment, then fallback models);
- an answer a stage refused (``AnswerRejected``: e.g. invalid structured output) is asked of the
  next candidate or, when none is left, of the same deployment once more;
- when the pool's last candidate failed with a ``routing.retry_on`` status, a timeout or a
  connection error, and the model has ``retries`` left, the pool is tried again after a backoff:
  full jitter over ``backoff`` x 2^round (capped at ``max_backoff``), at least the failure's
  ``Retry-After`` (capped at ``max_retry_after``), paid from the retry budget, and never past the
  request's ``routing.deadline``.
"""

from __future__ import annotations

import asyncio
from time import monotonic, perf_counter_ns
from typing import TYPE_CHECKING

from switchgear.config.model import Timeouts
from switchgear.core.errors import AnswerRejected, UpstreamError
from switchgear.providers.base import Deployment
from switchgear.routing.router import cut
from switchgear.routing.stage import retry_after
from switchgear.stages.context import RequestContext
from switchgear.stages.request import Prepared

if TYPE_CHECKING:
    from switchgear.routing.router import Router

_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_POLICY_CODES = frozenset({"content_filter", "content_policy_violation", "content_policy"})


class Retries:
    __slots__ = (
        "asked_again",
        "deadline_ns",
        "last",
        "left",
        "pool",
        "request",
        "rerouted",
        "round",
        "router",
    )

    def __init__(self, router: Router, request: Prepared, started_ns: int) -> None:
        self.router = router
        self.request = request
        self.pool = router.known(request.model)
        self.left = self.pool.retries if self.pool is not None else 0
        self.round = 0
        self.deadline_ns = started_ns + int(router.settings.deadline * 1e9)
        self.last: UpstreamError | None = None
        self.rerouted = False
        self.asked_again = False  # a refused answer was asked of the same deployment again

    def hedge_after(self) -> float | None:
        """Seconds after which the first attempt is hedged; None: not hedged."""
        pool = self.pool
        return pool.hedge_after(self.request.stream) if pool is not None and pool.hedge is not None else None

    def in_time(self) -> bool:
        return perf_counter_ns() < self.deadline_ns

    def timeouts(self, deployment: Deployment) -> Timeouts:
        """The deployment's attempt deadlines, cut to what is left of the request's deadline.

        While less than 1 % of the deadline (``routing.deadline``) has passed, the whole deadline
        is used, cut once per set of timeouts and kept (``Router.capped``): no copy per request when
        the configured total timeout is longer than the deadline (the defaults: 1,800 s and 600 s)."""
        timeouts = deployment.timeouts or deployment.provider.timeouts
        left = (self.deadline_ns - perf_counter_ns()) / 1e9
        if left >= timeouts.total:
            return timeouts
        deadline = self.router.settings.deadline
        if left > deadline * 0.99:
            return self.router.capped(timeouts, deadline)
        return cut(timeouts, max(left, 0.001))

    def served(self, ctx: RequestContext, deployment: Deployment) -> None:
        """The answer came from ``deployment``: say so when it was not the requested model's (for
        a tiered model: not the chosen tier's)."""
        pool = self.pool
        if ctx.tier is not None:
            pool = self.router.known(ctx.tier) or pool
        if pool is None or not pool.holds(deployment):
            ctx.add_header("x-switchgear-fallback-from", self.request.model)

    async def after(
        self, exc: UpstreamError, deployment: Deployment, plan: list[Deployment], i: int
    ) -> list[Deployment] | None:
        """The plan to go on with after ``plan[i - 1]`` failed with ``exc``; None: give up with it."""
        self.last = exc
        if isinstance(exc, AnswerRejected):  # the next candidate, else the same deployment once more
            if i < len(plan):
                return plan
            if self.asked_again or perf_counter_ns() >= self.deadline_ns:
                return None
            self.asked_again = True
            return [*plan, deployment]
        settings = self.router.settings
        status: int | None = getattr(exc, "upstream_status", None)
        if not exc.retryable and status not in settings.retry_on:
            return self._rerouted(exc, plan, i)
        pool = self.pool
        if (
            self.left
            and pool is not None
            and (status is None or status in settings.retry_on)
            and pool.holds(deployment)
            and not any(pool.holds(d) for d in plan[i:])
        ):
            wait = self._wait(exc)
            if perf_counter_ns() + wait * 1e9 < self.deadline_ns and self.router.budget.take():
                self.left -= 1
                self.round += 1
                await asyncio.sleep(wait)
                return plan[:i] + pool.order(monotonic(), self.request.stream) + plan[i:]
        return plan

    def _wait(self, exc: UpstreamError) -> float:
        settings = self.router.settings
        ceiling = min(settings.max_backoff, settings.backoff * 2 ** (self.round))
        jittered = self.router.rng.uniform(0, ceiling)
        if any(name == "retry-after" for name, _ in exc.headers):
            return max(jittered, retry_after(exc.headers, settings.max_retry_after, 0.0))
        return jittered

    def _rerouted(self, exc: UpstreamError, plan: list[Deployment], i: int) -> list[Deployment] | None:
        pool = self.pool
        if pool is None or self.rerouted:
            return None
        code = exc.code or ""
        names: tuple[str, ...] = ()
        if code in _CONTEXT_CODES:
            names = pool.context_window_fallbacks
        elif code in _POLICY_CODES:
            names = pool.content_policy_fallbacks
        if not names:
            return None
        self.rerouted = True
        now = monotonic()
        extra = [d for name in names for d in self.router.pool(name).order(now, self.request.stream)]
        return plan[:i] + extra
