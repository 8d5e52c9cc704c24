"""The checks every client API's body gets before anything else happens to it.

One entry point, ``check_body(api, body)``, for OpenAI chat / completions / embeddings, Anthropic
Messages (and count_tokens) and Responses, passthrough or translated: nothing of a body that
fails here reaches a provider. In order:

1. parameters a client may never set (they would point the gateway elsewhere or carry
   credentials) are refused by name, on every API;
2. the model name (and each fallback name) is 1 to 256 printable ASCII characters: it is used
   as a routing key and echoed in a response header;
3. the body has the shape of its API's reference at every depth (``apis.shape``);
4. the numeric ranges the references state, and the gateway's own limit on output tokens: an
   integer from 0 to ``MAX_OUTPUT_TOKENS`` in every API's output-token field.

A failure is an ``InvalidRequest`` (400) naming the path of the value; the client's codec writes
it in the client's error shape.
"""

from __future__ import annotations

import re
from typing import Any

from switchgear.apis.shape import ShapeError, kind, load
from switchgear.core.errors import ForbiddenParameter, InvalidRequest

MAX_MODEL_NAME = 256
MAX_OUTPUT_TOKENS = 100_000_000
_MODEL_NAME = re.compile(rf"[\x20-\x7e]{{1,{MAX_MODEL_NAME}}}")

_URL = "upstream URLs are set in the gateway's configuration (providers.<name>.base_url)"
_TEST = "test hooks are not available through the gateway"
FORBIDDEN = {
    "api_base": _URL,
    "base_url": _URL,
    "api_key": "provider keys are set in the gateway's configuration (providers.<name>.api_key)",
    "api_version": "API versions are set in the gateway's configuration (providers.<name>.api_version)",
    "custom_llm_provider": "pick a provider with a '<provider>/<model>' model name",
    "extra_headers": "upstream headers are set in the gateway's configuration (providers.<name>.headers)",
    "mock_response": _TEST,
    "mock_testing_fallbacks": _TEST,
}

_SAMPLING = {"temperature": (0, 2), "top_p": (0, 1)}
_PENALTIES = {"presence_penalty": (-2, 2), "frequency_penalty": (-2, 2)}
# ranges the API references state, per API
_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "chat": {**_SAMPLING, **_PENALTIES, "n": (1, 128), "top_logprobs": (0, 20)},
    "completions": {**_SAMPLING, **_PENALTIES, "n": (1, 128), "logprobs": (0, 5)},
    "embeddings": {},
    "messages": {},
    "responses": {**_SAMPLING, "top_logprobs": (0, 20)},
}
# each API's output-token fields: one rule for all (an integer, 0 to MAX_OUTPUT_TOKENS)
_OUTPUT_TOKENS: dict[str, tuple[str, ...]] = {
    "chat": ("max_tokens", "max_completion_tokens"),
    "completions": ("max_tokens",),
    "embeddings": (),
    "messages": ("max_tokens",),
    "responses": ("max_output_tokens",),
}
_SHAPES = {api: load(api) for api in _RANGES}


def check_body(api: str, body: Any) -> str:
    """Check a client's parsed body for ``api``; its model name when it passes."""
    if type(body) is not dict:
        raise InvalidRequest("the request body must be a JSON object")
    for name in FORBIDDEN.keys() & body.keys():
        raise ForbiddenParameter(f"parameter {name!r} is not accepted: {FORBIDDEN[name]}", param=name)
    model = body.get("model")
    if model is None:
        raise InvalidRequest("you must provide a model parameter (a non-empty string)", param="model")
    model = check_model_name(model, "model")
    try:
        _SHAPES[api](body)
    except ShapeError as exc:
        where = exc.where()
        raise InvalidRequest(f"{where}: {exc.problem}", param=where) from None
    for name, (low, high) in _RANGES[api].items():
        value = body.get(name)
        if value is not None and not low <= value <= high:
            raise InvalidRequest(f"{name}: must be between {low} and {high}, got {value}", param=name)
    for name in _OUTPUT_TOKENS[api]:
        value = body.get(name)
        if value is not None and not 0 <= value <= MAX_OUTPUT_TOKENS:
            raise InvalidRequest(
                f"{name}: must be from 0 to {MAX_OUTPUT_TOKENS:,} (the gateway's limit on output tokens), "
                f"got {value}",
                param=name,
            )
    return model


def check_model_name(name: Any, param: str) -> str:
    """A model name: 1 to 256 printable ASCII characters (no control characters, no line breaks)."""
    if type(name) is not str:
        raise InvalidRequest(f"{param}: must be a non-empty string, got {kind(name)}", param=param)
    if not _MODEL_NAME.fullmatch(name):
        raise InvalidRequest(
            f"{param}: must be 1 to {MAX_MODEL_NAME} printable ASCII characters "
            f"(the gateway's limit on model names), got {len(name)} characters",
            param=param,
        )
    return name
