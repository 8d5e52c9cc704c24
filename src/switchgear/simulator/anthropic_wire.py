"""The Anthropic wire family: ``POST /v1/messages`` (JSON and SSE) and ``/v1/messages/count_tokens``.

A checked request (see :mod:`.anthropic_request`) is planned once into content blocks — an
optional ``thinking`` block (deterministic text and ``signature``), then either ``tool_use``
blocks built from the declared tools' ``input_schema`` or one ``text`` block (echo, scripted
``content`` or ``output_config.format`` JSON) cut by ``stop_sequences`` and ``max_tokens`` — and
rendered either as one ``message`` document or as the exact event sequence Anthropic streams:
``message_start``, per block ``content_block_start``/``content_block_delta``/``content_block_stop``
with ``ping`` events in between, ``message_delta`` (stop reason and cumulative output tokens)
and ``message_stop``. Because the plan is deterministic, a streamed answer reassembles exactly
to the non-streamed one. The scripted misbehaviours apply to events as they do to OpenAI
chunks, and ``error_after`` turns a scripted error into an in-stream ``event: error``.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.anthropic_blocks import issue_signature
from switchgear.simulator.anthropic_request import (
    MessagesRequest,
    error_document,
    formatter,
    read_messages_request,
    request_id,
)
from switchgear.simulator.delivery import scripted_failure, send_body, send_stream, state_of

MALFORMED_EVENT = b"event: content_block_delta\ndata: {not json\n\n"
JSON_PIECE_CHARS = 12
ROUTE_PREFIX = "/v1/messages"


@dataclass(frozen=True)
class Block:
    """One planned content block (``thinking``, ``text`` or ``tool_use``)."""

    type: str
    text: str = ""
    signature: str = ""
    id: str = ""
    name: str = ""
    input: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The block as it appears in a non-streamed ``content`` list."""
        match self.type:
            case "thinking":
                return {"type": "thinking", "thinking": self.text, "signature": self.signature}
            case "tool_use":
                return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.input}
            case _:
                return {"type": "text", "text": self.text}

    def opening(self) -> dict[str, Any]:
        """The ``content_block`` of the block's ``content_block_start`` event."""
        match self.type:
            case "thinking":
                return {"type": "thinking", "thinking": "", "signature": ""}
            case "tool_use":
                return {"type": "tool_use", "id": self.id, "name": self.name, "input": {}}
            case _:
                return {"type": "text", "text": ""}

    def deltas(self, chunks: int | None) -> list[dict[str, Any]]:
        """The ``delta`` objects of the block's ``content_block_delta`` events."""
        match self.type:
            case "thinking":
                pieces = [
                    {"type": "thinking_delta", "thinking": p} for p in text.chunk_text(self.text, chunks)
                ]
                return [*pieces, {"type": "signature_delta", "signature": self.signature}]
            case "tool_use":
                arguments = text.dumps(self.input).decode()
                count = chunks or max(1, math.ceil(len(arguments) / JSON_PIECE_CHARS))
                return [
                    {"type": "input_json_delta", "partial_json": piece}
                    for piece in text.split_even(arguments, count)
                ]
            case _:
                return [{"type": "text_delta", "text": p} for p in text.chunk_text(self.text, chunks)]


@dataclass(frozen=True)
class Plan:
    """The planned answer: blocks, stop reason and output tokens (thinking included)."""

    blocks: list[Block]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    thinking_tokens: int | None


def _calls(req: MessagesRequest) -> list[Block]:
    choice = req.tool_choice
    names: list[str] = []
    if req.script.tool_calls:
        names = list(req.script.tool_calls)
    elif choice.get("type") == "any" and req.tools:
        names = [next(iter(req.tools))]
    elif choice.get("type") == "tool":
        names = [choice["name"]]
    if choice.get("disable_parallel_tool_use") is True:
        names = names[:1]
    basis = text.digest(req.payload.get("messages")).hex()
    return [
        Block(
            "tool_use",
            id=text.stable_id("toolu_", basis, index, name),
            name=name,
            input=text.placeholder_object(req.tools.get(name)),
        )
        for index, name in enumerate(names)
    ]


def _content(req: MessagesRequest) -> str:
    if req.script.content is not None:
        return req.script.content
    if req.output_schema is not None:
        return text.dumps(text.placeholder_object(req.output_schema)).decode()
    return text.echo_reply(req.user_text)


def plan_answer(req: MessagesRequest) -> Plan:
    """What the simulated model answers to ``req``."""
    blocks: list[Block] = []
    thinking_tokens: int | None = None
    stop: str | None = None
    sequence: str | None = None
    if req.thinking is not None:
        limit = min(req.thinking.budget or req.max_tokens, req.max_tokens)
        thought, cut = text.truncate_words(text.thought_text(req.user_text), limit)
        thinking_tokens = text.count_words(thought)
        signature = issue_signature(thought)
        blocks.append(Block("thinking", text="" if req.thinking.omitted else thought, signature=signature))
        stop = "max_tokens" if cut else None
    tokens = thinking_tokens or 0
    calls = _calls(req) if stop is None else []
    if calls:
        blocks += calls
        tokens += sum(text.count_words(f"{c.name} {text.dumps(c.input).decode()}") for c in calls)
        stop = "tool_use"
    elif stop is None:
        content, sequence = text.find_stop(_content(req), req.stop_sequences)
        content, truncated = text.truncate_words(content, max(req.max_tokens - tokens, 0))
        if truncated:
            sequence = None
        stop = "max_tokens" if truncated else "stop_sequence" if sequence is not None else "end_turn"
        if content:
            blocks.append(Block("text", text=content))
        tokens += text.count_words(content)
    script = req.script
    return Plan(
        blocks=blocks,
        stop_reason=script.finish_reason if script.finish_reason is not None else stop,
        stop_sequence=sequence,
        output_tokens=script.completion_tokens if script.completion_tokens is not None else tokens,
        thinking_tokens=thinking_tokens,
    )


def input_tokens(req: MessagesRequest) -> int:
    """The reported ``input_tokens`` (scripted ``prompt_tokens`` wins)."""
    return req.script.prompt_tokens if req.script.prompt_tokens is not None else req.input_tokens


def usage_block(req: MessagesRequest, plan: Plan, *, output_tokens: int) -> dict[str, Any] | None:
    """The message ``usage`` (``None`` when the script says ``usage=none``)."""
    script = req.script
    if script.usage == "none":
        return None
    written = script.cache_write if script.cache_write is not None else 0
    usage: dict[str, Any] = {
        "input_tokens": input_tokens(req),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": script.cache_read if script.cache_read is not None else 0,
        "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if plan.thinking_tokens is not None:
        usage["output_tokens_details"] = {"thinking_tokens": plan.thinking_tokens}
    return usage


def event(kind: str, document: dict[str, Any]) -> bytes:
    """One named server-sent event."""
    return b"event: " + kind.encode() + b"\ndata: " + text.dumps(document) + b"\n\n"


PING = event("ping", {"type": "ping"})


def stream_frames(req: MessagesRequest, plan: Plan, head: dict[str, Any]) -> list[bytes]:
    """The full event sequence of a streamed answer."""
    message = head | {"content": [], "stop_reason": None, "stop_sequence": None}
    usage = usage_block(req, plan, output_tokens=min(1, plan.output_tokens))
    if usage is not None:
        message["usage"] = {k: v for k, v in usage.items() if k != "output_tokens_details"}
    frames = [event("message_start", {"type": "message_start", "message": message})]
    if not plan.blocks:
        frames.append(PING)
    for index, block in enumerate(plan.blocks):
        start = {"type": "content_block_start", "index": index, "content_block": block.opening()}
        frames.append(event("content_block_start", start))
        if index == 0:
            frames.append(PING)
        frames += [
            event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            for delta in block.deltas(req.script.chunks)
        ]
        frames.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
        if index + 1 < len(plan.blocks):
            frames.append(PING)
    finish: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence},
    }
    if usage is not None:
        finish["usage"] = {"output_tokens": plan.output_tokens}
        if plan.thinking_tokens is not None:
            finish["usage"]["output_tokens_details"] = {"thinking_tokens": plan.thinking_tokens}
    frames.append(event("message_delta", finish))
    frames.append(event("message_stop", {"type": "message_stop"}))
    return frames


async def messages(request: web.Request) -> web.StreamResponse:
    """``POST /v1/messages``."""
    req = await read_messages_request(request, counting=False)
    script = req.script
    fails_midway = False
    if req.stream and script.error_after is not None and script.wants_error:
        fails_midway = state_of(request).should_fail(script.fail_key or req.fail_key, script.fail_times)
    else:
        failure = await scripted_failure(request, script, req.fail_key, formatter(request))
        if failure is not None:
            return failure
    plan = plan_answer(req)
    head = {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant", "model": req.model}
    if req.stream:
        frames = stream_frames(req, plan, head)
        if fails_midway and script.error_after is not None:
            status = script.error_status
            error = error_document(
                status, script.error_type, script.error_message, script.error_code, request_id(request)
            )
            frames = [*frames[: script.error_after], event("error", error)]
        return await send_stream(request, script, frames, malformed=MALFORMED_EVENT)
    document: dict[str, Any] = head | {
        "content": [block.to_json() for block in plan.blocks],
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
    }
    usage = usage_block(req, plan, output_tokens=plan.output_tokens)
    if usage is not None:
        document["usage"] = usage
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))


async def count_tokens(request: web.Request) -> web.StreamResponse:
    """``POST /v1/messages/count_tokens``: the same count as a message's ``usage.input_tokens``."""
    req = await read_messages_request(request, counting=True)
    failure = await scripted_failure(request, req.script, req.fail_key, formatter(request))
    if failure is not None:
        return failure
    return await send_body(request, req.script, text.dumps({"input_tokens": input_tokens(req)}))


async def _stamp_request_id(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith(ROUTE_PREFIX):
        response.headers.setdefault("request-id", request_id(request))


def register(app: web.Application) -> None:
    """Add the Anthropic routes (and the ``request-id`` response header) to the simulator app."""
    app.router.add_post(ROUTE_PREFIX, messages)
    app.router.add_post(f"{ROUTE_PREFIX}/count_tokens", count_tokens)
    app.on_response_prepare.append(_stamp_request_id)
