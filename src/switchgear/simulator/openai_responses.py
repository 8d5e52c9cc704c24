"""The simulated OpenAI Responses API: ``POST /v1/responses`` (and ``/responses``), JSON and SSE.

An answer is planned once from the validated request (:mod:`.openai_responses_request`) and its
script: an optional ``reasoning`` item (for ``reasoning.effort``, with a summary when
``reasoning.summary`` asks for one), then either ``function_call`` items (``tool_choice`` or the
``tool_calls`` script, arguments built from the declared tools) or one assistant ``message``
holding the chat simulator's echo, the ``content`` override or a JSON object for ``text.format``,
cut to ``max_output_tokens`` (``status: "incomplete"``). The plan is rendered either as one
``response`` object or as the exact event sequence the real API streams (``event: <type>`` plus
``data:`` with a ``sequence_number`` from 0), ending in ``response.completed`` or
``response.incomplete`` carrying the same object — so a stream reassembles to the JSON answer.
The simulator keeps no state: ``store`` and ``previous_response_id`` are accepted and echoed.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import scripted_failure, send_body, send_stream, state_of
from switchgear.simulator.openai_responses_request import (
    ResponsesRequest,
    echo_text,
    echo_tools,
    input_tokens,
    last_user_text,
    read_responses_request,
)
from switchgear.simulator.openai_wire import error_body, reject, token_entries

ROUTES = ("/v1/responses", "/responses")
LOGPROBS = "message.output_text.logprobs"
ENCRYPTED = "reasoning.encrypted_content"
# reasoning tokens = words of the thought x this factor
EFFORT_FACTOR = {"minimal": 1, "low": 1, "medium": 2, "high": 4, "xhigh": 6, "max": 8}
# the ``finish_reason`` script parameter -> incomplete_details.reason (None: completed)
SCRIPTED_REASONS: dict[str, str | None] = {
    "stop": None,
    "completed": None,
    "tool_calls": None,
    "length": "max_output_tokens",
    "max_output_tokens": "max_output_tokens",
    "content_filter": "content_filter",
}


@dataclass(frozen=True)
class Output:
    """One planned output item: its final JSON and the pieces its stream deltas carry."""

    document: dict[str, Any]
    pieces: list[str]


@dataclass(frozen=True)
class Plan:
    """The planned answer: output items, why it is incomplete (if it is) and its token counts."""

    output: list[Output]
    incomplete: str | None
    output_tokens: int
    reasoning_tokens: int


def _item_id(prefix: str, response_id: str, index: int) -> str:
    return text.stable_id(prefix, response_id, index, length=48)


def _call_names(req: ResponsesRequest) -> list[str]:
    choice = req.tool_choice
    names: list[str] = []
    if req.script.tool_calls:
        names = list(req.script.tool_calls)
    elif req.functions and choice == "required":
        names = [next(iter(req.functions))]
    elif isinstance(choice, dict) and choice.get("type") == "function":
        names = [choice["name"]]
    elif (
        isinstance(choice, dict)
        and choice.get("type") == "allowed_tools"
        and choice.get("mode") == "required"
    ):
        allowed = choice.get("tools")
        names = [
            t["name"]
            for t in (allowed if isinstance(allowed, list) else [])
            if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("name"), str)
        ][:1]
    return names if req.parallel_tool_calls else names[:1]


def _content(req: ResponsesRequest, user_text: str) -> str:
    if req.script.content is not None:
        return req.script.content
    reply = text.echo_reply(user_text)
    fmt = req.text_format
    if fmt["type"] == "json_schema":
        return text.dumps(text.placeholder_object(fmt.get("schema"))).decode()
    if fmt["type"] == "json_object":
        return text.dumps({"reply": reply}).decode()
    return reply


def _scripted_reason(req: ResponsesRequest, reason: str | None) -> str | None:
    scripted = req.script.finish_reason
    if scripted is None:
        return reason
    if scripted not in SCRIPTED_REASONS:
        allowed = ", ".join(sorted(SCRIPTED_REASONS))
        message = f"Invalid value {scripted!r} for simulator parameter 'finish_reason': use one of {allowed}"
        raise reject(message, param="finish_reason", code="invalid_simulator_parameter")
    return SCRIPTED_REASONS[scripted]


def _reasoning(req: ResponsesRequest, response_id: str, user_text: str) -> tuple[Output, int]:
    thought = text.thought_text(user_text)
    tokens = text.count_words(thought) * EFFORT_FACTOR.get(req.effort or "medium", 2)
    summary = [{"type": "summary_text", "text": thought}] if req.summary else []
    document: dict[str, Any] = {
        "id": _item_id("rs_", response_id, 0),
        "type": "reasoning",
        "summary": summary,
    }
    if ENCRYPTED in req.include:
        document["encrypted_content"] = text.signature("responses-reasoning", thought)
    pieces = text.chunk_text(thought, req.script.chunks) if req.summary else []
    return Output(document, pieces), tokens


def plan_answer(req: ResponsesRequest, response_id: str) -> Plan:
    """Decide the output items, the incomplete reason and the token counts of one answer."""
    user_text = last_user_text(req.items)
    output: list[Output] = []
    reasoning_tokens = 0
    if req.reasons:
        item, reasoning_tokens = _reasoning(req, response_id, user_text)
        output.append(item)
    names = _call_names(req)
    if names:
        basis = text.digest(req.payload.get("input"), req.instructions).hex()
        tokens = reasoning_tokens
        for number, name in enumerate(names):
            arguments = text.dumps(text.placeholder_object(req.functions.get(name))).decode()
            document = {
                "id": _item_id("fc_", response_id, len(output)),
                "type": "function_call",
                "status": "completed",
                "arguments": arguments,
                "call_id": text.stable_id("call_", basis, number, name),
                "name": name,
            }
            count = req.script.chunks or max(1, math.ceil(len(arguments) / 12))
            output.append(Output(document, text.split_even(arguments, count)))
            tokens += text.count_words(f"{name} {arguments}")
        return Plan(output, _scripted_reason(req, None), tokens, reasoning_tokens)
    limit = req.max_output_tokens
    budget = None if limit is None else limit - reasoning_tokens
    if limit is not None and budget is not None and budget <= 0:
        return Plan(output, "max_output_tokens", limit, limit)
    content, truncated = text.truncate_words(_content(req, user_text), budget)
    reason = _scripted_reason(req, "max_output_tokens" if truncated else None)
    pieces = text.chunk_text(content, req.script.chunks)
    top = req.payload.get("top_logprobs") or 0
    part = {
        "type": "output_text",
        "annotations": [],
        "logprobs": token_entries(pieces, top) if LOGPROBS in req.include else [],
        "text": content,
    }
    message = {
        "id": _item_id("msg_", response_id, len(output)),
        "type": "message",
        "status": "incomplete" if reason else "completed",
        "content": [part],
        "role": "assistant",
    }
    output.append(Output(message, pieces))
    return Plan(output, reason, text.count_words(content) + reasoning_tokens, reasoning_tokens)


def usage_block(req: ResponsesRequest, plan: Plan) -> dict[str, Any] | None:
    """The ``usage`` object (``None`` for ``usage=none``); scripted token counts win."""
    script = req.script
    if script.usage == "none":
        return None
    prompt = script.prompt_tokens if script.prompt_tokens is not None else input_tokens(req)
    completion = script.completion_tokens if script.completion_tokens is not None else plan.output_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": script.cache_read or 0,
            "cache_write_tokens": script.cache_write or 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        "total_tokens": prompt + completion,
    }


def response_document(
    req: ResponsesRequest,
    head: dict[str, Any],
    *,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object, echoing the request's settings as the real API does."""
    payload = req.payload
    service_tier = payload.get("service_tier")
    return head | {
        "object": "response",
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "max_tool_calls": payload.get("max_tool_calls"),
        "model": req.model,
        "output": output,
        "parallel_tool_calls": req.parallel_tool_calls,
        "previous_response_id": payload.get("previous_response_id"),
        "prompt_cache_key": payload.get("prompt_cache_key"),
        "reasoning": {"effort": req.effort, "summary": req.summary},
        "safety_identifier": payload.get("safety_identifier"),
        "service_tier": service_tier if service_tier in ("flex", "priority", "scale") else "default",
        "store": payload.get("store") is not False,
        "temperature": payload.get("temperature") if payload.get("temperature") is not None else 1.0,
        "text": echo_text(req),
        "tool_choice": req.tool_choice,
        "tools": echo_tools(payload),
        "top_logprobs": payload.get("top_logprobs") or 0,
        "top_p": payload.get("top_p") if payload.get("top_p") is not None else 1.0,
        "truncation": payload.get("truncation") or "disabled",
        "usage": usage,
        "user": payload.get("user"),
        "metadata": payload.get("metadata") or {},
    }


def final_document(req: ResponsesRequest, plan: Plan, head: dict[str, Any]) -> dict[str, Any]:
    """The finished ``response`` object of a plan (``completed`` or ``incomplete``)."""
    return response_document(
        req,
        head,
        status="incomplete" if plan.incomplete else "completed",
        output=[item.document for item in plan.output],
        usage=usage_block(req, plan),
        incomplete=plan.incomplete,
    )


class EventStream:
    """Accumulates named SSE events, numbering them from 0 (one event is one stream frame).

    Delta events carry the real API's ``obfuscation`` padding (deterministic here) unless the
    request set ``stream_options.include_obfuscation`` to false.
    """

    def __init__(self, *, obfuscate: bool) -> None:
        self.frames: list[bytes] = []
        self.obfuscate = obfuscate

    def add(self, kind: str, **fields: Any) -> None:
        """Append ``event: <kind>`` with ``{"type", "sequence_number", **fields}`` as its data."""
        document = {"type": kind, "sequence_number": len(self.frames)} | fields
        self.frames.append(b"event: " + kind.encode() + b"\ndata: " + text.dumps(document) + b"\n\n")

    def delta(self, kind: str, piece: str, **fields: Any) -> None:
        """Append a delta event carrying ``piece`` (and its ``obfuscation`` padding)."""
        if self.obfuscate:
            padding = text.digest("obfuscation", piece, len(self.frames)).hex()
            fields["obfuscation"] = padding[: 16 - len(piece) % 16]
        self.add(kind, delta=piece, **fields)


def _item_events(events: EventStream, index: int, item: Output, top: int | None) -> None:
    document = item.document
    ids = {"item_id": document["id"], "output_index": index}
    match document["type"]:
        case "reasoning":
            events.add("response.output_item.added", output_index=index, item=document | {"summary": []})
            for number, part in enumerate(document["summary"]):
                where = ids | {"summary_index": number}
                events.add("response.reasoning_summary_part.added", **where, part=part | {"text": ""})
                for piece in item.pieces:
                    events.delta("response.reasoning_summary_text.delta", piece, **where)
                events.add("response.reasoning_summary_text.done", **where, text=part["text"])
                events.add("response.reasoning_summary_part.done", **where, part=part)
        case "message":
            opening = document | {"status": "in_progress", "content": []}
            events.add("response.output_item.added", output_index=index, item=opening)
            part = document["content"][0]
            where = ids | {"content_index": 0}
            events.add("response.content_part.added", **where, part=part | {"text": "", "logprobs": []})
            for position, piece in enumerate(item.pieces):
                logprobs = token_entries([piece], top, position) if top is not None else []
                events.delta("response.output_text.delta", piece, **where, logprobs=logprobs)
            events.add("response.output_text.done", **where, text=part["text"], logprobs=part["logprobs"])
            events.add("response.content_part.done", **where, part=part)
        case "function_call":
            opening = document | {"status": "in_progress", "arguments": ""}
            events.add("response.output_item.added", output_index=index, item=opening)
            for piece in item.pieces:
                events.delta("response.function_call_arguments.delta", piece, **ids)
            events.add("response.function_call_arguments.done", **ids, arguments=document["arguments"])
    events.add("response.output_item.done", output_index=index, item=document)


def stream_frames(req: ResponsesRequest, plan: Plan, head: dict[str, Any]) -> list[bytes]:
    """The full event sequence of a streamed answer, terminal event included."""
    options = req.payload.get("stream_options")
    events = EventStream(
        obfuscate=not (isinstance(options, dict) and options.get("include_obfuscation") is False)
    )
    opening = response_document(req, head, status="in_progress", output=[], usage=None)
    events.add("response.created", response=opening)
    events.add("response.in_progress", response=opening)
    top = (req.payload.get("top_logprobs") or 0) if LOGPROBS in req.include else None
    for index, item in enumerate(plan.output):
        _item_events(events, index, item, top)
    final = final_document(req, plan, head)
    events.add("response.incomplete" if plan.incomplete else "response.completed", response=final)
    return events.frames


def failed_event(req: ResponsesRequest, head: dict[str, Any], sequence: int) -> bytes:
    """The ``response.failed`` event that ends a stream scripted with ``error_after``."""
    script = req.script
    raw = error_body(script.error_status, script.error_type, script.error_message, script.error_code)
    detail = orjson.loads(raw)["error"]
    error = {"code": detail["code"] or "server_error", "message": detail["message"]}
    document = response_document(req, head, status="failed", output=[], usage=None, error=error)
    payload = {"type": "response.failed", "sequence_number": sequence, "response": document}
    return b"event: response.failed\ndata: " + text.dumps(payload) + b"\n\n"


async def responses(request: web.Request) -> web.StreamResponse:
    """``POST /v1/responses``."""
    req = await read_responses_request(request)
    script = req.script
    fails_midway = False
    if req.stream and script.error_after is not None and script.wants_error:
        fails_midway = state_of(request).should_fail(script.fail_key or req.fail_key, script.fail_times)
    else:
        failure = await scripted_failure(request, script, req.fail_key, error_body)
        if failure is not None:
            return failure
    response_id = "resp_" + uuid.uuid4().hex + uuid.uuid4().hex[:16]
    head: dict[str, Any] = {"id": response_id, "created_at": int(time.time())}
    plan = plan_answer(req, response_id)
    if req.stream:
        frames = stream_frames(req, plan, head)
        if fails_midway and script.error_after is not None:
            cut = min(script.error_after, len(frames))
            frames = [*frames[:cut], failed_event(req, head, cut)]
        return await send_stream(request, script, frames)
    document = final_document(req, plan, head)
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))


def register(app: web.Application) -> None:
    """Add ``POST /v1/responses`` and ``POST /responses`` to the simulator app."""
    for route in ROUTES:
        app.router.add_post(route, responses)
