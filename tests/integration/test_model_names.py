"""One rule for the ``model`` of answers on every path: the model that answered, as its provider
names it; the name the client asked for comes back in ``x-switchgear-requested-model``."""

from __future__ import annotations

import anthropic
import openai

from tests.fakes.gateway import GatewayThread

MESSAGES = [{"role": "user", "content": "hi"}]


def test_an_alias_answers_with_the_providers_model_and_echoes_the_alias(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
    assert raw.parse().model == "sim-small"
    assert raw.headers["x-switchgear-requested-model"] == "fast"
    assert raw.headers["x-switchgear-model"] == "sim-small"
    chunks = list(client.chat.completions.create(model="fast", messages=MESSAGES, stream=True))  # type: ignore[arg-type]
    assert {c.model for c in chunks} == {"sim-small"}


def test_translated_answers_follow_the_same_rule(gateway: GatewayThread) -> None:
    with anthropic.Anthropic(base_url=gateway.url, api_key="k", max_retries=0) as claude:
        raw = claude.messages.with_raw_response.create(model="fast", max_tokens=20, messages=MESSAGES)  # type: ignore[arg-type]
        assert raw.parse().model == "sim-small"
        assert raw.headers["x-switchgear-requested-model"] == "fast"
        with claude.messages.stream(model="fast", max_tokens=20, messages=MESSAGES) as stream:  # type: ignore[arg-type]
            assert stream.get_final_message().model == "sim-small"
