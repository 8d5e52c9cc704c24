"""The cascade's second half, at the *answer transform* point: a cheap tier's whole answer that
fails a check (``checks.failure``) is not served; the request escalates to the next tier.

Escalation raises ``Escalated`` (an ``AnswerRejected``: the engine moves to the next candidate,
which the tiering stage planned to be the next tier; the refused answer is billed with the request
and does not count against the deployment's health). When the next tier has no usable deployment
the cheap answer is served as it is. Only whole answers are checked: streams are not cascaded (the
tiering stage sends them to the cheapest tier).
"""

from __future__ import annotations

from time import monotonic

from switchgear.core.errors import AnswerRejected
from switchgear.core.types import ChatResponse
from switchgear.routing.router import Router
from switchgear.routing.tiering.checks import failure, is_math_prompt
from switchgear.routing.tiering.learned import LearnedCascade
from switchgear.routing.tiering.signals import signals
from switchgear.routing.tiering.stage import CHOSEN, set_tier
from switchgear.stages.base import Stage
from switchgear.stages.context import RequestContext


class Escalated(AnswerRejected):
    """The cheap tier answered, but its answer failed the cascade's check."""

    code = "tier_escalated"


class Cascade(Stage):
    name = "tiering.cascade"
    reads_answer = True

    def __init__(self, router: Router, learned: LearnedCascade | None = None) -> None:
        self.router = router
        self.learned = learned  # loaded when a cascade sets ``learned_share``
        self._thresholds: dict[float, float] = {}

    async def answer_transform(self, ctx: RequestContext, response: ChatResponse) -> ChatResponse:
        chosen = CHOSEN.get(ctx)
        if chosen is None or ctx.request is None:
            return response
        policy, _ = chosen
        if policy.kind != "cascade" or ctx.deployment is None:
            return response
        tier = self._tier_of(policy.tiers, ctx)
        if tier is None or tier == len(policy.tiers) - 1:
            return response
        choice = response.choices[0] if response.choices else None
        text = choice.message.text() if choice is not None else ""
        s = signals(ctx.request.body)
        reason = failure(
            text,
            finish_reason=choice.finish_reason if choice is not None else None,
            json_asked=s.json_output,
            prompt=s.last_user,
            checks=policy.settings.cascade,
        )
        if reason is None:
            reason = self._learned(policy.settings.cascade.learned_share, text, s.last_user)
        if reason is None:
            return response
        if not self.router.pool(policy.tiers[tier + 1]).order(monotonic(), False):
            set_tier(ctx, policy.tiers[tier], f"not escalated ({reason}): next tier unavailable")
            return response
        set_tier(ctx, policy.tiers[tier + 1], f"escalated: {reason}")
        provider = ctx.deployment.provider.name
        raise Escalated(f"tier {policy.tiers[tier]!r} answered, but: {reason}", provider=provider)

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

    def _tier_of(self, tiers: tuple[str, ...], ctx: RequestContext) -> int | None:
        deployment = ctx.deployment
        for i, name in enumerate(tiers):
            pool = self.router.known(name)
            if pool is not None and deployment is not None and pool.holds(deployment):
                return i
        return None
