"""The OpenAI wire family: shared request/response plumbing, embeddings and the model list.

This module holds what every OpenAI-format endpoint shares — the ``{"error": {message, type,
param, code}}`` error shape with per-status defaults, reading and validating the JSON body and
its behaviour script, the ``usage`` block (with verbatim overrides), ``data: <json>`` SSE framing
and per-token logprobs — plus the two non-generative endpoints: ``POST /v1/embeddings``
(deterministic unit vectors, float lists or little-endian float32 base64) and ``GET /v1/models``
/ ``GET /v1/models/{id}``. The generative endpoints live in :mod:`.openai_chat`.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from aiohttp import web

from switchgear.simulator import text
from switchgear.simulator.delivery import Reject, scripted_failure, send_body
from switchgear.simulator.script import Script, ScriptError, scripted

MODELS = ("sim-small", "sim-large", "sim-embed")
MODELS_CREATED = 1_700_000_000
DEFAULT_DIMENSIONS = 8
MAX_DIMENSIONS = 8192

# status -> (type, code, message) used for whatever the script does not say
_ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to perform this request."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    408: ("timeout_error", None, "Request timed out."),
    409: ("invalid_request_error", "conflict", "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", "bad_gateway", "Bad gateway."),
    503: ("server_error", "service_unavailable", "The engine is currently overloaded, try again later."),
    504: ("server_error", "timeout", "Gateway timeout."),
}


def error_body(
    status: int, type_: str | None, message: str | None, code: str | None, param: str | None = None
) -> bytes:
    """An OpenAI-shaped error document, with per-status defaults for what is not given."""
    fallback_type = "server_error" if status >= 500 else "invalid_request_error"
    default_type, default_code, default_message = _ERROR_DEFAULTS.get(
        status, (fallback_type, None, f"HTTP {status}.")
    )
    error = {
        "message": message if message is not None else default_message,
        "type": type_ if type_ is not None else default_type,
        "param": param,
        "code": code if code is not None else default_code,
    }
    return text.dumps({"error": error})


def error_response(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> web.Response:
    """An OpenAI-shaped ``invalid_request_error`` response."""
    body = error_body(status, "invalid_request_error", message, code, param)
    return web.Response(status=status, body=body, content_type="application/json")


def reject(message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> Reject:
    """A :class:`Reject` carrying an OpenAI-shaped error (raise it from a handler)."""
    return Reject(error_response(status, message, param=param, code=code))


def request_script(request: web.Request, model: str | None) -> tuple[str | None, Script, str]:
    """(bare model name, script, default ``fail_times`` key) of a request; 400 on a bad script."""

    def refuse(exc: ScriptError) -> Reject:
        return reject(exc.message, param=exc.name, code="invalid_simulator_parameter")

    return scripted(request.headers, model, refuse, key_model=model or request.path)


async def read_payload(request: web.Request) -> tuple[dict[str, Any], str, Script, str]:
    """Parse the JSON object body: (payload, bare model name, script, default fail key)."""
    raw = await request.read()
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise reject(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload.)"
        ) from None
    if not isinstance(payload, dict):
        raise reject("The request body must be a JSON object.")
    model = payload.get("model")
    if not isinstance(model, str) or not model.strip():
        raise reject("you must provide a model parameter", param="model", code="missing_required_parameter")
    name, script, key = request_script(request, model)
    return payload, name or model, script, key


def int_param(payload: dict[str, Any], name: str, default: int | None, minimum: int = 0) -> int | None:
    """An optional integer field of the body (400 when present but not an integer >= minimum)."""
    value = payload.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise reject(f"Invalid value for '{name}': expected an integer >= {minimum}.", param=name)
    return value


def usage_block(script: Script, prompt: int, completion: int | None) -> dict[str, Any] | None:
    """The ``usage`` object (chat shape, or embeddings shape when ``completion`` is None)."""
    if script.usage == "none":
        return None
    p = script.prompt_tokens if script.prompt_tokens is not None else prompt
    if completion is None:
        return {"prompt_tokens": p, "total_tokens": p}
    c = script.completion_tokens if script.completion_tokens is not None else completion
    return {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def fingerprint(payload: dict[str, Any]) -> str:
    """The ``system_fingerprint``: ``fp_sim_<seed>`` when a seed was sent, else ``fp_sim``."""
    seed = payload.get("seed")
    return f"fp_sim_{seed}" if isinstance(seed, int) and not isinstance(seed, bool) else "fp_sim"


def sse(document: object) -> bytes:
    """One ``data: <json>`` server-sent event."""
    return b"data: " + text.dumps(document) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def include_usage(payload: dict[str, Any]) -> bool:
    """Whether ``stream_options.include_usage`` is true."""
    options = payload.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def token_entries(pieces: list[str], top: int, start: int = 0) -> list[dict[str, Any]]:
    """Chat-format logprob entries, one per piece (token), positions counted from ``start``."""
    entries = []
    for offset, token in enumerate(pieces):
        position = start + offset
        alternatives = [
            {"token": alt, "logprob": text.logprob_of(token, position, rank), "bytes": list(alt.encode())}
            for rank, alt in enumerate(text.alternatives(token, top))
        ]
        entries.append(
            {
                "token": token,
                "logprob": text.logprob_of(token, position),
                "bytes": list(token.encode()),
                "top_logprobs": alternatives,
            }
        )
    return entries


def _embedding_inputs(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [value]
        if all(isinstance(v, str) for v in value):
            return value
        if all(isinstance(v, list) and v and all(isinstance(t, int) for t in v) for v in value):
            return value
    raise reject(
        "'input' must be a string, a list of strings, a token array or a list of token arrays.",
        param="input",
    )


async def embeddings(request: web.Request) -> web.StreamResponse:
    """``POST /v1/embeddings``."""
    payload, model, script, key = await read_payload(request)
    if payload.get("input") is None:
        raise reject("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    inputs = _embedding_inputs(payload["input"])
    dimensions = int_param(payload, "dimensions", DEFAULT_DIMENSIONS, minimum=1) or DEFAULT_DIMENSIONS
    if dimensions > MAX_DIMENSIONS:
        raise reject(f"'dimensions' must be at most {MAX_DIMENSIONS}.", param="dimensions")
    encoding = payload.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise reject("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    failure = await scripted_failure(request, script, key, error_body)
    if failure is not None:
        return failure
    data = []
    for index, item in enumerate(inputs):
        vector = text.embedding(("embedding", item), dimensions)
        encoded: Any = vector
        if encoding == "base64":
            encoded = base64.b64encode(text.pack_float32(vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(text.count_words(i) if isinstance(i, str) else len(i) for i in inputs)
    document: dict[str, Any] = {"object": "list", "data": data, "model": model}
    usage = usage_block(script, tokens, None)
    if usage is not None:
        document["usage"] = usage
    if script.echo_headers:
        document["sim_headers"] = {k.lower(): v for k, v in request.headers.items()}
    return await send_body(request, script, text.dumps(document))


def _model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": MODELS_CREATED, "owned_by": "switchgear-sim"}


async def list_models(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models`` (honours ``x-sim-*`` headers)."""
    _, script, key = request_script(request, None)
    failure = await scripted_failure(request, script, key, error_body)
    if failure is not None:
        return failure
    return await send_body(
        request, script, text.dumps({"object": "list", "data": [_model(m) for m in MODELS]})
    )


async def retrieve_model(request: web.Request) -> web.StreamResponse:
    """``GET /v1/models/{id}`` (the id may carry ``;key=value`` script parameters)."""
    name, script, key = request_script(request, request.match_info["model_id"])
    failure = await scripted_failure(request, script, key, error_body)
    if failure is not None:
        return failure
    if name not in MODELS:
        message = f"The model '{name}' does not exist or you do not have access to it."
        body = error_body(404, "invalid_request_error", message, "model_not_found", "model")
        return web.Response(status=404, body=body, content_type="application/json")
    return await send_body(request, script, text.dumps(_model(name)))
