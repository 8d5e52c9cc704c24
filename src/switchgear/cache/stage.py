"""The exact cache as a stage: looked up in *answer early*, filled in *settle*.

On the request path (``answer_early``): the request's controls and key (``controls``, ``key``);
a fresh entry answers at once (``x-switchgear-cache: HIT``, ``age``; the engine encodes it for
the client, streamed or whole, at zero cost), else the request goes on (``MISS``, or ``BYPASS``
when it may not be looked up) with a ``Fill`` in its slot when its answer may be stored. The
answer's bytes are kept by reference as they leave (``body_transform``; ``wrap_relay`` for a
stream): no decoding on the request path, so same-family passthrough stays.

Off the path (``settle``): a successful, complete answer is read back into canonical form
(``fill``), stored with what it cost, and hits are counted with the cost they avoided
(``stats``; each hit's record carries it in ``SAVED``).

The semantic lookup (``semantic``, when configured) comes after an exact miss: the request's
last user turn is embedded and searched among stored questions of the same partition; a close
enough one answers (``SEMANTIC-HIT``, and ``x-switchgear-cache-similarity``). Its entries point at
the exact cache's stored answers and are added in settle, when the answer is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from switchgear.cache.backends import Backend, MemoryBackend, RedisBackend
from switchgear.cache.capture import CapturingRelay
from switchgear.cache.controls import read_controls
from switchgear.cache.entry import Entry, dump_entry, load_entry
from switchgear.cache.fill import FILLABLE, answer_of, stream_answer_of
from switchgear.cache.key import cache_key, replayable, scope_of
from switchgear.config.model import ExactCacheSettings, Settings
from switchgear.core.errors import GatewayError
from switchgear.providers.base import StreamRelay
from switchgear.stages.base import EarlyAnswer, Slot, Stage
from switchgear.stages.context import RequestContext
from switchgear.stages.record import RequestRecord

if TYPE_CHECKING:  # the semantic part needs the ``semantic`` extra (numpy): imported when configured
    from switchgear.cache.semantic.embedder import Embedder
    from switchgear.cache.semantic.lookup import Pending, SemanticLookup
    from switchgear.cache.semantic.shared import SemanticShare

log = logging.getLogger("switchgear.cache")
_CAPTURE_FACTOR = 8  # client bytes kept per stored byte allowed (SSE and JSON compress well)


@dataclass(slots=True)
class Fill:
    """What settle needs to store a request's answer: its key, how long, and its bytes."""

    key: str
    ttl: float
    body: bytes | None = None  # a whole answer, as the client got it
    chunks: list[bytes] | None = None  # a stream, as the client got it (None: not kept)
    semantic: Pending | None = None  # the question, for the semantic index


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    bypasses: int = 0
    stored: int = 0
    too_large: int = 0
    unreadable: int = 0  # answers that could not be read back (never stored)
    saved_nanousd: int = 0  # what the hits would have cost (exact and semantic)
    semantic_hits: int = 0
    semantic_misses: int = 0  # looked up semantically (after an exact miss), not found
    semantic_skipped: int = 0  # semantic on, but the question could not be embedded whole


FILL: Slot[Fill] = Slot("cache.fill")
SAVED: Slot[int] = Slot("cache.saved_nanousd")  # on a hit: the cost it avoided (0 when unpriced)


class ExactCache(Stage):
    name = "cache"

    def __init__(
        self,
        settings: ExactCacheSettings,
        backend: Backend,
        semantic: SemanticLookup | None = None,
        share: SemanticShare | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.semantic = semantic
        self.share = share
        self.models = frozenset(settings.models)
        self.stats = CacheStats()
        self._capture = settings.max_entry_bytes * _CAPTURE_FACTOR

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> ExactCache:
        """``embedder``: the one the semantic lookup uses when it is not the built-in model."""
        exact = settings.cache.exact
        url = settings.storage.redis_url
        backend: Backend
        if exact.backend == "redis" and url is not None:
            backend = RedisBackend(url.get_secret_value(), exact.prefix, exact.timeout)
        else:
            backend = MemoryBackend(exact.max_bytes)
        if not settings.semantic_cache_on:
            return cls(exact, backend)
        from switchgear.cache.semantic.build import build_semantic
        from switchgear.cache.semantic.shared import SemanticShare

        semantic = build_semantic(settings, embedder)
        share = None
        if exact.backend == "redis" and url is not None:
            share = SemanticShare(url.get_secret_value(), exact.prefix, semantic.index)
        return cls(exact, backend, semantic, share)

    # on the request path ---------------------------------------------------------------------
    async def answer_early(self, ctx: RequestContext) -> EarlyAnswer | None:
        request = ctx.request
        if request is None or request.api not in FILLABLE:
            return None
        if self.models and request.model not in self.models:
            return None
        controls = read_controls(ctx.cache_headers, request.cache)
        settings = self.settings
        if settings.max_temperature is not None and controls.ttl is None:
            temperature = request.body.get("temperature")
            if isinstance(temperature, int | float) and temperature > settings.max_temperature:
                return self._bypass(ctx)
        if not (controls.lookup or controls.store) or not replayable(request.api, request.body):
            return self._bypass(ctx)
        key = cache_key(request.api, request.body, scope_of(ctx.principal), controls.namespace)
        if key is None:
            return self._bypass(ctx)
        if controls.lookup:
            blob = await self.backend.get(key)
            entry = load_entry(blob) if blob is not None else None
            if entry is not None and _fresh(entry, controls.max_age):
                return self._hit(ctx, entry, "HIT")
        pending: Pending | None = None
        if self.semantic is not None:
            scope = scope_of(ctx.principal)
            planned = self.semantic.plan(
                request.api,
                request.model,
                request.body,
                scope=scope,
                namespace=controls.namespace,
                asked=controls.semantic,
            )
            if planned is not None:
                pending, threshold = planned
                if controls.lookup:
                    found = await self._semantic(ctx, pending, threshold, controls.max_age)
                    if found is not None:
                        return found
        if controls.lookup:
            self.stats.misses += 1
            ctx.cache = "MISS"
        else:
            self.stats.bypasses += 1
            ctx.cache = "BYPASS"
        if controls.store:
            ttl = min(controls.ttl or settings.ttl, settings.max_ttl)
            FILL.set(ctx, Fill(key, ttl, semantic=pending))
        return None

    def _hit(self, ctx: RequestContext, entry: Entry, kind: str) -> EarlyAnswer:
        if kind == "HIT":
            self.stats.hits += 1
        else:
            self.stats.semantic_hits += 1
        SAVED.set(ctx, entry.cost_nanousd or 0)
        ctx.add_header("age", str(int(max(0.0, time.time() - entry.stored_at))))
        return EarlyAnswer(response=entry.response, cache=kind)

    async def _semantic(
        self, ctx: RequestContext, pending: Pending, threshold: float, max_age: float | None
    ) -> EarlyAnswer | None:
        """A stored answer to a question close enough to this one, or None (after an exact miss)."""
        assert self.semantic is not None
        if await self.semantic.embed(pending) is None:
            self.stats.semantic_skipped += 1
            return None
        found = self.semantic.search(pending, threshold)
        if found is not None:
            blob = await self.backend.get(found.entry.id)
            entry = load_entry(blob) if blob is not None else None
            if entry is None:  # the answer is gone (expired, evicted): so is its entry
                self.semantic.forget(found.entry.id)
            elif _fresh(entry, max_age):
                ctx.add_header("x-switchgear-cache-similarity", f"{found.score:.4f}")
                return self._hit(ctx, entry, "SEMANTIC-HIT")
        self.stats.semantic_misses += 1
        return None

    def _bypass(self, ctx: RequestContext) -> EarlyAnswer | None:
        self.stats.bypasses += 1
        ctx.cache = "BYPASS"
        return None

    async def body_transform(self, ctx: RequestContext, body: bytes) -> bytes:
        fill = FILL.get(ctx)
        if fill is not None:
            fill.body = body  # a reference: read back in settle
        return body

    def wrap_relay(self, ctx: RequestContext, relay: StreamRelay) -> StreamRelay:
        fill = FILL.get(ctx)
        if fill is None:
            return relay
        return CapturingRelay(relay, fill, self._capture)

    # off the request path --------------------------------------------------------------------
    async def settle(self, records: Sequence[RequestRecord]) -> None:
        for record in records:
            saved = SAVED.get(record)
            if saved is not None:
                self.stats.saved_nanousd += saved
                continue
            fill = FILL.get(record)
            if fill is None or not _answered_well(record):
                continue
            await self._store(record, fill)

    async def _store(self, record: RequestRecord, fill: Fill) -> None:
        deployment = record.attempts[-1].deployment
        try:
            if fill.body is not None:
                response = answer_of(record.api, fill.body, deployment, record.usage)
            elif fill.chunks:
                response = stream_answer_of(record.api, fill.chunks, deployment, record.usage)
            else:
                self.stats.too_large += fill.chunks is None and record.stream
                return
        except (GatewayError, ValueError, TypeError, KeyError) as exc:  # not a whole answer we can hold
            self.stats.unreadable += 1
            log.debug("request %s: answer not cached: %s", record.request_id, exc)
            return
        finally:
            fill.body = fill.chunks = None  # let the bytes go
        blob = dump_entry(Entry(response, record.started_at, record.cost_nanousd))
        if len(blob) > self.settings.max_entry_bytes:
            self.stats.too_large += 1
            return
        await self.backend.put(fill.key, blob, fill.ttl)
        self.stats.stored += 1
        if fill.semantic is not None and self.semantic is not None:
            await self._index(fill.semantic, fill.key, fill.ttl)

    async def _index(self, pending: Pending, key: str, ttl: float) -> None:
        """The stored answer's question into the semantic index (and to the other replicas)."""
        assert self.semantic is not None
        if pending.vector is None and await self.semantic.embed(pending) is None:
            return
        entry = self.semantic.entry(pending, key, time.time(), ttl)
        if entry is None:
            return
        self.semantic.add(entry)
        if self.share is not None:
            await self.share.publish(entry)

    async def start(self) -> None:
        if self.share is not None:  # Redis: the shared stream is the index's persisted form
            await self.share.start()
        elif self.semantic is not None:
            await self.semantic.load(self.backend)

    async def close(self) -> None:
        if self.share is not None:
            await self.share.close()
        elif self.semantic is not None:
            await self.semantic.save(self.backend)
        if self.semantic is not None:
            self.semantic.embedder.close()
        await self.backend.close()


def _fresh(entry: Entry, max_age: float | None) -> bool:
    return max_age is None or time.time() - entry.stored_at <= max_age


def _answered_well(record: RequestRecord) -> bool:
    """A whole, successful answer from a provider: no error (in-band included), no cut, no 499."""
    return record.status == 200 and record.error is None and not record.cancelled and bool(record.attempts)
