"""The OpenAI generative endpoints: ``/v1/chat/completions`` and legacy ``/v1/completions``.

An answer is planned once from the request and its script — echo text, ``x-sim-content``, a JSON
object for ``response_format``, or tool calls built from the declared tools' parameter schemas —
then cut by ``stop`` and ``max_tokens``, split into stream pieces, and rendered either as one
JSON document or as the exact SSE sequence OpenAI emits (role chunk, content or tool-call
fragments, finish chunk, optional ``choices: []`` usage chunk, ``[DONE]``). Because the plan is
deterministic, a streamed answer reassembles exactly to the non-streamed one.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import scripted_failure, send_body, send_stream
from switchgear.simulator.openai_wire import (
    DONE,
    error_body,
    fingerprint,
    include_usage,
    int_param,
    read_payload,
    reject,
    sse,
    token_entries,
    usage_block,
)
from switchgear.simulator.script import Script


@dataclass(frozen=True)
class ToolCall:
    """One function call of an answer."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """The planned content of one choice."""

    content: str | None
    pieces: list[str]
    tool_calls: list[ToolCall]
    finish_reason: str
    completion_tokens: int


def _tool_calls(payload: dict[str, Any], script: Script) -> list[ToolCall]:
    declared: dict[str, Any] = {}
    for tool in payload.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            declared[function["name"]] = function.get("parameters")
    choice = payload.get("tool_choice")
    names: list[str] = []
    if script.tool_calls:
        names = list(script.tool_calls)
    elif declared and choice == "required":
        names = [next(iter(declared))]
    elif declared and isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else choice.get("name")
        names = [name] if isinstance(name, str) else []
    basis = text.digest(payload.get("messages")).hex()
    return [
        ToolCall(
            id=text.stable_id("call_", basis, index, name),
            name=name,
            arguments=text.dumps(text.placeholder_object(declared.get(name))).decode(),
        )
        for index, name in enumerate(names)
    ]


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return text.content_text(message.get("content"))
    return ""


def _chat_text(payload: dict[str, Any], script: Script) -> str:
    if script.content is not None:
        return script.content
    reply = text.echo_reply(_last_user_text(payload["messages"]))
    response_format = payload.get("response_format")
    if not isinstance(response_format, dict):
        return reply
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return text.dumps(text.placeholder_object(schema)).decode()
    if response_format.get("type") == "json_object":
        return text.dumps({"reply": reply}).decode()
    return reply


def _text_answer(payload: dict[str, Any], script: Script, content: str) -> Answer:
    content, _ = text.apply_stop(content, payload.get("stop"))
    limit = int_param(payload, "max_completion_tokens", None)
    limit = int_param(payload, "max_tokens", None) if limit is None else limit
    content, truncated = text.truncate_words(content, limit)
    finish = script.finish_reason or ("length" if truncated else "stop")
    return Answer(content, text.chunk_text(content, script.chunks), [], finish, text.count_words(content))


def _chat_answer(payload: dict[str, Any], script: Script) -> Answer:
    calls = _tool_calls(payload, script)
    if calls:
        tokens = sum(text.count_words(f"{call.name} {call.arguments}") for call in calls)
        return Answer(None, [], calls, script.finish_reason or "tool_calls", tokens)
    return _text_answer(payload, script, _chat_text(payload, script))


def _prompt_tokens(messages: list[Any]) -> int:
    return sum(
        text.count_words(text.content_text(m.get("content") if isinstance(m, dict) else "")) + 3
        for m in messages
    )


def _head(payload: dict[str, Any], model: str, prefix: str, kind: str) -> dict[str, Any]:
    head: dict[str, Any] = {"id": prefix + uuid.uuid4().hex[:24], "object": kind}
    head |= {"created": int(time.time()), "model": model, "system_fingerprint": fingerprint(payload)}
    return head


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/chat/completions``."""
    payload, model, script, key = await read_payload(request)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise reject(
            "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    n = int_param(payload, "n", 1, minimum=1) or 1
    top = int_param(payload, "top_logprobs", 0) or 0
    failure = await scripted_failure(request, script, key, error_body)
    if failure is not None:
        return failure
    answer = _chat_answer(payload, script)
    usage = usage_block(script, _prompt_tokens(messages), answer.completion_tokens * n)
    want_logprobs = payload.get("logprobs") is True
    if payload.get("stream") is True:
        head = _head(payload, model, "chatcmpl-", "chat.completion.chunk") | {"service_tier": "default"}
        usage = usage if include_usage(payload) else None
        top_or_none = top if want_logprobs else None
        frames = _chat_frames(head, answer, n, usage=usage, top=top_or_none, script=script)
        return await send_stream(request, script, frames)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.content,
        "refusal": None,
        "annotations": [],
    }
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in answer.tool_calls
        ]
    logprobs = {"content": token_entries(answer.pieces, top), "refusal": None} if want_logprobs else None
    choices = [
        {"index": i, "message": message, "logprobs": logprobs, "finish_reason": answer.finish_reason}
        for i in range(n)
    ]
    document = _head(payload, model, "chatcmpl-", "chat.completion") | {"choices": choices}
    if usage is not None:
        document["usage"] = usage
    document["service_tier"] = "default"
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))


def _chat_frames(
    head: dict[str, Any],
    answer: Answer,
    n: int,
    *,
    usage: dict[str, Any] | None,
    top: int | None,
    script: Script,
) -> list[bytes]:
    def chunk(index: int, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        document = head | {"choices": [choice]}
        if usage is not None:
            document["usage"] = None
        return sse(document)

    opening = "" if answer.content is not None else None
    frames = [chunk(i, {"role": "assistant", "content": opening, "refusal": None}) for i in range(n)]
    for position, piece in enumerate(answer.pieces):
        logprobs = None
        if top is not None:
            logprobs = {"content": token_entries([piece], top, position), "refusal": None}
        frames += [chunk(i, {"content": piece}, logprobs=logprobs) for i in range(n)]
    for number, call in enumerate(answer.tool_calls):
        count = script.chunks or max(1, math.ceil(len(call.arguments) / 12))
        for i in range(n):
            opener = {"index": number, "id": call.id, "type": "function"}
            opener["function"] = {"name": call.name, "arguments": ""}
            frames.append(chunk(i, {"tool_calls": [opener]}))
            frames += [
                chunk(i, {"tool_calls": [{"index": number, "function": {"arguments": piece}}]})
                for piece in text.split_even(call.arguments, count)
            ]
    frames += [chunk(i, {}, answer.finish_reason) for i in range(n)]
    if usage is not None:
        frames.append(sse(head | {"choices": [], "usage": usage}))
    frames.append(DONE)
    return frames


def _prompts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, int) for v in value):
            return [" ".join(str(v) for v in value)]
        if all(isinstance(v, list) for v in value):
            return [" ".join(str(t) for t in v) for v in value]
    raise reject("'prompt' must be a string, a list of strings or token arrays.", param="prompt")


def _legacy_logprobs(pieces: list[str], top: int, start: int = 0, offset: int = 0) -> dict[str, Any]:
    offsets = []
    for piece in pieces:
        offsets.append(offset)
        offset += len(piece)
    return {
        "tokens": pieces,
        "token_logprobs": [text.logprob_of(p, start + i) for i, p in enumerate(pieces)],
        "top_logprobs": [
            {alt: text.logprob_of(p, start + i, rank) for rank, alt in enumerate(text.alternatives(p, top))}
            for i, p in enumerate(pieces)
        ],
        "text_offset": offsets,
    }


async def completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/completions`` (legacy text completions)."""
    payload, model, script, key = await read_payload(request)
    if payload.get("prompt") is None:
        raise reject(
            "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
        )
    prompts = _prompts(payload["prompt"])
    n = int_param(payload, "n", 1, minimum=1) or 1
    top = int_param(payload, "logprobs", None)
    failure = await scripted_failure(request, script, key, error_body)
    if failure is not None:
        return failure
    answers: list[Answer] = []
    for prompt in prompts:
        content = script.content if script.content is not None else text.echo_reply(prompt)
        content = prompt + content if payload.get("echo") is True else content
        answers += [_text_answer(payload, script, content)] * n
    prompt_tokens = sum(text.count_words(p) for p in prompts)
    usage = usage_block(script, prompt_tokens, sum(a.completion_tokens for a in answers))
    if usage is not None:
        usage = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    head = _head(payload, model, "cmpl-", "text_completion")
    if payload.get("stream") is True:
        stream_usage = usage if include_usage(payload) else None

        def chunk(choice: dict[str, Any]) -> bytes:
            document = head | {"choices": [choice]}
            if stream_usage is not None:
                document["usage"] = None
            return sse(document)

        frames = []
        for index, answer in enumerate(answers):
            offset = 0
            for position, piece in enumerate(answer.pieces):
                logprobs = _legacy_logprobs([piece], top, position, offset) if top is not None else None
                offset += len(piece)
                frames.append(
                    chunk({"text": piece, "index": index, "logprobs": logprobs, "finish_reason": None})
                )
            frames.append(
                chunk({"text": "", "index": index, "logprobs": None, "finish_reason": answer.finish_reason})
            )
        if stream_usage is not None:
            frames.append(sse(head | {"choices": [], "usage": stream_usage}))
        frames.append(DONE)
        return await send_stream(request, script, frames)
    choices = [
        {
            "text": answer.content,
            "index": index,
            "logprobs": _legacy_logprobs(answer.pieces, top) if top is not None else None,
            "finish_reason": answer.finish_reason,
        }
        for index, answer in enumerate(answers)
    ]
    document = head | {"choices": choices}
    if usage is not None:
        document["usage"] = usage
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))
