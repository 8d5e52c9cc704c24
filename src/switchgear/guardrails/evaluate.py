"""Measuring the guardrails on labelled files (``switchgear eval guardrails``).

PII: span-level precision, recall and F1 per entity type, a gold span counting as found when at
least half of its characters are covered by predictions of the same type, a prediction counting as
right when at least half of its characters lie in gold spans of that type (the data files' type
names; ``ADDRESS`` and ``STREET_ADDRESS`` are both addresses). Also the same figures through the
stream redactor (the text cut in 3-8 character chunks), and throughput of the structured tier.
Injection: ROC AUC and the true-positive rate at 1 % and 2 % false positives, for direct attacks
(against benign prompts) and indirect ones (against benign documents).
"""

from __future__ import annotations

import gzip
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchgear.guardrails.injection import Scorer
from switchgear.guardrails.pii.detect import STRUCTURED, TYPES, Detector, Masker
from switchgear.guardrails.pii.patterns import Span
from switchgear.guardrails.pii.stream import HeldText

# the data files' type names -> the detector's
GOLD_TYPES = {"ADDRESS": "STREET_ADDRESS", "STREET_ADDRESS": "STREET_ADDRESS"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass(slots=True)
class Tally:
    gold: int = 0
    found: int = 0  # gold spans found
    predicted: int = 0
    right: int = 0  # predictions that are right

    def scores(self) -> dict[str, float]:
        precision = self.right / self.predicted if self.predicted else 1.0
        recall = self.found / self.gold if self.gold else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _covered(start: int, end: int, spans: Iterable[tuple[int, int]]) -> float:
    inside = sum(max(0, min(end, e) - max(start, s)) for s, e in spans)
    return inside / max(1, end - start)


@dataclass(slots=True)
class PiiScore:
    tallies: dict[str, Tally] = field(default_factory=dict)
    addresses: int = 0
    addresses_masked: int = 0  # gold addresses at least half covered by any masked span

    def add(self, gold: Sequence[dict[str, Any]], predicted: Sequence[Span], types: frozenset[str]) -> None:
        by_type: dict[str, list[tuple[int, int]]] = {}
        for span in gold:
            kind = GOLD_TYPES.get(span["type"], span["type"])
            by_type.setdefault(kind, []).append((span["start"], span["end"]))
        mine: dict[str, list[tuple[int, int]]] = {}
        for start, end, kind in predicted:
            mine.setdefault(kind, []).append((start, end))
        every = [(s, e) for s, e, _ in predicted]
        for s, e in by_type.get("STREET_ADDRESS", []):
            self.addresses += 1
            self.addresses_masked += _covered(s, e, every) >= 0.5
        for kind in types:
            tally = self.tallies.setdefault(kind, Tally())
            gold_spans, my_spans = by_type.get(kind, []), mine.get(kind, [])
            tally.gold += len(gold_spans)
            tally.found += sum(_covered(s, e, my_spans) >= 0.5 for s, e in gold_spans)
            tally.predicted += len(my_spans)
            tally.right += sum(_covered(s, e, gold_spans) >= 0.5 for s, e in my_spans)

    def report(self) -> dict[str, dict[str, float]]:
        out = {kind: t.scores() for kind, t in sorted(self.tallies.items()) if t.gold or t.predicted}
        total = Tally()
        for kind in STRUCTURED:
            t = self.tallies.get(kind)
            if t is not None:
                total.gold += t.gold
                total.found += t.found
                total.predicted += t.predicted
                total.right += t.right
        out["STRUCTURED"] = total.scores()
        return out

    def masked_share(self) -> float:
        """Share of gold street addresses that end up masked (by any type)."""
        return round(self.addresses_masked / self.addresses, 4) if self.addresses else 1.0


def chunks(text: str, rng: random.Random) -> Iterator[str]:
    """The text cut in pieces of 3-8 characters, as a provider's stream might send it."""
    i = 0
    while i < len(text):
        n = rng.randint(3, 8)
        yield text[i : i + n]
        i += n


def streamed(detector: Detector, window: int, seed: int = 0) -> Callable[[str], list[Span]]:
    """A ``find`` that sends the text through the stream redactor in 3-8 character chunks and
    returns the spans it masked (in offsets of the whole text)."""
    rng = random.Random(seed)

    def find(text: str) -> list[Span]:
        record: list[Span] = []
        held = HeldText(Masker(detector), window, restore=False, record=record)
        for piece in chunks(text, rng):
            held.feed(piece)
        held.finish()
        return record

    return find


def pii_scores(
    rows: Sequence[dict[str, Any]],
    find: Callable[[str], list[Span]],
    types: frozenset[str],
    progress: Callable[[int], None] | None = None,
) -> PiiScore:
    score = PiiScore()
    for row in rows:
        score.add(row["spans"], find(row["text"]), types)
        if progress is not None:
            progress(1)
    return score


def throughput(rows: Sequence[dict[str, Any]], detector: Detector, seconds: float = 1.0) -> float:
    """Sentences per second through ``detector.search`` on one core (repeating the file; no text
    is remembered as clean between rounds)."""
    texts = [row["text"] for row in rows]
    done, began = 0, time.perf_counter()
    while True:
        for text in texts:
            detector.search(text)
        done += len(texts)
        elapsed = time.perf_counter() - began
        if elapsed >= seconds:
            return done / elapsed


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average = (i + j + 1) / 2  # 1-based average rank of the tie group
        rank_sum += average * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def threshold_at(negatives: Sequence[float], fpr: float) -> float:
    """The lowest threshold (score > threshold flags) with at most ``fpr`` of negatives above it."""
    ordered = sorted(negatives, reverse=True)
    allowed = int(fpr * len(ordered))
    if allowed >= len(ordered):
        return float("-inf")
    return ordered[allowed]


def tpr_at(positives: Sequence[float], negatives: Sequence[float], fpr: float) -> float:
    threshold = threshold_at(negatives, fpr)
    return sum(s > threshold for s in positives) / max(1, len(positives))


def injection_block(positives: Sequence[float], negatives: Sequence[float]) -> dict[str, float]:
    return {
        "auc": round(roc_auc(positives, negatives), 4),
        "tpr_at_1pct_fpr": round(tpr_at(positives, negatives, 0.01), 4),
        "tpr_at_2pct_fpr": round(tpr_at(positives, negatives, 0.02), 4),
        "attacks": len(positives),
        "benign": len(negatives),
    }


def is_indirect(row: dict[str, Any]) -> bool:
    return row.get("kind") in ("indirect_injection", "benign_context")


def injection_scores(
    rows: Sequence[dict[str, Any]], progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """AUC and TPR at 1 % / 2 % FPR, pooled and split: direct attacks against benign prompts
    (scored as user messages), indirect ones against benign documents (scored as tool results)."""
    scorer = Scorer.bundled()
    groups: dict[str, tuple[list[float], list[float]]] = {"direct": ([], []), "indirect": ([], [])}
    for row in rows:
        indirect = is_indirect(row)
        score = scorer.score(row["text"], document=indirect)
        attacks, benign = groups["indirect" if indirect else "direct"]
        (attacks if row["label"] == "attack" else benign).append(score)
        if progress is not None:
            progress(1)
    keys = ("auc", "tpr_at_1pct_fpr", "tpr_at_2pct_fpr")
    pooled = injection_block(
        groups["direct"][0] + groups["indirect"][0], groups["direct"][1] + groups["indirect"][1]
    )
    out: dict[str, Any] = {k: pooled[k] for k in keys}
    for name, (attacks, benign) in groups.items():
        block = injection_block(attacks, benign)
        out[name] = {k: block[k] for k in keys}
    return out


def pii_report(
    rows: Sequence[dict[str, Any]], progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Whole-text scores per data type, plus (for the text report) the streamed scores with a
    32-character window, the share of addresses masked and the throughput of both tiers."""
    detector = Detector()
    types = frozenset(TYPES)
    whole = pii_scores(rows, detector.find, types, progress)
    stream = pii_scores(rows, streamed(detector, 32), types, progress)
    return {
        "whole": whole.report(),
        "stream": stream.report(),
        "addresses_masked": whole.masked_share(),
        "addresses_masked_stream": stream.masked_share(),
        "sentences_per_s": round(throughput(rows, Detector(STRUCTURED))),
        "sentences_per_s_all_types": round(throughput(rows, detector)),
    }


def per_source(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[str, int, float]]:
    """Per source: its label, its rows and the share flagged at the shipped thresholds (the TPR of
    an attack source, the FPR of a benign one)."""
    scorer = Scorer.bundled()
    counts: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for row in rows:
        indirect = is_indirect(row)
        model = scorer.document if indirect else scorer.direct
        flagged = scorer.score(row["text"], document=indirect) >= model.threshold
        source = str(row.get("source", row.get("kind", "?")))
        seen = counts.setdefault(source, [0, 0])
        seen[0] += flagged
        seen[1] += 1
        labels[source] = row["label"]
    return {s: (labels[s], n, round(k / n, 4)) for s, (k, n) in sorted(counts.items())}
