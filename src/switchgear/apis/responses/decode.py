"""The OpenAI Responses API (``POST /v1/responses``) decoded into the canonical form, stateless.

Decodes a Responses request into the canonical ``ChatRequest``: ``instructions`` and the
``input`` items (messages, ``function_call`` / ``function_call_output``, ``reasoning``) become
messages; function tools, ``tool_choice``, ``text.format``, ``reasoning`` and the sampling fields
map one to one. switchgear keeps no responses, so anything that names server-side state
(``previous_response_id``, ``conversation``, ``prompt``, item references, file ids,
``background``) and OpenAI's built-in tools are 400s naming the parameter. Answers are written by
``encode`` and ``stream``; errors are OpenAI-shaped (``errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from switchgear.core.errors import InvalidRequest
from switchgear.core.types import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    Reasoning,
    ReasoningPart,
    ResponseFormat,
    Role,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolDef,
)

STATELESS = "switchgear's /v1/responses is stateless: send the whole conversation in `input`"
_ROLES: dict[str, Role] = {
    "user": "user",
    "assistant": "assistant",
    "system": "system",
    "developer": "system",
}
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}
    return names.get(type(value), "an object")


def _typed(value: Any, types: tuple[type, ...], param: str, description: str) -> Any:
    """``value`` if it is one of ``types`` (booleans are not numbers), else a 400 naming ``param``."""
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise InvalidRequest(f"'{param}' must be {description}, got {_kind(value)}", param=param)
    return value


def _one_of(value: Any, allowed: tuple[str, ...], where: str) -> Any:
    if value not in allowed:
        raise InvalidRequest(f"'{where}' must be one of {', '.join(allowed)}; got {value!r}", param=where)
    return value


def _name(obj: dict[str, Any], where: str) -> str:
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"'{where}' must be a non-empty string", param=where)
    return name


def _get(obj: dict[str, Any], key: str, types: tuple[type, ...], description: str, where: str = "") -> Any:
    """``obj[key]`` or None; a present value of the wrong type is a 400 naming ``where`` (or ``key``)."""
    value = obj.get(key)
    return None if value is None else _typed(value, types, where or key, description)


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = _get(body, name, (int, float), "a number")
    if value is not None and not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be between {low:g} and {high:g}, got {value}", param=name)
    return None if value is None else float(value)


def _refuse_state(body: dict[str, Any]) -> None:
    for name, what in (
        ("previous_response_id", "a previous response"),
        ("conversation", "a stored conversation"),
        ("prompt", "a stored prompt template"),
    ):
        if body.get(name) is not None:
            raise InvalidRequest(f"'{name}' refers to {what}; {STATELESS}", param=name)
    if body.get("background") is True:
        why = "'background' responses are stored and polled by id; switchgear's /v1/responses is stateless"
        raise InvalidRequest(why + ": send it without 'background' (stream long answers)", param="background")


def decode_request(body: dict[str, Any], headers: Mapping[str, str]) -> ChatRequest:
    """A Responses body in canonical form; InvalidRequest (with ``param``) when wrong or stateful."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("you must provide 'model' (a non-empty string)", param="model")
    _refuse_state(body)
    messages: list[Message] = []
    instructions = _get(body, "instructions", (str,), "a string")
    if instructions is not None:
        messages.append(Message("system", [TextPart(instructions)]))
    messages.extend(_input(body.get("input")))
    tools = _tools(body.get("tools"))
    tool_choice, tools = _tool_choice(body.get("tool_choice"), tools)
    max_tokens = _get(body, "max_output_tokens", (int,), "an integer")
    if max_tokens is not None and max_tokens < 1:
        raise InvalidRequest("'max_output_tokens' must be at least 1", param="max_output_tokens")
    user = _get(body, "safety_identifier", (str,), "a string")
    fallback_user = _get(body, "user", (str,), "a string")
    return ChatRequest(
        model=model,
        messages=messages,
        stream=_get(body, "stream", (bool,), "a boolean") is True,
        max_tokens=max_tokens,
        temperature=_number(body, "temperature", 0, 2),
        top_p=_number(body, "top_p", 0, 1),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=_get(body, "parallel_tool_calls", (bool,), "a boolean"),
        response_format=_text_format(body.get("text")),
        reasoning=_reasoning(body.get("reasoning")),
        user=user if user is not None else fallback_user,
        metadata=_get(body, "metadata", (dict,), "an object"),
    )


# --- input items --------------------------------------------------------------------------------


def _input(value: Any) -> list[Message]:
    if value is None:
        raise InvalidRequest(f"missing required parameter 'input' ({STATELESS})", param="input")
    if isinstance(value, str):
        return [Message("user", [TextPart(value)])]
    if not isinstance(value, list):
        raise InvalidRequest(
            f"'input' must be a string or an array of items, got {_kind(value)}", param="input"
        )
    messages: list[Message] = []
    turn: Message | None = None  # the assistant message that reasoning / calls / text join
    for i, item in enumerate(value):
        param = f"input[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"'{param}' must be an object, got {_kind(item)}", param=param)
        kind = item.get("type") or "message"
        if kind == "message":
            message = _message(item, param)
            if message.role != "assistant":
                messages.append(message)
                turn = None
            elif turn is not None and not turn.content and not turn.tool_calls:
                turn.content = message.content  # the text that follows this turn's reasoning
            else:
                messages.append(message)
                turn = message
        elif kind == "function_call":
            call = _function_call(item, param)
            if turn is None:
                turn = Message("assistant")
                messages.append(turn)
            turn.tool_calls.append(call)
        elif kind == "reasoning":
            part = _reasoning_item(item, param)
            if turn is None or turn.content or turn.tool_calls:
                turn = Message("assistant")
                messages.append(turn)
            turn.reasoning.append(part)
        elif kind == "function_call_output":
            messages.append(_function_output(item, param))
            turn = None
        elif kind == "item_reference":
            raise InvalidRequest(f"'{param}' is an item reference; {STATELESS}", param=param)
        else:
            raise InvalidRequest(
                f"'{param}.type' is {kind!r}: switchgear's /v1/responses takes message, function_call, "
                "function_call_output and reasoning items",
                param=f"{param}.type",
            )
    return messages


def _message(item: dict[str, Any], param: str) -> Message:
    role = _ROLES[_one_of(item.get("role"), tuple(_ROLES), f"{param}.role")]
    content = item.get("content")
    if isinstance(content, str):
        return Message(role, [TextPart(content)])
    if not isinstance(content, list):
        raise InvalidRequest(
            f"'{param}.content' must be a string or an array of content parts, got {_kind(content)}",
            param=f"{param}.content",
        )
    parts = [_part(part, role, f"{param}.content[{j}]") for j, part in enumerate(content)]
    return Message(role, parts)


def _part(part: Any, role: Role, param: str) -> ContentPart:
    if not isinstance(part, dict):
        raise InvalidRequest(f"'{param}' must be an object, got {_kind(part)}", param=param)
    kind = part.get("type")
    if kind in ("input_text", "output_text"):
        return TextPart(_typed(part.get("text"), (str,), f"{param}.text", "a string"))
    if kind == "refusal" and role == "assistant":
        return TextPart(_typed(part.get("refusal"), (str,), f"{param}.refusal", "a string"))
    if kind == "input_image":
        if role != "user":
            raise InvalidRequest(f"'{param}': images are accepted in user messages only", param=param)
        return _image(part, param)
    if kind == "input_file":
        raise InvalidRequest(
            f"'{param}': file inputs are not supported by switchgear's /v1/responses; send text or images",
            param=param,
        )
    raise InvalidRequest(f"'{param}.type' {kind!r} is not a supported content part", param=f"{param}.type")


def _image(part: dict[str, Any], param: str) -> ImagePart:
    if part.get("file_id") is not None:
        raise InvalidRequest(
            f"'{param}.file_id' refers to a file stored at OpenAI; {STATELESS} "
            "(send the image as image_url: a data URL or an https URL)",
            param=f"{param}.file_id",
        )
    url = part.get("image_url")
    if not isinstance(url, str) or not url.startswith(("data:", "https://", "http://")):
        raise InvalidRequest(
            f"'{param}.image_url' must be a data URL or an http(s) URL", param=f"{param}.image_url"
        )
    if url.startswith("data:") and ";base64," not in url[:200]:
        raise InvalidRequest(
            f"'{param}.image_url' must be a base64 data URL (data:<type>;base64,...)",
            param=f"{param}.image_url",
        )
    detail = part.get("detail")
    if detail is not None:
        _one_of(detail, ("auto", "low", "high", "original"), f"{param}.detail")
    return ImagePart.from_url(url, detail)


def _function_call(item: dict[str, Any], param: str) -> ToolCall:
    call_id = _typed(item.get("call_id"), (str,), f"{param}.call_id", "a string")
    name = _typed(item.get("name"), (str,), f"{param}.name", "a string")
    arguments = _typed(item.get("arguments"), (str,), f"{param}.arguments", "a string of JSON") or "{}"
    try:
        orjson.loads(arguments)
    except orjson.JSONDecodeError:
        raise InvalidRequest(f"'{param}.arguments' is not valid JSON", param=f"{param}.arguments") from None
    return ToolCall(call_id, name, arguments)


def _function_output(item: dict[str, Any], param: str) -> Message:
    call_id = _typed(item.get("call_id"), (str,), f"{param}.call_id", "a string")
    output = item.get("output")
    if isinstance(output, str):
        return Message("tool", [TextPart(output)], tool_call_id=call_id)
    if not isinstance(output, list):
        raise InvalidRequest(
            f"'{param}.output' must be a string or an array of content parts, got {_kind(output)}",
            param=f"{param}.output",
        )
    parts: list[ContentPart] = []
    for j, part in enumerate(output):
        where = f"{param}.output[{j}]"
        if not isinstance(part, dict) or part.get("type") != "input_text":
            raise InvalidRequest(f"'{where}': a function call output holds text parts only", param=where)
        parts.append(TextPart(_typed(part.get("text"), (str,), f"{where}.text", "a string")))
    return Message("tool", parts, tool_call_id=call_id)


def _reasoning_item(item: dict[str, Any], param: str) -> ReasoningPart:
    texts: list[str] = []
    for key, part_type in (("summary", "summary_text"), ("content", "reasoning_text")):
        for j, part in enumerate(_get(item, key, (list,), "an array", f"{param}.{key}") or ()):
            where = f"{param}.{key}[{j}]"
            if not isinstance(part, dict) or part.get("type", part_type) != part_type:
                raise InvalidRequest(f"'{where}' must be a {part_type} part", param=where)
            texts.append(_typed(part.get("text"), (str,), f"{where}.text", "a string"))
        if texts:
            break  # the summary when there is one, else the raw reasoning text
    signature = _get(item, "encrypted_content", (str,), "a string", f"{param}.encrypted_content")
    return ReasoningPart(text="\n\n".join(texts), signature=signature)


# --- tools and settings -------------------------------------------------------------------------


def _tools(value: Any) -> list[ToolDef]:
    if value is None:
        return []
    _typed(value, (list,), "tools", "an array")
    tools: list[ToolDef] = []
    for i, tool in enumerate(value):
        param = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise InvalidRequest(f"'{param}' must be an object, got {_kind(tool)}", param=param)
        kind = tool.get("type")
        if kind != "function":
            raise InvalidRequest(
                f"'{param}' is a {kind!r} tool: switchgear's /v1/responses takes function tools only "
                "(built-in tools run on OpenAI's servers)",
                param=f"{param}.type",
            )
        name = _name(tool, f"{param}.name")
        parameters = _get(tool, "parameters", (dict,), "an object (a JSON schema)", f"{param}.parameters")
        description = _get(tool, "description", (str,), "a string", f"{param}.description")
        strict = _get(tool, "strict", (bool,), "a boolean", f"{param}.strict")
        tools.append(ToolDef(name, description, parameters, strict))
    return tools


def _tool_choice(value: Any, tools: list[ToolDef]) -> tuple[ToolChoice | None, list[ToolDef]]:
    if value is None:
        return None, tools
    if isinstance(value, str):
        return ToolChoice(_one_of(value, ("auto", "none", "required"), "tool_choice")), tools
    _typed(value, (dict,), "tool_choice", "a string or an object")
    kind = value.get("type")
    if kind == "function":
        return ToolChoice("named", _name(value, "tool_choice.name")), tools
    if kind == "allowed_tools":  # a subset of the tools, in auto or required mode
        mode = _one_of(value.get("mode"), ("auto", "required"), "tool_choice.mode")
        allowed = _typed(value.get("tools"), (list,), "tool_choice.tools", "an array")
        names = set()
        for j, tool in enumerate(allowed):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                where = f"tool_choice.tools[{j}]"
                raise InvalidRequest(
                    f"'{where}' must be a function tool ({{type: function, name}})", param=where
                )
            names.add(tool.get("name"))
        return ToolChoice(mode), [t for t in tools if t.name in names]
    raise InvalidRequest(
        f"'tool_choice' of type {kind!r} names a built-in tool: switchgear's /v1/responses takes "
        "function tools only",
        param="tool_choice.type",
    )


def _text_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    _typed(value, (dict,), "text", "an object")
    fmt = _get(value, "format", (dict,), "an object", "text.format")
    if fmt is None:
        return None
    kind = _one_of(fmt.get("type"), ("text", "json_object", "json_schema"), "text.format.type")
    if kind != "json_schema":
        return ResponseFormat(kind)
    name = _name(fmt, "text.format.name")
    schema = _typed(fmt.get("schema"), (dict,), "text.format.schema", "an object (a JSON schema)")
    strict = _get(fmt, "strict", (bool,), "a boolean", "text.format.strict")
    description = _get(fmt, "description", (str,), "a string", "text.format.description")
    return ResponseFormat("json_schema", name, schema, strict, description)


def _reasoning(value: Any) -> Reasoning | None:
    if value is None:
        return None
    _typed(value, (dict,), "reasoning", "an object")
    effort = value.get("effort")
    if effort is not None:
        _one_of(effort, _EFFORTS, "reasoning.effort")
    summary = value.get("summary", value.get("generate_summary"))
    if summary is not None:
        _one_of(summary, ("auto", "concise", "detailed"), "reasoning.summary")
    if effort is None and summary is None:
        return None
    return Reasoning(effort=effort, include=summary is not None)
