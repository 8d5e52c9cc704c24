"""The Bedrock InvokeModel routes for Claude: ``POST /model/{modelId}/invoke`` and
``/invoke-with-response-stream``.

A request must be SigV4-signed as for Converse (:func:`.bedrock_request.authenticate`) and carry
an Anthropic Messages body the Bedrock way: ``"anthropic_version": "bedrock-2023-05-31"``, no
``model`` or ``stream`` (the model is the path's, streaming is the route's) and betas as an
``anthropic_beta`` list. The body is then checked and answered exactly as the simulated Anthropic
API answers it (:mod:`.anthropic_request`, :mod:`.anthropic_wire`); a refusal becomes Bedrock's
``ValidationException`` carrying Anthropic's message. Streams are the Anthropic events (without
``ping``), each base64-wrapped in an event-stream ``chunk`` event; ``message_stop`` carries
``amazon-bedrock-invocationMetrics`` as Bedrock's does, and a scripted ``error_after`` ends the
stream with an exception message instead of an ``event: error``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any, cast

import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from switchgear.simulator import anthropic_wire, text
from switchgear.simulator import bedrock_eventstream as eventstream
from switchgear.simulator.anthropic_request import read_messages_request
from switchgear.simulator.bedrock_eventstream import aws_error, aws_reject, error_name
from switchgear.simulator.bedrock_request import authenticate
from switchgear.simulator.delivery import Reject, scripted_failure, send_body, send_stream, state_of

ANTHROPIC_VERSION = "bedrock-2023-05-31"
MALFORMED_FRAME = eventstream.corrupt(eventstream.encode([(":event-type", "chunk")], b"{}"))


class _MessagesView:
    """What :func:`read_messages_request` reads of a request, for the rewritten Anthropic body."""

    def __init__(self, request: web.Request, body: bytes, headers: Mapping[str, str]) -> None:
        self._request = request
        self._body = body
        self.headers = CIMultiDictProxy(CIMultiDict(headers))

    async def read(self) -> bytes:
        return self._body

    def get(self, key: Any, default: Any = None) -> Any:
        return self._request.get(key, default)


def chunk(event: bytes) -> bytes:
    """One ``chunk`` event-stream message carrying an Anthropic event's JSON."""
    payload = text.dumps({"bytes": base64.b64encode(event).decode()})
    headers = [(":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")]
    return eventstream.encode(headers, payload)


def _anthropic_body(payload: Any, model: str, stream: bool) -> tuple[bytes, dict[str, str]]:
    """The Anthropic API body and headers equivalent to an InvokeModel body."""
    if not isinstance(payload, dict):
        raise aws_reject("Malformed input request: expected type: JSONObject, please reformat your input.")
    for key in ("model", "stream"):
        if key in payload:
            raise aws_reject(
                f"Malformed input request: #: extraneous key [{key}] is not permitted, "
                "please reformat your input and try again."
            )
    version = payload.get("anthropic_version")
    if version != ANTHROPIC_VERSION:
        raise aws_reject(f"Invalid API version: anthropic_version must be {ANTHROPIC_VERSION!r}")
    headers = {"x-api-key": "bedrock", "anthropic-version": "2023-06-01"}
    betas = payload.get("anthropic_beta")
    if betas is not None:
        if not isinstance(betas, list) or not all(isinstance(b, str) for b in betas):
            raise aws_reject("Malformed input request: #/anthropic_beta: expected type: JSONArray")
        headers["anthropic-beta"] = ",".join(betas)
    rest = {k: v for k, v in payload.items() if k not in ("anthropic_version", "anthropic_beta")}
    return text.dumps({"model": model, **rest, "stream": stream}), headers


def _payload_of(frame: bytes) -> dict[str, Any]:
    """The JSON of one ``event: ...\\ndata: ...\\n\\n`` frame of the Anthropic simulator."""
    data = frame.split(b"\ndata: ", 1)[1]
    document: dict[str, Any] = orjson.loads(data)
    return document


def _metrics(usage: dict[str, Any] | None, latency_ms: int) -> dict[str, Any]:
    usage = usage or {}
    return {
        "inputTokenCount": usage.get("input_tokens", 0),
        "outputTokenCount": usage.get("output_tokens", 0),
        "invocationLatency": latency_ms,
        "firstByteLatency": latency_ms,
    }


async def _invoke(request: web.Request, streaming: bool) -> web.StreamResponse:
    body = await request.read()
    authenticate(request, body)
    model = request.match_info["model_id"]
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise aws_reject("Malformed input request, please reformat your input and try again.") from None
    anthropic_body, headers = _anthropic_body(payload, model, streaming)
    headers.update({k: v for k, v in request.headers.items() if k.lower().startswith("x-sim-")})
    view = _MessagesView(request, anthropic_body, headers)
    try:
        req = await read_messages_request(cast(web.Request, view), counting=False)
    except Reject as exc:
        refused = exc.response
        raw = refused.body if isinstance(refused, web.Response) else None
        detail = orjson.loads(raw) if isinstance(raw, bytes) and raw else {}
        message = detail.get("error", {}).get("message", "Bad request.")
        raise aws_reject(message, error_name(refused.status), refused.status) from None
    script = req.script
    fails_midway = False
    if streaming and script.error_after is not None and script.wants_error:
        fails_midway = state_of(request).should_fail(script.fail_key or req.fail_key, script.fail_times)
    else:
        failure = await scripted_failure(request, script, req.fail_key, _error_body)
        if failure is not None:
            if script.error_body is None:
                failure.headers.update(aws_error(failure.status, script.error_type, None).headers)
            return failure
    plan = anthropic_wire.plan_answer(req)
    head = {
        "id": "msg_bdrk_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": req.model,
    }
    usage = anthropic_wire.usage_block(req, plan, output_tokens=plan.output_tokens)
    if streaming:
        events = [_payload_of(f) for f in anthropic_wire.stream_frames(req, plan, head)]
        events = [e for e in events if e.get("type") != "ping"]
        latency = round(script.latency_ms + script.ttfb_ms)
        events[-1]["amazon-bedrock-invocationMetrics"] = _metrics(usage, latency)
        frames = [chunk(text.dumps(e)) for e in events]
        if fails_midway and script.error_after is not None:
            name = error_name(script.error_status)
            message = script.error_message or f"{name} (HTTP {script.error_status})."
            exception = eventstream.exception(name[0].lower() + name[1:], message)
            frames = [*frames[: script.error_after], exception]
        return await send_stream(
            request, script, frames, malformed=MALFORMED_FRAME, content_type=eventstream.CONTENT_TYPE
        )
    document: dict[str, Any] = head | {
        "content": [block.to_json() for block in plan.blocks],
        "stop_reason": plan.stop_reason,
        "stop_sequence": plan.stop_sequence,
    }
    if usage is not None:
        document["usage"] = usage
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))


def _error_body(status: int, error_type: str | None, message: str | None, code: str | None) -> bytes:
    body = aws_error(status, error_type, message).body
    return body if isinstance(body, bytes) else b""


async def invoke(request: web.Request) -> web.StreamResponse:
    """``POST /model/{modelId}/invoke``."""
    return await _invoke(request, streaming=False)


async def invoke_stream(request: web.Request) -> web.StreamResponse:
    """``POST /model/{modelId}/invoke-with-response-stream``."""
    return await _invoke(request, streaming=True)


def register(app: web.Application) -> None:
    """Add the InvokeModel routes (credentials as set up by :func:`.bedrock_wire.register`)."""
    app.router.add_post("/model/{model_id:.+}/invoke", invoke)
    app.router.add_post("/model/{model_id:.+}/invoke-with-response-stream", invoke_stream)
