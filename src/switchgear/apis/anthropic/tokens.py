"""The offline input-token estimate behind ``/v1/messages/count_tokens`` for models not served
by Anthropic."""

from __future__ import annotations

import math

from switchgear.core.jsoncodec import dumps
from switchgear.core.types import (
    ChatRequest,
    ImagePart,
    TextPart,
)

_IMAGE_TOKENS = 1_600
_MESSAGE_TOKENS = 4
_TOOLS_PROMPT_TOKENS = 346  # the tool-use system prompt Anthropic adds when tools are present


def count_tokens_estimate(request: ChatRequest) -> int:
    """An offline input-token estimate: one token per 4 characters (rounded up) of all text
    (system, messages, thinking, tool-call names and arguments, tool names, descriptions and
    schemas as compact JSON), plus 4 per message, 1,600 per image and 346 when tools are given."""
    chars = images = 0
    for message in request.messages:
        for part in message.content:
            match part:
                case TextPart(text=text):
                    chars += len(text)
                case ImagePart():
                    images += 1
        chars += sum(len(r.text) for r in message.reasoning)
        chars += sum(len(c.name) + len(c.arguments) for c in message.tool_calls)
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description or "") + len(dumps(tool.parameters or {}))
    tools = _TOOLS_PROMPT_TOKENS if request.tools else 0
    return math.ceil(chars / 4) + _MESSAGE_TOKENS * len(request.messages) + _IMAGE_TOKENS * images + tools
