"""The Gemini wire family: ``generateContent``, ``streamGenerateContent``, token counting, embeddings.

Routes cover the Gemini API (``/v1beta/models/{model}:{method}`` and ``/v1/...``) and Vertex AI
(``/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}``, also under
``v1beta1``). A checked request (see :mod:`.gemini_config`) is planned once into parts — an
optional thought (a ``{"text", "thought": true}`` part, shown only with ``includeThoughts``),
then ``functionCall`` parts built from the declarations or one text (echo, scripted ``content``,
JSON for ``responseMimeType: application/json``) cut by stop sequences and ``maxOutputTokens``,
the first answer part carrying a ``thoughtSignature`` when the model thought — and rendered as
one ``GenerateContentResponse``, as SSE events (``?alt=sse``) each holding only the new parts
with the finish reason and full usage on the last, or as the JSON array the API streams
without ``alt=sse``. The script adds ``safety`` blocks and in-stream errors (``error_after``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import scripted_failure, send_body, send_stream, state_of
from switchgear.simulator.gemini_config import GenerateRequest, read_generate_request
from switchgear.simulator.gemini_request import (
    Target,
    check_auth,
    check_parts,
    error_document,
    formatter,
    get,
    is_int,
    read_json,
    read_model,
    read_target,
    reject,
)

DEFAULT_DIMENSIONS = 8
MAX_DIMENSIONS = 8192
MALFORMED_ARRAY_ITEM = b"\n,\r\n{not json"
MALFORMED_EVENT = b"data: {not json\r\n\r\n"
SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
)
SAFETY_RATINGS = [
    {"category": c, "probability": "HIGH", "blocked": True}
    if c == "HARM_CATEGORY_DANGEROUS_CONTENT"
    else {"category": c, "probability": "NEGLIGIBLE"}
    for c in SAFETY_CATEGORIES
]


@dataclass(frozen=True)
class Plan:
    """The planned answer of each candidate: its parts, whole and as streamed pieces."""

    parts: list[dict[str, Any]]
    pieces: list[dict[str, Any]]
    finish_reason: str
    tokens: int
    thoughts_tokens: int | None


def _calls(req: GenerateRequest) -> list[dict[str, Any]]:
    names: list[str] = []
    if req.script.tool_calls:
        names = list(req.script.tool_calls)
    elif req.mode == "ANY" and req.functions:
        names = [req.allowed[0] if req.allowed else next(iter(req.functions))]
    return [
        {"functionCall": {"name": name, "args": text.placeholder_object(req.functions.get(name))}}
        for name in names
    ]


def _call_text(call: dict[str, Any]) -> str:
    return f"{call['name']} {text.dumps(call['args']).decode()}"


def _content(req: GenerateRequest) -> str:
    if req.script.content is not None:
        return req.script.content
    reply = text.echo_reply(req.user_text)
    schema = req.schema if isinstance(req.schema, dict) else None
    if req.mime_type == "application/json":
        if schema is None:
            return text.dumps({"reply": reply}).decode()
        value = text.placeholder_object(schema) if "properties" in schema else text.placeholder(schema)
        return text.dumps(value).decode()
    if req.mime_type == "text/x.enum" and schema is not None and isinstance(schema.get("enum"), list):
        return str(schema["enum"][0]) if schema["enum"] else ""
    return reply


def plan_answer(req: GenerateRequest) -> Plan:
    """What the simulated model answers (per candidate) to ``req``."""
    thought_parts: list[dict[str, Any]] = []
    thought_pieces: list[dict[str, Any]] = []
    thoughts_tokens: int | None = None
    finish: str | None = None
    signature: str | None = None
    chunks = req.script.chunks
    if req.thinking:
        limits = [n for n in (req.thinking_budget, req.max_output_tokens) if n is not None]
        thought, cut = text.truncate_words(text.thought_text(req.user_text), min(limits) if limits else None)
        thoughts_tokens = text.count_words(thought)
        signature = text.signature("gemini", req.model, thought)
        finish = "MAX_TOKENS" if cut else None
        if req.include_thoughts and thought:
            thought_parts = [{"text": thought, "thought": True}]
            thought_pieces = [{"text": p, "thought": True} for p in text.chunk_text(thought, chunks)]
    parts: list[dict[str, Any]] = []
    pieces: list[dict[str, Any]] = []
    tokens = 0
    calls = _calls(req) if finish is None else []
    if calls:
        parts = pieces = calls
        tokens = sum(text.count_words(_call_text(c["functionCall"])) for c in calls)
        finish = "STOP"
    elif finish is None:
        content, _ = text.find_stop(_content(req), req.stop_sequences)
        room = req.max_output_tokens
        if room is not None:
            room = max(room - (thoughts_tokens or 0), 0)
        content, truncated = text.truncate_words(content, room)
        finish = "MAX_TOKENS" if truncated else "STOP"
        parts = [{"text": content}] if content else []
        pieces = [{"text": piece} for piece in text.chunk_text(content, chunks)]
        tokens = text.count_words(content)
    if signature is not None and parts:
        parts = [parts[0] | {"thoughtSignature": signature}, *parts[1:]]
        pieces = [pieces[0] | {"thoughtSignature": signature}, *pieces[1:]]
    return Plan(
        parts=thought_parts + parts,
        pieces=thought_pieces + pieces,
        finish_reason=req.script.finish_reason or finish or "STOP",
        tokens=tokens,
        thoughts_tokens=thoughts_tokens,
    )


def usage_metadata(req: GenerateRequest, plan: Plan | None) -> dict[str, Any] | None:
    """``usageMetadata``: prompt-only while streaming (``plan=None``), complete at the end."""
    script = req.script
    if script.usage == "none":
        return None
    prompt = script.prompt_tokens if script.prompt_tokens is not None else req.prompt_tokens
    usage: dict[str, Any] = {"promptTokenCount": prompt}
    candidates = thoughts = 0
    if plan is not None:
        candidates = plan.tokens * req.candidate_count
        candidates = script.completion_tokens if script.completion_tokens is not None else candidates
        thoughts = plan.thoughts_tokens or 0
        if candidates:
            usage["candidatesTokenCount"] = candidates
    usage["totalTokenCount"] = prompt + candidates + thoughts
    if script.cache_read:
        usage["cachedContentTokenCount"] = script.cache_read
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _candidate(index: int, parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts} if parts else {"role": "model"}}
    if finish is not None:
        candidate["finishReason"] = finish
    return candidate | {"index": index}


def response_documents(req: GenerateRequest, *, stream: bool) -> list[dict[str, Any]]:
    """The whole answer (one document), or the partial responses of a stream."""
    tail = {"modelVersion": req.model, "responseId": uuid.uuid4().hex[:22]}
    n = req.candidate_count
    if req.script.safety == "prompt":
        feedback = {"blockReason": "SAFETY", "safetyRatings": SAFETY_RATINGS}
        document: dict[str, Any] = {"promptFeedback": feedback}
        usage = usage_metadata(req, None)
        return [document | ({"usageMetadata": usage} if usage is not None else {}) | tail]
    if req.script.safety == "response":
        blocked = [{"finishReason": "SAFETY", "index": i, "safetyRatings": SAFETY_RATINGS} for i in range(n)]
        plan = Plan([], [], "SAFETY", 0, None)
        usage = usage_metadata(req, plan)
        return [{"candidates": blocked} | ({"usageMetadata": usage} if usage is not None else {}) | tail]
    plan = plan_answer(req)
    final_usage = usage_metadata(req, plan)
    if not stream or not plan.pieces:
        candidates = [_candidate(i, plan.parts, plan.finish_reason) for i in range(n)]
        return [{"candidates": candidates} | ({"usageMetadata": final_usage} if final_usage else {}) | tail]
    partial_usage = usage_metadata(req, None)
    documents = []
    for position, piece in enumerate(plan.pieces):
        last = position == len(plan.pieces) - 1
        finish = plan.finish_reason if last else None
        document = {"candidates": [_candidate(i, [piece], finish) for i in range(n)]}
        usage = final_usage if last else partial_usage
        documents.append(document | ({"usageMetadata": usage} if usage is not None else {}) | tail)
    return documents


def _frames(documents: list[dict[str, Any]], sse: bool) -> list[bytes]:
    if sse:
        return [b"data: " + text.dumps(d) + b"\r\n\r\n" for d in documents]
    frames = [(b"[" if i == 0 else b"\n,\r\n") + text.dumps(d) for i, d in enumerate(documents)]
    frames[-1] += b"\n]"
    return frames


async def _generate(request: web.Request, target: Target) -> web.StreamResponse:
    stream = target.method == "streamGenerateContent"
    payload = await read_json(request)
    model, script, key = read_model(request, target)
    req = read_generate_request(payload, model, script, key)
    fails_midway = False
    if stream and script.error_after is not None and script.wants_error:
        fails_midway = state_of(request).should_fail(script.fail_key or key, script.fail_times)
    else:
        failure = await scripted_failure(request, script, key, formatter(script))
        if failure is not None:
            return failure
    documents = response_documents(req, stream=stream)
    if not stream:
        document = documents[0]
        if script.echo_headers:
            document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
        return await send_body(request, script, text.dumps(document))
    if fails_midway and script.error_after is not None:
        error = error_document(
            script.error_status,
            script.error_type,
            script.error_message,
            script.error_code,
            script.retry_after,
        )
        documents = [*documents[: script.error_after], error]
    sse = request.query.get("alt") == "sse"
    frames = _frames(documents, sse)
    if sse:
        return await send_stream(request, script, frames, malformed=MALFORMED_EVENT)
    return await send_stream(
        request, script, frames, malformed=MALFORMED_ARRAY_ITEM, content_type="application/json"
    )


async def _count_tokens(request: web.Request, target: Target) -> web.StreamResponse:
    payload = await read_json(request)
    model, script, key = read_model(request, target)
    inner = get(payload, "generateContentRequest")
    req = read_generate_request(inner if isinstance(inner, dict) else payload, model, script, key)
    failure = await scripted_failure(request, script, key, formatter(script))
    if failure is not None:
        return failure
    total = script.prompt_tokens if script.prompt_tokens is not None else req.prompt_tokens
    document = {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}
    return await send_body(request, script, text.dumps(document))


def _embedding(request: dict[str, Any], where: str) -> tuple[list[float], int]:
    content = get(request, "content")
    if not isinstance(content, dict):
        raise reject(f"* {where}.content: content is required")
    check_parts(get(content, "parts"), f"{where}.content")
    words = " ".join(p["text"] for p in content["parts"] if isinstance(p.get("text"), str))
    dimensions = get(request, "outputDimensionality")
    if dimensions is None:
        dimensions = DEFAULT_DIMENSIONS
    if not is_int(dimensions) or not 1 <= dimensions <= MAX_DIMENSIONS:
        raise reject(f"* {where}.output_dimensionality: must be between 1 and {MAX_DIMENSIONS}")
    return text.embedding(("embedding", words), dimensions), text.count_words(words)


async def _embed(request: web.Request, target: Target) -> web.StreamResponse:
    payload = await read_json(request)
    _, script, key = read_model(request, target)
    if target.method == "embedContent":
        vector, _ = _embedding(payload, "EmbedContentRequest")
        document: dict[str, Any] = {"embedding": {"values": vector}}
    else:
        requests = get(payload, "requests")
        if not isinstance(requests, list) or not requests:
            raise reject("* BatchEmbedContentsRequest.requests: requests is required")
        vectors = [
            _embedding(r if isinstance(r, dict) else {}, f"BatchEmbedContentsRequest.requests[{i}]")[0]
            for i, r in enumerate(requests)
        ]
        document = {"embeddings": [{"values": v} for v in vectors]}
    failure = await scripted_failure(request, script, key, formatter(script))
    if failure is not None:
        return failure
    return await send_body(request, script, text.dumps(document))


_METHODS = {
    "generateContent": _generate,
    "streamGenerateContent": _generate,
    "countTokens": _count_tokens,
    "embedContent": _embed,
    "batchEmbedContents": _embed,
}


async def _dispatch(request: web.Request, *, vertex: bool) -> web.StreamResponse:
    target = read_target(request, vertex=vertex)
    handler = _METHODS.get(target.method)
    if handler is None:
        raise reject(f"Method not found: {target.method}", status=404)
    check_auth(request, target)
    return await handler(request, target)


async def gemini_api(request: web.Request) -> web.StreamResponse:
    """``POST /v1beta/models/{model}:{method}`` (Gemini API; ``x-goog-api-key`` or ``?key=``)."""
    return await _dispatch(request, vertex=False)


async def vertex_api(request: web.Request) -> web.StreamResponse:
    """``POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}`` (Vertex AI)."""
    return await _dispatch(request, vertex=True)


def register(app: web.Application) -> None:
    """Add the Gemini API and Vertex AI routes to the simulator app."""
    for version in ("v1beta", "v1"):
        app.router.add_post(f"/{version}/models/{{tail}}", gemini_api)
    vertex = "projects/{project}/locations/{location}/publishers/google/models/{tail}"
    for version in ("v1", "v1beta1"):
        app.router.add_post(f"/{version}/{vertex}", vertex_api)
