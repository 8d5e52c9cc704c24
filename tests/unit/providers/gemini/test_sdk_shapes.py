"""The request bodies and fixtures against the official google-genai types (the authority on shapes).

The SDK's models forbid unknown fields, so a misspelt or misplaced key fails validation; dumping
the validated model back (camelCase aliases) must give what switchgear sent, so nothing was
silently coerced. Fixtures of answers and stream events are checked the same way.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pydantic
import pytest
from google.genai import types

from tests.unit.providers.gemini.cases import GOLDENS
from tests.unit.providers.gemini.support import ADAPTER, FIXTURES, deployment, raw


def same_after_sdk(model: type[pydantic.BaseModel], value: Any) -> None:
    parsed = model.model_validate_json(json.dumps(value))
    dumped = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert _bytes_decoded(dumped) == _bytes_decoded(value)


def _bytes_decoded(value: Any, key: str = "") -> Any:
    """Byte fields decoded: the SDK writes them as URL-safe base64, Google sends standard base64."""
    if isinstance(value, dict):
        return {k: _bytes_decoded(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_bytes_decoded(v) for v in value]
    if key in ("thoughtSignature", "data") and isinstance(value, str):
        return base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_"))
    return value


def bodies() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, (type_, model, make, options) in sorted(GOLDENS.items()):
        request = ADAPTER.build_request(make(), deployment(type_, model, options=options))
        out.append((name, json.loads(request.body)))
    return out


BODIES = bodies()
REQUEST_KEYS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}


@pytest.mark.parametrize(("name", "body"), BODIES, ids=[n for n, _ in BODIES])
def test_request_pieces_validate_against_the_sdk(name: str, body: dict[str, Any]) -> None:
    assert set(body) <= REQUEST_KEYS
    for content in body["contents"]:
        assert content["role"] in ("user", "model")
        same_after_sdk(types.Content, content)
    if "systemInstruction" in body:
        same_after_sdk(types.Content, body["systemInstruction"])
    for tool in body.get("tools", []):
        same_after_sdk(types.Tool, tool)
    if "toolConfig" in body:
        same_after_sdk(types.ToolConfig, body["toolConfig"])
    if "generationConfig" in body:
        same_after_sdk(types.GenerationConfig, body["generationConfig"])


def test_request_goldens_cover_every_piece() -> None:
    seen = {key for _, body in BODIES for key in body}
    assert seen == REQUEST_KEYS
    config_keys = {key for _, body in BODIES for key in body.get("generationConfig", {})}
    assert config_keys >= {
        "temperature",
        "topP",
        "topK",
        "maxOutputTokens",
        "stopSequences",
        "candidateCount",
    }
    assert config_keys >= {"seed", "responseMimeType", "responseJsonSchema", "thinkingConfig"}


def test_a_misspelt_key_would_be_caught() -> None:
    with pytest.raises(ValueError):
        types.Content.model_validate_json('{"role": "user", "parts": [{"inline_data_x": {}}]}')


@pytest.mark.parametrize("path", sorted(p.name for p in (FIXTURES / "responses").glob("*.json")))
def test_response_fixtures_are_real_shapes(path: str) -> None:
    types.GenerateContentResponse.model_validate_json(raw(f"responses/{path}"))


@pytest.mark.parametrize("path", sorted(p.name for p in (FIXTURES / "streams").glob("*.sse")))
def test_stream_fixture_events_are_real_shapes(path: str) -> None:
    events = [e for e in raw(f"streams/{path}").split(b"\r\n\r\n") if e]
    assert events
    for event in events:
        assert event.startswith(b"data: ")
        types.GenerateContentResponse.model_validate_json(event[6:])
