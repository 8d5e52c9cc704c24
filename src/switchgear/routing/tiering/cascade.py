"""The cascade's second half, at the *answer transform* point: a cheap tier's whole answer that
fails a check (``checks.failure``) is not served; the request escalates to the next tier.

Escalation raises ``Escalated`` (an ``AnswerRejected``: the engine moves to the next candidate,
which the tiering stage planned to be the next tier; the refused answer is billed with the request
and does not count against the deployment's health). When the next tier has no usable deployment
the cheap answer is served as it is. Only whole answers are checked: streams are not cascaded (the
tiering stage sends them to the cheapest tier).

The checks run cheapest first: the string checks, the mean token logprob (``min_mean_logprob``:
``LogprobCascade`` asks the checked tiers for logprobs at the plan point and takes them out of the
answer the client gets unless it asked for them itself), the learned cascade, then the judge model
(``judge``: one more round trip, through the engine, billed with the request).
"""

from __future__ import annotations

from time import monotonic

from switchgear.config.tiering import CascadeChecks
from switchgear.core.errors import AnswerRejected
from switchgear.core.types import ChatResponse
from switchgear.providers.base import Deployment
from switchgear.routing.router import Router
from switchgear.routing.tiering.checks import failure, is_math_prompt, logprob_failure
from switchgear.routing.tiering.judge import Ask, judge_failure
from switchgear.routing.tiering.learned import LearnedCascade
from switchgear.routing.tiering.signals import signals
from switchgear.routing.tiering.stage import CHOSEN, set_tier
from switchgear.stages.base import Slot, Stage
from switchgear.stages.context import RequestContext

# the cascade asked the checked tiers for logprobs the client did not ask for: not served
LOGPROBS_ADDED: Slot[bool] = Slot("tiering.logprobs_added")


class Escalated(AnswerRejected):
    """The cheap tier answered, but its answer failed the cascade's check."""

    code = "tier_escalated"


class Cascade(Stage):
    name = "tiering.cascade"
    reads_answer = True

    def __init__(self, router: Router, learned: LearnedCascade | None = None) -> None:
        self.router = router
        self.learned = learned  # loaded when a cascade sets ``learned_share``
        self.ask: Ask | None = None  # the judge's way through the engine, bound once it exists
        self._thresholds: dict[float, float] = {}

    async def answer_transform(self, ctx: RequestContext, response: ChatResponse) -> ChatResponse:
        chosen = CHOSEN.get(ctx)
        if chosen is None or ctx.request is None:
            return response
        policy, _ = chosen
        deployment = ctx.deployment
        if policy.kind != "cascade" or deployment is None:
            return response
        tier = self._tier_of(policy.tiers, deployment)
        if tier is not None and tier < len(policy.tiers) - 1:
            reason = await self._failure(ctx, response, policy.settings.cascade)
            if reason is not None:
                self._escalate(ctx, policy.tiers, tier, reason, deployment)
        if LOGPROBS_ADDED.get(ctx):
            for choice in response.choices:
                choice.logprobs = None
        return response

    async def _failure(
        self, ctx: RequestContext, response: ChatResponse, checks: CascadeChecks
    ) -> str | None:
        """Why the cheap answer should not be served, checks cheapest first; or None."""
        assert ctx.request is not None
        choice = response.choices[0] if response.choices else None
        text = choice.message.text() if choice is not None else ""
        s = signals(ctx.request.body)
        reason = failure(
            text,
            finish_reason=choice.finish_reason if choice is not None else None,
            json_asked=s.json_output,
            prompt=s.last_user,
            checks=checks,
        )
        if reason is None and checks.min_mean_logprob is not None and choice is not None:
            reason = logprob_failure(choice.logprobs, checks.min_mean_logprob)
        if reason is None:
            reason = self._learned(checks.learned_share, text, s.last_user)
        if reason is None and checks.judge is not None:
            reason = await judge_failure(self.ask, checks.judge, ctx, _question(ctx, s.last_user), text)
        return reason

    def _escalate(
        self, ctx: RequestContext, tiers: tuple[str, ...], tier: int, reason: str, deployment: Deployment
    ) -> None:
        """Raise ``Escalated`` toward the next tier; return when it has no usable deployment."""
        if not self.router.pool(tiers[tier + 1]).order(monotonic(), False):
            set_tier(ctx, tiers[tier], f"not escalated ({reason}): next tier unavailable")
            return
        set_tier(ctx, tiers[tier + 1], f"escalated: {reason}")
        if tier + 1 == len(tiers) - 1 and LOGPROBS_ADDED.get(ctx) and ctx.canonical is not None:
            ctx.canonical.logprobs = False  # the strongest tier's answer is not checked
        raise Escalated(f"tier {tiers[tier]!r} answered, but: {reason}", provider=deployment.provider.name)

    def _learned(self, share: float | None, text: str, prompt: str) -> str | None:
        """Why the learned cascade escalates a math answer that passed the checks, or None."""
        learned = self.learned
        if share is None or learned is None or not is_math_prompt(prompt):
            return None
        threshold = self._thresholds.get(share)
        if threshold is None:
            threshold = self._thresholds[share] = learned.threshold_for_share(share)
        score = learned.score(text, prompt)
        return f"learned score {score:.3f} > {threshold:.3f}" if score > threshold else None

    def _tier_of(self, tiers: tuple[str, ...], deployment: Deployment) -> int | None:
        for i, name in enumerate(tiers):
            pool = self.router.known(name)
            if pool is not None and pool.holds(deployment):
                return i
        return None


def _question(ctx: RequestContext, last_user: str) -> str:
    """The last user message as the upstream saw it: rewritten (redacted) when a stage rewrote the
    request, so that the judge is never shown what a guardrail took out."""
    canonical = ctx.canonical
    if not ctx.request_rewritten or canonical is None:
        return last_user
    users = [m for m in canonical.messages if m.role == "user"]
    return users[-1].text() if users else ""


class LogprobCascade(Cascade):
    """The cascade when a policy checks the mean token logprob (``min_mean_logprob``): it reads
    the decoded request, and at the plan point asks the tiers it checks for logprobs (what the
    client did not ask for is taken out of its answer). Composed instead of ``Cascade`` only then,
    so that no other configuration pays for the decoded request or the plan hook."""

    name = "tiering.cascade"
    reads_request = True

    async def plan(self, ctx: RequestContext, candidates: list[Deployment]) -> list[Deployment]:
        chosen = CHOSEN.get(ctx)
        canonical = ctx.canonical
        if chosen is None or canonical is None or canonical.stream or canonical.logprobs:
            return candidates
        policy, decision = chosen
        wanted = policy.settings.cascade.min_mean_logprob is not None
        if policy.kind == "cascade" and wanted and decision.tier < len(policy.tiers) - 1:
            canonical.logprobs = True  # so the upstream request asks for them
            LOGPROBS_ADDED.set(ctx, True)
        return candidates
