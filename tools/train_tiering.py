"""Train the tiering classifier shipped in ``switchgear/routing/tiering/classifier.json``.

Usage (from the repository root; scikit-learn comes with the ``test`` extra)::

    PYTHONPATH=src python tools/train_tiering.py --data ../shared/data/routing \
        [--out src/switchgear/routing/tiering/classifier.json] [--cv-only] [--seeds 3]
    PYTHONPATH=src python tools/train_tiering.py --cascade-only   # the GSM8K cascade: CV, cascade.json

What it does:
1. reads ``mmlu.dev`` and ``gsm8k.dev`` (the ``shared/data/routing`` schema; the router sees
   ``prompt`` only) and computes the gateway's own features for each prompt
   (``switchgear.routing.tiering.features``: rule features + word 1-2-gram counts);
2. fits two scorers, each with two logistic heads, P(strong right) and P(weak right), whose
   difference is the *gain* of the strong tier: a rules scorer (standardised rule features plus a
   one-hot of each feature's quantile bin) and a text scorer (L2-normalised TF-IDF of word
   1-2-grams, vocabulary and idf from the training rows); the final score rank-averages the two
   (each gain as its percentile, weight ``--rules-weight``);
3. cross-validates on MMLU: 5 folds grouped by subject (test subjects unseen in training) and
   random 5-fold, each repeated over ``--seeds`` shuffles, and prints APGR, CPT(50/80/95 %) and
   the strong share at 95 % of strong quality per fold, with mean and spread (in CV, each
   scorer's percentile is taken within the test fold: the threshold tracks the traffic's own
   score quantiles, as the shipped quantiles stand in for at run time);
4. draws the held-out (by subject) cost-quality curve of MMLU to ``--png`` (docs/tiering-curve.png);
With ``--cascade-only`` it cross-validates the learned cascade (``routing/tiering/learned.py``) on
GSM8K's recorded weak answers, writes it to ``--cascade-out`` (``cascade.json``), then the rule
checks followed by the classifier's order, out of fold.

5. unless ``--cv-only``: fits the final scorers on all rows and writes the model with its
   calibration — quantiles of out-of-fold scores (random 5-fold over all rows) and the
   out-of-fold quality curve by subject (the conservative one) — so that a user's goal
   (``target_strong_share`` or ``quality_target``) becomes a threshold without a magic number.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from switchgear.config.tiering import CascadeChecks
from switchgear.routing.tiering import metrics
from switchgear.routing.tiering.checks import failure
from switchgear.routing.tiering.evaluate import read_rows
from switchgear.routing.tiering.features import RULE_NAMES, ngrams, rule_features
from switchgear.routing.tiering.learned import ANSWER_NAMES, answer_features
from switchgear.routing.tiering.model import percentile
from switchgear.routing.tiering.png import curve_png

WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG = "gpt-4-1106-preview"
OUT = Path("src/switchgear/routing/tiering/classifier.json")


@dataclass
class Rows:
    prompts: list[str]
    weak: np.ndarray
    strong: np.ndarray
    groups: list[str]  # MMLU subject, or the benchmark name
    rules: np.ndarray
    grams: list[dict[str, float]]


def load(folder: Path, names: Sequence[str]) -> Rows:
    prompts, weak, strong, groups = [], [], [], []
    for name in names:
        with gzip.open(folder / f"{name}.dev.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                prompts.append(row["prompt"])
                weak.append(row["outcomes"][WEAK]["score"])
                strong.append(row["outcomes"][STRONG]["score"])
                groups.append(row.get("meta", {}).get("subject") or row["benchmark"])
    rules = np.array([rule_features(p) for p in prompts])
    return Rows(prompts, np.array(weak), np.array(strong), groups, rules, [ngrams(p) for p in prompts])


@dataclass
class Scorer:
    """One fitted scorer: its feature transform and its two heads (strong, weak)."""

    kind: str  # "rules" or "text"
    mean: np.ndarray
    scale: np.ndarray
    edges: list[np.ndarray]
    vocab: dict[str, int]
    idf: np.ndarray
    heads: list[LogisticRegression]


def rules_matrix(rows: Rows, idx: np.ndarray, fit: Scorer) -> np.ndarray:
    values = rows.rules[idx]
    blocks = [(values - fit.mean) / fit.scale]
    for j, edges in enumerate(fit.edges):
        hot = np.zeros((len(idx), len(edges) + 1))
        hot[np.arange(len(idx)), np.searchsorted(edges, values[:, j], side="right")] = 1.0
        blocks.append(hot)
    return np.hstack(blocks)


def text_matrix(rows: Rows, idx: np.ndarray, fit: Scorer) -> sparse.csr_matrix:
    data, cols, ptr = [], [], [0]
    for i in idx:
        values = [
            (fit.vocab[t], tf * fit.idf[fit.vocab[t]]) for t, tf in rows.grams[i].items() if t in fit.vocab
        ]
        norm = float(np.sqrt(sum(v * v for _, v in values))) or 1.0
        for col, value in values:
            cols.append(col)
            data.append(value / norm)
        ptr.append(len(cols))
    return sparse.csr_matrix((data, cols, ptr), shape=(len(idx), len(fit.vocab)))


def matrix(rows: Rows, idx: np.ndarray, fit: Scorer) -> Any:
    return rules_matrix(rows, idx, fit) if fit.kind == "rules" else text_matrix(rows, idx, fit)


def fit_scorer(kind: str, rows: Rows, idx: np.ndarray, args: argparse.Namespace) -> Scorer:
    values = rows.rules[idx]
    mean, scale = values.mean(axis=0), values.std(axis=0)
    scale[scale == 0] = 1.0
    edges = [
        np.unique(np.quantile(values[:, j], np.linspace(0, 1, args.bins + 1)[1:-1]))
        for j in range(values.shape[1])
    ]
    fit = Scorer(kind, mean, scale, edges, {}, np.zeros(0), [])
    if kind == "text":
        df: dict[str, int] = {}
        for i in idx:
            for term in rows.grams[i]:
                df[term] = df.get(term, 0) + 1
        kept = sorted((t for t, n in df.items() if n >= args.min_df), key=lambda t: (-df[t], t))[
            : args.max_terms
        ]
        fit.vocab = {t: j for j, t in enumerate(kept)}
        fit.idf = np.array([np.log((1 + len(idx)) / (1 + df[t])) + 1 for t in kept])
    x = matrix(rows, idx, fit)
    for y in (rows.strong[idx], rows.weak[idx]):
        head = LogisticRegression(C=args.c_rules if kind == "rules" else args.c_text, max_iter=3000)
        head.fit(x, (y >= 0.5).astype(int))
        fit.heads.append(head)
    return fit


def gain(rows: Rows, idx: np.ndarray, fit: Scorer) -> np.ndarray:
    x = matrix(rows, idx, fit)
    strong, weak = (h.predict_proba(x)[:, 1] for h in fit.heads)
    return np.asarray(strong - weak)


def ranks(values: np.ndarray) -> np.ndarray:
    """Percentiles 0..1 within ``values`` (ties averaged)."""
    return np.asarray((rankdata(values) - 1) / max(len(values) - 1, 1))


def out_of_fold(
    rows: Rows, args: argparse.Namespace, by_subject: bool, seed: int
) -> tuple[list[dict[str, float]], dict[str, np.ndarray]]:
    """Per-fold summaries and the out-of-fold gains of each scorer and the final score (each
    scorer's gain as its percentile within the test fold, then averaged)."""
    n = len(rows.prompts)
    oof = {"rules": np.zeros(n), "text": np.zeros(n), "final": np.zeros(n)}
    if by_subject:
        subjects = sorted(set(rows.groups))
        rng = np.random.default_rng(seed)
        fold_of = {s: int(k) % 5 for s, k in zip(subjects, rng.permutation(len(subjects)), strict=True)}
        splits = GroupKFold(n_splits=5).split(np.zeros(n), groups=[fold_of[g] for g in rows.groups])
    else:
        splits = KFold(n_splits=5, shuffle=True, random_state=seed).split(np.zeros(n))
    folds = []
    for train_idx, test_idx in splits:
        for kind in ("rules", "text"):
            oof[kind][test_idx] = gain(rows, test_idx, fit_scorer(kind, rows, train_idx, args))
        w = args.rules_weight
        final = w * ranks(oof["rules"][test_idx]) + (1 - w) * ranks(oof["text"][test_idx])
        oof["final"][test_idx] = final
        c = metrics.curve(final.tolist(), rows.weak[test_idx].tolist(), rows.strong[test_idx].tolist())
        folds.append(metrics.summary(c))
    return folds, oof


def cascade_cv(args: argparse.Namespace) -> dict[str, Any]:
    """The GSM8K cascade, out of fold: the weak model's recorded answer is checked
    (``checks.failure`` with ``math_marker``); failed rows escalate first, the rest follow in the
    order of a classifier trained on MMLU and the other GSM8K folds (random 5-fold, ``--seeds``)."""
    answers = read_rows(args.data / "gsm8k.dev.jsonl.gz")
    learned = learned_cascade_cv(args, answers)  # first: quick, and it writes cascade.json
    both = load(args.data, ["mmlu", "gsm8k"])
    checks = CascadeChecks(math_marker=True)
    failed = np.array([1.0 if failure(r.weak_answer or "", finish_reason=None, json_asked=False,
                                      prompt=r.prompt, checks=checks) else 0.0 for r in answers])  # fmt: skip
    first = len(both.prompts) - len(answers)
    mmlu_idx = np.arange(first)
    folds = []
    for seed in range(args.seeds):
        for train_g, test_g in KFold(n_splits=5, shuffle=True, random_state=seed).split(failed):
            train_idx, test_idx = np.concatenate([mmlu_idx, first + train_g]), first + test_g
            gains = [
                gain(both, test_idx, fit_scorer(kind, both, train_idx, args)) for kind in ("rules", "text")
            ]
            w = args.rules_weight
            order = failed[test_g] + (w * ranks(gains[0]) + (1 - w) * ranks(gains[1])) / 2
            c = metrics.curve(order.tolist(), both.weak[test_idx].tolist(), both.strong[test_idx].tolist())
            folds.append(metrics.summary(c))
    report("gsm8k_cascade_check_then_classifier", folds, [])
    return learned


def learned_cascade_cv(args: argparse.Namespace, answers: list[Any]) -> dict[str, Any]:
    """The learned cascade (``switchgear.routing.tiering.learned``): one multinomial logistic head
    over ``answer_features`` predicting the outcome class (strong only right / same / weak only
    right), scored P(gain) - P(loss). Random 5-fold on GSM8K (``--seeds`` shuffles); in each outer
    fold the L2 strength is chosen from ``CASCADE_CS`` by an inner 5-fold CV on the training rows
    only (best pooled inner APGR). Then the strength is chosen the same way on every row, the head
    fitted on every row and written to ``--cascade-out`` with the quantiles of the first shuffle's
    out-of-fold scores."""
    x = np.array([answer_features(r.weak_answer or "", r.prompt) for r in answers])
    weak = np.array([r.weak for r in answers])
    strong = np.array([r.strong for r in answers])
    outcome = (strong >= 0.5).astype(int) - (weak >= 0.5).astype(int) + 1  # 0 loss, 1 same, 2 gain
    folds, pooled, chosen = [], [], []
    first_oof = np.zeros(len(answers))
    for seed in range(args.seeds):
        oof = np.zeros(len(answers))
        for train, test in KFold(n_splits=5, shuffle=True, random_state=seed).split(x):
            c = choose_cascade_c(x[train], outcome[train], weak[train], strong[train], seed)
            chosen.append(c)
            oof[test] = cascade_score(fit_cascade(x[train], outcome[train], c), x[test])
            folds.append(
                metrics.summary(metrics.curve(oof[test].tolist(), weak[test].tolist(), strong[test].tolist()))
            )
        pooled.append(metrics.summary(metrics.curve(oof.tolist(), weak.tolist(), strong.tolist())))
        if seed == 0:
            first_oof = oof
    print(f"\ninner-CV choice of C per outer fold: {chosen}")
    result = report("gsm8k_cascade_learned", folds, pooled)
    c = choose_cascade_c(x, outcome, weak, strong, 0)
    head, mean, scale = fit_cascade(x, outcome, c)
    rows = {
        name: [float(head.intercept_[k])] + [round(float(v), 6) for v in head.coef_[k]]
        for k, name in enumerate(("loss", "same", "gain"))
    }
    model = {
        "names": list(ANSWER_NAMES + RULE_NAMES),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "classes": rows,
        "score_quantiles": quantiles(first_oof, 201),
        "info": {
            "trained_on": "shared/data/routing gsm8k.dev recorded weak answers",
            "c": c,
            "cv": result,
        },
    }
    args.cascade_out.write_text(
        json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"\nwrote {args.cascade_out} (C = {c}, chosen by 5-fold CV on every row)")
    return result


CASCADE_CS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def choose_cascade_c(
    x: np.ndarray, outcome: np.ndarray, weak: np.ndarray, strong: np.ndarray, seed: int
) -> float:
    """The L2 strength with the best pooled out-of-fold APGR in a 5-fold CV of these rows only."""
    best: tuple[float, float] | None = None
    splits = list(KFold(n_splits=5, shuffle=True, random_state=100 + seed).split(x))
    for c in CASCADE_CS:
        oof = np.zeros(len(x))
        for train, test in splits:
            oof[test] = cascade_score(fit_cascade(x[train], outcome[train], c), x[test])
        value = metrics.apgr(metrics.curve(oof.tolist(), weak.tolist(), strong.tolist()))
        if best is None or value > best[0]:
            best = (value, c)
    assert best is not None
    return best[1]


def fit_cascade(
    x: np.ndarray, outcome: np.ndarray, c: float
) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    head = LogisticRegression(C=c, max_iter=3000).fit((x - mean) / scale, outcome)
    if list(head.classes_) != [0, 1, 2]:
        raise ValueError("the cascade's training rows lack an outcome class (loss, same, gain)")
    return head, mean, scale


def cascade_score(fit: tuple[LogisticRegression, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """P(gain) - P(loss) of each row."""
    head, mean, scale = fit
    p = head.predict_proba((x - mean) / scale)
    return np.asarray(p[:, 2] - p[:, 0])


def spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f} [{min(values):.3f}, {max(values):.3f}]"


def report(name: str, folds: list[dict[str, float]], pooled: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    print(f"\n{name}: per fold (n={len(folds)}) mean ± sd [min, max]; pooled out-of-fold per seed")
    for key in ("apgr", "cpt50", "cpt80", "cpt95", "strong_share_at_95"):
        per_fold = [f[key] for f in folds]
        per_seed = [p[key] for p in pooled] or per_fold  # no pooled curve: the folds stand for it
        print(f"  {key:20s} folds {spread(per_fold)}   pooled {spread(per_seed)}")
        out[key] = {
            "fold_mean": statistics.mean(per_fold),
            "fold_sd": statistics.stdev(per_fold),
            "pooled_mean": statistics.mean(per_seed),
        }
    return out


def quantiles(scores: np.ndarray, points: int) -> list[float]:
    return [round(float(v), 6) for v in np.quantile(scores, np.linspace(0, 1, points))]


def rules_json(fit: Scorer) -> dict[str, Any]:
    k = len(RULE_NAMES)
    out: dict[str, Any] = {
        "mean": [round(float(v), 6) for v in fit.mean],
        "scale": [round(float(v), 6) for v in fit.scale],
        "edges": [[round(float(v), 6) for v in e] for e in fit.edges],
    }
    for name, head in zip(("strong", "weak"), fit.heads, strict=True):
        coef = head.coef_[0]
        bins, at = [], k
        for e in fit.edges:
            bins.append([round(float(v), 6) for v in coef[at : at + len(e) + 1]])
            at += len(e) + 1
        out[name] = {
            "intercept": float(head.intercept_[0]),
            "linear": [round(float(v), 6) for v in coef[:k]],
            "bins": bins,
        }
    return out


def text_json(fit: Scorer) -> dict[str, Any]:
    strong, weak = fit.heads
    return {
        "strong_intercept": float(strong.intercept_[0]),
        "weak_intercept": float(weak.intercept_[0]),
        "vocabulary": {
            t: [
                round(float(fit.idf[j]), 4),
                round(float(strong.coef_[0, j]), 5),
                round(float(weak.coef_[0, j]), 5),
            ]
            for t, j in fit.vocab.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/routing"))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--cv-only", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--c-rules", type=float, default=1.0, help="inverse L2 strength, rules heads")
    parser.add_argument("--c-text", type=float, default=0.3, help="inverse L2 strength, text heads")
    parser.add_argument("--bins", type=int, default=8, help="quantile bins per rule feature")
    parser.add_argument(
        "--rules-weight", type=float, default=0.5, help="rank-average weight of the rules scorer"
    )
    parser.add_argument("--min-df", type=int, default=3)
    parser.add_argument("--max-terms", type=int, default=12000)
    parser.add_argument("--png", type=Path, default=Path("docs/tiering-curve.png"), help="the held-out curve")
    parser.add_argument(
        "--cascade-out", type=Path, default=Path("src/switchgear/routing/tiering/cascade.json")
    )
    parser.add_argument("--cascade-only", action="store_true", help="only the GSM8K cascade's CV")
    args = parser.parse_args()
    if args.cascade_only:
        cascade_cv(args)
        return 0

    mmlu = load(args.data, ["mmlu"])
    results: dict[str, Any] = {}
    oof_subject: np.ndarray | None = None
    for by_subject, name in ((True, "mmlu_by_subject"), (False, "mmlu_random_5fold")):
        folds, pooled = [], []
        for seed in range(args.seeds):
            f, oof = out_of_fold(mmlu, args, by_subject, seed)
            folds += f
            pooled.append(
                metrics.summary(
                    metrics.curve(oof["final"].tolist(), mmlu.weak.tolist(), mmlu.strong.tolist())
                )
            )
            if by_subject and seed == 0:
                oof_subject = oof["final"]
        results[name] = report(name, folds, pooled)
    assert oof_subject is not None
    held_out = metrics.curve(oof_subject.tolist(), mmlu.weak.tolist(), mmlu.strong.tolist())
    oracle = metrics.curve((mmlu.strong - mmlu.weak).tolist(), mmlu.weak.tolist(), mmlu.strong.tolist())
    shares, quality = held_out.shares, held_out.quality
    curve_png(
        args.png,
        shares=shares,
        quality=quality,
        oracle=oracle.quality,
        weak=held_out.weak,
        strong=held_out.strong,
    )
    print(f"\nwrote {args.png} (MMLU, by subject, out of fold, first shuffle)")
    if args.cv_only:
        return 0

    everything = load(args.data, ["mmlu", "gsm8k"])
    _, oof_all = out_of_fold(everything, args, False, 0)
    c = held_out
    step = max(1, len(c.shares) // 200)
    quality_curve = [[round(s, 4), round(q / c.strong, 5)] for s, q in zip(c.shares, c.quality, strict=True)][
        ::step
    ]
    every = np.arange(len(everything.prompts))
    rules_fit = fit_scorer("rules", everything, every, args)
    text_fit = fit_scorer("text", everything, every, args)
    rules_q, text_q = quantiles(oof_all["rules"], 201), quantiles(oof_all["text"], 201)
    w = args.rules_weight
    final = [
        w * percentile(rules_q, r) + (1 - w) * percentile(text_q, t)
        for r, t in zip(oof_all["rules"], oof_all["text"], strict=True)
    ]
    model = {
        "rule_names": list(RULE_NAMES),
        "rules": {**rules_json(rules_fit), "quantiles": rules_q},
        "text": {**text_json(text_fit), "quantiles": text_q},
        "rules_weight": w,
        "score_quantiles": quantiles(np.array(final), 201),
        "quality_curve": quality_curve,
        "info": {
            "trained_on": "shared/data/routing mmlu.dev + gsm8k.dev (Mixtral-8x7B weak, GPT-4 strong)",
            "rows": len(everything.prompts),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "cv": results,
        },
    }
    args.out.write_text(json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out} ({args.out.stat().st_size // 1024} KB, {len(text_fit.vocab)} terms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
