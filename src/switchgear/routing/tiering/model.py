"""The shipped tiering classifier: two scorers of the strong tier's *gain*, rank-averaged.

Each scorer has two logistic heads, P(strong right) and P(weak right); its gain score is their
difference (trained on the gain, not on the weak model's error alone). The *rules* scorer reads
the standardised rule features plus a one-hot of each feature's quantile bin (so that a feature
may matter in a range, not only linearly); the *text* scorer reads an L2-normalised TF-IDF vector
of word 1-2-grams. Each gain is mapped to its percentile among out-of-fold training scores and
the two percentiles are averaged (rank averaging: neither scale dominates): the final score is in
0..1, higher = more in need of the strong tier.

Thresholds come from the user's goal, never from code: ``score_quantiles`` are the final scores'
quantiles on the training data (a target strong-call share s = "strong above the (1 - s)
quantile"); ``quality_curve`` maps a strong-call share to the quality reached, as a fraction of
the strong model's, on held-out subjects, so a ``quality_target`` becomes a share. The file
(``classifier.json``) is written by ``tools/train_tiering.py``; nothing is fetched at run time.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from switchgear.routing.tiering.features import RULE_NAMES, ngrams, rule_features, words_of

MODEL_FILE = "classifier.json"


@dataclass(frozen=True, slots=True)
class RulesHead:
    intercept: float
    linear: tuple[float, ...]  # per standardised rule feature
    bins: tuple[tuple[float, ...], ...]  # per feature, one weight per bin


@dataclass(frozen=True, slots=True)
class RulesScorer:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    edges: tuple[tuple[float, ...], ...]  # per feature, the bins' inner edges
    strong: RulesHead
    weak: RulesHead

    def gain(self, values: Sequence[float]) -> float:
        s, w = self.strong.intercept, self.weak.intercept
        for i, value in enumerate(values):
            z = (value - self.mean[i]) / self.scale[i]
            b = bisect_right(self.edges[i], value)
            s += z * self.strong.linear[i] + self.strong.bins[i][b]
            w += z * self.weak.linear[i] + self.weak.bins[i][b]
        return sigmoid(s) - sigmoid(w)


@dataclass(frozen=True, slots=True)
class TextScorer:
    strong_intercept: float
    weak_intercept: float
    vocabulary: dict[str, tuple[float, float, float]]  # term -> (idf, strong weight, weak weight)

    def gain(self, text: str, words: list[str] | None = None) -> float:
        s, w = self.strong_intercept, self.weak_intercept
        found: list[tuple[float, float, float]] = []
        norm = 0.0
        vocabulary = self.vocabulary
        for term, tf in ngrams(text, words).items():
            entry = vocabulary.get(term)
            if entry is not None:
                value = tf * entry[0]
                norm += value * value
                found.append((value, entry[1], entry[2]))
        if found:
            inv = 1.0 / math.sqrt(norm)
            for value, ws, ww in found:
                s += value * inv * ws
                w += value * inv * ww
        return sigmoid(s) - sigmoid(w)


@dataclass(frozen=True, slots=True)
class TieringModel:
    rules: RulesScorer
    text: TextScorer
    rules_quantiles: tuple[float, ...]  # out-of-fold gain quantiles of each scorer
    text_quantiles: tuple[float, ...]
    rules_weight: float  # the final score: weight x rules percentile + (1 - weight) x text's
    score_quantiles: tuple[float, ...]  # q[i] = the i / (len - 1) quantile of final scores
    quality_curve: tuple[tuple[float, float], ...]  # (strong share, quality / strong quality)
    info: dict[str, Any]

    def score(self, text: str) -> float:
        """How much the strong tier is expected to help on this prompt, as a percentile in 0..1."""
        words = words_of(text)
        r = percentile(self.rules_quantiles, self.rules.gain(rule_features(text, words)))
        t = percentile(self.text_quantiles, self.text.gain(text, words))
        return self.rules_weight * r + (1.0 - self.rules_weight) * t

    def threshold_for_share(self, share: float) -> float:
        """The score above which about ``share`` of calibration prompts go to the strong tier."""
        return share_threshold(self.score_quantiles, share)

    def share_for_quality(self, fraction_of_strong: float) -> float:
        """The least calibration strong-call share reaching ``fraction_of_strong`` of the strong
        model's quality (1.0 if the curve never does)."""
        for share, quality in self.quality_curve:
            if quality >= fraction_of_strong:
                return share
        return 1.0


def share_threshold(quantiles: Sequence[float], share: float) -> float:
    """The value above which about ``share`` of a calibration set lies, from its evenly spaced
    ``quantiles`` (interpolated; -inf for all of it, inf for none)."""
    if share >= 1.0:
        return -math.inf
    if share <= 0.0:
        return math.inf
    pos = (1.0 - share) * (len(quantiles) - 1)
    low = int(pos)
    high = min(low + 1, len(quantiles) - 1)
    return quantiles[low] + (quantiles[high] - quantiles[low]) * (pos - low)


def percentile(quantiles: Sequence[float], value: float) -> float:
    """Where ``value`` falls among evenly spaced ``quantiles``, 0..1, interpolated."""
    n = len(quantiles) - 1
    k = bisect_right(quantiles, value)
    if k == 0:
        return 0.0
    if k > n:
        return 1.0
    low, high = quantiles[k - 1], quantiles[k]
    inside = (value - low) / (high - low) if high > low else 0.5
    return (k - 1 + inside) / n


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _floats(values: Sequence[Any]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _rules_head(data: dict[str, Any]) -> RulesHead:
    return RulesHead(
        float(data["intercept"]), _floats(data["linear"]), tuple(_floats(b) for b in data["bins"])
    )


def from_dict(data: dict[str, Any]) -> TieringModel:
    """A model from its JSON form; raises ValueError when the file does not fit this code."""
    if tuple(data.get("rule_names", ())) != RULE_NAMES:
        raise ValueError("tiering model was trained on other rule features; retrain it")
    rules, text = data["rules"], data["text"]
    return TieringModel(
        rules=RulesScorer(
            mean=_floats(rules["mean"]),
            scale=_floats(rules["scale"]),
            edges=tuple(_floats(e) for e in rules["edges"]),
            strong=_rules_head(rules["strong"]),
            weak=_rules_head(rules["weak"]),
        ),
        text=TextScorer(
            float(text["strong_intercept"]),
            float(text["weak_intercept"]),
            {t: (float(v[0]), float(v[1]), float(v[2])) for t, v in text["vocabulary"].items()},
        ),
        rules_quantiles=_floats(rules["quantiles"]),
        text_quantiles=_floats(text["quantiles"]),
        rules_weight=float(data["rules_weight"]),
        score_quantiles=_floats(data["score_quantiles"]),
        quality_curve=tuple((float(s), float(q)) for s, q in data["quality_curve"]),
        info=dict(data.get("info", {})),
    )


def load(path: Path | None = None) -> TieringModel:
    """The shipped model (or the one at ``path``), read from disk, no network."""
    if path is None:
        text = resources.files(__package__).joinpath(MODEL_FILE).read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return from_dict(json.loads(text))
