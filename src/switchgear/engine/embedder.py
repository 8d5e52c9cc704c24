"""The semantic cache's embedder when ``cache.semantic.embedder`` names an embeddings model of the
configuration: each batch is an ``/v1/embeddings`` request served by the engine itself (routing,
retries, fallbacks, accounting: it is settled like any request, by the master key), its vectors
normalised. Bound to the engine once it exists (the cache stage is made before it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
import orjson

from switchgear.cache.semantic.embedder import MAX_CHARS, Vectors
from switchgear.core.errors import GatewayError
from switchgear.engine.answers import Answer
from switchgear.engine.inbound import prepare
from switchgear.engine.pipeline import Engine
from switchgear.stages.context import MASTER, RequestContext


class GatewayEmbedder:
    max_tokens = 8192

    def __init__(self, model: str) -> None:
        self.model = model
        self.name = "model:" + model
        self.engine: Engine | None = None

    async def embed(self, texts: Sequence[str]) -> Vectors | None:
        """The texts' unit vectors; None when a text is too long or the model did not answer (the
        request then goes on as a miss)."""
        if self.engine is None or any(len(text) > MAX_CHARS for text in texts):
            return None
        body = {"model": self.model, "input": list(texts)}
        ctx = RequestContext(request_id="embed-" + uuid.uuid4().hex, api="embeddings", principal=MASTER)
        try:
            answer = await self.engine.serve(ctx, prepare("embeddings", body), {})
            if not isinstance(answer, Answer) or answer.status != 200:
                return None
            data = orjson.loads(answer.body)["data"]
            rows = sorted(data, key=lambda item: item["index"])
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float32)
        except (GatewayError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        finally:
            self.engine.settle(ctx)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            return None
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)

    def close(self) -> None:
        self.engine = None
