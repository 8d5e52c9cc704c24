"""The first look at an OpenAI chat completions, legacy completions or embeddings body.

Requests pass through to OpenAI-family providers mostly untouched, so the body is checked here
before anything else (``apis.rules.check_body``: refused parameters, the model name, the shape of
the API at every depth, ranges), plus what these APIs add: at least one chat message, and 1 to
2048 embeddings inputs. The gateway's own controls (``models``, ``fallbacks``, ``session_id``,
``tags``) are taken out before forwarding; unknown fields pass through.
"""

from __future__ import annotations

from typing import Any

from switchgear.apis.rules import check_body, check_model_name
from switchgear.core.errors import InvalidRequest

MAX_EMBEDDING_INPUTS = 2048  # OpenAI's limit on the items of one embeddings request
# The gateway's own controls: read here, never forwarded.
_GATEWAY_FIELDS = ("models", "fallbacks", "session_id", "tags")


class OpenAIRequest:
    """A checked OpenAI-style request: the body to forward and the gateway controls taken from it."""

    __slots__ = ("body", "fallbacks", "model", "stream", "wants_usage")

    def __init__(
        self, body: dict[str, Any], model: str, stream: bool, wants_usage: bool, fallbacks: list[str]
    ):
        self.body = body
        self.model = model
        self.stream = stream
        self.wants_usage = wants_usage
        self.fallbacks = fallbacks


def check(api: str, body: Any) -> OpenAIRequest:
    model = check_body(api, body)
    if api == "chat":
        if not body["messages"]:
            raise InvalidRequest("messages: must contain at least one message", param="messages")
    elif api == "completions":
        if "prompt" not in body:  # required, although it may be null
            raise InvalidRequest("prompt: is required", param="prompt")
    elif api == "embeddings":
        inputs = body["input"]
        if isinstance(inputs, list) and not 0 < len(inputs) <= MAX_EMBEDDING_INPUTS:
            raise InvalidRequest(
                f"input: an array must hold 1 to {MAX_EMBEDDING_INPUTS} items, got {len(inputs)}",
                param="input",
            )
    fallbacks = _take_gateway_fields(body)
    stream = body.get("stream") is True
    options = body.get("stream_options")
    wants_usage = bool(options and options.get("include_usage"))
    return OpenAIRequest(body, model, stream, wants_usage, fallbacks)


def _take_gateway_fields(body: dict[str, Any]) -> list[str]:
    fallbacks: list[str] = []
    for name in _GATEWAY_FIELDS:
        if name not in body:
            continue
        value = body.pop(name)
        if name in ("models", "fallbacks"):
            if not isinstance(value, list):
                raise InvalidRequest(f"{name}: must be an array of model names", param=name)
            for i, item in enumerate(value):
                check_model_name(item, f"{name}[{i}]")
            fallbacks.extend(value)
    return fallbacks
