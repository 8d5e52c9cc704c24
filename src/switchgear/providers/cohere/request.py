"""Canonical chat request to a Cohere v2 ``/v2/chat`` body (messages, tools, sampling, thinking).

Messages keep their roles and order (Cohere takes ``system`` messages anywhere). User content is
a string when it is one text part, else a list of ``text`` / ``image_url`` parts (image URLs and
data URLs pass as given, with ``detail``). Assistant messages carry their text, their tool calls
(``{id, type: function, function: {name, arguments}}``, arguments as JSON text, ``"{}"`` when
empty) and their reasoning: with tool calls it becomes ``tool_plan`` (Cohere's plan before calling
tools, which ``response`` reads back as reasoning), otherwise ``thinking`` content items before
the text. Tool messages become ``{role: tool, tool_call_id, content}``. ``tool_choice``: auto is
omitted, none → ``NONE``, required → ``REQUIRED``, named → only that tool and ``REQUIRED``.
``response_format`` json_object / json_schema → ``{type: json_object[, json_schema]}``. Reasoning
becomes ``thinking{type: enabled, token_budget}`` (effort table of WIRE-FORMATS 8.h; effort
``none`` or budget 0 → ``disabled``). ``n > 1`` is refused. Dropped: ``cache_control``, message
``name``, tool-result ``is_error``, ``parallel_tool_calls``, ``user``, ``metadata``, schema
``name``/``strict``/``description``, ``reasoning.include``.
"""

from __future__ import annotations

from typing import Any

from switchgear.core.errors import InvalidRequest
from switchgear.core.types import (
    EFFORT_BUDGETS,
    ChatRequest,
    ImagePart,
    Message,
    Reasoning,
    ResponseFormat,
    TextPart,
    ToolChoice,
    ToolDef,
)

EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def request_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The Cohere v2 chat body for ``request`` sent to ``model``."""
    if request.n != 1:
        raise InvalidRequest("Cohere returns one choice per request; n must be 1", param="n")
    if not any(m.role != "system" for m in request.messages):
        raise InvalidRequest(
            "Cohere needs at least one user, assistant or tool message besides the system prompt",
            param="messages",
        )
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message(m, i) for i, m in enumerate(request.messages)],
    }
    if request.stream:
        body["stream"] = True
    tools = request.tools
    choice = request.tool_choice
    if tools:
        if choice is not None and choice.mode == "named":
            tools = [_named_tool(tools, choice)]
        body["tools"] = [_tool(t) for t in tools]
        if all(t.strict for t in tools):
            body["strict_tools"] = True
        if choice is not None:
            mode = _tool_choice(choice)
            if mode is not None:
                body["tool_choice"] = mode
    fmt = _response_format(request.response_format)
    if fmt is not None:
        body["response_format"] = fmt
    for key, value in (
        ("max_tokens", request.max_tokens),
        ("temperature", request.temperature),
        ("p", request.top_p),
        ("k", request.top_k),
        ("seed", request.seed),
    ):
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.reasoning is not None:
        body["thinking"] = _thinking(request.reasoning)
    return body


def _message(message: Message, i: int) -> dict[str, Any]:
    match message.role:
        case "system":
            return {"role": "system", "content": _text_only(message, i, "system messages")}
        case "user":
            return {"role": "user", "content": _user_content(message, i)}
        case "assistant":
            return _assistant(message, i)
        case "tool":
            if not message.tool_call_id:
                raise InvalidRequest(
                    f"messages[{i}] is a tool result without tool_call_id",
                    param=f"messages[{i}].tool_call_id",
                )
            return {
                "role": "tool",
                "tool_call_id": message.tool_call_id,
                "content": _text_only(message, i, "tool results"),
            }


def _text_only(message: Message, i: int, what: str) -> str:
    for j, part in enumerate(message.content):
        if not isinstance(part, TextPart):
            raise InvalidRequest(
                f"messages[{i}]: Cohere {what} take only text", param=f"messages[{i}].content[{j}]"
            )
    return message.text()


def _user_content(message: Message, i: int) -> str | list[dict[str, Any]]:
    content = message.content
    if len(content) == 1 and isinstance(content[0], TextPart):
        return content[0].text
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        match part:
            case TextPart(text=text):
                parts.append({"type": "text", "text": text})
            case ImagePart():
                if part.url is None and not part.data:
                    where = f"messages[{i}].content[{j}]"
                    raise InvalidRequest(f"{where}: an image needs a URL or inline data", param=where)
                image: dict[str, Any] = {"url": part.as_url()}
                if part.detail:
                    image["detail"] = part.detail
                parts.append({"type": "image_url", "image_url": image})
    return parts


def _assistant(message: Message, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant"}
    text = _text_only(message, i, "assistant messages")
    plan = "".join(r.text for r in message.reasoning)
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.arguments if call.arguments.strip() else "{}",
                },
            }
            for call in message.tool_calls
        ]
        if plan:
            out["tool_plan"] = plan
        if text:
            out["content"] = [{"type": "text", "text": text}]
        return out
    content: list[dict[str, Any]] = []
    if plan:
        content.append({"type": "thinking", "thinking": plan})
    content.append({"type": "text", "text": text})
    out["content"] = content
    return out


def _named_tool(tools: list[ToolDef], choice: ToolChoice) -> ToolDef:
    for tool in tools:
        if tool.name == choice.name:
            return tool
    raise InvalidRequest(
        f"tool_choice names {choice.name!r}, which is not among the tools", param="tool_choice"
    )


def _tool(tool: ToolDef) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.parameters if tool.parameters is not None else EMPTY_PARAMETERS
    return {"type": "function", "function": function}


def _tool_choice(choice: ToolChoice) -> str | None:
    match choice.mode:
        case "auto":
            return None
        case "none":
            return "NONE"
        case "required" | "named":
            return "REQUIRED"


def _response_format(fmt: ResponseFormat | None) -> dict[str, Any] | None:
    if fmt is None:
        return None
    match fmt.type:
        case "text":
            return None
        case "json_object":
            return {"type": "json_object"}
        case "json_schema":
            out: dict[str, Any] = {"type": "json_object"}
            if fmt.schema is not None:
                out["json_schema"] = fmt.schema
            return out


def _thinking(reasoning: Reasoning) -> dict[str, Any]:
    budget = reasoning.budget_tokens
    if budget is None and reasoning.effort is not None:
        budget = EFFORT_BUDGETS.get(reasoning.effort)
        if budget is None:
            raise InvalidRequest(
                f"unknown reasoning effort {reasoning.effort!r}; use one of {', '.join(EFFORT_BUDGETS)}",
                param="reasoning_effort",
            )
    if budget is None:
        return {"type": "enabled"}
    if budget <= 0:
        return {"type": "disabled"}
    return {"type": "enabled", "token_budget": budget}
