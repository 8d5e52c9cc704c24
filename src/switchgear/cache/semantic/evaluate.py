"""Replaying labelled pairs through the semantic lookup: for each pair, ``a`` is stored and ``b``
looked up (each pair in a partition of its own, through the same index, vetoes and probes as the
gateway), giving the best score ``b`` reaches, or none (vetoed, not in a probed cell, too long).

Rates are fractions: ``recall`` of the duplicate pairs that hit, ``false_hit_rate`` of the
non-duplicate pairs that hit, ``precision`` of the hits that were duplicates.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from switchgear.cache.semantic.guard import features
from switchgear.cache.semantic.index import IndexEntry
from switchgear.cache.semantic.lookup import SemanticLookup

_BATCH = 32  # pairs between two progress updates


@dataclass(frozen=True, slots=True)
class Pair:
    id: str
    a: str
    b: str
    duplicate: bool


def read_pairs(path: Path) -> list[Pair]:
    """``{"id", "a", "b", "duplicate"}`` per line (``.gz`` read as gzip); raises ValueError."""
    opener = gzip.open if path.suffix == ".gz" else open
    pairs: list[Pair] = []
    with opener(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                pairs.append(Pair(str(row.get("id", number)), row["a"], row["b"], bool(row["duplicate"])))
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}:{number}: expected {{a, b, duplicate}}: {exc}") from None
    return pairs


async def _vectors(lookup: SemanticLookup, texts: Sequence[str]) -> list[object]:
    """Each text's vector, or None for a text the gateway would not embed (too long). One text at a
    time, as the gateway embeds them: the int8 model quantizes its activations per batch, so a
    text's vector moves a little with the texts batched beside it."""
    out: list[object] = []
    for text in texts:
        one = await lookup.embedder.embed([text])
        out.append(None if one is None else one[0])
    return out


async def score_pairs(
    lookup: SemanticLookup, pairs: Sequence[Pair], progress: Callable[[int], None] | None = None
) -> list[float | None]:
    """The score each pair's ``b`` reaches against its ``a`` (None: no hit at any threshold)."""
    index = lookup.index
    scores: dict[int, float | None] = {}
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].a) + len(pairs[i].b))  # little padding
    for start in range(0, len(order), _BATCH):
        rows = order[start : start + _BATCH]
        chunk = [pairs[i] for i in rows]
        stored = await _vectors(lookup, [p.a for p in chunk])
        asked = await _vectors(lookup, [p.b for p in chunk])
        for row, pair, va, vb in zip(rows, chunk, stored, asked, strict=True):
            if va is None or vb is None:
                scores[row] = None
                continue
            partition = "eval:" + pair.id
            index.add(IndexEntry(pair.id, partition, pair.a, features(pair.a), math.inf, va))  # type: ignore[arg-type]
            found = index.search(partition, vb, -1.0, lookup.vetoes, features(pair.b))  # type: ignore[arg-type]
            index.remove(pair.id)
            scores[row] = None if found is None else found.score
        if progress is not None:
            progress(len(chunk))
    return [scores[i] for i in range(len(pairs))]


def summary(
    pairs: Sequence[Pair], scores: Sequence[float | None], threshold: float
) -> dict[str, float | int]:
    duplicates = sum(p.duplicate for p in pairs)
    others = len(pairs) - duplicates
    hits = [p.duplicate for p, s in zip(pairs, scores, strict=True) if s is not None and s >= threshold]
    true_hits = sum(hits)
    return {
        "pairs": len(pairs),
        "threshold": threshold,
        "recall": true_hits / duplicates if duplicates else 0.0,
        "false_hit_rate": (len(hits) - true_hits) / others if others else 0.0,
        "precision": true_hits / len(hits) if hits else 1.0,
    }
