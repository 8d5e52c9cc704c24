"""Whole answers, error bodies and the offline token estimate, against golden JSON and the SDK."""

from __future__ import annotations

import json

import anthropic
import pytest

from switchgear.apis.anthropic.codec import AnthropicMessagesCodec
from switchgear.apis.anthropic.tokens import count_tokens_estimate
from switchgear.apis.base import InboundCodec
from switchgear.core.errors import InvalidRequest, NoDeploymentAvailable, RateLimited, UpstreamTimeout
from switchgear.core.types import ChatRequest, ImagePart, Message, TextPart, ToolCall, ToolDef
from tests.unit.apis.anthropic.cases import RESPONSES
from tests.unit.apis.anthropic.conftest import ReplayServer, fixture
from tests.unit.apis.anthropic.test_decode import BASE, WEATHER

codec = AnthropicMessagesCodec()
GOLDEN = fixture("responses.json")


def test_the_codec_is_an_inbound_codec_for_messages() -> None:
    checked: InboundCodec = codec  # mypy checks the protocol here
    assert (checked.api, checked.family) == ("messages", "anthropic")


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_responses_encode_to_the_golden_json(name: str) -> None:
    body = json.loads(codec.encode_response(RESPONSES[name], "claude-test"))
    if name == "no_choice":  # no upstream id: a fresh one
        assert body["id"].startswith("msg_") and len(body["id"]) == 28
        body["id"] = "<random>"
    assert body == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_the_sdk_reads_every_encoded_response(replay: ReplayServer, name: str) -> None:
    replay.serve(f"whole-{name}", codec.encode_response(RESPONSES[name], "claude-test"))
    with replay.client(f"whole-{name}") as client:
        message = client.messages.create(
            model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
    expected = GOLDEN[name]
    assert message.stop_reason == expected["stop_reason"]
    assert [block.type for block in message.content] == [block["type"] for block in expected["content"]]
    assert message.usage.input_tokens == expected["usage"]["input_tokens"]
    assert message.usage.cache_read_input_tokens == expected["usage"]["cache_read_input_tokens"]


@pytest.mark.parametrize(
    ("exc", "status", "sdk_error", "anthropic_type"),
    [
        (
            InvalidRequest("max_tokens: field required", param="max_tokens"),
            400,
            anthropic.BadRequestError,
            "invalid_request_error",
        ),
        (RateLimited("slow down"), 429, anthropic.RateLimitError, "rate_limit_error"),
        (
            UpstreamTimeout("provider 'x' timed out", provider="x"),
            504,
            anthropic.InternalServerError,
            "timeout_error",
        ),
        (
            NoDeploymentAvailable("every deployment failed"),
            503,
            anthropic.InternalServerError,
            "overloaded_error",
        ),
    ],
)
def test_error_bodies_are_anthropic_shaped_and_read_by_the_sdk(
    replay: ReplayServer, exc: Exception, status: int, sdk_error: type[Exception], anthropic_type: str
) -> None:
    assert isinstance(exc, InvalidRequest | RateLimited | UpstreamTimeout | NoDeploymentAvailable)
    body = codec.error_body(exc)
    assert json.loads(body) == {
        "type": "error",
        "error": {"type": anthropic_type, "message": exc.message},
        "request_id": None,
    }
    replay.serve(f"error-{status}", body, status=status)
    with replay.client(f"error-{status}") as client, pytest.raises(sdk_error) as caught:
        client.messages.create(
            model="claude-test", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.status_code == status
    assert caught.value.body == json.loads(body)


def test_count_tokens_estimate_is_chars_over_four_plus_overheads() -> None:
    request = codec.decode(BASE, {})
    texts = [
        "Be brief.",
        "Weather in Paris?",
        "Need the city.",
        "get_weather",
        '{"city":"Paris"}',
        "18°C, sunny",
        "Thanks.",
        "get_weather",
        "Current weather.",
        json.dumps(WEATHER, separators=(",", ":")),
    ]
    chars = sum(len(t) for t in texts)
    assert chars == 189
    assert codec.count_tokens_estimate(request) == 48 + 5 * 4 + 346  # ceil(189 / 4) = 48


def test_count_tokens_estimate_counts_images_and_needs_no_tools() -> None:
    image = ImagePart(media_type="image/png", data="iVBO" * 1000)  # the payload size does not matter
    request = ChatRequest(
        model="m",
        messages=[
            Message("user", [TextPart("abcd" * 10), image, image]),
            Message("assistant", tool_calls=[ToolCall("c", "f", "{}")]),
        ],
    )
    assert count_tokens_estimate(request) == 11 + 2 * 4 + 2 * 1600  # ceil((40 + 1 + 2) / 4) = 11
    request.tools = [ToolDef("f")]
    assert count_tokens_estimate(request) == 11 + 1 + 8 + 3200 + 346  # "f" and "{}" add 3 characters
