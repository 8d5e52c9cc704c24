"""The built-in embedder: real int8 ONNX embeddings on the CPU, its files checked by sha256, texts
too long to embed whole refused, and the work done off the event loop."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from switchgear.cache.semantic.embedder import MODEL_DIR, BuiltinEmbedder
from switchgear.config.load import ConfigError


@pytest.fixture(scope="module")
def embedder() -> BuiltinEmbedder:
    return BuiltinEmbedder()


async def test_paraphrases_are_closer_than_unrelated_questions(embedder: BuiltinEmbedder) -> None:
    vectors = await embedder.embed(
        ["How do I learn Python quickly?", "How can I learn Python quickly?", "Why is the sky blue?"]
    )
    assert vectors is not None and vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) > 0.95 > 0.5 > float(vectors[0] @ vectors[2])


async def test_a_text_longer_than_the_model_reads_is_not_embedded(embedder: BuiltinEmbedder) -> None:
    assert await embedder.embed(["word " * 300]) is None  # > 256 tokens: the model would see its start only
    assert await embedder.embed(["x" * 5000]) is None


async def test_embedding_runs_off_the_event_loop(embedder: BuiltinEmbedder) -> None:
    seen: list[str] = []
    original = embedder.embed_now

    def spy(texts: list[str]) -> object:
        seen.append(threading.current_thread().name)
        return original(texts)

    embedder.embed_now = spy  # type: ignore[method-assign,assignment]
    try:
        await embedder.embed(["hello"])
    finally:
        del embedder.embed_now
    assert seen and seen[0].startswith("switchgear-embed")


def test_a_model_file_that_does_not_match_its_pin_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    tokenizer = copy / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes().replace(b'"[UNK]"', b'"[UNKNOWN]"', 1))
    with pytest.raises(ConfigError, match="sha256"):
        BuiltinEmbedder(directory=copy)


def test_the_exact_cache_alone_loads_nothing_of_the_semantic_extra() -> None:
    code = (
        "import sys\n"
        "from switchgear.config.model import Settings\n"
        "from switchgear.engine.build import build_stages\n"
        "build_stages(Settings.model_validate({'cache': {'exact': {'enabled': True}}}))\n"
        "print(sorted(m for m in ('numpy', 'onnxruntime', 'tokenizers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
