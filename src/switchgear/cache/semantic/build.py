"""The semantic lookup from the settings: the embedder, its calibrated threshold and the index.

``model/calibration.json`` (made by ``tools/calibrate_semantic.py``) belongs to one build of the
built-in model (its sha256): the threshold chosen by cross-validation on Quora question pairs,
with and without the veto rules, and the index's centroids (``model/centroids.npy``).
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np

from switchgear.cache.semantic.embedder import MODEL_DIR, BuiltinEmbedder, Embedder, Vectors, manifest
from switchgear.cache.semantic.guard import NO_VETOES, Vetoes
from switchgear.cache.semantic.index import VectorIndex
from switchgear.cache.semantic.lookup import SemanticLookup
from switchgear.config.load import ConfigError
from switchgear.config.model import Settings


def calibration() -> dict[str, Any]:
    """The built-in model's calibration, checked to belong to the model file that ships."""
    data: dict[str, Any] = json.loads((MODEL_DIR / "calibration.json").read_text())
    model = next(sha for name, sha in manifest()["files"].items() if name.endswith(".onnx"))
    if data["model_sha256"] != model:
        raise ConfigError("semantic cache: model/calibration.json was made for another build of the model")
    return data


def centroids(data: dict[str, Any]) -> Vectors:
    raw = (MODEL_DIR / data["centroids"]).read_bytes()
    if hashlib.sha256(raw).hexdigest() != data["centroids_sha256"]:
        raise ConfigError("semantic cache: model/centroids.npy does not match model/calibration.json")
    loaded: Vectors = np.load(io.BytesIO(raw), allow_pickle=False).astype(np.float32)
    return loaded


def shipped_vetoes(data: dict[str, Any]) -> Vetoes:
    """The veto rules the calibration chose (and the veto threshold was fitted with)."""
    chosen = data["vetoes"]
    return Vetoes(digits=bool(chosen["digits"]), entities=chosen["entities"])


def default_threshold(data: dict[str, Any], vetoes: bool) -> float:
    return float(data["threshold_vetoes" if vetoes else "threshold_cosine"])


def build_semantic(settings: Settings, embedder: Embedder | None = None) -> SemanticLookup:
    """``embedder``: an embeddings model served by the gateway (``engine``), else the built-in one."""
    semantic = settings.cache.semantic
    if embedder is None:
        if semantic.embedder != "builtin":
            raise ConfigError(
                f"cache.semantic.embedder: {semantic.embedder!r} is not an embeddings model here"
            )
        embedder = BuiltinEmbedder(semantic.threads)
        data = calibration()
        index = VectorIndex(centroids(data), semantic.probes, semantic.max_entries)
        threshold = default_threshold(data, semantic.vetoes)
        vetoes = shipped_vetoes(data) if semantic.vetoes else NO_VETOES
    else:
        unset = [
            m.name for m in settings.models if m.cache and m.cache.semantic and not m.cache.semantic.threshold
        ]
        if semantic.threshold is None and (semantic.enabled or semantic.requests or unset):
            raise ConfigError(
                "cache.semantic.threshold: required with an embeddings model as embedder "
                "(choose it with: switchgear eval cache --pairs FILE)"
            )
        index = VectorIndex(None, 1, semantic.max_entries)
        threshold = semantic.threshold or 1.0
        vetoes = Vetoes() if semantic.vetoes else NO_VETOES
    rules = SemanticLookup.rules_of(settings, threshold)
    return SemanticLookup(semantic, rules, embedder, index, default_threshold=threshold, vetoes=vetoes)
