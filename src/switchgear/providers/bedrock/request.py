"""Canonical chat request → Bedrock Converse request body (the JSON of ``/converse`` and
``/converse-stream``, which share it).

System messages (wherever they are) become ``system`` text blocks; user, assistant and tool
messages become ``user``/``assistant`` turns, consecutive same-role turns merged, tool results
in the user turn after the calls (ahead of its other blocks) and a placeholder user turn first
when the history opens with the assistant. Tool-call ids go through ``toolids``. Images must be
inline (png, jpeg, gif, webp). ``json_schema`` output uses ``outputConfig.textFormat`` (in botocore's
``bedrock-runtime`` service model), so no forcing tool is needed; ``json_object`` has no Bedrock
switch and is asked for in the system prompt. Reasoning is sent as Anthropic-native ``thinking``
for Claude models only. Anthropic ``cache_control`` markers become ``cachePoint`` blocks.
"""

from __future__ import annotations

from typing import Any

import orjson

from switchgear.core.errors import InvalidRequest
from switchgear.core.types import (
    EFFORT_BUDGETS,
    ChatRequest,
    ImagePart,
    Message,
    Reasoning,
    TextPart,
    ToolDef,
)
from switchgear.providers.bedrock.toolids import to_bedrock

JSON_OBJECT_INSTRUCTION = "Respond only with a single valid JSON object."
PLACEHOLDER_USER_TEXT = "."  # Bedrock histories must open with a user turn
THINKING_MIN_BUDGET = 1024  # Anthropic's floor for budget_tokens
THINKING_ANSWER_TOKENS = 4096  # room for the answer when the client set no max_tokens
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_CACHE_TTLS = ("5m", "1h")

Block = dict[str, Any]


def request_body(request: ChatRequest, model: str, *, max_output: int | None = None) -> dict[str, Any]:
    """The Converse body for ``request`` sent to Bedrock model id ``model``; ``max_output`` is the
    model's output cap when known. Raises InvalidRequest for what Converse cannot express."""
    if request.n != 1:
        raise InvalidRequest("Bedrock returns one choice per request; n must be 1", param="n")
    claude = "anthropic" in model.lower()
    system, messages, called = _conversation(request.messages, tool_status="nova" in model.lower() or claude)
    if request.response_format is not None and request.response_format.type == "json_object":
        system.append({"text": JSON_OBJECT_INSTRUCTION})
    body: dict[str, Any] = {"system": system} if system else {}
    body["messages"] = messages
    extra: dict[str, Any] = {}
    inference: dict[str, Any] = {}
    max_tokens = request.max_tokens
    temperature, top_p, top_k = request.temperature, request.top_p, request.top_k
    budget = _thinking_budget(request.reasoning) if claude else None
    if budget is not None:
        max_tokens, budget = _fit_thinking(budget, max_tokens, max_output)
        extra["thinking"] = {"type": "enabled", "budget_tokens": budget}
        # Claude refuses sampling changes while thinking (top_p may stay in 0.95..1).
        temperature, top_k = None, None
        if top_p is not None and top_p < 0.95:
            top_p = None
    if max_tokens is not None:
        inference["maxTokens"] = max_tokens
    if temperature is not None:
        inference["temperature"] = min(max(temperature, 0.0), 1.0)  # Bedrock's range is 0..1
    if top_p is not None:
        inference["topP"] = top_p
    if request.stop:
        inference["stopSequences"] = list(request.stop)
    if inference:
        body["inferenceConfig"] = inference
    if top_k is not None:
        if claude:
            extra["top_k"] = top_k
        elif "nova" in model.lower():
            extra["inferenceConfig"] = {"topK": top_k}
    tool_config = _tool_config(request, called)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    if extra:
        body["additionalModelRequestFields"] = extra
    output = _output_config(request)
    if output is not None:
        body["outputConfig"] = output
    return body


def _conversation(
    messages: list[Message], *, tool_status: bool
) -> tuple[list[Block], list[dict[str, Any]], list[str]]:
    """System blocks, merged turns, and the names of the tools the history calls."""
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    called: list[str] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        match message.role:
            case "system":
                system.extend(_system_blocks(message, where))
                continue
            case "user":
                role, blocks = "user", _user_blocks(message, where)
            case "assistant":
                role, blocks = "assistant", _assistant_blocks(message, where)
                called.extend(call.name for call in message.tool_calls)
            case "tool":
                role, blocks = "user", [_tool_result(message, where, tool_status=tool_status)]
            case _:
                raise InvalidRequest(f"unknown message role {message.role!r}", param=f"{where}.role")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise InvalidRequest("Bedrock needs at least one user or assistant message", param="messages")
    if turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"text": PLACEHOLDER_USER_TEXT}]})
    for turn in turns:
        if turn["role"] == "user":  # tool results lead their turn
            content = turn["content"]
            turn["content"] = [b for b in content if "toolResult" in b] + [
                b for b in content if "toolResult" not in b
            ]
    return system, turns, called


def _system_blocks(message: Message, where: str) -> list[Block]:
    return _text_blocks(message, where, "a system message")


def _text_blocks(message: Message, where: str, kind: str) -> list[Block]:
    """The text blocks of a message of a ``kind`` that cannot hold images (blank text is dropped)."""
    blocks: list[Block] = []
    for j, part in enumerate(message.content):
        match part:
            case TextPart(text=text, cache_control=cache):
                if text.strip():
                    blocks.append({"text": text})
                    _cache_point(blocks, cache)
            case ImagePart():
                raise InvalidRequest(f"{kind} cannot hold images on Bedrock", param=f"{where}.content[{j}]")
    return blocks


def _user_blocks(message: Message, where: str) -> list[Block]:
    blocks: list[Block] = []
    for j, part in enumerate(message.content):
        match part:
            case TextPart(text=text, cache_control=cache):
                if text.strip():  # Bedrock rejects blank text blocks
                    blocks.append({"text": text})
                    _cache_point(blocks, cache)
            case ImagePart(cache_control=cache):
                blocks.append(_image(part, f"{where}.content[{j}]"))
                _cache_point(blocks, cache)
    return blocks


def _assistant_blocks(message: Message, where: str) -> list[Block]:
    blocks: list[Block] = []
    for part in message.reasoning:
        # Only signed or redacted reasoning can be replayed; bare text (another family's) is dropped.
        if part.redacted is not None:
            blocks.append({"reasoningContent": {"redactedContent": part.redacted}})
        elif part.signature is not None:
            blocks.append(
                {"reasoningContent": {"reasoningText": {"text": part.text, "signature": part.signature}}}
            )
    blocks += _text_blocks(message, where, "an assistant message")
    for k, call in enumerate(message.tool_calls):
        blocks.append(
            {
                "toolUse": {
                    "toolUseId": to_bedrock(call.id),
                    "name": call.name,
                    "input": _arguments(call.arguments, f"{where}.tool_calls[{k}].function.arguments"),
                }
            }
        )
    return blocks


def _tool_result(message: Message, where: str, *, tool_status: bool) -> Block:
    if message.tool_call_id is None:
        raise InvalidRequest("a tool message needs its tool_call_id", param=f"{where}.tool_call_id")
    content: list[Block] = []
    for j, part in enumerate(message.content):
        match part:
            case TextPart(text=text):
                if text:
                    content.append({"text": text})
            case ImagePart():
                content.append(_image(part, f"{where}.content[{j}]"))
    result: Block = {"toolUseId": to_bedrock(message.tool_call_id), "content": content}
    if message.is_error and tool_status:  # only Claude and Nova models take a status
        result["status"] = "error"
    return {"toolResult": result}


def _image(part: ImagePart, where: str) -> Block:
    if part.data is None:
        raise InvalidRequest(
            "Bedrock needs inline images (base64 data URLs); image URLs are not fetched", param=where
        )
    media_type = (part.media_type or "").lower()
    image_format = _IMAGE_FORMATS.get(media_type)
    if image_format is None:
        raise InvalidRequest(
            f"Bedrock takes png, jpeg, gif and webp images, not {media_type or 'unknown'!r}", param=where
        )
    return {"image": {"format": image_format, "source": {"bytes": part.data}}}


def _cache_point(blocks: list[Block], cache_control: dict[str, Any] | None) -> None:
    if cache_control is None:
        return
    point: dict[str, str] = {"type": "default"}
    ttl = cache_control.get("ttl")
    if ttl in _CACHE_TTLS:
        point["ttl"] = ttl
    blocks.append({"cachePoint": point})


def _arguments(text: str, where: str) -> Any:
    if not text.strip():
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidRequest("tool-call arguments are not valid JSON", param=where) from None
    if not isinstance(value, dict):
        raise InvalidRequest("tool-call arguments must be a JSON object", param=where)
    return value


def _tool_config(request: ChatRequest, called: list[str]) -> dict[str, Any] | None:
    choice = request.tool_choice
    declared = [block for i, tool in enumerate(request.tools) for block in _tool_spec(i, tool)]
    if not declared:
        if not called:
            return None
        # Bedrock wants a toolConfig whenever the history holds tool blocks: declare the tools
        # it calls, with an open schema.
        return {
            "tools": [
                {"toolSpec": {"name": name, "inputSchema": {"json": _open_object()}}}
                for name in dict.fromkeys(called)
            ]
        }
    config: dict[str, Any] = {"tools": declared}
    match choice.mode if choice is not None else None:
        case None:
            pass  # Bedrock's default is auto
        case "auto":
            config["toolChoice"] = {"auto": {}}
        case "required":
            config["toolChoice"] = {"any": {}}
        case "named":
            name = choice.name if choice is not None else None
            if not name or all(tool.name != name for tool in request.tools):
                raise InvalidRequest(f"tool_choice names an unknown tool {name!r}", param="tool_choice")
            config["toolChoice"] = {"tool": {"name": name}}
        case "none":
            if not called:
                return None
            # No Bedrock value: the tools stay declared because the history uses them.
    return config


def _tool_spec(i: int, tool: ToolDef) -> list[Block]:
    if not 1 <= len(tool.name) <= 64 or not all(
        c.isascii() and (c.isalnum() or c in "_-") for c in tool.name
    ):
        raise InvalidRequest(
            f"Bedrock tool names are 1-64 characters of [a-zA-Z0-9_-]; got {tool.name!r}",
            param=f"tools[{i}].function.name",
        )
    spec: dict[str, Any] = {"name": tool.name}
    if tool.description:
        spec["description"] = tool.description
    spec["inputSchema"] = {"json": tool.parameters if tool.parameters is not None else _open_object()}
    if tool.strict:
        spec["strict"] = True
    blocks: list[Block] = [{"toolSpec": spec}]
    _cache_point(blocks, tool.cache_control)
    return blocks


def _open_object() -> dict[str, Any]:
    """The schema of a tool whose arguments are not described: any object."""
    return {"type": "object", "properties": {}}


def _output_config(request: ChatRequest) -> dict[str, Any] | None:
    response_format = request.response_format
    if response_format is None or response_format.type != "json_schema":
        return None
    schema = response_format.schema if response_format.schema is not None else {"type": "object"}
    definition: dict[str, Any] = {"schema": orjson.dumps(schema).decode()}
    if response_format.name:
        definition["name"] = response_format.name
    if response_format.description:
        definition["description"] = response_format.description
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _thinking_budget(reasoning: Reasoning | None) -> int | None:
    """Claude's thinking budget for the requested effort or budget; None: no thinking."""
    if reasoning is None:
        return None
    if reasoning.budget_tokens is not None:
        if reasoning.budget_tokens <= 0:
            return None
        return max(reasoning.budget_tokens, THINKING_MIN_BUDGET)
    if reasoning.effort is None or reasoning.effort == "none":
        return None
    budget = EFFORT_BUDGETS.get(reasoning.effort)
    if budget is None:
        raise InvalidRequest(f"unknown reasoning effort {reasoning.effort!r}", param="reasoning_effort")
    return max(budget, THINKING_MIN_BUDGET)


def _fit_thinking(budget: int, max_tokens: int | None, cap: int | None) -> tuple[int, int]:
    """``maxTokens`` and budget so that budget < maxTokens (which counts thinking) within the cap."""
    if max_tokens is None:
        max_tokens = budget + THINKING_ANSWER_TOKENS
    elif max_tokens <= budget:
        max_tokens = budget + max_tokens
    if cap is not None and max_tokens > cap:
        max_tokens = cap
        budget = min(budget, cap - 1)
        if budget < THINKING_MIN_BUDGET:
            raise InvalidRequest(
                f"the model's output cap ({cap} tokens) leaves no room for reasoning", param="max_tokens"
            )
    return max_tokens, budget
