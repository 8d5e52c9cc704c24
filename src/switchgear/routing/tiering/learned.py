"""The learned cascade: how much a cheap math answer would gain from the strong tier, judged from
the answer itself (the checks' verdicts, its shape) and the prompt's rule features.

One multinomial logistic head over standardised ``answer_features`` that predicts the row's
*outcome class* — only the strong tier is right (gain), both or neither are (same), only the cheap
tier is right (loss) — and the score is P(gain) - P(loss), the expected gain of escalating. (On
GSM8K's answers this single head ranked answers better out of fold than two separate heads,
P(strong right) - P(weak right): CPT(80 %) 44.6 % against 45.8 %.) Shipped as ``cascade.json`` (written by
``tools/train_tiering.py --cascade-only`` from GSM8K's recorded weak answers) with the quantiles
of its out-of-fold scores, so ``cascade.learned_share`` (the share of math answers to escalate)
becomes a threshold without a magic number.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from switchgear.config.tiering import CascadeChecks
from switchgear.routing.tiering.checks import failure, final_answer
from switchgear.routing.tiering.features import RULE_NAMES, rule_features
from switchgear.routing.tiering.model import share_threshold

MODEL_FILE = "cascade.json"
ANSWER_NAMES: tuple[str, ...] = (
    "no_marker",
    "not_integer",
    "arithmetic",
    "log_chars",
    "log_digits",
    "log_equals",
    "log_final_len",
    "final_decimal",
    "log_lines",
)
# the verdicts the features encode are those of the math check with a marker required
_CHECKS = CascadeChecks(invalid_json=False, refusal=False, empty=False, math=True, math_marker=True)


def answer_features(text: str, prompt: str) -> list[float]:
    """The learned cascade's features of an answer to ``prompt``, in ``ANSWER_NAMES`` +
    ``RULE_NAMES`` order."""
    reason = failure(text, finish_reason=None, json_asked=False, prompt=prompt, checks=_CHECKS)
    final = final_answer(text) or ""
    shape = [
        reason == "no final-answer marker",
        reason == "final answer not an integer",
        reason == "arithmetic does not hold",
        math.log1p(len(text)),
        math.log1p(sum(ch.isdigit() for ch in text)),
        math.log1p(text.count("=")),
        math.log1p(len(final)),
        "." in final,
        math.log1p(text.count("\n")),
    ]
    return [float(v) for v in shape] + rule_features(prompt)


@dataclass(frozen=True, slots=True)
class LearnedCascade:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    # per outcome class (loss, same, gain): intercept first, then one weight per feature
    classes: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    score_quantiles: tuple[float, ...]

    def score(self, text: str, prompt: str) -> float:
        """P(gain) - P(loss) of escalating this answer, in -1..1."""
        logits = [row[0] for row in self.classes]
        for i, value in enumerate(answer_features(text, prompt)):
            z = (value - self.mean[i]) / self.scale[i]
            for k, row in enumerate(self.classes):
                logits[k] += z * row[i + 1]
        top = max(logits)
        loss, same, gain = (math.exp(v - top) for v in logits)
        return (gain - loss) / (loss + same + gain)

    def threshold_for_share(self, share: float) -> float:
        """The score above which about ``share`` of the calibration answers escalate."""
        return share_threshold(self.score_quantiles, share)


def from_dict(data: dict[str, Any]) -> LearnedCascade:
    if tuple(data.get("names", ())) != ANSWER_NAMES + RULE_NAMES:
        raise ValueError("the learned cascade was trained on other features; retrain it")
    if not isinstance(data.get("classes"), dict):
        raise ValueError("the learned cascade file predates the outcome-class head; retrain it")
    rows = [tuple(float(v) for v in data["classes"][name]) for name in ("loss", "same", "gain")]
    return LearnedCascade(
        mean=tuple(float(v) for v in data["mean"]),
        scale=tuple(float(v) for v in data["scale"]),
        classes=(rows[0], rows[1], rows[2]),
        score_quantiles=tuple(float(v) for v in data["score_quantiles"]),
    )


def load() -> LearnedCascade:
    """The shipped learned cascade, read from the package (no network)."""
    return from_dict(json.loads(resources.files(__package__).joinpath(MODEL_FILE).read_text("utf-8")))
