"""The AWS Bedrock wire family: ``POST /model/{modelId}/converse`` and ``/converse-stream``.

:func:`register` adds both routes to a simulator app. A request must be SigV4-signed with a key
in ``app[BEDROCK_CREDENTIALS]`` and have a body Bedrock would accept (both checked by
:mod:`.bedrock_request`). The answer is planned once — a reasoning block when
``additionalModelRequestFields.thinking`` is enabled, echo or scripted text cut by
``stopSequences`` and ``maxTokens``, ``toolUse`` blocks built from the declared tools' schemas —
then rendered as one Converse JSON document or as the ConverseStream event sequence (framed by
:mod:`.bedrock_eventstream`), so a streamed answer reassembles exactly to the non-streamed one.
Script parameters are the shared ones of :mod:`.script` plus the Bedrock-only
:data:`LOCAL_PARAMETERS` (mid-stream exceptions, cache token counts).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from switchgear.simulator import bedrock_eventstream as eventstream
from switchgear.simulator import text
from switchgear.simulator.bedrock_eventstream import aws_error, aws_reject
from switchgear.simulator.bedrock_request import (
    BEDROCK_CREDENTIALS,
    DEFAULT_CREDENTIALS,
    authenticate,
    parse_payload,
    validate,
)
from switchgear.simulator.delivery import scripted_failure, send_body, send_stream
from switchgear.simulator.script import (
    Script,
    ScriptError,
    build_script,
    fail_key,
    header_params,
    non_negative_int,
    parse_value,
    split_model,
)

MALFORMED_FRAME = eventstream.corrupt(
    eventstream.event("contentBlockDelta", {"delta": {"text": ""}, "contentBlockIndex": 0})
)
_EXCEPTION_MESSAGES = {
    "modelStreamErrorException": "The model encountered an error while streaming the response.",
    "throttlingException": "Too many requests, please wait before trying again.",
    "internalServerException": "The server encountered an internal error while processing the request.",
    "serviceUnavailableException": "Bedrock is unable to process your request.",
    "validationException": "Input validation failed. Check your request parameters and retry the request.",
}


def _exception_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise ValueError("must name an exception, e.g. throttlingException")
    return name[0].lower() + name[1:]


LOCAL_PARAMETERS: dict[str, Callable[[str], Any]] = {
    "exception_after": non_negative_int,
    "exception_type": _exception_name,
    "exception_message": str,
    "cache_read_tokens": int,
    "cache_write_tokens": int,
}


@dataclass(frozen=True)
class BedrockScript:
    """The Bedrock-only script parameters (see ``docs/simulator.md``)."""

    exception_after: int | None = None
    exception_type: str | None = None
    exception_message: str | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None

    @property
    def wants_exception(self) -> bool:
        """Whether a stream should end with an exception message."""
        return self.exception_after is not None or self.exception_type is not None


@dataclass(frozen=True)
class ToolUse:
    """One ``toolUse`` block of an answer."""

    id: str
    name: str
    input: dict[str, Any]
    input_json: str


@dataclass(frozen=True)
class Answer:
    """The planned assistant message."""

    reasoning: str | None
    signature: str | None
    text: str | None
    tool_uses: list[ToolUse]
    stop_reason: str
    output_tokens: int


def read_script(request: web.Request, model_id: str) -> tuple[Script, BedrockScript, str]:
    """(shared script, Bedrock script, default ``fail_times`` key); 400 on a bad parameter."""
    try:
        _, params = split_model(model_id)
        params.update(header_params(request.headers))
        local: dict[str, Any] = {}
        for name, raw in params.items():
            if name in LOCAL_PARAMETERS:
                verbatim = name == "exception_message"
                local[name] = parse_value(name, raw, LOCAL_PARAMETERS[name], verbatim=verbatim)
        script = build_script({k: v for k, v in params.items() if k not in LOCAL_PARAMETERS})
    except ScriptError as exc:
        known = f" (Bedrock-only: {', '.join(LOCAL_PARAMETERS)})" if exc.message.startswith("Unknown") else ""
        raise aws_reject(exc.message + known) from None
    return script, BedrockScript(**local), fail_key(model_id, params)


def declared_tools(payload: dict[str, Any]) -> dict[str, Any]:
    """Declared tool name -> its input JSON schema, in declaration order."""
    config = payload.get("toolConfig")
    declared: dict[str, Any] = {}
    for tool in config.get("tools") or [] if isinstance(config, dict) else []:
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            schema = spec.get("inputSchema")
            declared[spec["name"]] = schema.get("json") if isinstance(schema, dict) else None
    return declared


def last_user_text(messages: list[Any]) -> str:
    """The text blocks of the last user message that has any (tool-result turns are skipped)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            found = text.content_text(message.get("content"))
            if found:
                return found
    return ""


def _words(block: dict[str, Any]) -> int:
    if isinstance(block.get("text"), str):
        return text.count_words(block["text"])
    if "toolUse" in block:
        return text.count_words(
            f"{block['toolUse']['name']} {text.dumps(block['toolUse']['input']).decode()}"
        )
    if "toolResult" in block:
        return sum(
            _words(p) if "text" in p else _words({"text": text.dumps(p).decode()})
            for p in block["toolResult"]["content"]
        )
    return 0


def prompt_tokens(payload: dict[str, Any]) -> int:
    """Words of the system and message text, tool uses and results, +3 per message."""
    system = sum(_words(block) for block in payload.get("system") or [])
    return system + sum(sum(_words(b) for b in m["content"]) + 3 for m in payload["messages"])


def thinking_enabled(payload: dict[str, Any]) -> bool:
    """Whether ``additionalModelRequestFields`` asks for reasoning (``thinking``, ``reasoningConfig``)."""
    fields = payload.get("additionalModelRequestFields")
    if not isinstance(fields, dict):
        return False
    for key in ("thinking", "reasoningConfig", "reasoning_config"):
        config = fields.get(key)
        if isinstance(config, dict) and config.get("type") in ("enabled", "adaptive"):
            return True
    return False


def _tool_uses(payload: dict[str, Any], script: Script) -> list[ToolUse]:
    declared = declared_tools(payload)
    config = payload.get("toolConfig")
    choice = config.get("toolChoice") if isinstance(config, dict) else None
    names: list[str] = []
    if script.tool_calls:
        names = list(script.tool_calls)
    elif declared and isinstance(choice, dict) and "any" in choice:
        names = [next(iter(declared))]
    elif isinstance(choice, dict) and isinstance(choice.get("tool"), dict):
        name = choice["tool"].get("name")
        names = [name] if isinstance(name, str) else []
    basis = text.digest(payload.get("messages")).hex()
    uses = []
    for index, name in enumerate(names):
        value = text.placeholder_object(declared.get(name))
        tool_id = text.stable_id("tooluse_", basis, index, name, length=22)
        uses.append(ToolUse(tool_id, name, value, text.dumps(value).decode()))
    return uses


def _structured_text(payload: dict[str, Any]) -> str | None:
    config = payload.get("outputConfig")
    fmt = config.get("textFormat") if isinstance(config, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    structure = fmt.get("structure")
    spec = structure.get("jsonSchema") if isinstance(structure, dict) else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    try:
        parsed = orjson.loads(schema) if isinstance(schema, str) else None
    except orjson.JSONDecodeError:
        raise aws_reject("outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON.") from None
    return text.dumps(text.placeholder_object(parsed)).decode()


def plan(payload: dict[str, Any], script: Script) -> Answer:
    """The deterministic answer to a validated Converse request."""
    user_text = last_user_text(payload["messages"])
    reasoning = signature = None
    if thinking_enabled(payload):
        reasoning = f"The user wrote {text.count_words(user_text)} words. I will echo them back verbatim."
        signature = base64.b64encode(text.digest("signature", reasoning, user_text)).decode()
    tools = _tool_uses(payload, script)
    tokens = text.count_words(reasoning or "")
    tokens += sum(text.count_words(f"{tool.name} {tool.input_json}") for tool in tools)
    content: str | None = None
    stop = "tool_use" if tools else "end_turn"
    if script.content is not None or not tools:
        content = script.content
        if content is None:
            content = _structured_text(payload) or text.echo_reply(user_text)
        config = payload.get("inferenceConfig") or {}
        content, cut = text.apply_stop(content, config.get("stopSequences"))
        content, truncated = text.truncate_words(content, config.get("maxTokens"))
        if not tools:
            stop = "max_tokens" if truncated else "stop_sequence" if cut else "end_turn"
        tokens += text.count_words(content)
    return Answer(reasoning, signature, content, tools, script.finish_reason or stop, tokens)


def usage_block(
    script: Script, extra: BedrockScript, input_tokens: int, output: int
) -> dict[str, Any] | None:
    """The ``usage`` object (``None`` with ``usage=none``); totals include cache reads/writes."""
    if script.usage == "none":
        return None
    inputs = script.prompt_tokens if script.prompt_tokens is not None else input_tokens
    outputs = script.completion_tokens if script.completion_tokens is not None else output
    cached = (extra.cache_read_tokens or 0) + (extra.cache_write_tokens or 0)
    usage: dict[str, Any] = {
        "inputTokens": inputs,
        "outputTokens": outputs,
        "totalTokens": inputs + outputs + cached,
    }
    if extra.cache_read_tokens is not None:
        usage["cacheReadInputTokens"] = extra.cache_read_tokens
    if extra.cache_write_tokens is not None:
        usage["cacheWriteInputTokens"] = extra.cache_write_tokens
    return usage


def content_blocks(answer: Answer) -> list[dict[str, Any]]:
    """The non-streamed ``output.message.content``: reasoning, text, then tool uses."""
    blocks: list[dict[str, Any]] = []
    if answer.reasoning is not None:
        blocks.append(
            {"reasoningContent": {"reasoningText": {"text": answer.reasoning, "signature": answer.signature}}}
        )
    if answer.text is not None:
        blocks.append({"text": answer.text})
    for tool in answer.tool_uses:
        blocks.append({"toolUse": {"toolUseId": tool.id, "name": tool.name, "input": tool.input}})
    return blocks


def stream_frames(
    answer: Answer, usage: dict[str, Any] | None, latency_ms: int, script: Script, extra: BedrockScript
) -> list[bytes]:
    """The ConverseStream messages of an answer (ending in an exception when scripted)."""

    def delta(index: int, value: dict[str, Any]) -> bytes:
        return eventstream.event("contentBlockDelta", {"delta": value, "contentBlockIndex": index})

    def block_stop(index: int) -> bytes:
        return eventstream.event("contentBlockStop", {"contentBlockIndex": index})

    frames = [eventstream.event("messageStart", {"role": "assistant"})]
    index = 0
    if answer.reasoning is not None:
        pieces = text.chunk_text(answer.reasoning, script.chunks)
        frames += [delta(index, {"reasoningContent": {"text": piece}}) for piece in pieces]
        frames += [delta(index, {"reasoningContent": {"signature": answer.signature}}), block_stop(index)]
        index += 1
    if answer.text is not None:
        pieces = text.chunk_text(answer.text, script.chunks) or [""]
        frames += [delta(index, {"text": piece}) for piece in pieces] + [block_stop(index)]
        index += 1
    for tool in answer.tool_uses:
        start = {"toolUse": {"toolUseId": tool.id, "name": tool.name}}
        frames.append(eventstream.event("contentBlockStart", {"start": start, "contentBlockIndex": index}))
        count = script.chunks or max(1, math.ceil(len(tool.input_json) / 12))
        frames += [delta(index, {"toolUse": {"input": p}}) for p in text.split_even(tool.input_json, count)]
        frames.append(block_stop(index))
        index += 1
    frames.append(eventstream.event("messageStop", {"stopReason": answer.stop_reason}))
    metadata: dict[str, Any] = {"usage": usage} if usage is not None else {}
    frames.append(eventstream.event("metadata", metadata | {"metrics": {"latencyMs": latency_ms}}))
    if extra.wants_exception:
        kind = extra.exception_type or "modelStreamErrorException"
        message = extra.exception_message or _EXCEPTION_MESSAGES.get(kind, f"{kind[0].upper()}{kind[1:]}.")
        at = extra.exception_after if extra.exception_after is not None else 1
        frames = [*frames[:at], eventstream.exception(kind, message)]
    return frames


def _error_body(status: int, error_type: str | None, message: str | None, code: str | None) -> bytes:
    body = aws_error(status, error_type, message).body
    return body if isinstance(body, bytes) else b""


async def _converse(request: web.Request, streaming: bool) -> web.StreamResponse:
    body = await request.read()
    authenticate(request, body)
    script, extra, key = read_script(request, request.match_info["model_id"])
    payload = parse_payload(body)
    validate(payload)
    failure = await scripted_failure(request, script, key, _error_body)
    if failure is not None:
        if script.error_body is None:
            failure.headers.update(aws_error(failure.status, script.error_type, None).headers)
        return failure
    answer = plan(payload, script)
    usage = usage_block(script, extra, prompt_tokens(payload), answer.output_tokens)
    if streaming:
        latency = round(script.latency_ms + script.ttfb_ms)
        frames = stream_frames(answer, usage, latency, script, extra)
        return await send_stream(
            request, script, frames, malformed=MALFORMED_FRAME, content_type=eventstream.CONTENT_TYPE
        )
    message = {"role": "assistant", "content": content_blocks(answer)}
    document: dict[str, Any] = {"output": {"message": message}, "stopReason": answer.stop_reason}
    if usage is not None:
        document["usage"] = usage
    document["metrics"] = {"latencyMs": round(script.latency_ms)}
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))


async def converse(request: web.Request) -> web.StreamResponse:
    """``POST /model/{modelId}/converse``."""
    return await _converse(request, streaming=False)


async def converse_stream(request: web.Request) -> web.StreamResponse:
    """``POST /model/{modelId}/converse-stream``."""
    return await _converse(request, streaming=True)


async def _stamp_aws_request_id(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/model/") and "x-request-id" in response.headers:
        response.headers.setdefault("x-amzn-RequestId", response.headers["x-request-id"])


def register(app: web.Application) -> None:
    """Add the Bedrock routes (and default credentials, unless already set) to a simulator app."""
    if BEDROCK_CREDENTIALS not in app:
        app[BEDROCK_CREDENTIALS] = dict(DEFAULT_CREDENTIALS)
    app.router.add_post("/model/{model_id:.+}/converse", converse)
    app.router.add_post("/model/{model_id:.+}/converse-stream", converse_stream)
    app.on_response_prepare.append(_stamp_aws_request_id)
