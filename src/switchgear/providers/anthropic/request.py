"""Canonical chat requests as Anthropic Messages requests (``POST {base_url}/v1/messages``).

Owns the outbound translation (WIRE-FORMATS §3.2, §8): system messages hoisted into the
top-level ``system``; consecutive same-role turns merged; tool results gathered into the next
``user`` turn, in call order and ahead of its other blocks; ``tool_calls`` as ``tool_use`` blocks
with parsed ``input``; signed reasoning replayed as ``thinking`` / ``redacted_thinking`` blocks at
the head of its assistant message; images as base64 or URL sources; and the sampling, tool,
structured-output and thinking controls. Also owns the upstream headers, shared with passthrough.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from switchgear.core.errors import InvalidRequest
from switchgear.core.jsoncodec import dumps, loads_exact
from switchgear.core.types import (
    EFFORT_BUDGETS,
    ChatRequest,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolDef,
)
from switchgear.providers.anthropic.profiles import ANTHROPIC_VERSION, API_KEY_HEADER
from switchgear.providers.base import Deployment, Provider
from switchgear.transport.client import HttpRequest

MESSAGES_PATH = "/v1/messages"
DEFAULT_MAX_TOKENS = 4096  # when neither the request nor the catalog says
MIN_THINKING_BUDGET = 1024  # Anthropic's floor for thinking.budget_tokens
JSON_OBJECT_INSTRUCTION = "Respond with a single JSON object only, with no text before or after it."
IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def build_request(request: ChatRequest, deployment: Deployment) -> HttpRequest:
    """The upstream Messages request for a canonical chat request."""
    provider = deployment.provider
    headers = upstream_headers(provider, beta=_header(request.headers, "anthropic-beta"))
    url = provider.base_url.rstrip("/") + MESSAGES_PATH
    return HttpRequest("POST", url, headers, dumps(request_body(request, deployment)))


def request_body(request: ChatRequest, deployment: Deployment) -> dict[str, Any]:
    """The Messages request body; InvalidRequest (with ``param``) for what Anthropic cannot take."""
    if request.n > 1:
        raise InvalidRequest("Anthropic returns one choice: n must be 1", param="n")
    system, messages = _conversation(request.messages)
    cap = deployment.info.max_output_tokens if deployment.info is not None else None
    max_tokens = request.max_tokens if request.max_tokens is not None else cap or DEFAULT_MAX_TOKENS
    body: dict[str, Any] = {"model": deployment.model}
    thinking, max_tokens = _thinking(request, max_tokens, cap)
    body["max_tokens"] = max_tokens
    fmt = request.response_format
    if fmt is not None and fmt.type == "json_object":
        system.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
    if system:
        body["system"] = system
    body["messages"] = messages
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    for name in ("temperature", "top_p", "top_k"):
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    if request.tools:
        body["tools"] = [_tool(t) for t in request.tools]
        choice = _tool_choice(request)
        if choice is not None:
            body["tool_choice"] = choice
    if fmt is not None and fmt.type == "json_schema":
        if fmt.schema is None:
            raise InvalidRequest("response_format json_schema needs a schema", param="response_format")
        body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
    if thinking is not None:
        body["thinking"] = thinking
    if request.user:
        body["metadata"] = {"user_id": request.user}
    if request.stream:
        body["stream"] = True
    return body


def upstream_headers(
    provider: Provider, *, beta: str | None = None, version: str | None = None
) -> dict[str, str]:
    """Headers for an Anthropic upstream: JSON, API version, the provider's static headers, the
    client's ``anthropic-beta`` (joined with a static one), then the key. Static headers win over
    the client's ``version``."""
    headers = {"content-type": "application/json", "anthropic-version": version or ANTHROPIC_VERSION}
    for name, value in provider.headers.items():
        headers[name.lower()] = value
    if beta:
        static = headers.get("anthropic-beta")
        names = [n.strip() for n in f"{static or ''},{beta}".split(",") if n.strip()]
        headers["anthropic-beta"] = ",".join(dict.fromkeys(names))
    if provider.api_key:
        match provider.profile.auth:
            case "api-key":
                headers[API_KEY_HEADER] = provider.api_key
            case "bearer":
                headers["authorization"] = "Bearer " + provider.api_key
            case "none":
                pass
    return headers


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


# --- messages -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Turn:
    role: Literal["user", "assistant"]
    results: list[dict[str, Any]] = field(default_factory=list)  # tool_result blocks (user)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    call_ids: list[str] = field(default_factory=list)  # tool_use ids in order (assistant)


def _conversation(messages: list[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, Anthropic messages) for a canonical history."""
    system: list[dict[str, Any]] = []
    turns: list[_Turn] = []
    for i, message in enumerate(messages):
        match message.role:
            case "system":
                system.extend(_system_blocks(message, i))
            case "user":
                blocks = _user_blocks(message, i)
                if blocks:
                    _turn(turns, "user").blocks.extend(blocks)
            case "tool":
                _turn(turns, "user").results.append(_tool_result(message, i))
            case "assistant":
                blocks, call_ids = _assistant_blocks(message, i)
                if blocks:
                    turn = _turn(turns, "assistant")
                    turn.blocks.extend(blocks)
                    turn.call_ids.extend(call_ids)
    if not turns:
        raise InvalidRequest("there is no user or assistant message to send", param="messages")
    out = []
    for k, turn in enumerate(turns):
        if turn.results and k > 0:
            order = {call_id: n for n, call_id in enumerate(turns[k - 1].call_ids)}
            turn.results.sort(key=lambda block: order.get(block["tool_use_id"], len(order)))
        out.append({"role": turn.role, "content": turn.results + turn.blocks})
    return system, out


def _turn(turns: list[_Turn], role: Literal["user", "assistant"]) -> _Turn:
    if not turns or turns[-1].role != role:
        turns.append(_Turn(role))
    return turns[-1]


def _system_blocks(message: Message, i: int) -> list[dict[str, Any]]:
    return _text_blocks(message, i, "Anthropic takes only text in the system prompt")


def _text_blocks(message: Message, i: int, no_images: str) -> list[dict[str, Any]]:
    """The text blocks of a message that cannot hold images (``no_images`` says so if it does)."""
    blocks = []
    for j, part in enumerate(message.content):
        match part:
            case TextPart():
                if part.text:
                    blocks.append(_text_block(part))
            case ImagePart():
                raise InvalidRequest(no_images, param=f"messages[{i}].content[{j}]")
    return blocks


def _user_blocks(message: Message, i: int) -> list[dict[str, Any]]:
    blocks = []
    for j, part in enumerate(message.content):
        match part:
            case TextPart():
                if part.text:  # Anthropic rejects empty text blocks
                    blocks.append(_text_block(part))
            case ImagePart():
                blocks.append(_image_block(part, f"messages[{i}].content[{j}]"))
    return blocks


def _tool_result(message: Message, i: int) -> dict[str, Any]:
    if not message.tool_call_id:
        raise InvalidRequest("a tool message needs the id of the call it answers", param=f"messages[{i}]")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id}
    plain = all(isinstance(p, TextPart) and p.cache_control is None for p in message.content)
    if plain:
        text = message.text()
        if text:
            block["content"] = text
    else:
        content = _user_blocks(message, i)
        if content:
            block["content"] = content
    if message.is_error:
        block["is_error"] = True
    return block


def _assistant_blocks(message: Message, i: int) -> tuple[list[dict[str, Any]], list[str]]:
    blocks = [b for b in (_reasoning_block(p) for p in message.reasoning) if b is not None]
    blocks += _text_blocks(message, i, "Anthropic assistant messages cannot hold images")
    call_ids = []
    for j, call in enumerate(message.tool_calls):
        where = f"messages[{i}].tool_calls[{j}]"
        block = {
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": _arguments(call.arguments, where),
        }
        blocks.append(block)
        call_ids.append(call.id)
    return blocks, call_ids


def _reasoning_block(part: ReasoningPart) -> dict[str, Any] | None:
    """Signed or redacted reasoning replays verbatim; unsigned reasoning (another family's) cannot."""
    if part.redacted is not None:
        return {"type": "redacted_thinking", "data": part.redacted}
    if part.signature is not None:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return None


def _arguments(arguments: str, where: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = loads_exact(arguments)
    except ValueError:
        raise InvalidRequest(
            f"{where}: the tool call arguments are not valid JSON", param=f"{where}.arguments"
        ) from None
    if not isinstance(value, dict):
        raise InvalidRequest(
            f"{where}: the tool call arguments are not a JSON object", param=f"{where}.arguments"
        )
    return value


def _text_block(part: TextPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cache_control is not None:
        block["cache_control"] = part.cache_control
    return block


def _image_block(part: ImagePart, where: str) -> dict[str, Any]:
    source: dict[str, Any]
    if part.data is not None:
        if part.media_type not in IMAGE_MEDIA_TYPES:
            raise InvalidRequest(
                f"Anthropic takes jpeg, png, gif or webp images, not {part.media_type!r}", param=where
            )
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    elif part.url is not None:
        source = {"type": "url", "url": part.url}
    else:
        raise InvalidRequest("an image needs a URL or inline data", param=where)
    block: dict[str, Any] = {"type": "image", "source": source}
    if part.cache_control is not None:
        block["cache_control"] = part.cache_control
    return block


# --- controls -----------------------------------------------------------------------------------


def _tool(tool: ToolDef) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["input_schema"] = tool.parameters if tool.parameters is not None else _EMPTY_SCHEMA
    if tool.strict:
        out["strict"] = True
    if tool.cache_control is not None:
        out["cache_control"] = tool.cache_control
    return out


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    out: dict[str, Any]
    if choice is None:
        if request.parallel_tool_calls is not False:
            return None
        out = {"type": "auto"}
    else:
        match choice.mode:
            case "auto":
                out = {"type": "auto"}
            case "required":
                out = {"type": "any"}
            case "named":
                if not choice.name:
                    raise InvalidRequest("a named tool choice needs the tool's name", param="tool_choice")
                out = {"type": "tool", "name": choice.name}
            case "none":
                return {"type": "none"}  # takes no disable_parallel_tool_use
    if request.parallel_tool_calls is False:
        out["disable_parallel_tool_use"] = True
    return out


def _thinking(request: ChatRequest, max_tokens: int, cap: int | None) -> tuple[dict[str, Any] | None, int]:
    """(thinking config, max_tokens raised so the budget fits the requested output)."""
    reasoning = request.reasoning
    if reasoning is None:
        return None, max_tokens
    budget = reasoning.budget_tokens
    if budget == 0 or (budget is None and reasoning.effort == "none"):
        return {"type": "disabled"}, max_tokens
    if budget is None:
        if reasoning.effort is None:
            return None, max_tokens
        budget = EFFORT_BUDGETS.get(reasoning.effort)
        if budget is None:
            levels = ", ".join(EFFORT_BUDGETS)
            raise InvalidRequest(
                f"unknown reasoning effort {reasoning.effort!r}; expected one of {levels}",
                param="reasoning_effort",
            )
    budget = max(budget, MIN_THINKING_BUDGET)
    if budget >= max_tokens:  # max_tokens includes thinking: keep room for the requested output
        max_tokens = budget + max_tokens
        if cap is not None:
            max_tokens = min(max_tokens, cap)
    return {"type": "enabled", "budget_tokens": budget}, max_tokens
