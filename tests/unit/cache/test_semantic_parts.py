"""The semantic cache's parts without a gateway: veto rules, what is compared and partitioned,
the vector index (cells, partitions, expiry, eviction), the saved index, the shipped files."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from switchgear.cache.backends import MemoryBackend
from switchgear.cache.controls import read_controls
from switchgear.cache.semantic.embedder import MODEL_DIR, manifest
from switchgear.cache.semantic.guard import NO_VETOES, Vetoes, features
from switchgear.cache.semantic.index import IndexEntry, VectorIndex
from switchgear.cache.semantic.lookup import SemanticLookup
from switchgear.cache.semantic.persist import load_index, save_index
from switchgear.cache.semantic.text import partition_of, question_of
from switchgear.config.model import Settings
from switchgear.core.errors import InvalidRequest


def unit(seed: int, dimensions: int = 8) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dimensions).astype(np.float32)
    return vector / np.linalg.norm(vector)


def entry(
    name: str, vector: np.ndarray, partition: str = "p", text: str = "a question", ttl: float = 60
) -> IndexEntry:
    return IndexEntry(name, partition, text, features(text), time.time() + ttl, vector)


def test_vetoes_refuse_other_numbers_and_swapped_names_only() -> None:
    vetoes = Vetoes()
    same = features("How do I learn Python in 2016?")
    assert not vetoes.refuses(same, features("How can I learn Python in 2016?"))
    assert vetoes.refuses(same, features("How can I learn Python in 2017?"))
    assert vetoes.refuses(features("Is Java hard to learn?"), features("Is Python hard to learn?"))
    # a capital at a sentence's start is not a name; a name added on one side only is the cosine's
    assert not vetoes.refuses(
        features("What is the capital of France?"), features("Tell me France's capital.")
    )
    assert vetoes.refuses(features("Is it hard to learn?"), features("Is Python hard to learn?"))
    swap = Vetoes(entities="swap")  # only a name swapped for another
    assert not swap.refuses(features("Is it hard to learn?"), features("Is Python hard to learn?"))
    assert swap.refuses(features("Is Java hard to learn?"), features("Is Python hard to learn?"))
    assert not NO_VETOES.refuses(features("1"), features("2"))


def test_the_question_is_the_last_user_turn_and_the_rest_is_the_partition() -> None:
    body = {"model": "m", "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q?"}]}
    text, rest = question_of("chat", body)  # type: ignore[misc]
    assert text == "Q?"
    other_text = {**body, "messages": [body["messages"][0], {"role": "user", "content": "Other?"}]}
    assert partition_of("chat", rest, "team:a", "", "e") == partition_of(
        "chat",
        question_of("chat", other_text)[1],
        "team:a",
        "",
        "e",  # type: ignore[index]
    )
    assert partition_of("chat", rest, "team:a", "", "e") != partition_of("chat", rest, "team:b", "", "e")
    assert partition_of("chat", rest, "team:a", "", "e") != partition_of("chat", rest, "team:a", "ns", "e")
    other_system = {**body, "messages": [{"role": "system", "content": "T"}, body["messages"][1]]}
    assert partition_of("chat", question_of("chat", other_system)[1], "team:a", "", "e") != partition_of(  # type: ignore[index]
        "chat", rest, "team:a", "", "e"
    )
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Q?"}]}]}
    assert question_of("messages", parts)[0] == "Q?"  # type: ignore[index]
    image = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    assert question_of("chat", image) is None
    assert question_of("chat", {"messages": [{"role": "assistant", "content": "A"}]}) is None
    assert question_of("responses", {"input": "Q?"})[0] == "Q?"  # type: ignore[index]


def test_the_index_finds_the_closest_live_entry_of_the_partition_only() -> None:
    centroids = np.stack([unit(i) for i in range(4)])
    index = VectorIndex(centroids, probes=4, max_entries=100)
    a, b = unit(10), unit(11)
    index.add(entry("a", a))
    index.add(entry("b", b, partition="other"))
    found = index.search("p", a, 0.9, Vetoes(), features("a question"))
    assert found is not None and found.entry.id == "a" and found.score == pytest.approx(1.0)
    assert index.search("other", a, 0.9, Vetoes(), features("a question")) is None
    assert index.search("p", a, 0.9, Vetoes(), features("a question in 2020")) is None  # vetoed
    index.add(entry("gone", b, ttl=-1))
    assert index.search("p", b, 0.9, Vetoes(), features("a question")) is None
    assert len(index) == 2  # the expired one was dropped when met
    index.remove("a")
    assert index.search("p", a, 0.9, Vetoes(), features("a question")) is None


def test_the_index_keeps_at_most_max_entries_oldest_out_and_cells_stay_consistent() -> None:
    index = VectorIndex(np.stack([unit(i) for i in range(3)]), probes=3, max_entries=50)
    vectors = {f"e{i}": unit(100 + i) for i in range(120)}
    for name, vector in vectors.items():
        index.add(entry(name, vector))
    assert len(index) == 50
    for i in (0, 69):
        assert index.search("p", vectors[f"e{i}"], 0.999, NO_VETOES, features("x")) is None
    for i in (70, 119):
        found = index.search("p", vectors[f"e{i}"], 0.999, NO_VETOES, features("x"))
        assert found is not None and found.entry.id == f"e{i}"
    single = VectorIndex(None, probes=8, max_entries=10)  # an embedder without centroids: one cell
    single.add(entry("x", unit(1, 5)))
    assert single.search("p", unit(1, 5), 0.99, NO_VETOES, features("a question")) is not None


async def test_a_saved_index_comes_back_with_its_answers_and_without_expired_entries(tmp_path: Path) -> None:
    backend = MemoryBackend(10**6)
    index = VectorIndex(np.stack([unit(i) for i in range(2)]), probes=2, max_entries=10)
    index.add(entry("kept", unit(1)))
    index.add(entry("expired", unit(2), ttl=-1))
    index.add(entry("answer-gone", unit(3)))
    await backend.put("kept", b"answer", 60)
    await backend.put("expired", b"old", 60)
    path = tmp_path / "index.npz"
    assert await save_index(str(path), index, backend) == 1
    fresh_backend = MemoryBackend(10**6)
    fresh = VectorIndex(index.centroids, probes=2, max_entries=10)
    assert await load_index(str(path), fresh, fresh_backend) == 1
    assert await fresh_backend.get("kept") == b"answer"
    assert fresh.search("p", unit(1), 0.99, NO_VETOES, features("a question")) is not None
    path.write_bytes(b"not an index")
    assert await load_index(str(path), VectorIndex(None, 1, 10), fresh_backend) == 0  # logged, ignored


def test_semantic_controls() -> None:
    assert read_controls({b"x-switchgear-cache-semantic": b"off"}, None).semantic is False
    assert read_controls(None, {"semantic": True}).semantic is True
    assert read_controls(None, {"ttl": 5}).semantic is None
    with pytest.raises(InvalidRequest):
        read_controls(None, {"semantic": "yes"})


def test_the_shipped_model_files_match_their_pins_and_the_calibration_its_build() -> None:
    info = manifest()
    for name, sha in info["files"].items():
        assert hashlib.sha256((MODEL_DIR / name).read_bytes()).hexdigest() == sha
    calibration = json.loads((MODEL_DIR / "calibration.json").read_text())
    onnx = next(sha for name, sha in info["files"].items() if name.endswith(".onnx"))
    assert calibration["model_sha256"] == onnx
    assert 0.8 < calibration["threshold_vetoes"] <= calibration["threshold_cosine"] < 1
    centroids = (MODEL_DIR / calibration["centroids"]).read_bytes()
    assert hashlib.sha256(centroids).hexdigest() == calibration["centroids_sha256"]


class _NamedOnly:
    """Enough of an embedder for planning (which never embeds)."""

    name = "test"
    max_tokens = 10

    async def embed(self, texts: object) -> None:
        return None

    def close(self) -> None:
        return None


def _lookup(requests: bool) -> SemanticLookup:
    settings = Settings.model_validate(
        {
            "providers": {"p": {"type": "openai", "api_key": "k"}},
            "models": [
                {
                    "name": "on",
                    "deployments": [{"provider": "p", "model": "x"}],
                    "cache": {"semantic": {"enabled": True, "threshold": 0.9}},
                },
                {"name": "off", "deployments": [{"provider": "p", "model": "x"}]},
            ],
            "cache": {"exact": {"enabled": True}, "semantic": {"requests": requests}},
        }
    )
    rules = SemanticLookup.rules_of(settings, 0.95)
    index = VectorIndex(None, 1, 10)
    return SemanticLookup(
        settings.cache.semantic, rules, _NamedOnly(), index, default_threshold=0.95, vetoes=Vetoes()
    )


def test_where_the_lookup_applies() -> None:
    body = {"messages": [{"role": "user", "content": "Q?"}]}
    closed, open_ = _lookup(requests=False), _lookup(requests=True)
    planned = closed.plan("chat", "on", body, scope="s", namespace="", asked=None)
    assert planned is not None and planned[1] == 0.9  # the model's own threshold
    assert (
        closed.plan("chat", "on", body, scope="s", namespace="", asked=False) is None
    )  # the request refuses
    assert closed.plan("chat", "off", body, scope="s", namespace="", asked=None) is None
    assert (
        closed.plan("chat", "off", body, scope="s", namespace="", asked=True) is None
    )  # requests may not choose
    asked = open_.plan("chat", "off", body, scope="s", namespace="", asked=True)
    assert asked is not None and asked[1] == 0.95
