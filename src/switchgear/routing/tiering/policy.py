"""A tiered model's policy: which tier serves a request, and why, in well under a millisecond.

Order of decision: a ``x-switchgear-tier-hint`` naming a tier (when ``honor_hint``), then the
first matching rule, then the policy's own choice — ``rules``: the ``default`` tier (else the
cheapest); ``classifier``: the strongest tier when the shipped model's gain score is above the
threshold set from the goal, else the cheapest; ``cascade``: the cheapest, escalated later by
``cascade.Cascade`` when its answer fails a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from switchgear.config.tiering import TieringSettings
from switchgear.routing.tiering import model as model_file
from switchgear.routing.tiering.model import TieringModel
from switchgear.routing.tiering.rules import Facts, Rule, first_match
from switchgear.routing.tiering.signals import Signals


@dataclass(frozen=True, slots=True)
class Decision:
    tier: int  # index into the tiers, cheapest first
    reason: str


class Policy:
    def __init__(self, name: str, settings: TieringSettings, model: TieringModel | None = None) -> None:
        self.name = name
        self.settings = settings
        self.kind = settings.policy
        self.tiers = tuple(settings.tiers)
        self.rules = tuple(Rule(r) for r in settings.rules)
        self.index = {t: i for i, t in enumerate(self.tiers)}
        self.default = self.index[settings.default] if settings.default is not None else 0
        self.model: TieringModel | None = None
        self.threshold = 0.0
        self.share = 0.0
        if self.kind == "classifier":
            self.model = model or load_model(settings)
            self.share = goal_share(settings, self.model)
            self.threshold = self.model.threshold_for_share(self.share)

    def decide(self, s: Signals, facts: Facts) -> Decision:
        if self.settings.honor_hint and facts.hint is not None:
            hinted = self.index.get(facts.hint)
            if hinted is not None:
                return Decision(hinted, f"hint {facts.hint}")
        rule = first_match(self.rules, s, facts)
        if rule is not None:
            return Decision(self.index[rule.tier], f"rule {rule.name}")
        if self.model is not None:
            score = self.model.score(s.last_user)
            if score > self.threshold:
                return Decision(len(self.tiers) - 1, f"score {score:.3f} > {self.threshold:.3f}")
            return Decision(0, f"score {score:.3f} <= {self.threshold:.3f}")
        if self.kind == "cascade":
            return Decision(0, "cascade: cheapest first")
        return Decision(self.default, "default")


def load_model(settings: TieringSettings) -> TieringModel:
    return model_file.load(Path(settings.model_path) if settings.model_path else None)


def goal_share(settings: TieringSettings, model: TieringModel) -> float:
    """The strong-call share the goal asks for: given, or the least that reaches the quality
    target on the model's calibration curve."""
    if settings.target_strong_share is not None:
        return settings.target_strong_share
    if settings.quality_target is not None:
        return model.share_for_quality(settings.quality_target)
    raise ValueError("a classifier needs target_strong_share or quality_target")
