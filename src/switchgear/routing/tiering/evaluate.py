"""``switchgear eval router``'s core: replay labelled prompts through a policy, no model called.

Rows follow the ``shared/data/routing`` schema (``prompt``, ``outcomes`` of a weak and a strong
model, GSM8K's recorded answers in ``outcomes[model].response``). The weak model is the outcome
with the lower mean score, the strong one the higher. Policies score each row (higher: more in
need of the strong tier) and ``metrics`` turns the scores into RouteLLM's figures:

- ``classifier``: the shipped model's score of the prompt;
- ``rules``: the prompt-length rule (characters), the rule that needs no training;
- ``cascade``: the weak model's recorded answer first — rows whose answer fails the cascade's
  checks (``checks.failure``, with ``math_marker``: GSM8K asks for "#### <answer>") escalate
  first, the others after them in ``--then`` order (the length rule, or the classifier). Needs
  recorded weak answers.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchgear.config.tiering import CascadeChecks
from switchgear.routing.tiering import metrics
from switchgear.routing.tiering.checks import failure
from switchgear.routing.tiering.model import TieringModel

POLICIES = ("classifier", "rules", "cascade")


class EvalError(ValueError):
    """The data cannot be evaluated (not the routing schema, no recorded answers for a cascade)."""


@dataclass(frozen=True, slots=True)
class Row:
    prompt: str
    weak: float
    strong: float
    weak_answer: str | None


def read_rows(path: Path) -> list[Row]:
    """The labelled rows of a ``.jsonl.gz`` (or plain ``.jsonl``) file."""
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            raw = [json.loads(line) for line in f if line.strip()]
    except (OSError, json.JSONDecodeError, EOFError) as exc:
        raise EvalError(f"{path}: cannot read it as JSON lines ({exc})") from None
    return to_rows(raw, str(path))


def to_rows(raw: Iterable[Any], where: str) -> list[Row]:
    records = list(raw)
    if not records:
        raise EvalError(f"{where}: no rows")
    try:
        names = list(records[0]["outcomes"])
        if len(names) != 2:
            raise EvalError(f"{where}: each row needs the outcomes of exactly two models")
        means = {n: sum(float(r["outcomes"][n]["score"]) for r in records) / len(records) for n in names}
        weak, strong = sorted(names, key=lambda n: means[n])
        return [
            Row(
                prompt=str(r["prompt"]),
                weak=float(r["outcomes"][weak]["score"]),
                strong=float(r["outcomes"][strong]["score"]),
                weak_answer=r["outcomes"][weak].get("response"),
            )
            for r in records
        ]
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, EvalError):
            raise
        raise EvalError(
            f"{where}: not the routing schema (prompt, outcomes.<model>.score): {exc!r}"
        ) from None


def scores(rows: list[Row], policy: str, model: TieringModel, then: str = "rules") -> Iterator[float]:
    """Each row's score under ``policy``, lazily (the caller shows progress); ``then``: what
    orders the rows a cascade does not escalate ("rules" or "classifier")."""
    if policy not in POLICIES:
        raise EvalError(f"unknown policy {policy!r} (one of {', '.join(POLICIES)})")
    if policy == "cascade" and any(r.weak_answer is None for r in rows):
        raise EvalError("the cascade is evaluated from recorded weak answers: these rows have none")
    checks = CascadeChecks(math_marker=True)  # the labelled math data asks for "#### <answer>"
    for row in rows:
        if policy == "rules":
            yield float(len(row.prompt))
        elif policy == "classifier":
            yield model.score(row.prompt)
        else:
            failed = failure(
                row.weak_answer or "", finish_reason=None, json_asked=False, prompt=row.prompt, checks=checks
            )
            rest = model.score(row.prompt) if then == "classifier" else min(len(row.prompt) / 1e6, 0.5)
            yield (1.0 if failed else 0.0) + rest


@dataclass(frozen=True, slots=True)
class Result:
    rows: int
    figures: dict[str, float]
    curve: metrics.Curve
    oracle: metrics.Curve

    def as_json(self) -> dict[str, float | int]:
        return {"rows": self.rows, **self.figures}


def evaluate(rows: list[Row], row_scores: list[float]) -> Result:
    weak = [r.weak for r in rows]
    strong = [r.strong for r in rows]
    made = metrics.curve(row_scores, weak, strong)
    oracle = metrics.curve([s - w for s, w in zip(strong, weak, strict=True)], weak, strong)
    return Result(len(rows), metrics.summary(made), made, oracle)


def random_figures(result: Result) -> dict[str, float]:
    """What a random router is expected to reach on the same rows (its curve is the straight line
    from weak to strong quality)."""
    c = result.curve
    line = metrics.Curve(c.shares, [c.weak + s * (c.strong - c.weak) for s in c.shares], c.weak, c.strong)
    return metrics.summary(line)
