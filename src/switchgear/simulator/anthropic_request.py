"""Reading and checking Anthropic Messages requests, and Anthropic-shaped errors, for the simulator.

This module owns what the simulated ``/v1/messages`` and ``/v1/messages/count_tokens`` see on
the way in: the credential and ``anthropic-version`` headers, the JSON body checked the way the
real API checks it (unknown top-level fields, the required ``max_tokens``, user/assistant
content blocks and where each may appear, ``tool_use``/``tool_result`` pairing across turns,
image sources, tool definitions, ``tool_choice``, ``thinking`` and its constraints, sampling
ranges), the behaviour script, and the deterministic input-token count. Every refusal is an
Anthropic error document ``{"type": "error", "error": {type, message}, "request_id"}``; the
answer itself is planned and rendered by :mod:`.anthropic_wire`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import orjson
from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.anthropic_blocks import (
    Bad,
    Turn,
    check_blocks,
    check_pairing,
    check_thinking_start,
    unknown_tag,
)
from switchgear.simulator.delivery import ErrorFormatter, Reject, record_of
from switchgear.simulator.script import Script, scripted

MESSAGE_OVERHEAD = 3
MIN_THINKING_BUDGET = 1024
THINKING_TYPES = ("enabled", "disabled", "adaptive", "between_tools")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_SHARED_FIELDS = frozenset(
    {
        "model", "messages", "system", "tools", "tool_choice", "thinking", "output_config",
        "cache_control", "speed", "mcp_servers", "context_management", "user_profile_id",
        "workspace_id",
    }
)  # fmt: skip
CREATE_FIELDS = _SHARED_FIELDS | {
    "max_tokens", "metadata", "stop_sequences", "stream", "temperature", "top_p", "top_k",
    "service_tier", "container", "inference_geo", "diagnostics",
}  # fmt: skip
COUNT_FIELDS = _SHARED_FIELDS

# status -> (error.type, error.message) for whatever the script does not say
ERROR_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Bad request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    409: ("conflict_error", "Conflict."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed the rate limit for your organization."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


def request_id(request: web.Request) -> str:
    """The id the simulator gave this request (``x-request-id`` / ``request-id``)."""
    record = record_of(request)
    return record.request_id if record is not None else ""


def error_document(
    status: int, type_: str | None, message: str | None, code: str | None, rid: str
) -> dict[str, Any]:
    """An Anthropic error document, with per-status defaults for what is not given."""
    fallback = "api_error" if status >= 500 else "invalid_request_error"
    default_type, default_message = ERROR_DEFAULTS.get(status, (fallback, f"HTTP {status}"))
    error: dict[str, Any] = {
        "type": type_ if type_ is not None else default_type,
        "message": message if message is not None else default_message,
    }
    if code is not None:
        error["details"] = {"error_code": code}
    return {"type": "error", "error": error, "request_id": rid}


def formatter(request: web.Request) -> ErrorFormatter:
    """The scripted-error formatter of one request (it carries the request id)."""
    rid = request_id(request)

    def format_error(status: int, type_: str | None, message: str | None, code: str | None) -> bytes:
        return text.dumps(error_document(status, type_, message, code, rid))

    return format_error


def reject(request: web.Request, message: str, status: int = 400) -> Reject:
    """A :class:`Reject` carrying an Anthropic error (raise it from a handler)."""
    body = text.dumps(error_document(status, None, message, None, request_id(request)))
    return Reject(web.Response(status=status, body=body, content_type="application/json"))


@dataclass(frozen=True)
class Thinking:
    """Extended thinking as requested: ``budget`` is ``None`` for adaptive thinking."""

    budget: int | None
    omitted: bool


@dataclass(frozen=True)
class MessagesRequest:
    """A checked Messages (or count_tokens) request: what planning an answer needs."""

    payload: dict[str, Any]
    model: str
    script: Script
    fail_key: str
    max_tokens: int
    stream: bool
    user_text: str
    input_tokens: int
    tools: dict[str, Any] = field(default_factory=dict)
    tool_choice: dict[str, Any] = field(default_factory=dict)
    thinking: Thinking | None = None
    stop_sequences: tuple[str, ...] = ()
    output_schema: Any | None = None


async def read_messages_request(request: web.Request, *, counting: bool) -> MessagesRequest:
    """Check headers and body; raise :class:`Reject` (an Anthropic error) on the first problem."""

    def bad(message: str) -> Reject:
        return reject(request, message)

    if not request.headers.get("x-api-key") and not request.headers.get("authorization"):
        raise reject(request, "x-api-key header is required", status=401)
    if not request.headers.get("anthropic-version"):
        raise bad("anthropic-version: header is required")
    try:
        payload = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise bad(f"There was an error parsing the body of your request: {exc}") from None
    if not isinstance(payload, dict):
        raise bad("Input should be a valid dictionary")
    allowed = COUNT_FIELDS if counting else CREATE_FIELDS
    # Like the real API, unknown fields are refused; a beta header stands for a newer API that
    # knows them (how tests send "a field from the future" through a passthrough).
    if "anthropic-beta" not in request.headers:
        for key in payload:
            if key not in allowed:
                raise bad(f"{key}: Extra inputs are not permitted")
    model = payload.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad("model: Field required")
    name, script, fail_key = scripted(request.headers, model, lambda exc: bad(exc.message))
    max_tokens = 0
    if not counting:
        max_tokens = _max_tokens(bad, payload)
    turns = _messages(bad, payload.get("messages"))
    tokens = sum(turn.tokens for turn in turns)
    tokens += text.count_words(_system(bad, payload.get("system")))
    tools, tool_tokens = _tools(bad, payload.get("tools"))
    choice = _tool_choice(bad, payload.get("tool_choice"), tools)
    thinking = _thinking(bad, payload, max_tokens if not counting else None, choice)
    if thinking is not None:
        check_thinking_start(bad, turns)
    stops = _string_list(bad, payload, "stop_sequences")
    _sampling(bad, payload)
    if not isinstance(payload.get("metadata", {}), dict):
        raise bad("metadata: Input should be a valid dictionary")
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise bad("stream: Input should be a valid boolean")
    user_text = next((turn.text for turn in reversed(turns) if turn.role == "user"), "")
    return MessagesRequest(
        payload=payload,
        model=name or model,
        script=script,
        fail_key=fail_key,
        max_tokens=max_tokens,
        stream=stream,
        user_text=user_text,
        input_tokens=tokens + tool_tokens,
        tools=tools,
        tool_choice=choice,
        thinking=thinking,
        stop_sequences=tuple(stops),
        output_schema=_output_schema(bad, payload.get("output_config")),
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _max_tokens(bad: Bad, payload: dict[str, Any]) -> int:
    value = payload.get("max_tokens")
    if value is None:
        raise bad("max_tokens: Field required")
    if not _is_int(value):
        raise bad("max_tokens: Input should be a valid integer")
    if value < 0:
        raise bad("max_tokens: Input should be greater than or equal to 0")
    return int(value)


def _messages(bad: Bad, messages: Any) -> list[Turn]:
    if messages is None:
        raise bad("messages: Field required")
    if not isinstance(messages, list):
        raise bad("messages: Input should be a valid list")
    if not messages:
        raise bad("messages: at least one message is required")
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise bad(f"{where}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise bad(f"{where}.role: Input should be 'user' or 'assistant'")
        final_assistant = role == "assistant" and index == len(messages) - 1
        turn = check_blocks(bad, where, role, message.get("content"), final_assistant)
        turn.tokens += MESSAGE_OVERHEAD
        if turns and turns[-1].role == role:
            turns[-1] = turns[-1].merge(turn)  # the API merges consecutive same-role turns
        else:
            turns.append(turn)
    check_pairing(bad, turns)
    return turns


def _system(bad: Bad, system: Any) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    if not isinstance(system, list):
        raise bad("system: Input should be a valid string or a list of text blocks")
    texts = []
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise bad(f"system.{index}.type: Input should be 'text'")
        if not isinstance(block.get("text"), str) or not block["text"]:
            raise bad(f"system.{index}.text: text content blocks must be non-empty")
        texts.append(block["text"])
    return "\n".join(texts)


def _tools(bad: Bad, tools: Any) -> tuple[dict[str, Any], int]:
    if tools is None:
        return {}, 0
    if not isinstance(tools, list):
        raise bad("tools: Input should be a valid list")
    declared: dict[str, Any] = {}
    names: set[str] = set()
    tokens = 0
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise bad(f"tools.{index}: Input should be a valid dictionary")
        name = tool.get("name")
        if tool.get("type") in (None, "custom"):
            where = f"tools.{index}.custom"
            if not isinstance(name, str) or not TOOL_NAME.match(name):
                raise bad(f"{where}.name: String should match pattern '{TOOL_NAME.pattern}'")
            schema = tool.get("input_schema")
            if not isinstance(schema, dict):
                raise bad(f"{where}.input_schema: Field required")
            if schema.get("type") != "object":
                raise bad(f"{where}.input_schema.type: Input should be 'object'")
            declared[name] = schema
            description = tool.get("description") or ""
            tokens += text.count_words(f"{name} {description} {text.dumps(schema).decode()}")
        if isinstance(name, str):
            if name in names:
                raise bad("tools: Tool names must be unique.")
            names.add(name)
    return declared, tokens


def _tagged(bad: Bad, where: str, value: Any, tags: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """An object of a tagged union (``{"type": <one of tags>, ...}``) and its tag."""
    if not isinstance(value, dict):
        raise bad(f"{where}: Input should be a valid dictionary")
    kind = value.get("type")
    if kind not in tags:
        raise bad(unknown_tag(where, kind, tags))
    return value, kind


def _tool_choice(bad: Bad, raw: Any, tools: dict[str, Any]) -> dict[str, Any]:
    if raw is None:
        return {}
    choice, kind = _tagged(bad, "tool_choice", raw, ("auto", "any", "tool", "none"))
    if not isinstance(choice.get("disable_parallel_tool_use", False), bool):
        raise bad(f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a valid boolean")
    if kind in ("any", "tool") and not tools:
        raise bad("tool_choice: tool_choice may only be specified while providing tools.")
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise bad("tool_choice.tool.name: Field required")
        if name not in tools:
            raise bad(f"tool_choice.tool.name: Tool '{name}' not found in provided tools")
    return choice


def _thinking(
    bad: Bad, payload: dict[str, Any], max_tokens: int | None, choice: dict[str, Any]
) -> Thinking | None:
    if payload.get("thinking") is None:
        return None
    config, kind = _tagged(bad, "thinking", payload["thinking"], THINKING_TYPES)
    if kind in ("disabled", "between_tools"):
        return None
    display = config.get("display")
    if display not in (None, "summarized", "omitted"):
        raise bad(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    budget: int | None = None
    if kind == "enabled":
        value = config.get("budget_tokens")
        if not _is_int(value):
            raise bad("thinking.enabled.budget_tokens: Field required")
        if value < MIN_THINKING_BUDGET:
            raise bad(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to "
                f"{MIN_THINKING_BUDGET}"
            )
        if max_tokens is not None and max_tokens <= value:
            raise bad("`max_tokens` must be greater than `thinking.budget_tokens`.")
        budget = int(value)
    if choice.get("type") in ("any", "tool"):
        raise bad("Thinking may not be enabled when tool_choice forces tool use.")
    temperature = payload.get("temperature")
    if temperature is not None and temperature != 1:
        raise bad("`temperature` may only be set to 1 when thinking is enabled.")
    if payload.get("top_k") is not None:
        raise bad("`top_k` must be unset when thinking is enabled.")
    return Thinking(budget=budget, omitted=display == "omitted")


def _sampling(bad: Bad, payload: dict[str, Any]) -> None:
    for name in ("temperature", "top_p"):
        value = payload.get(name)
        if value is None:
            continue
        if not _is_number(value):
            raise bad(f"{name}: Input should be a valid number")
        if not 0 <= value <= 1:
            raise bad(f"{name}: Input should be between 0 and 1")
    top_k = payload.get("top_k")
    if top_k is not None and (not _is_int(top_k) or top_k < 0):
        raise bad("top_k: Input should be a non-negative integer")


def _string_list(bad: Bad, payload: dict[str, Any], name: str) -> list[str]:
    value = payload.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(f"{name}: Input should be a valid list of strings")
    return value


def _output_schema(bad: Bad, config: Any) -> Any | None:
    if config is None:
        return None
    if not isinstance(config, dict):
        raise bad("output_config: Input should be a valid dictionary")
    effort = config.get("effort")
    if effort is not None and effort not in ("low", "medium", "high", "xhigh", "max"):
        raise bad("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
    fmt = config.get("format")
    if fmt is None:
        return None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        raise bad("output_config.format: expected {'type': 'json_schema', 'schema': {...}}")
    return fmt["schema"]
