"""Decoding an Anthropic Messages request (``POST /v1/messages``) into the canonical form.

Used when an Anthropic client (Claude Code, the SDKs) asks for a model of another family
(Anthropic targets pass through). The body is checked as the Anthropic API checks it (400 naming
the parameter), then decoded: ``system`` first, one ``tool`` message per ``tool_result`` ahead of
the rest of its user turn, thinking blocks into ``Message.reasoning``, ``cache_control`` kept.
What only Anthropic serves (server tools, documents, containers) is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from switchgear.core.errors import InvalidRequest
from switchgear.core.jsoncodec import dumps
from switchgear.core.types import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    Reasoning,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolDef,
)

_ANTHROPIC_ONLY = " only available when the model is served by Anthropic"
_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_EFFORTS = ("low", "medium", "high", "xhigh", "max")
# Block types the Messages API knows that have no canonical form (server tools, documents, ...).
_ANTHROPIC_BLOCKS = frozenset(
    {
        "document", "search_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
        "code_execution_tool_result", "bash_code_execution_tool_result", "container_upload",
        "text_editor_code_execution_tool_result", "tool_search_tool_result", "tool_reference",
        "mcp_tool_use", "mcp_tool_result", "browser_state",
    }
)  # fmt: skip
_ROLE_BLOCKS = {"user": ("text", "image", "tool_result"), "assistant": ("text", "tool_use", "thinking",
                "redacted_thinking"), "system": ("text",)}  # fmt: skip
_TOOL_MODES: dict[str, Literal["auto", "required", "named", "none"]] = {
    "auto": "auto", "any": "required", "tool": "named", "none": "none"
}  # fmt: skip
_TTLS = (None, "5m", "1h")
_COPIED_HEADERS = ("anthropic-beta", "anthropic-version")
_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}


def decode_request(body: Any, headers: Mapping[str, str], *, count_only: bool = False) -> ChatRequest:
    """Check an Anthropic Messages body and decode it; InvalidRequest (with ``param``) when wrong."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    model = _get(body, "model", str, "a string", required=True)
    if not model:
        raise _bad("model", "must be a non-empty string")
    max_tokens: int | None = None
    if not count_only:
        max_tokens = _get(body, "max_tokens", int, "an integer", required=True)
        if max_tokens == 0:
            raise _bad("max_tokens", "0 (prompt-cache pre-warming) is" + _ANTHROPIC_ONLY)
        if max_tokens < 0:
            raise _bad("max_tokens", "must be greater than or equal to 1")
    for name in ("container", "mcp_servers"):
        if body.get(name) is not None:
            raise _bad(name, "is" + _ANTHROPIC_ONLY)
    request = ChatRequest(model=model, messages=[], max_tokens=max_tokens)
    request.stream = _get(body, "stream", bool, "a boolean") or False
    for name in ("temperature", "top_p"):
        value = _get(body, name, int | float, "a number")
        if value is not None and not 0 <= value <= 1:
            raise _bad(name, f"must be between 0 and 1, got {value}")
        setattr(request, name, None if value is None else float(value))
    request.top_k = _get(body, "top_k", int, "an integer")
    if request.top_k is not None and request.top_k < 0:
        raise _bad("top_k", "must be greater than or equal to 0")
    stop = _get(body, "stop_sequences", list, "an array of strings") or []
    if not all(isinstance(s, str) for s in stop):
        raise _bad("stop_sequences", "must be an array of strings")
    request.stop = list(stop)
    parts: list[ContentPart] = [
        _text(b, at) for _, b, at in _blocks(body.get("system", []), "system", "system")
    ]
    messages = _get(body, "messages", list, "an array", required=True)
    request.messages = ([Message("system", parts)] if parts else []) + _messages(messages)
    request.tools = [_tool(t, i) for i, t in enumerate(_get(body, "tools", list, "an array") or [])]
    request.tool_choice, request.parallel_tool_calls = _tool_choice(body.get("tool_choice"), request.tools)
    config = _get(body, "output_config", dict, "an object") or {}
    request.reasoning = _reasoning(body, config, max_tokens)
    request.response_format = _response_format(config)
    metadata = _get(body, "metadata", dict, "an object") or {}
    request.user = _get(metadata, "user_id", str, "a string", where="metadata")
    # Top-level cache_control marks the last cacheable block: the last part of the last message.
    marker = _cache_control(body.get("cache_control"), "cache_control")
    last = next((m.content[-1] for m in reversed(request.messages) if m.content), None)
    if marker is not None and last is not None and last.cache_control is None:
        last.cache_control = marker
    request.headers = {name: headers[name] for name in _COPIED_HEADERS if name in headers}
    return request


def _bad(param: str, problem: str) -> InvalidRequest:
    return InvalidRequest(f"{param}: {problem}", param=param)


def _kind(value: Any) -> str:
    return "null" if value is None else _KINDS.get(type(value), "an object")


def _get(body: dict[str, Any], name: str, type_: Any, what: str, *, required: bool = False,
         where: str = "") -> Any:  # fmt: skip
    """``body[name]`` when it has the type (bool is not an integer); None when absent and optional."""
    param = f"{where}.{name}" if where else name
    value = body.get(name)
    if value is None:
        if required:
            raise _bad(param, "field required")
        return None
    if not isinstance(value, type_) or (isinstance(value, bool) and type_ is not bool):
        raise _bad(param, f"must be {what}, got {_kind(value)}")
    return value


def _cache_control(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") != "ephemeral" or value.get("ttl") not in _TTLS:
        raise _bad(where, "must be {'type': 'ephemeral'} with an optional 'ttl' of '5m' or '1h'")
    return dict(value)


def _blocks(content: Any, where: str, role: str) -> list[tuple[str, dict[str, Any], str]]:
    """(type, block, param) for each block of a string-or-blocks ``content``, checked for the role."""
    if isinstance(content, str):
        return [("text", {"type": "text", "text": content}, where)] if content else []
    if not isinstance(content, list):
        raise _bad(where, "must be a string or an array of content blocks")
    out = []
    for j, block in enumerate(content):
        at = f"{where}[{j}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(block, dict) or not isinstance(kind, str):
            raise _bad(f"{at}.type", "must be a content block object with a 'type'")
        if kind not in _ROLE_BLOCKS[role]:
            if kind in _ANTHROPIC_BLOCKS:
                raise _bad(f"{at}.type", f"'{kind}' blocks are{_ANTHROPIC_ONLY}")
            if any(kind in kinds for kinds in _ROLE_BLOCKS.values()):
                raise _bad(f"{at}.type", f"'{kind}' blocks are not allowed in {role} messages")
            raise _bad(f"{at}.type", f"unknown content block type {kind!r}")
        out.append((kind, block, at))
    return out


def _text(block: dict[str, Any], at: str) -> TextPart:
    text = _get(block, "text", str, "a string", required=True, where=at)
    if not text:
        raise _bad(f"{at}.text", "text content blocks must be non-empty")
    return TextPart(text, cache_control=_cache_control(block.get("cache_control"), f"{at}.cache_control"))


def _image(block: dict[str, Any], at: str) -> ImagePart:
    source = _get(block, "source", dict, "an object", required=True, where=at)
    marker = _cache_control(block.get("cache_control"), f"{at}.cache_control")
    kind = source.get("type")
    if kind == "base64":
        media_type = _get(source, "media_type", str, "a string", required=True, where=f"{at}.source")
        if media_type not in _MEDIA_TYPES:
            raise _bad(f"{at}.source.media_type", f"must be one of {', '.join(_MEDIA_TYPES)}")
        data = _get(source, "data", str, "a string", required=True, where=f"{at}.source")
        return ImagePart(media_type=media_type, data=data, cache_control=marker)
    if kind == "url":
        url = _get(source, "url", str, "a string", required=True, where=f"{at}.source")
        return ImagePart(url=url, cache_control=marker)
    if kind == "file":
        raise _bad(f"{at}.source.type", "file sources are" + _ANTHROPIC_ONLY)
    raise _bad(f"{at}.source.type", "must be 'base64' or 'url'")


def _messages(raw: list[Any]) -> list[Message]:
    if not raw:
        raise _bad("messages", "at least one message is required")
    out: list[Message] = []
    pairing = _Pairing()
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, dict):
            raise _bad(where, f"must be an object, got {_kind(item)}")
        role = item.get("role")
        if role not in _ROLE_BLOCKS:
            raise _bad(f"{where}.role", f"must be 'user' or 'assistant', got {role!r}")
        content = item.get("content")
        if content is None:
            raise _bad(f"{where}.content", "field required")
        blocks = _blocks(content, f"{where}.content", role)
        if not blocks and not (role == "assistant" and i == len(raw) - 1):
            raise _bad(f"{where}.content", "must be non-empty (except in a final assistant message)")
        if role == "system":
            out.append(Message("system", [_text(b, at) for _, b, at in blocks]))
        elif role == "assistant":
            message = _assistant(blocks)
            pairing.assistant(i, [c.id for c in message.tool_calls])
            out.append(message)
        else:
            pairing.role = "user"
            out.extend(_user(blocks, pairing))
    pairing.end()
    return out


def _assistant(blocks: list[tuple[str, dict[str, Any], str]]) -> Message:
    message = Message("assistant")
    for kind, block, at in blocks:
        match kind:
            case "text":
                message.content.append(_text(block, at))
            case "tool_use":
                call_id = _get(block, "id", str, "a string", required=True, where=at)
                name = _get(block, "name", str, "a string", required=True, where=at)
                arguments = _get(block, "input", dict, "an object", required=True, where=at)
                message.tool_calls.append(ToolCall(call_id, name, dumps(arguments).decode()))
            case "thinking":
                text = _get(block, "thinking", str, "a string", required=True, where=at)
                signature = _get(block, "signature", str, "a string", required=True, where=at)
                message.reasoning.append(ReasoningPart(text, signature=signature or None))  # "": none
            case _:  # redacted_thinking
                data = _get(block, "data", str, "a string", required=True, where=at)
                message.reasoning.append(ReasoningPart(redacted=data))
    return message


def _user(blocks: list[tuple[str, dict[str, Any], str]], pairing: _Pairing) -> list[Message]:
    """One ``tool`` message per tool_result, in order, then the user message with the rest (images
    returned inside tool results first: a canonical tool message holds text only)."""
    results: list[Message] = []
    moved: list[ContentPart] = []
    rest: list[ContentPart] = []
    for kind, block, at in blocks:
        match kind:
            case "text":
                rest.append(_text(block, at))
            case "image":
                rest.append(_image(block, at))
            case _:  # tool_result
                call_id = _get(block, "tool_use_id", str, "a string", required=True, where=at)
                pairing.result(call_id, f"{at}.tool_use_id")
                is_error = _get(block, "is_error", bool, "a boolean", where=at) or False
                texts: list[ContentPart] = []
                for inner_kind, part, part_at in _blocks(block.get("content") or [], f"{at}.content", "user"):
                    if inner_kind == "tool_result":
                        raise _bad(f"{part_at}.type", "tool_result blocks cannot be nested")
                    if inner_kind == "image":
                        moved.append(_image(part, part_at))
                    elif part.get("text") != "":  # an empty result text is dropped, not refused
                        texts.append(_text(part, part_at))
                marker = _cache_control(block.get("cache_control"), f"{at}.cache_control")
                if marker is not None and texts:
                    texts[-1].cache_control = marker
                results.append(Message("tool", texts, tool_call_id=call_id, is_error=is_error))
    if moved or rest:
        results.append(Message("user", moved + rest))
    return results


class _Pairing:
    """The API's rule: each tool_use of an assistant turn is answered by a tool_result in the user
    turn right after it, and each tool_result answers one of those."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}  # tool_use id -> index of its assistant message
        self.answered: set[str] = set()
        self.role = ""

    def assistant(self, i: int, ids: list[str]) -> None:
        if self.role != "assistant":
            self.end()
            self.calls, self.answered = {}, set()
        self.calls.update(dict.fromkeys(ids, i))
        self.role = "assistant"

    def result(self, call_id: str, param: str) -> None:
        if call_id not in self.calls:
            found = f"unexpected tool_use_id found in tool_result blocks: {call_id}"
            raise _bad(param, found + "; each tool_result must answer a tool_use of the previous message")
        self.answered.add(call_id)

    def end(self) -> None:
        missing = [call_id for call_id in self.calls if call_id not in self.answered]
        if missing and self.role == "user":
            found = (
                f"tool_use ids were found without tool_result blocks immediately after: {', '.join(missing)}"
            )
            raise _bad(f"messages[{self.calls[missing[0]]}]", found)


def _tool(raw: Any, i: int) -> ToolDef:
    at = f"tools[{i}]"
    if not isinstance(raw, dict):
        raise _bad(at, f"must be an object, got {_kind(raw)}")
    kind = raw.get("type")
    if kind not in (None, "custom"):
        raise _bad(f"{at}.type", f"server tools ({kind!r}) are{_ANTHROPIC_ONLY}")
    name = _get(raw, "name", str, "a string", required=True, where=at)
    if not name:
        raise _bad(f"{at}.name", "must be a non-empty string")
    return ToolDef(
        name=name,
        description=_get(raw, "description", str, "a string", where=at),
        parameters=_get(raw, "input_schema", dict, "a JSON schema object", required=True, where=at),
        strict=_get(raw, "strict", bool, "a boolean", where=at),
        cache_control=_cache_control(raw.get("cache_control"), f"{at}.cache_control"),
    )


def _tool_choice(raw: Any, tools: list[ToolDef]) -> tuple[ToolChoice | None, bool | None]:
    if raw is None:
        return None, None
    kind = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or kind not in _TOOL_MODES:
        raise _bad("tool_choice.type", "must be 'auto', 'any', 'tool' or 'none'")
    choice = ToolChoice(_TOOL_MODES[kind])
    if kind == "tool":
        choice.name = _get(raw, "name", str, "a string", required=True, where="tool_choice")
        if choice.name not in {t.name for t in tools}:
            raise _bad("tool_choice.name", f"no tool named {choice.name!r} in tools")
    disable = _get(raw, "disable_parallel_tool_use", bool, "a boolean", where="tool_choice")
    return choice, (False if disable and kind != "none" else None)


def _reasoning(body: dict[str, Any], config: dict[str, Any], max_tokens: int | None) -> Reasoning | None:
    effort = config.get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise _bad("output_config.effort", f"must be one of {', '.join(_EFFORTS)}")
    thinking = _get(body, "thinking", dict, "an object")
    if thinking is None:
        return Reasoning(effort=effort) if effort else None
    kind = thinking.get("type")
    display = thinking.get("display")
    if display not in (None, "summarized", "omitted"):
        raise _bad("thinking.display", "must be 'summarized' or 'omitted'")
    include = display != "omitted"
    match kind:
        case "enabled":
            budget = _get(thinking, "budget_tokens", int, "an integer", required=True, where="thinking")
            if budget < 1024:
                raise _bad("thinking.budget_tokens", "must be greater than or equal to 1024")
            if max_tokens is not None and budget >= max_tokens:
                raise _bad("max_tokens", "must be greater than thinking.budget_tokens")
            return Reasoning(effort=effort, budget_tokens=budget, include=include)
        case "adaptive" | "between_tools":
            return Reasoning(effort=effort or "medium", include=include)
        case "disabled":
            return Reasoning(effort="none")
    raise _bad("thinking.type", "must be 'enabled', 'adaptive' or 'disabled'")


def _response_format(config: dict[str, Any]) -> ResponseFormat | None:
    raw = config.get("format")
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("type") != "json_schema":
        raise _bad("output_config.format.type", "must be 'json_schema'")
    schema = _get(raw, "schema", dict, "an object", required=True, where="output_config.format")
    return ResponseFormat("json_schema", schema=schema)
