"""Canonical chat request to a Gemini ``generateContent`` body (contents, tools, generation config).

System messages become one ``systemInstruction`` (joined in order); user/assistant become
``user``/``model`` turns and consecutive turns of one role are merged; assistant tool calls become
``functionCall`` parts (arguments parsed to an object) and tool messages ``functionResponse`` parts
(``{"output": text}``, or ``{"error": text}`` for a failed call) in the ``user`` turn after the
calls, in call order, named after the call they answer. Reasoning signatures go back on the part
they came with (the turn's function calls, else its first part); reasoning text is not sent back
(Gemini ignores thought summaries in history). Images go inline, or by reference for ``gs://`` and
Files-API URIs; other URLs are refused, because the gateway never fetches client URLs. Dropped:
empty text, image ``detail``, ``cache_control``, message ``name``, ``strict``, ``parallel_tool_calls``,
``user``, ``metadata``.
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
    TextPart,
    ToolChoice,
    ToolDef,
)

_FILES_API = "https://generativelanguage.googleapis.com/"
_IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
}


def request_body(request: ChatRequest, *, function_ids: bool) -> dict[str, Any]:
    """The Gemini body for ``request``; ``function_ids``: send call ids (the Gemini API does, Vertex not)."""
    system, contents = _history(request.messages, function_ids)
    if not contents:
        raise InvalidRequest(
            "Gemini needs at least one user or assistant message with content besides the system prompt",
            param="messages",
        )
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if request.tools:
        body["tools"] = [{"functionDeclarations": [_declaration(t) for t in request.tools]}]
        if request.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _calling_config(request.tool_choice)}
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    return body


def _history(messages: list[Message], function_ids: bool) -> tuple[list[str], list[dict[str, Any]]]:
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    calls: dict[str, tuple[str, int]] = {}  # call id -> (name, position in its turn); latest wins
    answers: list[tuple[int, dict[str, Any]]] = []  # a run of tool results, put in call order at its end
    for i, message in enumerate(messages):
        if message.role != "tool" and answers:
            _append(contents, "user", [part for _, part in sorted(answers, key=lambda a: a[0])])
            answers = []
        match message.role:
            case "system":
                text = _system_text(message, i)
                if text:
                    system.append(text)
            case "user":
                _append(contents, "user", _content_parts(message, i))
            case "assistant":
                _append(contents, "model", _model_parts(message, i, function_ids))
                for position, call in enumerate(message.tool_calls):
                    calls[call.id] = (call.name, position)
            case "tool":
                answers.append(_function_response(message, i, calls, function_ids))
    if answers:
        _append(contents, "user", [part for _, part in sorted(answers, key=lambda a: a[0])])
    return system, contents


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    """Add a turn, merged into the previous one when it has the same role; empty turns vanish."""
    if not parts:
        return
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _system_text(message: Message, i: int) -> str:
    for j, part in enumerate(message.content):
        if not isinstance(part, TextPart):
            raise InvalidRequest(
                f"messages[{i}]: Gemini system instructions take only text",
                param=f"messages[{i}].content[{j}]",
            )
    return message.text()


def _content_parts(message: Message, i: int) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(message.content):
        match part:
            case TextPart(text=text):
                if text:
                    parts.append({"text": text})
            case ImagePart():
                parts.append(_image(part, f"messages[{i}].content[{j}]"))
    return parts


def _image(part: ImagePart, where: str) -> dict[str, Any]:
    if part.data is not None:
        if not part.media_type:
            raise InvalidRequest(f"{where}: an inline image needs its media type", param=where)
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    url = part.url
    if not url:
        raise InvalidRequest(f"{where}: an image needs a URL or inline data", param=where)
    if url.startswith("gs://") or (url.startswith(_FILES_API) and "/files/" in url):
        file_data = {"fileUri": url}
        mime = part.media_type or _IMAGE_TYPES.get(url.rsplit(".", 1)[-1].lower())
        if mime:
            file_data["mimeType"] = mime
        return {"fileData": file_data}
    raise InvalidRequest(
        f"{where}: Gemini cannot fetch image URLs; send the image inline as a data: URL", param=where
    )


def _model_parts(message: Message, i: int, function_ids: bool) -> list[dict[str, Any]]:
    parts = _content_parts(message, i)
    calls: list[dict[str, Any]] = []
    for k, call in enumerate(message.tool_calls):
        function_call: dict[str, Any] = {"name": call.name, "args": _arguments(call.arguments, i, k)}
        if function_ids:
            function_call["id"] = call.id
        calls.append({"functionCall": function_call})
    signatures = [r.signature for r in message.reasoning if r.signature]
    if signatures:
        # The signature belongs to the turn's first function call (Gemini signs the first call of
        # a step); without calls, to its first text part.
        anchors = calls or [p for p in parts if "text" in p][:1] or parts[:1]
        for anchor, signature in zip(anchors, signatures, strict=False):
            anchor["thoughtSignature"] = signature
    return parts + calls


def _arguments(arguments: str, i: int, k: int) -> dict[str, Any]:
    where = f"messages[{i}].tool_calls[{k}].function.arguments"
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)  # numbers become doubles, as in Gemini's protobuf Struct
    except orjson.JSONDecodeError:
        raise InvalidRequest(f"{where} is not valid JSON", param=where) from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where} must be a JSON object for Gemini", param=where)
    return value


def _function_response(
    message: Message, i: int, calls: dict[str, tuple[str, int]], function_ids: bool
) -> tuple[int, dict[str, Any]]:
    call_id = message.tool_call_id
    if call_id is None or call_id not in calls:
        raise InvalidRequest(
            f"messages[{i}] answers tool call {call_id!r}, which no earlier assistant message made "
            "(Gemini needs the function's name)",
            param=f"messages[{i}].tool_call_id",
        )
    name, position = calls[call_id]
    for j, part in enumerate(message.content):
        if not isinstance(part, TextPart):
            raise InvalidRequest(
                f"messages[{i}]: Gemini takes only text in tool results", param=f"messages[{i}].content[{j}]"
            )
    response: dict[str, Any] = {
        "name": name,
        "response": {"error" if message.is_error else "output": message.text()},
    }
    if function_ids:
        response["id"] = call_id
    return position, {"functionResponse": response}


def _declaration(tool: ToolDef) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": tool.name}
    if tool.description:
        declaration["description"] = tool.description
    if tool.parameters is not None:
        declaration["parametersJsonSchema"] = tool.parameters
    return declaration


def _calling_config(choice: ToolChoice) -> dict[str, Any]:
    match choice.mode:
        case "auto":
            return {"mode": "AUTO"}
        case "none":
            return {"mode": "NONE"}
        case "required":
            return {"mode": "ANY"}
        case "named":
            if not choice.name:
                raise InvalidRequest("tool_choice names no function", param="tool_choice")
            return {"mode": "ANY", "allowedFunctionNames": [choice.name]}


def _generation_config(request: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in (
        ("temperature", request.temperature),
        ("topP", request.top_p),
        ("topK", request.top_k),
        ("maxOutputTokens", request.max_tokens),
        ("seed", request.seed),
    ):
        if value is not None:
            config[key] = value
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if request.n != 1:
        config["candidateCount"] = request.n
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema is not None:
            config["responseJsonSchema"] = fmt.schema
    reasoning = request.reasoning
    if reasoning is not None:
        budget = reasoning.budget_tokens
        if budget is None and reasoning.effort is not None:
            budget = EFFORT_BUDGETS.get(reasoning.effort)
            if budget is None:
                raise InvalidRequest(
                    f"unknown reasoning effort {reasoning.effort!r}; use one of {', '.join(EFFORT_BUDGETS)}",
                    param="reasoning_effort",
                )
        thinking: dict[str, Any] = {}
        if budget is not None:
            thinking["thinkingBudget"] = budget
        if reasoning.include and budget != 0:
            thinking["includeThoughts"] = True
        if thinking:
            config["thinkingConfig"] = thinking
    return config
