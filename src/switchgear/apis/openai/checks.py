"""Checks of the OpenAI inbound APIs (chat completions, legacy completions, embeddings) for passthrough.

Requests pass through to OpenAI-family providers mostly untouched, so the check is a cheap
table walk over the fields the gateway knows: each wrong type or value is a 400 naming the
parameter. Unknown fields pass through. Fields that would let a client redirect the gateway or
supply credentials are refused; the gateway's own controls (``models``, ``session_id``,
``tags``) are taken out before forwarding.
"""

from __future__ import annotations

from typing import Any, cast

from switchgear.core.errors import ForbiddenParameter, InvalidRequest

_NUM = (int, float)
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})

# field -> (accepted types, human description, (min, max) or None)
_Spec = tuple[tuple[type, ...], str, tuple[float, float] | None]
_COMMON: dict[str, _Spec] = {
    "stream": ((bool,), "a boolean", None),
    "stream_options": ((dict,), "an object", None),
    "temperature": (_NUM, "a number", (0, 2)),
    "top_p": (_NUM, "a number", (0, 1)),
    "n": ((int,), "an integer", (1, 128)),
    "max_tokens": ((int,), "an integer", (1, 10**8)),
    "presence_penalty": (_NUM, "a number", (-2, 2)),
    "frequency_penalty": (_NUM, "a number", (-2, 2)),
    "logit_bias": ((dict,), "an object", None),
    "seed": ((int,), "an integer", None),
    "user": ((str,), "a string", None),
    "stop": ((str, list), "a string or an array of strings", None),
}
_CHAT: dict[str, _Spec] = {
    **_COMMON,
    "max_completion_tokens": ((int,), "an integer", (1, 10**8)),
    "logprobs": ((bool,), "a boolean", None),
    "top_logprobs": ((int,), "an integer", (0, 20)),
    "tools": ((list,), "an array", None),
    "tool_choice": ((str, dict), "a string or an object", None),
    "parallel_tool_calls": ((bool,), "a boolean", None),
    "response_format": ((dict,), "an object", None),
    "metadata": ((dict,), "an object", None),
    "reasoning_effort": ((str,), "a string", None),
    "store": ((bool,), "a boolean", None),
}
_COMPLETIONS: dict[str, _Spec] = {
    **_COMMON,
    "logprobs": ((int,), "an integer", (0, 5)),
    "echo": ((bool,), "a boolean", None),
    "best_of": ((int,), "an integer", (1, 128)),
    "suffix": ((str,), "a string", None),
}
_EMBEDDINGS: dict[str, _Spec] = {
    "dimensions": ((int,), "an integer", (1, 65536)),
    "encoding_format": ((str,), "a string", None),
    "user": ((str,), "a string", None),
}
_SPECS = {"chat": _CHAT, "completions": _COMPLETIONS, "embeddings": _EMBEDDINGS}

# Parameters a client may never set: they would point the gateway elsewhere or carry credentials.
_FORBIDDEN = {
    "api_base": "upstream URLs are set in the gateway's configuration (providers.<name>.base_url)",
    "base_url": "upstream URLs are set in the gateway's configuration (providers.<name>.base_url)",
    "api_key": "provider keys are set in the gateway's configuration (providers.<name>.api_key)",
    "api_version": "API versions are set in the gateway's configuration (providers.<name>.api_version)",
    "custom_llm_provider": "pick a provider with a '<provider>/<model>' model name",
    "extra_headers": "upstream headers are set in the gateway's configuration (providers.<name>.headers)",
    "mock_response": "test hooks are not available through the gateway",
    "mock_testing_fallbacks": "test hooks are not available through the gateway",
}
# The gateway's own controls: read here, never forwarded.
_GATEWAY_FIELDS = ("models", "fallbacks", "session_id", "tags")


class OpenAIRequest:
    """A checked OpenAI-style request: the body to forward and the gateway controls taken from it."""

    __slots__ = ("body", "fallbacks", "model", "stream", "wants_usage")

    def __init__(
        self, body: dict[str, Any], model: str, stream: bool, wants_usage: bool, fallbacks: list[str]
    ):
        self.body = body
        self.model = model
        self.stream = stream
        self.wants_usage = wants_usage
        self.fallbacks = fallbacks


def check(api: str, body: Any) -> OpenAIRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest(
            "you must provide a model parameter (a non-empty string)"
            if model is None
            else "'model' must be a non-empty string",
            param="model",
        )
    for name, reason in _FORBIDDEN.items():
        if name in body:
            raise ForbiddenParameter(f"parameter {name!r} is not accepted: {reason}", param=name)
    for name, (types, description, bounds) in _SPECS[api].items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise InvalidRequest(f"{name!r} must be {description}, got {_kind(value)}", param=name)
        if bounds is not None and not bounds[0] <= cast(float, value) <= bounds[1]:
            raise InvalidRequest(
                f"{name!r} must be between {bounds[0]} and {bounds[1]}, got {value}", param=name
            )
    if api == "chat":
        _check_messages(body.get("messages"))
    elif api == "completions":
        _required(body, "prompt", (str, list), "a string or an array")
    else:
        _check_input(body.get("input"))
    stop = body.get("stop")
    if isinstance(stop, list) and not all(isinstance(s, str) for s in stop):
        raise InvalidRequest("'stop' must be a string or an array of strings", param="stop")
    fallbacks = _take_gateway_fields(body)
    stream = body.get("stream") is True
    options = body.get("stream_options")
    wants_usage = bool(options and options.get("include_usage"))
    return OpenAIRequest(body, model, stream, wants_usage, fallbacks)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object"
    )


def _required(body: dict[str, Any], name: str, types: tuple[type, ...], description: str) -> None:
    value = body.get(name)
    if value is None:
        raise InvalidRequest(f"missing required parameter {name!r}", param=name)
    if not isinstance(value, types):
        raise InvalidRequest(f"{name!r} must be {description}, got {_kind(value)}", param=name)


def _check_messages(messages: Any) -> None:
    if messages is None:
        raise InvalidRequest("missing required parameter 'messages'", param="messages")
    if not isinstance(messages, list):
        raise InvalidRequest(f"'messages' must be an array, got {_kind(messages)}", param="messages")
    if not messages:
        raise InvalidRequest("'messages' must contain at least one message", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(
                f"messages[{i}] must be an object, got {_kind(message)}", param=f"messages[{i}]"
            )
        role = message.get("role")
        if role not in _ROLES:
            raise InvalidRequest(
                f"messages[{i}].role must be one of system, developer, user, assistant, tool; got {role!r}",
                param=f"messages[{i}].role",
            )
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise InvalidRequest(
                f"messages[{i}].content must be a string or an array of content parts, got {_kind(content)}",
                param=f"messages[{i}].content",
            )


def _check_input(value: Any) -> None:
    if value is None:
        raise InvalidRequest("missing required parameter 'input'", param="input")
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not value:
        raise InvalidRequest("'input' must be a string or a non-empty array", param="input")
    if len(value) > 2048:
        raise InvalidRequest("'input' may hold at most 2048 items", param="input")


def _take_gateway_fields(body: dict[str, Any]) -> list[str]:
    fallbacks: list[str] = []
    for name in _GATEWAY_FIELDS:
        if name not in body:
            continue
        value = body.pop(name)
        if name in ("models", "fallbacks"):
            if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
                raise InvalidRequest(f"{name!r} must be an array of model names", param=name)
            fallbacks.extend(value)
    return fallbacks
