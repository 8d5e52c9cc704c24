"""The Cohere wire family: ``POST /v2/chat`` (JSON and SSE), checked and answered like Cohere's v2 chat.

A request needs ``Authorization: Bearer`` and a body with known fields only; messages are
checked for their roles, content shapes, tool calls (``arguments`` must be JSON text) and tool
results answering an earlier call; ``tools``, ``tool_choice`` (``REQUIRED``/``NONE``),
``response_format`` and ``thinking`` are checked too. Refusals and scripted errors are Cohere's
``{"id", "message"}`` bodies. The answer is planned once — optional ``thinking`` text (when
``thinking.type`` is ``enabled``, cut at ``token_budget``), then either tool calls (scripted
``tool_calls``, or the first tool under ``REQUIRED``) with a ``tool_plan`` and finish reason
``TOOL_CALL``, or one text (echo, scripted ``content``, JSON for ``response_format``) cut by
``stop_sequences`` and ``max_tokens`` — and rendered as one response or as Cohere's event
sequence (``message-start``, ``content-start``/``-delta``/``-end`` per content item,
``tool-plan-delta``, ``tool-call-start``/``-delta``/``-end``, ``message-end`` with finish reason
and usage), so a streamed answer reassembles exactly to the non-streamed one. ``error_after``
ends a stream with a ``message-end`` whose finish reason is ``ERROR``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import (
    Reject,
    scripted_failure,
    send_body,
    send_stream,
    state_of,
)
from switchgear.simulator.script import scripted

ROUTE = "/v2/chat"
JSON_PIECE_CHARS = 12
MALFORMED_EVENT = b"event: content-delta\ndata: {not json\n\n"
FIELDS = frozenset(
    {
        "model", "messages", "stream", "tools", "strict_tools", "documents", "citation_options",
        "response_format", "safety_mode", "max_tokens", "stop_sequences", "temperature", "seed",
        "frequency_penalty", "presence_penalty", "k", "p", "logprobs", "tool_choice", "thinking", "priority",
    }
)  # fmt: skip
ERROR_MESSAGES: dict[int, str] = {
    400: "invalid request",
    401: "invalid api token",
    404: "model not found",
    429: "You are using a Trial key, which is limited to 10 API calls / minute.",
    498: "invalid api token",
    499: "request cancelled",
    500: "internal server error, this has been reported to our developers",
    503: "service unavailable",
    504: "gateway timeout",
}


def error_body(status: int, message: str | None) -> bytes:
    """A Cohere error body, with a per-status default message."""
    default = ERROR_MESSAGES.get(status, f"HTTP {status}")
    return text.dumps({"id": str(uuid.uuid4()), "message": message if message is not None else default})


def format_error(status: int, type_: str | None, message: str | None, code: str | None) -> bytes:
    """The scripted-error formatter (Cohere bodies carry only a message)."""
    return error_body(status, message)


def reject(message: str, status: int = 400) -> Reject:
    """A :class:`Reject` carrying a Cohere error (raise it from a handler)."""
    return Reject(
        web.Response(status=status, body=error_body(status, message), content_type="application/json")
    )


@dataclass(frozen=True)
class ChatRequest:
    """A checked ``/v2/chat`` request: what planning an answer needs."""

    model: str
    stream: bool
    user_text: str
    prompt_tokens: int
    tools: dict[str, Any] = field(default_factory=dict)  # name -> parameters schema
    required: bool = False
    json_output: bool = False
    schema: Any | None = None
    max_tokens: int | None = None
    stop_sequences: tuple[str, ...] = ()
    thinking: bool = False
    thinking_budget: int | None = None


def _content_text(content: Any, where: str, *, images: bool) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise reject(f"invalid request: {where}.content must be a string or a list of content items")
    texts: list[str] = []
    for j, item in enumerate(content):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
        elif kind == "thinking" and isinstance(item.get("thinking"), str):
            pass
        elif kind == "image_url" and images:
            image = item.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str) or not image["url"]:
                raise reject(f"invalid request: {where}.content[{j}].image_url.url is required")
        elif kind == "document":
            pass
        else:
            raise reject(f"invalid request: {where}.content[{j}] has an invalid type {kind!r}")
    return " ".join(texts)


def _messages(messages: Any) -> tuple[str, int]:
    """Check the messages; return the last user text and the prompt's word count."""
    if not isinstance(messages, list) or not messages:
        raise reject("invalid request: messages must be a non-empty list")
    calls: set[str] = set()
    user_text = ""
    words = 0
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "user", "assistant", "tool"):
            raise reject(f"invalid request: {where}.role must be one of system, user, assistant, tool")
        assert isinstance(message, dict)
        content = message.get("content")
        if role == "assistant":
            content_text = "" if content is None else _content_text(content, where, images=False)
            plan = message.get("tool_plan")
            words += text.count_words(content_text) + (text.count_words(plan) if isinstance(plan, str) else 0)
            for k, call in enumerate(message.get("tool_calls") or []):
                function = call.get("function") if isinstance(call, dict) else None
                arguments = function.get("arguments") if isinstance(function, dict) else None
                if (
                    not isinstance(call, dict)
                    or not isinstance(call.get("id"), str)
                    or not isinstance(function, dict)
                ):
                    raise reject(f"invalid request: {where}.tool_calls[{k}] needs an id and a function")
                try:
                    orjson.loads(arguments if isinstance(arguments, str) else "")
                except orjson.JSONDecodeError:
                    raise reject(
                        f"invalid request: {where}.tool_calls[{k}].function.arguments is not JSON"
                    ) from None
                calls.add(call["id"])
            continue
        if role == "tool" and message.get("tool_call_id") not in calls:
            raise reject(f"invalid request: {where}.tool_call_id does not match any earlier tool call")
        content_text = _content_text(content, where, images=role == "user")
        words += text.count_words(content_text)
        if role == "user":
            user_text = content_text
    return user_text, words


def _tools(payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    tools: dict[str, Any] = {}
    for i, tool in enumerate(payload.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type", "function") != "function":
            raise reject(f"invalid request: tools[{i}] must be a function tool")
        name = function.get("name")
        if not isinstance(name, str) or not name or name in tools:
            raise reject(f"invalid request: tools[{i}].function.name is missing or repeated")
        tools[name] = function.get("parameters")
    choice = payload.get("tool_choice")
    if choice is not None and choice not in ("REQUIRED", "NONE"):
        raise reject("invalid request: tool_choice must be one of REQUIRED, NONE")
    if choice is not None and not tools:
        raise reject("invalid request: tool_choice requires tools")
    return tools, choice == "REQUIRED"


def _checked_int(payload: dict[str, Any], name: str, minimum: int) -> int | None:
    value = payload.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
        raise reject(f"invalid request: {name} must be an integer of at least {minimum}")
    return value


def read_chat_request(payload: Any, model: str) -> ChatRequest:
    """Check a ``/v2/chat`` body (the script is read by the caller)."""
    for key in payload:
        if key not in FIELDS:
            raise reject(f"invalid request: unknown field {key!r}")
    user_text, words = _messages(payload.get("messages"))
    tools, required = _tools(payload)
    fmt = payload.get("response_format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object")):
        raise reject("invalid request: response_format.type must be text or json_object")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object" and tools:
        raise reject("invalid request: response_format is not supported with tools")
    thinking = payload.get("thinking")
    if thinking is not None and (
        not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled")
    ):
        raise reject("invalid request: thinking.type must be enabled or disabled")
    budget = _checked_int(thinking, "token_budget", 1) if isinstance(thinking, dict) else None
    stops = payload.get("stop_sequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise reject("invalid request: stop_sequences must be a list of strings")
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise reject("invalid request: stream must be a boolean")
    return ChatRequest(
        model=model,
        stream=stream,
        user_text=user_text,
        prompt_tokens=words,
        tools=tools,
        required=required,
        json_output=isinstance(fmt, dict) and fmt.get("type") == "json_object",
        schema=fmt.get("json_schema") if isinstance(fmt, dict) else None,
        max_tokens=_checked_int(payload, "max_tokens", 1),
        stop_sequences=tuple(stops),
        thinking=isinstance(thinking, dict) and thinking.get("type") == "enabled",
        thinking_budget=budget,
    )


@dataclass(frozen=True)
class Plan:
    """The planned answer: thinking, text, tool plan and calls, finish reason and token counts."""

    thinking: str
    text: str
    tool_plan: str
    calls: list[dict[str, Any]]
    finish_reason: str
    output_tokens: int


def plan_answer(req: ChatRequest, script_names: tuple[str, ...] | None, content: str | None) -> Plan:
    """What the simulated model answers to ``req`` (``script_names``/``content``: the script's)."""
    thinking = ""
    if req.thinking:  # a cut at the budget only ends the thinking: the answer follows
        thinking, _ = text.truncate_words(text.thought_text(req.user_text), req.thinking_budget)
    names = list(script_names or ())
    if not names and req.required and req.tools:
        names = [next(iter(req.tools))]
    if names:
        arguments = [text.dumps(text.placeholder_object(req.tools.get(name))).decode() for name in names]
        calls: list[dict[str, Any]] = [
            {
                "id": text.stable_id(f"{name}_", req.user_text, n, length=8),
                "type": "function",
                "function": {"name": name, "arguments": args},
            }
            for n, (name, args) in enumerate(zip(names, arguments, strict=True))
        ]
        plan = f"I will call {', '.join(names)}."
        tokens = text.count_words(plan) + sum(text.count_words(a) for a in arguments)
        return Plan(thinking, "", plan, calls, "TOOL_CALL", tokens + text.count_words(thinking))
    if content is None:
        content = text.echo_reply(req.user_text)
        if req.json_output:
            schema = req.schema if isinstance(req.schema, dict) else None
            content = text.dumps(text.placeholder_object(schema) if schema else {"reply": content}).decode()
    content, stop = text.find_stop(content, req.stop_sequences)
    content, cut = text.truncate_words(content, req.max_tokens)
    finish = "MAX_TOKENS" if cut else ("STOP_SEQUENCE" if stop is not None else "COMPLETE")
    return Plan(thinking, content, "", [], finish, text.count_words(content) + text.count_words(thinking))


def _usage(prompt: int, output: int, cached: int | None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "billed_units": {"input_tokens": prompt, "output_tokens": output},
        "tokens": {"input_tokens": prompt, "output_tokens": output},
    }
    if cached:
        usage["cached_tokens"] = cached
    return usage


def _event(document: dict[str, Any]) -> bytes:
    return f"event: {document['type']}\ndata: ".encode() + text.dumps(document) + b"\n\n"


def stream_frames(
    plan: Plan, response_id: str, chunks: int | None, usage: dict[str, Any] | None
) -> list[bytes]:
    """The event sequence Cohere streams for ``plan``."""
    start_message = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    frames = [_event({"type": "message-start", "id": response_id, "delta": {"message": start_message}})]
    index = 0
    for kind, value in (("thinking", plan.thinking), ("text", plan.text)):
        if not value:
            continue
        start = {
            "type": "content-start",
            "index": index,
            "delta": {"message": {"content": {"type": kind, kind: ""}}},
        }
        frames.append(_event(start))
        for piece in text.chunk_text(value, chunks):
            delta = {
                "type": "content-delta",
                "index": index,
                "delta": {"message": {"content": {kind: piece}}},
            }
            frames.append(_event(delta))
        frames.append(_event({"type": "content-end", "index": index}))
        index += 1
    for piece in text.chunk_text(plan.tool_plan, chunks):
        frames.append(_event({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}}))
    for n, call in enumerate(plan.calls):
        opening = {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        frames.append(
            _event({"type": "tool-call-start", "index": n, "delta": {"message": {"tool_calls": opening}}})
        )
        arguments = call["function"]["arguments"]
        for at in range(0, len(arguments), JSON_PIECE_CHARS):
            fragment = {"function": {"arguments": arguments[at : at + JSON_PIECE_CHARS]}}
            frames.append(
                _event(
                    {"type": "tool-call-delta", "index": n, "delta": {"message": {"tool_calls": fragment}}}
                )
            )
        frames.append(_event({"type": "tool-call-end", "index": n}))
    end: dict[str, Any] = {"finish_reason": plan.finish_reason}
    if usage is not None:
        end["usage"] = usage
    frames.append(_event({"type": "message-end", "delta": end}))
    return frames


async def chat(request: web.Request) -> web.StreamResponse:
    """``POST /v2/chat``."""
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
        raise reject("no api key supplied", status=401)
    try:
        payload = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise reject("invalid request: body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise reject("invalid request: body must be a JSON object")
    model = payload.get("model")
    if not isinstance(model, str) or not model.strip():
        raise reject("invalid request: model must be a non-empty string")
    name, script, key = scripted(
        request.headers, model, lambda exc: reject(f"invalid request: {exc.message}")
    )
    req = read_chat_request(payload, name or model)
    fails_midway = False
    if req.stream and script.error_after is not None and script.wants_error:
        fails_midway = state_of(request).should_fail(script.fail_key or key, script.fail_times)
    else:
        failure = await scripted_failure(request, script, key, format_error)
        if failure is not None:
            return failure
    plan = plan_answer(req, script.tool_calls, script.content)
    finish = script.finish_reason or plan.finish_reason
    prompt = script.prompt_tokens if script.prompt_tokens is not None else req.prompt_tokens
    output = script.completion_tokens if script.completion_tokens is not None else plan.output_tokens
    usage = None if script.usage == "none" else _usage(prompt, output, script.cache_read)
    response_id = str(uuid.uuid4())
    plan = Plan(plan.thinking, plan.text, plan.tool_plan, plan.calls, finish, plan.output_tokens)
    if req.stream:
        frames = stream_frames(plan, response_id, script.chunks, usage)
        if fails_midway and script.error_after is not None:
            error = script.error_message or ERROR_MESSAGES.get(script.error_status, "internal server error")
            error_end = {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": error}}
            frames = [*frames[: script.error_after], _event(error_end)]
        return await send_stream(request, script, frames, malformed=MALFORMED_EVENT)
    content = [{"type": "thinking", "thinking": plan.thinking}] if plan.thinking else []
    content += [{"type": "text", "text": plan.text}] if plan.text else []
    message: dict[str, Any] = {"role": "assistant"}
    if plan.calls:
        message |= {"tool_plan": plan.tool_plan, "tool_calls": plan.calls}
    if content:
        message["content"] = content
    document: dict[str, Any] = {"id": response_id, "finish_reason": finish, "message": message}
    if usage is not None:
        document["usage"] = usage
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))


def register(app: web.Application) -> None:
    """Add the Cohere v2 chat route to the simulator app."""
    app.router.add_post(ROUTE, chat)
