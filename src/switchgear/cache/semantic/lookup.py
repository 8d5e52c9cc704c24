"""The semantic lookup the cache stage makes after an exact miss, and what it adds once the answer
is stored.

An entry is only a pointer: the vector of a request's last user turn, its partition and veto
features, and the exact cache's key under which its answer is stored (``stage.ExactCache``). A hit
reads that answer from the exact cache's backend; an answer gone from there (expired, evicted) is
a miss and its entry is dropped. So entries never outlive their answers and cost no more storage.

Where it applies: ``cache.semantic.enabled`` for every model, a model's ``cache.semantic``
override, or a request's own ``cache: {semantic: true}`` / ``x-switchgear-cache-semantic: on``
(``false`` / ``off`` turns it off for the request).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from switchgear.cache.backends import Backend
from switchgear.cache.semantic.embedder import Embedder, Vectors
from switchgear.cache.semantic.guard import Features, Vetoes, features
from switchgear.cache.semantic.index import Found, IndexEntry, VectorIndex
from switchgear.cache.semantic.persist import load_index, save_index
from switchgear.cache.semantic.text import partition_of, question_of
from switchgear.config.model import SemanticCacheSettings, Settings

log = logging.getLogger("switchgear.cache")


@dataclass(frozen=True, slots=True)
class Rule:
    """The semantic settings one model gets."""

    enabled: bool
    threshold: float
    ttl: float


@dataclass(slots=True)
class Pending:
    """A request's question, kept from its lookup until its answer is stored (settle)."""

    partition: str
    text: str
    features: Features
    ttl: float
    vector: Vectors | None = None  # None: not embedded yet (the lookup was skipped)


class SemanticLookup:
    def __init__(
        self,
        settings: SemanticCacheSettings,
        rules: dict[str, Rule],
        embedder: Embedder,
        index: VectorIndex,
        *,
        default_threshold: float,
        vetoes: Vetoes,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.default = Rule(settings.enabled, settings.threshold or default_threshold, settings.ttl)
        self.rules = rules
        self.vetoes = vetoes
        self.embed_ms = 0.0  # the last embedding's wall time (for the eval and logs)

    @staticmethod
    def rules_of(settings: Settings, default_threshold: float) -> dict[str, Rule]:
        semantic = settings.cache.semantic
        rules: dict[str, Rule] = {}
        for model in settings.models:
            override = model.cache.semantic if model.cache is not None else None
            if override is None:
                continue
            rules[model.name] = Rule(
                semantic.enabled if override.enabled is None else override.enabled,
                override.threshold or semantic.threshold or default_threshold,
                override.ttl or semantic.ttl,
            )
        return rules

    def plan(
        self, api: str, model: str, body: dict[str, Any], *, scope: str, namespace: str, asked: bool | None
    ) -> tuple[Pending, float] | None:
        """What this request would look up and store, and its threshold; None when it does not
        apply (off for the model and not asked for, or a last turn that is not plain text)."""
        rule = self.rules.get(model, self.default)
        # a request may turn it off; on only where the model has it or requests may choose
        if not (rule.enabled if asked is None else asked and (rule.enabled or self.settings.requests)):
            return None
        found = question_of(api, body)
        if found is None:
            return None
        text, rest = found
        partition = partition_of(api, rest, scope, namespace, self.embedder.name)
        if partition is None:
            return None
        return Pending(partition, text, features(text), rule.ttl), rule.threshold

    async def embed(self, pending: Pending) -> Vectors | None:
        started = time.perf_counter()
        vectors = await self.embedder.embed([pending.text])
        self.embed_ms = (time.perf_counter() - started) * 1000
        if vectors is None:
            return None
        pending.vector = vectors[0]
        return pending.vector

    def search(self, pending: Pending, threshold: float) -> Found | None:
        if pending.vector is None:
            return None
        return self.index.search(pending.partition, pending.vector, threshold, self.vetoes, pending.features)

    def entry(self, pending: Pending, key: str, stored_at: float, ttl: float) -> IndexEntry | None:
        if pending.vector is None:
            return None
        expires = stored_at + min(ttl, pending.ttl)
        return IndexEntry(key, pending.partition, pending.text, pending.features, expires, pending.vector)

    def add(self, entry: IndexEntry) -> None:
        self.index.add(entry)

    def forget(self, key: str) -> None:
        self.index.remove(key)

    async def load(self, backend: Backend) -> None:
        """The index saved at ``path`` (memory backend), back with its answers."""
        if self.settings.path is not None:
            await load_index(self.settings.path, self.index, backend)

    async def save(self, backend: Backend) -> None:
        if self.settings.path is not None:
            await save_index(self.settings.path, self.index, backend)
