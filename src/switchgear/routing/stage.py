"""The routing stage: what each upstream attempt teaches the deployment's health.

At the *attempt outcome* point (synchronous, a few counter updates, no I/O): a success closes a
half-open breaker and feeds the latency average (time to first event for streams); a 429 cools the
deployment down for its ``Retry-After`` (capped at ``routing.max_retry_after``, else
``routing.rate_limit_cooldown``), and so does a status of ``routing.cooldown_on`` (e.g. 503) that
carries one (besides counting as a failure); a failure worth failing over (``retry_on`` statuses,
5xx, timeouts, connection errors, garbage) counts towards the breaker; an error that is the request's fault (a
plain 400) proves the deployment is up.
"""

from __future__ import annotations

from time import monotonic

from switchgear.config.model import RoutingSettings
from switchgear.core.errors import AnswerRejected
from switchgear.routing.router import Router
from switchgear.routing.shared import HealthFeed
from switchgear.stages.base import Stage
from switchgear.stages.context import Attempt, RequestContext


class Learner(Stage):
    name = "routing"

    def __init__(self, router: Router, feed: HealthFeed | None = None) -> None:
        self.router = router
        self.feed = feed  # shares breaker openings and cool-downs with other workers (Redis)
        settings: RoutingSettings = router.settings
        self._cap = settings.max_retry_after
        self._default_cooldown = settings.rate_limit_cooldown
        self._retry_on = frozenset(settings.retry_on)
        self._cooldown_on = frozenset(settings.cooldown_on)

    def attempt_outcome(self, ctx: RequestContext, attempt: Attempt) -> None:
        health = self.router.health_of(attempt.deployment)
        now = monotonic()
        error = attempt.error
        if error is None:
            stream = ctx.request is not None and ctx.request.stream
            health.succeeded(now, attempt.latency_ms, stream)
            if not stream and ctx.usage is not None:  # a whole answer's usage is known by now
                health.produced(ctx.usage.completion_tokens, attempt.latency_ms)
            return
        opened, cooling = health.opened, health.cooldown_until
        if isinstance(error, AnswerRejected):  # it answered; a stage did not like the answer
            health.answered(now)
        elif attempt.status == 429:
            health.rate_limited(now, retry_after(error.headers, self._cap, self._default_cooldown))
        elif error.retryable or attempt.status in self._retry_on:
            if attempt.status in self._cooldown_on and _has_retry_after(error.headers):
                health.rate_limited(now, retry_after(error.headers, self._cap, self._default_cooldown))
            health.failed(now)
        else:
            health.answered(now)
        feed = self.feed
        if feed is not None:
            label = attempt.deployment.label
            if health.opened != opened:
                feed.tell(label, "open", health.open_until - now)
            if health.cooldown_until > cooling:
                feed.tell(label, "cool", health.cooldown_until - now)

    async def start(self) -> None:
        if self.feed is not None:
            await self.feed.start()

    async def close(self) -> None:
        if self.feed is not None:
            await self.feed.close()


def _has_retry_after(headers: tuple[tuple[str, str], ...]) -> bool:
    return any(name == "retry-after" for name, _ in headers)


def retry_after(headers: tuple[tuple[str, str], ...], cap: float, default: float) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds), capped; ``default`` without one."""
    for name, value in headers:
        if name == "retry-after":
            try:
                seconds = float(value)
            except ValueError:
                return min(default, cap)
            return min(max(seconds, 0.0), cap)
    return min(default, cap)
