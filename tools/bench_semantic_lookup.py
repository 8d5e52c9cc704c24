"""Micro-time the semantic cache offline: one embedding (built-in int8 model, one thread), the
question / partition / veto features of a request, and one index lookup among 100,000 entries of
a single partition (the worst case: a tenant's whole cache in one partition), as the gateway
makes them (``SemanticLookup``'s index, shipped centroids, veto features).

Entries are the embeddings of Quora questions (``cache/qqp.dev``, both sides) topped up to
100,000 with slightly perturbed copies; queries are other questions. Prints p50 / p99 in ms.

    PYTHONPATH=src python tools/bench_semantic_lookup.py [--entries 100000] [--vectors DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the gateway runs it (cache/semantic/__init__.py)

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from switchgear.cache.semantic.build import calibration, centroids, default_threshold, shipped_vetoes
from switchgear.cache.semantic.embedder import BuiltinEmbedder
from switchgear.cache.semantic.guard import features
from switchgear.cache.semantic.index import IndexEntry, VectorIndex
from switchgear.cache.semantic.text import partition_of, question_of


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return f"p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms ({len(ms)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/cache"
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=16)
    parser.add_argument("--vectors", type=Path, default=None, help="embeddings kept by calibrate_semantic.py")
    args = parser.parse_args()
    embedder = BuiltinEmbedder()
    with gzip.open(args.data / "qqp.dev.jsonl.gz", "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    texts = [r["a"] for r in rows] + [r["b"] for r in rows]
    name = embedder.name.replace(":", "-")
    if args.vectors is not None and (args.vectors / f"{name}-qqp-a-b1.npy").exists():
        vectors = np.concatenate([np.load(args.vectors / f"{name}-qqp-{side}-b1.npy") for side in "ab"])
    else:
        vectors = embedder.embed_many(texts)

    timings = []
    for text in texts[:300]:
        started = time.perf_counter()
        embedder.embed_now([text])
        timings.append(time.perf_counter() - started)
    print(f"embedding, one text: {percentiles(timings)}")

    body = {
        "model": "support-bot",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant. " * 10},
            {"role": "user", "content": texts[0]},
        ],
        "temperature": 0,
        "max_tokens": 512,
    }
    timings = []
    for _ in range(2000):
        started = time.perf_counter()
        text, rest = question_of("chat", body)  # type: ignore[misc]
        partition_of("chat", rest, "team:t", "", embedder.name)
        features(text)
        timings.append(time.perf_counter() - started)
    print(f"question, partition key and veto features of a chat body: {percentiles(timings)}")

    data = calibration()
    index = VectorIndex(centroids(data), args.probes, args.entries)
    rng = np.random.default_rng(0)
    queries = vectors[-1000:]
    stored = vectors[:-1000]
    for i in range(args.entries):
        vector = stored[i % len(stored)]
        if i >= len(stored):  # a perturbed copy, kept a unit vector
            vector = vector + rng.normal(scale=0.02, size=vector.shape).astype(np.float32)
            vector /= np.linalg.norm(vector)
        text = texts[i % len(stored)]
        index.add(IndexEntry(f"e{i}", "tenant", text, features(text), time.time() + 3600, vector))
    threshold, vetoes = default_threshold(data, True), shipped_vetoes(data)
    asked = [features(t) for t in texts[-1000:]]
    timings = []
    for vector, feature in zip(queries, asked, strict=True):
        started = time.perf_counter()
        index.search("tenant", vector, threshold, vetoes, feature)
        timings.append(time.perf_counter() - started)
    print(f"lookup among {len(index)} entries, {args.probes} probes: {percentiles(timings)}")
    timings = []
    matrix = np.stack([stored[i % len(stored)] for i in range(args.entries)])
    for vector in queries[:200]:
        started = time.perf_counter()
        int(np.argmax(matrix @ vector))
        timings.append(time.perf_counter() - started)
    print(
        f"for comparison, brute force over the {args.entries} x {matrix.shape[1]} matrix:"
        f" {percentiles(timings)}"
    )


if __name__ == "__main__":
    main()
