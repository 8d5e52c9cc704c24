"""Embedders for the semantic cache: texts in, L2-normalised float32 vectors out.

``BuiltinEmbedder``: all-MiniLM-L6-v2 as an int8 ONNX model (``model/``, made by
``tools/export_embedder.py``) on onnxruntime + tokenizers, from the optional extra
``switchgear[semantic]``. Both files are checked against the sha256 in ``model/manifest.json``
when loaded; nothing is downloaded. Each batch runs in a bounded thread pool, off the event loop,
behind a bounded queue.

``Embedder`` is what the cache needs of any embedder; ``engine`` supplies one that calls an
embeddings model served through the gateway's own providers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from switchgear.config.load import ConfigError

Vectors = npt.NDArray[np.float32]
MODEL_DIR = Path(str(resources.files("switchgear.cache.semantic") / "model"))
MAX_CHARS = 2000  # longer texts are not embedded (the model would see only their start)


class Embedder(Protocol):
    """What the semantic cache needs of an embedder."""

    name: str  # says which build: thresholds are calibrated per build
    max_tokens: int

    async def embed(self, texts: Sequence[str]) -> Vectors | None:
        """One unit vector per text (rows), or None when a text is too long to embed whole."""
        ...

    def close(self) -> None: ...


def manifest(directory: Path = MODEL_DIR) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    return data


def _checked(directory: Path, name: str, expected: str) -> bytes:
    data = (directory / name).read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        raise ConfigError(f"semantic cache: {directory / name} has sha256 {found}, expected {expected}")
    return data


class BuiltinEmbedder:
    """all-MiniLM-L6-v2, int8 ONNX, on the CPU; ``threads`` texts batches at once at most."""

    def __init__(self, threads: int = 1, directory: Path = MODEL_DIR) -> None:
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]
            from tokenizers import Tokenizer
        except ImportError as exc:  # the optional extra is not installed
            raise ConfigError(
                "cache.semantic.embedder: builtin needs the semantic extra: "
                "pip install 'switchgear[semantic]'"
            ) from exc
        info = manifest(directory)
        files: dict[str, str] = info["files"]
        model_name = next(name for name in files if name.endswith(".onnx"))
        model = _checked(directory, model_name, files[model_name])
        tokenizer_json = _checked(directory, "tokenizer.json", files["tokenizer.json"])
        self.name = f"builtin:{files[model_name][:12]}"
        self.max_tokens = int(info["max_tokens"])
        self.dimensions = int(info["dimensions"])
        tokenizer = Tokenizer.from_str(tokenizer_json.decode())
        tokenizer.no_truncation()
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one core per batch: the gateway's loop keeps the others
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="switchgear-embed")
        self._waiting = 0
        self._max_waiting = 32 * threads
        self.shed = 0  # batches refused because the pool was full

    def embed_now(self, texts: Sequence[str]) -> Vectors | None:
        """On the calling thread: the vectors, or None if a text is longer than ``max_tokens``."""
        if any(len(text) > MAX_CHARS for text in texts):
            return None
        encoded = self._tokenizer.encode_batch(list(texts))
        if encoded and len(encoded[0].ids) > self.max_tokens:
            return None
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        (vectors,) = self._session.run(None, feeds)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_many(self, texts: Sequence[str], batch: int = 8) -> Vectors:
        """Offline (evaluation, calibration): every text, long ones cut to ``max_tokens``; batched
        by length (little padding)."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        try:
            for start in range(0, len(order), batch):
                rows = order[start : start + batch]
                encoded = self._tokenizer.encode_batch([texts[i][: MAX_CHARS * 4] for i in rows])
                feeds = {
                    "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
                }
                out[rows] = self._session.run(None, feeds)[0]
        finally:
            self._tokenizer.no_truncation()
        return out

    async def embed(self, texts: Sequence[str]) -> Vectors | None:
        """Off the event loop; None (the request goes on without a semantic lookup) when the pool
        already has ``32 x threads`` batches waiting: an overloaded embedder sheds, never queues."""
        if self._waiting >= self._max_waiting:
            self.shed += 1
            return None
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self.embed_now, texts)
        finally:
            self._waiting -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
