"""Embeddings and the model list through the gateway with the official OpenAI SDK."""

from __future__ import annotations

import httpx
import openai
import pytest

from switchgear.simulator.server import SimulatorThread
from tests.fakes.gateway import GatewayThread


def test_embeddings_default_base64_decoded_by_the_sdk(client: openai.OpenAI, sim: SimulatorThread) -> None:
    result = client.embeddings.create(model="embed", input=["alpha", "beta"])
    assert sim.last().json["encoding_format"] == "base64"  # the SDK's default, passed to OpenAI-compatible
    assert len(result.data) == 2 and len(result.data[0].embedding) == 8
    floats = client.embeddings.create(model="embed", input="alpha", encoding_format="float", dimensions=4)
    assert len(floats.data[0].embedding) == 4
    assert result.usage.prompt_tokens > 0


def test_embeddings_reencoded_for_vendors_without_base64(client: openai.OpenAI, sim: SimulatorThread) -> None:
    via_local = client.embeddings.create(model="local/sim-embed", input="alpha")
    assert sim.last().json["encoding_format"] == "float"  # Ollama is asked for floats ...
    direct = client.embeddings.create(model="embed", input="alpha")
    assert via_local.data[0].embedding == pytest.approx(direct.data[0].embedding, rel=1e-6)  # ... re-encoded


def test_model_list_carries_provider_context_and_prices(client: openai.OpenAI) -> None:
    models = {m.id: m.model_dump() for m in client.models.list()}
    assert {"fast", "ha", "priced", "embed"} <= models.keys()
    assert models["fast"]["provider"] == "sim" and models["fast"]["object"] == "model"
    priced = models["priced"]
    assert priced["pricing"]["prompt"] == "0.0000005" and priced["pricing"]["completion"] == "0.0000015"
    assert priced["context_length"] == 32000
    assert "local/gpt-4o-mini" not in models  # no catalog entries are listed for a local server


def test_model_retrieve_known_direct_and_unknown(client: openai.OpenAI) -> None:
    assert client.models.retrieve("fast").id == "fast"
    assert client.models.retrieve("sim/sim-small").model_dump()["provider"] == "sim"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("nope")
    assert caught.value.body["code"] == "model_not_found"  # type: ignore[index]


def test_head_on_one_model_answers_like_get(gateway: GatewayThread) -> None:
    got = httpx.get(gateway.url + "/v1/models/fast", timeout=10)
    head = httpx.head(gateway.url + "/v1/models/fast", timeout=10)
    assert got.status_code == 200
    assert head.status_code == 200
    assert head.headers["content-length"] == got.headers["content-length"]
