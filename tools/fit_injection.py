"""Fit the prompt-injection scorer's weights (``src/switchgear/guardrails/injection_weights.json``).

Usage (from the repository root)::

    PYTHONPATH=src python tools/fit_injection.py ../shared/data/guardrails/injection.dev.jsonl.gz

Two logistic models on the hand-written features of ``switchgear.guardrails.injection``: *direct*
(jailbreak, prompt-extraction and adversarial-suffix attacks against benign prompts) and *document*
(instructions planted in e-mails and code answers against the same documents without them). The
operating threshold of each is the score that keeps the false-positive rate at its target (1 %
direct, 2 % documents) on the benign rows. Before the final fit, stratified 5-fold
cross-validation (repeated over 5 seeds) chooses nothing by peeking at the test fold: each fold
fits weights and its threshold on the training part and reports TPR and FPR on the held-out part;
the mean and spread are printed (and go in docs/guardrails.md), with a leave-one-source-out run
that shows how the rules transfer to attack families never seen in training.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from switchgear.guardrails.injection import NAMES, features

OUT = Path(__file__).resolve().parents[1] / "src/switchgear/guardrails/injection_weights.json"
L2 = 1.0
TARGETS = {"direct": 0.01, "document": 0.02}


def fit(x: np.ndarray, y: np.ndarray, steps: int = 3000, lr: float = 0.5) -> tuple[np.ndarray, float]:
    """Logistic regression by gradient descent, classes weighted to balance, L2 on the weights."""
    w, b = np.zeros(x.shape[1]), 0.0
    pos = y.mean()
    weight = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * weight
        w -= lr * (x.T @ g / len(y) + L2 * w / len(y))
        b -= lr * g.mean()
    return w, b


def scores(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ w + b)))


def threshold(benign: np.ndarray, fpr: float) -> float:
    """The lowest score above which at most ``fpr`` of the benign rows lie (flag: score >= it)."""
    ordered = np.sort(benign)[::-1]
    k = int(fpr * len(ordered))
    return float(np.nextafter(ordered[k], 1.0)) if k < len(ordered) else 0.0


def cross_validate(
    x: np.ndarray, y: np.ndarray, fpr: float, folds: int = 5, seeds: int = 5
) -> dict[str, Any]:
    tprs, fprs = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        fold_of = np.empty(len(y), dtype=int)
        for label in (0, 1):
            idx = np.flatnonzero(y == label)
            rng.shuffle(idx)
            fold_of[idx] = np.arange(len(idx)) % folds
        for k in range(folds):
            train, test = fold_of != k, fold_of == k
            w, b = fit(x[train], y[train])
            t = threshold(scores(x[train][y[train] == 0], w, b), fpr)
            s = scores(x[test], w, b)
            tprs.append(float((s[y[test] == 1] >= t).mean()))
            fprs.append(float((s[y[test] == 0] >= t).mean()))
    return {
        "tpr_mean": round(float(np.mean(tprs)), 4),
        "tpr_min": round(float(np.min(tprs)), 4),
        "tpr_max": round(float(np.max(tprs)), 4),
        "fpr_mean": round(float(np.mean(fprs)), 4),
        "fpr_max": round(float(np.max(fprs)), 4),
    }


def leave_source_out(x: np.ndarray, y: np.ndarray, sources: list[str], fpr: float) -> dict[str, float]:
    """TPR on each attack source when the model never saw it (benign rows all kept in training)."""
    out = {}
    src = np.array(sources)
    for name in sorted({s for s, label in zip(sources, y, strict=True) if label == 1}):
        held = (src == name) & (y == 1)
        w, b = fit(x[~held], y[~held])
        t = threshold(scores(x[y == 0], w, b), fpr)
        out[name] = round(float((scores(x[held], w, b) >= t).mean()), 4)
    return out


def main(path: str) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    result: dict[str, Any] = {}
    report: dict[str, Any] = {}
    for part in ("direct", "document"):
        if part == "direct":
            chosen = [r for r in rows if r["kind"] not in ("indirect_injection", "benign_context")]
        else:
            chosen = [r for r in rows if r["kind"] in ("indirect_injection", "benign_context")]
        x = np.array([features(r["text"]) for r in chosen])
        y = np.array([1 if r["label"] == "attack" else 0 for r in chosen])
        fpr = TARGETS[part]
        report[part] = {
            "rows": len(y),
            "attacks": int(y.sum()),
            "cv": cross_validate(x, y, fpr),
            "leave_source_out": leave_source_out(x, y, [r["source"] for r in chosen], fpr),
        }
        w, b = fit(x, y)
        result[part] = {
            "features": list(NAMES),
            "weights": [round(float(v), 5) for v in w],
            "bias": round(float(b), 5),
            "threshold": round(threshold(scores(x[y == 0], w, b), fpr), 6),
            "target_fpr": fpr,
        }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/guardrails/injection.dev.jsonl.gz")
